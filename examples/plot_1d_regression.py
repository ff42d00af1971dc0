"""
==================================================
1-D regression: the global optimum next to MLPs
==================================================

On one-dimensional data a two-layer ReLU network is a piecewise linear
function. With weight decay, its globally optimal fit is a linear spline whose
knots sit at (or near) data points. :class:`~skconvexnn.ConvexReLURegressor`
with ``arrangements="exhaustive"`` uses *every* activation pattern of the data,
so it returns that global optimum, together with a proven lower bound.

We compare it with :class:`~sklearn.neural_network.MLPRegressor` trained from
several random seeds on the same weight-decay problem, and report the
training objectives.
"""

# %%
# Data and the convex fit
# -----------------------
# Twenty noisy samples of a smooth function on :math:`[-2, 2]`.
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPRegressor

from skconvexnn import ConvexReLURegressor

rng = np.random.default_rng(0)
n = 20
X = np.sort(rng.uniform(-2, 2, n)).reshape(-1, 1)
y = np.sin(2 * X.ravel()) + 0.15 * rng.standard_normal(n)

beta = 1e-3
convex = ConvexReLURegressor(beta=beta, arrangements="exhaustive").fit(X, y)
print(f"convex fit: objective {convex.objective_:.6f}, lower bound "
      f"{convex.lower_bound_:.6f}, duality gap {convex.duality_gap_:.1e}, "
      f"{convex.n_neurons_} neurons, {len(convex.gates_)} patterns")


# %%
# The training objective
# ----------------------
# Our objective is
#
# .. math::
#
#     \frac{1}{2n}\|f(X) - y\|^2 + \frac{\beta}{2}\sum_j
#     \left(\|u_j\|^2 + b_j^2 + a_j^2\right),
#
# where the hidden biases :math:`b_j` are penalized with the weights.
# ``MLPRegressor`` minimizes :math:`\frac{1}{2n}\|f(X) - y\|^2 +
# \frac{\alpha}{2n}\|W\|^2`: with ``alpha = n * beta`` it has the same weight
# decay, **but it does not penalize the biases**. So we report, for each MLP,
# its own objective and the value of our objective at its weights. Only the
# second is comparable with the convex optimum, which is a floor for it.
def our_objective(coefs, intercepts, X, y, beta):
    W1, W2 = coefs
    b1, c = intercepts
    pred = (np.maximum(X @ W1 + b1, 0) @ W2 + c).ravel()
    penalty = np.sum(W1**2) + np.sum(b1**2) + np.sum(W2**2)
    return np.mean((pred - y) ** 2) / 2 + beta / 2 * penalty


def mlp_objective(mlp, X, y):
    W1, W2 = mlp.coefs_
    pred = mlp.predict(X)
    penalty = np.sum(W1**2) + np.sum(W2**2)
    return np.mean((pred - y) ** 2) / 2 + mlp.alpha / (2 * len(y)) * penalty


print(f"convex network, our objective recomputed: "
      f"{our_objective(convex.coefs_, convex.intercepts_, X, y, beta):.6f}")

mlps = []
for seed in range(5):
    mlp = MLPRegressor(hidden_layer_sizes=(10,), alpha=n * beta, solver="lbfgs",
                       max_iter=5000, tol=1e-10, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        mlp.fit(X, y)
    mlps.append(mlp)
    print(f"MLP seed {seed}: own objective {mlp_objective(mlp, X, y):.6f}, "
          f"our objective {our_objective(mlp.coefs_, mlp.intercepts_, X, y, beta):.6f}")

# %%
# The fits
# --------
# The convex fit is a linear spline with a few knots. MLP runs from different
# seeds land in different local minima; none goes below the convex value of
# our objective.
grid = np.linspace(-2.3, 2.3, 500).reshape(-1, 1)
fig, ax = plt.subplots(figsize=(7, 4.5))
for seed, mlp in enumerate(mlps):
    value = our_objective(mlp.coefs_, mlp.intercepts_, X, y, beta)
    ax.plot(grid, mlp.predict(grid), lw=1, alpha=0.7,
            label=f"MLP seed {seed} ({value:.4f})")
ax.plot(grid, convex.predict(grid), color="black", lw=2.5,
        label=f"convex global optimum ({convex.objective_:.4f})")
W1, _ = convex.coefs_
b1, _ = convex.intercepts_
knots = -b1 / W1.ravel()
knots = knots[(knots > -2.3) & (knots < 2.3)]
ax.plot(knots, convex.predict(knots.reshape(-1, 1)), "kD", ms=5,
        label="knots of the convex fit")
ax.scatter(X, y, color="tab:red", zorder=3, label="training data")
ax.set_xlabel("x")
ax.set_ylabel("y")
ax.set_title(rf"Two-layer ReLU fits, $\beta$ = {beta} (our objective in brackets)")
ax.legend(fontsize=8, loc="lower right")
fig.tight_layout()
plt.show()
