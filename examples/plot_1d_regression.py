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
# Twenty noisy samples of a smooth function on :math:`[-2, 2]`. We
# standardize ``y`` ourselves: the regressor fits standardized targets in
# any case (user guide, "Target scaling"), and its ``objective_`` is then
# the objective on the very ``y`` that the MLPs below are trained on.
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPRegressor

from skconvexnn import ConvexReLURegressor, training_objective

plt.rcParams.update({"font.size": 14})

rng = np.random.default_rng(0)
n = 20
X = np.sort(rng.uniform(-2, 2, n)).reshape(-1, 1)
y = np.sin(2 * X.ravel()) + 0.15 * rng.standard_normal(n)
y = (y - y.mean()) / y.std()

beta = 2e-3
# extrapolation="linear": the plots show the network itself beyond the data
# too (by default predict clips each feature to its training range; user
# guide, "Predictions beyond the training data")
convex = ConvexReLURegressor(beta=beta, arrangements="exhaustive",
                             extrapolation="linear").fit(X, y)
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
# :func:`~skconvexnn.training_objective` evaluates it at any network's
# weights. ``MLPRegressor`` minimizes :math:`\frac{1}{2n}\|f(X) - y\|^2 +
# \frac{\alpha}{2n}\|W\|^2`: with ``alpha = n * beta`` it has the same weight
# decay, **but it does not penalize the biases**, so its own ``loss_`` is
# another objective (``penalize_hidden_biases=False``). We report both for
# each MLP; only our objective at its weights is comparable with the convex
# optimum, which is a floor for it (see
# :ref:`sphx_glr_auto_examples_plot_convex_floor.py`).
print("convex network, objective recomputed: "
      f"{training_objective(X, y, convex.coefs_, convex.intercepts_, beta):.6f}")

mlps = []
for seed in range(5):
    mlp = MLPRegressor(hidden_layer_sizes=(10,), alpha=n * beta, solver="lbfgs",
                       max_iter=5000, tol=1e-10, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        mlp.fit(X, y)
    mlps.append(mlp)
    ours = training_objective(X, y, mlp.coefs_, mlp.intercepts_, beta)
    print(f"MLP seed {seed}: mlp.loss_ {mlp.loss_:.6f} (biases free), "
          f"our objective {ours:.6f}")

# %%
# The fits
# --------
# The convex fit is a linear spline with a few knots. MLP runs from different
# seeds land in different local minima; none goes below the convex value of
# our objective (in brackets).
grid = np.linspace(-2.3, 2.3, 500).reshape(-1, 1)
fig, ax = plt.subplots(figsize=(9, 7))
for seed, mlp in enumerate(mlps):
    value = training_objective(X, y, mlp.coefs_, mlp.intercepts_, beta)
    ax.plot(grid, mlp.predict(grid), lw=2, alpha=0.8,
            label=f"MLP, seed {seed} ({value:.4f})")
ax.plot(grid, convex.predict(grid), color="black", lw=3,
        label=f"convex global optimum ({convex.objective_:.4f})")
W1, _ = convex.coefs_
b1, _ = convex.intercepts_
knots = np.unique(np.round(-b1 / W1.ravel(), 6))  # neurons may share a knot
knots = knots[(knots > -2.3) & (knots < 2.3)]
ax.plot(knots, convex.predict(knots.reshape(-1, 1)), "D", ms=9, color="white",
        mec="black", mew=2, zorder=4, label="knots of the convex fit")
ax.scatter(X, y, s=50, color="tab:red", zorder=3, label="training data")
ax.set_xlim(-2.3, 2.3)
ax.set_xlabel("x")
ax.set_ylabel("y (standardized)")
ax.set_title(rf"Two-layer ReLU fits, $\beta$ = {beta}")
ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2, frameon=False)
fig.tight_layout()
plt.show()

# %%
# Read the printed lines too: an MLP's own ``loss_`` can be *below* the
# convex optimum (seed 4 here). That is not a better network but another
# objective, one whose biases are free; our objective at the same weights is
# above the optimum, as it must be.
