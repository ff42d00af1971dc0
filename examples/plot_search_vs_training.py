"""
=====================================================
Seeded arrangement search versus nonconvex training
=====================================================

``arrangements="search"`` first trains a few ordinary networks of the same
weight-decay objective with L-BFGS, takes the activation patterns of their
neurons as the first patterns of the convex program, and starts its first
solve from the best network (a feasible point of that program). Then it adds
patterns whose dual constraint is violated (cutting planes). So the convex
fit is never worse than the networks that seeded it.

Here the training objective is drawn against wall time, for the search and
for L-BFGS restarts of growing width, together with the search's
certificate: the lower bound that holds over every pattern it examined.
"""

# %%
# Data and objective
# ------------------
# Friedman's regression problem, features and target standardized;
# ``beta = 1e-3`` with the objective of the user guide,
# :math:`\frac{1}{2n}\|f(X) - y\|^2
# + \frac{\beta}{2}\sum_j (\|u_j\|^2 + b_j^2 + a_j^2)`.
import time

import matplotlib.pyplot as plt
import numpy as np
from scipy.optimize import minimize
from sklearn.datasets import make_friedman1
from sklearn.preprocessing import StandardScaler

from skconvexnn import ConvexReLURegressor

plt.rcParams.update({"font.size": 14})

X, y = make_friedman1(200, noise=0.3, random_state=0)
X = StandardScaler().fit_transform(X)
y = (y - y.mean()) / y.std()
n, d = X.shape
beta = 1e-3
X1 = np.hstack([X, np.ones((n, 1))])  # the hidden bias is the last weight


def objective_and_gradient(z, m):
    U = z[: m * (d + 1)].reshape(m, d + 1)
    a = z[m * (d + 1): -1]
    pre = X1 @ U.T
    H = np.maximum(pre, 0)
    r = H @ a + z[-1] - y
    value = r @ r / (2 * n) + beta / 2 * (np.sum(U**2) + a @ a)
    g = r / n
    grad_U = (np.outer(g, a) * (pre > 0)).T @ X1 + beta * U
    return value, np.concatenate([grad_U.ravel(), H.T @ g + beta * a, [g.sum()]])


# %%
# Nonconvex restarts of growing width
# -----------------------------------
# Three L-BFGS runs per width; the clock runs over all of them in turn.
rng = np.random.default_rng(0)
restarts = {}
clock = 0.0
for m in [5, 10, 20, 40]:
    restarts[m] = []
    for _ in range(3):
        z0 = np.concatenate([rng.standard_normal(m * (d + 1)) / np.sqrt(d + 1),
                             rng.standard_normal(m) / np.sqrt(m), [0.0]])
        start = time.perf_counter()
        res = minimize(objective_and_gradient, z0, args=(m,), jac=True,
                       method="L-BFGS-B", options={"maxiter": 2000, "gtol": 1e-9})
        clock += time.perf_counter() - start
        restarts[m].append((clock, res.fun))
    print(f"{m:3d} neurons: best of 3 runs {min(v for _, v in restarts[m]):.5f}")

# %%
# The seeded search
# -----------------
# ``n_arrangements=20`` gives seed networks of ``2 * 20 = 40`` hidden units,
# as wide as the widest restarts above. ``search_report_`` tells what seeded
# the search and how each round went.
est = ConvexReLURegressor(beta=beta, arrangements="search", n_arrangements=20,
                          random_state=2)
start = time.perf_counter()
est.fit(X, y)
total = time.perf_counter() - start
report = est.search_report_
print(f"search: objective {est.objective_:.5f}, certificate {est.lower_bound_:.5f}, "
      f"{est.n_neurons_} neurons, {total:.1f} s")
print(f"seeds ({report['seed_units']} units): "
      f"{[round(v, 5) for v in report['seed_objectives']]}, "
      f"{report['seed_patterns']} patterns; {report['n_rounds']} solves "
      f"({report['reason']}); the certificate covers {report['n_examined']} patterns")

# %%
# Objective against time
# ----------------------
# The search's curve starts when its seed networks are trained; the dashed
# line is its certificate: no network whose neurons have only the examined
# patterns reaches below it.
seed_end = report["seed_seconds"]
times = [seed_end] + [seed_end + t for t in report["round_seconds"]]
values = [min(report["seed_objectives"])] + report["round_objectives"]

fig, ax = plt.subplots(figsize=(9, 7))
for (m, runs), marker in zip(restarts.items(), "o^vD"):
    t, v = zip(*runs)
    ax.plot(t, v, marker, ms=10, mec="black", mew=0.8, zorder=3,
            label=f"L-BFGS, {m} neurons")
ax.plot(times, values, "k-s", lw=2.5, ms=10, mfc="white", mew=2,
        label="search (seeds, then each solve)")
ax.axhline(est.lower_bound_, color="k", ls="--", lw=2,
           label="certificate over examined patterns")
ax.set_xscale("log")
ax.set_xlabel("wall time (s), all runs one after the other")
ax.set_ylabel("training objective")
ax.set_yscale("log")
ax.set_yticks([0.007, 0.01, 0.015], ["0.007", "0.01", "0.015"])
ax.yaxis.set_minor_formatter(plt.NullFormatter())
ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2, frameon=False)
ax.set_title("Seeded search versus nonconvex restarts")
fig.tight_layout()
plt.show()
