"""
==========================================
Exhaustive versus sampled arrangements
==========================================

The convex program has one block of variables per *activation pattern* of the
data. On data of low rank every pattern can be listed
(``arrangements="exhaustive"``) and the fit is the global optimum. On larger
data we draw random Gaussian gate vectors instead
(``arrangements="gaussian"``, ``n_arrangements`` of them): the program is then
restricted to networks whose neurons have the sampled patterns.

This example shows how the objective of a sampled fit approaches the
exhaustive optimum as the number of sampled arrangements grows, and what the
reported lower bound does and does not promise.
"""

# %%
# Data and the exhaustive optimum
# -------------------------------
import matplotlib.pyplot as plt
import numpy as np

from skconvexnn import ConvexReLURegressor

plt.rcParams.update({"font.size": 14})

rng = np.random.default_rng(0)
n = 30
X = rng.standard_normal((n, 2))
y = np.sin(2 * X[:, 0]) * X[:, 1] + 0.1 * rng.standard_normal(n)
beta = 2e-3

exhaustive = ConvexReLURegressor(beta=beta, arrangements="exhaustive").fit(X, y)
print(f"exhaustive: {len(exhaustive.gates_)} patterns, objective "
      f"{exhaustive.objective_:.6f}, lower bound {exhaustive.lower_bound_:.6f}")

# %%
# Sampled arrangements
# --------------------
# For each number of Gaussian gates, a few random draws. Duplicate patterns
# are removed, so the number of distinct patterns used (``len(gates_)``) is
# at most the number drawn.
counts = [2, 4, 8, 16, 32, 64, 128, 256]
seeds = range(4)
objective = np.empty((len(counts), len(seeds)))
bound = np.empty_like(objective)
used = np.empty_like(objective)
for i, m in enumerate(counts):
    for j, seed in enumerate(seeds):
        fit = ConvexReLURegressor(beta=beta, n_arrangements=m, arrangements="gaussian",
                                  random_state=seed).fit(X, y)
        objective[i, j] = fit.objective_
        bound[i, j] = fit.lower_bound_
        used[i, j] = len(fit.gates_)
    print(f"{m:4d} gates ({used[i].mean():5.1f} distinct patterns): objective "
          f"{objective[i].mean():.6f}, lower bound {bound[i].mean():.6f}")

# %%
# What the lower bound promises
# -----------------------------
# Each sampled fit is the exact optimum *of its restricted program*: its
# lower bound matches its objective, so the duality gap is tiny. But that
# bound covers only the patterns used; it lies **above** the global optimum
# (the exhaustive value), which is the only certificate for the original
# nonconvex problem. Sampling more gates closes the distance to the global
# optimum.
fig, (ax0, ax1) = plt.subplots(2, 1, figsize=(9, 11), sharex=True)
ax0.fill_between(counts, objective.min(axis=1), objective.max(axis=1),
                 color="tab:blue", alpha=0.2, label="objective, range over 4 draws")
ax0.plot(counts, objective.mean(axis=1), "o-", color="tab:blue", lw=4, ms=13,
         label="objective (sampled), mean")
ax0.plot(counts, bound.mean(axis=1), "x--", color="tab:orange", lw=2, ms=9,
         mew=2.5, label="lower bound (over the sampled patterns), mean")
ax0.axhline(exhaustive.objective_, color="black", ls=":", lw=2.5,
            label=f"exhaustive global optimum ({len(exhaustive.gates_)} patterns)")
ax0.set_xscale("log", base=2)
ax0.set_yscale("log")
ax0.set_yticks([0.05, 0.1, 0.2, 0.4], ["0.05", "0.1", "0.2", "0.4"])
ax0.yaxis.set_minor_formatter(plt.NullFormatter())
ax0.set_ylabel("training objective")
ax0.set_title("Objective and lower bound")

ax1.plot(counts, (objective.mean(axis=1) - exhaustive.objective_)
         / exhaustive.objective_, "o-", color="tab:blue", lw=2.5, ms=9)
ax1.set_yscale("log")
ax1.set_yticks([0.03, 0.1, 0.3, 1, 3, 10], ["0.03", "0.1", "0.3", "1", "3", "10"])
ax1.yaxis.set_minor_formatter(plt.NullFormatter())
ax1.set_xticks(counts, [str(m) for m in counts])
ax1.minorticks_off()
ax1.set_xlabel("Gaussian gates drawn (n_arrangements)")
ax1.set_ylabel("relative excess over\nthe global optimum")
ax1.set_title("Distance to the global optimum")
fig.legend(*ax0.get_legend_handles_labels(), loc="lower center", frameon=False)
fig.tight_layout(rect=(0, 0.13, 1, 1))
plt.show()
