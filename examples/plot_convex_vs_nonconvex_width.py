"""
===========================================================
Nonconvex training of growing width versus the convex floor
===========================================================

Train ordinary two-layer ReLU networks with weight decay by gradient-based
optimization (SciPy's L-BFGS) from random starts, for growing numbers of
hidden neurons, and compare their final training objectives with the global
optimum that :class:`~skconvexnn.ConvexReLURegressor` computes by convex
optimization.

Both minimize exactly the same objective,

.. math::

    \\frac{1}{2n}\\|f(X) - y\\|^2 + \\frac{\\beta}{2}\\sum_j
    \\left(\\|u_j\\|^2 + b_j^2 + a_j^2\\right),
    \\qquad f(x) = \\sum_j (x^\\top u_j + b_j)_+ a_j + c .

Narrow networks get stuck above the optimum; wider ones approach it; none goes
below it, because with every activation pattern the convex value *is* the
global minimum over networks of any width.
"""

# %%
# Data and the convex optimum
# ---------------------------
# Thirty points in the plane, so that every activation pattern can be
# enumerated.
import matplotlib.pyplot as plt
import numpy as np
from scipy.optimize import minimize

from skconvexnn import ConvexReLURegressor

rng = np.random.default_rng(0)
n = 30
X = rng.standard_normal((n, 2))
y = np.sin(2 * X[:, 0]) * X[:, 1] + 0.1 * rng.standard_normal(n)
beta = 2e-3

convex = ConvexReLURegressor(beta=beta, arrangements="exhaustive").fit(X, y)
print(f"convex optimum {convex.objective_:.6f} (lower bound "
      f"{convex.lower_bound_:.6f}) with {convex.n_neurons_} neurons, "
      f"{len(convex.gates_)} activation patterns")


# %%
# Nonconvex training
# ------------------
# The same objective as a function of all weights, with its gradient, and
# L-BFGS from random initializations.
X1 = np.hstack([X, np.ones((n, 1))])  # the bias is the last weight of u_j


def objective_and_gradient(z, m):
    U = z[: 3 * m].reshape(m, 3)
    a = z[3 * m: 4 * m]
    c = z[-1]
    pre = X1 @ U.T
    H = np.maximum(pre, 0)
    r = H @ a + c - y
    value = r @ r / (2 * n) + beta / 2 * (np.sum(U**2) + a @ a)
    g = r / n
    grad_a = H.T @ g + beta * a
    grad_U = ((np.outer(g, a)) * (pre > 0)).T @ X1 + beta * U
    return value, np.concatenate([grad_U.ravel(), grad_a, [g.sum()]])


def train(m, seed):
    init = np.random.default_rng(seed)
    z0 = np.concatenate([init.standard_normal(3 * m),
                         init.standard_normal(m) / np.sqrt(m), [0.0]])
    res = minimize(objective_and_gradient, z0, args=(m,), jac=True,
                   method="L-BFGS-B", options={"maxiter": 3000, "gtol": 1e-9})
    return res.fun


widths = [1, 2, 4, 8, 16, 32, 64]
n_starts = 8
values = np.array([[train(m, seed) for seed in range(n_starts)] for m in widths])
for m, row in zip(widths, values):
    print(f"width {m:3d}: best {row.min():.6f}, median {np.median(row):.6f}, "
          f"worst {row.max():.6f}")

# %%
# The convex value is the floor
# -----------------------------
# Each dot is one training run. The dashed line is the convex optimum; the
# dotted line marks the number of neurons of the convex solution after
# pruning.
fig, ax = plt.subplots(figsize=(7, 4.5))
for m, row in zip(widths, values):
    ax.scatter(np.full(n_starts, m) * np.exp(rng.uniform(-0.08, 0.08, n_starts)),
               row, color="tab:blue", alpha=0.6, s=18)
ax.plot(widths, values.min(axis=1), "o-", color="tab:blue",
        label="nonconvex (L-BFGS), best of 8 starts")
ax.axhline(convex.objective_, color="black", ls="--",
           label=f"convex global optimum ({convex.objective_:.4f})")
ax.axvline(convex.n_neurons_, color="gray", ls=":",
           label=f"neurons of the convex solution ({convex.n_neurons_})")
ax.set_xscale("log", base=2)
ax.set_yscale("log")
ax.set_xlabel("hidden neurons (width)")
ax.set_ylabel("training objective")
ax.set_title("Nonconvex training never beats the convex optimum")
ax.legend(fontsize=8)
fig.tight_layout()
plt.show()
