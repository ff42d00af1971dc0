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
# enumerated. We standardize ``y`` ourselves, so that the regressor's own
# target scaling (user guide, "Target scaling") changes nothing: its
# ``objective_`` is the objective on this ``y``, the one L-BFGS minimizes.
import matplotlib.pyplot as plt
import numpy as np
from scipy.optimize import minimize

from skconvexnn import ConvexReLURegressor, training_objective

plt.rcParams.update({"font.size": 14})

rng = np.random.default_rng(0)
n = 30
X = rng.standard_normal((n, 2))
y = np.sin(2 * X[:, 0]) * X[:, 1] + 0.1 * rng.standard_normal(n)
y = (y - y.mean()) / y.std()
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
    return res


# The same objective, evaluated by skconvexnn at the trained weights:
res = train(4, seed=0)
U, a, c = res.x[:12].reshape(4, 3), res.x[12:16], res.x[-1]
coefs, intercepts = [U[:, :2].T, a], [U[:, 2], np.array([c])]
print(f"width 4: L-BFGS objective {res.fun:.6f}, training_objective "
      f"{training_objective(X, y, coefs, intercepts, beta):.6f}")


widths = [1, 2, 4, 8, 16, 32, 64]
n_starts = 8
values = np.array([[train(m, seed).fun for seed in range(n_starts)]
                   for m in widths])
for m, row in zip(widths, values):
    print(f"width {m:3d}: best {row.min():.6f}, median {np.median(row):.6f}, "
          f"worst {row.max():.6f}")

# %%
# The convex value is the floor
# -----------------------------
# Each dot is one training run (the eight runs of a width side by side).
# Top: the objectives, with the convex optimum dashed; the dotted line marks
# the number of neurons of the convex solution after pruning. Bottom: how far
# above the optimum each run ends, relative to it; on a logarithmic axis, as
# no run is below it.
fig, (ax, ax_excess) = plt.subplots(2, 1, figsize=(9, 10), sharex=True,
                                    gridspec_kw={"height_ratios": [1, 1]})
spread = np.exp(np.linspace(-0.12, 0.12, n_starts))  # runs side by side
excess = (values - convex.objective_) / convex.objective_
for m, row, gap in zip(widths, values, excess):
    ax.scatter(m * spread, row, color="tab:blue", alpha=0.6, s=40,
               edgecolors="none")
    ax_excess.scatter(m * spread, gap, color="tab:blue", alpha=0.6, s=40,
                      edgecolors="none")
ax.plot(widths, values.min(axis=1), "o-", color="tab:blue", lw=2.5, ms=9,
        label="nonconvex (L-BFGS): each run, and the best of 8")
ax_excess.plot(widths, excess.min(axis=1), "o-", color="tab:blue", lw=2.5, ms=9)
ax.axhline(convex.objective_, color="black", ls="--", lw=2.5,
           label=f"convex global optimum ({convex.objective_:.4f})")
for axis in (ax, ax_excess):
    axis.axvline(convex.n_neurons_, color="gray", ls=":", lw=2.5,
                 label=f"neurons of the convex solution ({convex.n_neurons_})"
                 if axis is ax else None)
    axis.set_yscale("log")
ax.set_xscale("log", base=2)
ax.set_yticks([0.05, 0.1, 0.2, 0.4], ["0.05", "0.1", "0.2", "0.4"])
ax.yaxis.set_minor_formatter(plt.NullFormatter())
ax.set_ylabel("training objective")
ax.set_title("Nonconvex training never beats the convex optimum")
fig.legend(loc="lower center", frameon=False)
ax_excess.set_xticks(widths, [str(m) for m in widths])
ax_excess.minorticks_off()
ax_excess.set_xlabel("hidden neurons (width)")
ax_excess.set_ylabel("(objective - optimum) / optimum")
fig.tight_layout(rect=(0, 0.1, 1, 1))
plt.show()
