"""
Shared hidden units: a certified convex fit versus nonconvex training
=====================================================================

The paper's experiment (Sahiner et al., ICLR 2021): ``n = 25`` points in two
dimensions, five outputs from a random 100-neuron ReLU network, and
``beta_paper = 1e-2`` (``beta = 1e-2 / 25`` in skconvexnn's scaling).
Nonconvex networks with shared hidden units are trained from random starts
by L-BFGS; the copositive relaxation gives a network whose objective is
certified against the relaxation's value.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
from scipy.optimize import minimize

from skconvexnn import CopositiveMultiOutputRegressor

rng = np.random.default_rng(0)
n, d, k = 25, 2, 5
X = rng.standard_normal((n, d))
U0, A0 = rng.standard_normal((100, d + 1)), rng.standard_normal((100, k))
Y = np.maximum(np.c_[X, np.ones(n)] @ U0.T, 0) @ A0 / 10
beta = 1e-2 / n

convex = CopositiveMultiOutputRegressor(
    beta=beta, method="relaxation", n_arrangements=150, random_state=0
).fit(X, Y)
print(f"convex: objective {convex.objective_:.6f}, relaxation value "
      f"{convex.lower_bound_:.6f}, certified {convex.certified_}, "
      f"{convex.n_neurons_} neurons")


# %%
# Nonconvex training of the same objective with ``m`` shared neurons.
def train(m, seed):
    X1 = np.c_[X, np.ones(n)]
    r = np.random.default_rng(seed)

    def fun(z):
        U, A, c = z[: 3 * m].reshape(m, 3), z[3 * m: 8 * m].reshape(m, k), z[8 * m:]
        pre = X1 @ U.T
        H = np.maximum(pre, 0)
        G = (H @ A + c - Y) / n
        val = 0.5 * n * np.sum(G**2) + 0.5 * beta * (np.sum(U**2) + np.sum(A**2))
        dU = ((G @ A.T) * (pre > 0)).T @ X1 + beta * U
        return val, np.concatenate([dU.ravel(), (H.T @ G + beta * A).ravel(),
                                    G.sum(0)])

    z0 = np.concatenate([r.standard_normal(3 * m),
                         r.standard_normal(k * m) / np.sqrt(m), np.zeros(k)])
    return minimize(fun, z0, jac=True, method="L-BFGS-B",
                    options={"maxiter": 2000}).fun


widths = [2, 5, 10, 50]
runs = {m: [train(m, s) for s in range(3)] for m in widths}

# %%
fig, ax = plt.subplots(figsize=(6, 4))
for m in widths:
    ax.scatter([m] * len(runs[m]), runs[m], color="tab:blue", alpha=0.6)
ax.axhline(convex.objective_, color="tab:red",
           label=f"convex (certified={convex.certified_})")
ax.axhline(convex.lower_bound_, color="tab:red", ls=":", label="relaxation value")
ax.set_xscale("log")
ax.set_yscale("log")
ax.set_xlabel("hidden neurons of the nonconvex network")
ax.set_ylabel("training objective")
ax.legend()
fig.tight_layout()
plt.show()
