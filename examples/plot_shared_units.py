r"""
Shared hidden units against one network per output
===================================================

With several targets, a two-layer network can share its hidden units
between the outputs, :math:`F(x) = \sum_j (x^\top u_j + b_j)_+ a_j^\top` with
a vector :math:`a_j` per unit, or give each output its own units. The shared network's
training problem is the copositive program that
:class:`~skconvexnn.CopositiveMultiOutputRegressor` solves; the one with
separate units is one ReLU program per output, which
:class:`~skconvexnn.ConvexReLURegressor` solves for several targets. Both
are fitted here with the same weight decay :math:`\beta`, next to scikit-learn's
:class:`~sklearn.neural_network.MLPRegressor` (100 shared units, L-BFGS),
on targets made by one small ReLU network: their outputs share their hidden
units by construction.

All three training objectives are evaluated with the same formula,
:func:`skconvexnn.training_objective`, at the fitted weights (the MLP's
``alpha`` is set so that its own loss is this objective divided by the
number of outputs, apart from the hidden biases, which it does not
penalize).
"""

# %%
import time

import matplotlib.pyplot as plt
import numpy as np
from sklearn.metrics import r2_score
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPRegressor
from sklearn.preprocessing import StandardScaler

from skconvexnn import (
    ConvexReLURegressor,
    CopositiveMultiOutputRegressor,
    training_objective,
)

plt.rcParams.update({"font.size": 14})
rng = np.random.default_rng(0)
n, d, k, width = 240, 3, 4, 6
X = rng.standard_normal((n, d))
W, b = rng.standard_normal((d, width)), rng.standard_normal(width)
Y = np.maximum(X @ W + b, 0) @ rng.standard_normal((width, k))
Y += 0.1 * Y.std(axis=0) * rng.standard_normal((n, k))

X_tr, X_te, Y_tr, Y_te = train_test_split(X, Y, test_size=0.25, random_state=0)
sx, sy = StandardScaler().fit(X_tr), StandardScaler().fit(Y_tr)
X_tr, X_te = sx.transform(X_tr), sx.transform(X_te)
Y_tr, Y_te = sy.transform(Y_tr), sy.transform(Y_te)
beta = 1e-3

models = {
    "shared units\n(copositive)": CopositiveMultiOutputRegressor(beta=beta,
                                                                random_state=0),
    "units per output\n(ReLU programs)": ConvexReLURegressor(beta=beta,
                                                             random_state=0),
    "MLP, 100 units\n(L-BFGS)": MLPRegressor(
        hidden_layer_sizes=(100,), solver="lbfgs", max_iter=5000,
        alpha=beta * len(X_tr) / k, random_state=0),
}
rows = []
for name, model in models.items():
    start = time.process_time()
    model.fit(X_tr, Y_tr)
    seconds = time.process_time() - start
    W1, W2 = model.coefs_
    live = (np.abs(W1).sum(axis=0) > 0) & (np.abs(W2).sum(axis=1) > 0)
    objective = training_objective(X_tr, Y_tr, model.coefs_, model.intercepts_, beta)
    score = r2_score(Y_te, model.predict(X_te))
    rows.append((name, int(live.sum()), objective, score, seconds))
    print(f"{name.replace(chr(10), ' '):<40} neurons {live.sum():>4}  objective "
          f"{objective:.5f}  test R^2 {score:.3f}  ({seconds:.1f} s CPU)")

shared = models["shared units\n(copositive)"]
print(f"shared units: proven lower bound {shared.lower_bound_:.5f}, relative gap "
      f"{shared.duality_gap_ / shared.objective_:.3f}, oracle {shared.oracle_}")

# %%
# With three features plus the bias and 180 samples, the copositive fit's
# cone-constrained PCA is approximate (``oracle_``): its lower bound is
# proven but loose, so the fit reports its gap and warns instead of
# claiming a certificate. The bound covers the networks whose units use
# the patterns it examined.
#
# Here the shared network reaches the lowest training objective: its units serve
# every output, so each unit's weight decay is paid once. The networks with
# separate units pay it per output.
names = [r[0] for r in rows]
colors = ["tab:red", "tab:blue", "tab:gray"]
fig, axes = plt.subplots(1, 3, figsize=(13, 4.2), sharey=True)
for ax, j, title in zip(axes, (2, 1, 3),
                        ("training objective", "hidden neurons", "test $R^2$")):
    values = [r[j] for r in rows]
    bars = ax.barh(range(3), values, color=colors)
    ax.set_title(title)
    for bar, value in zip(bars, values):
        label = f"{value:.4f}" if j == 2 else (f"{value:.3f}" if j == 3 else str(value))
        ax.annotate(f" {label}", (bar.get_width(), bar.get_y() + bar.get_height() / 2),
                    ha="left", va="center", fontsize=13)
    ax.set_xlim(0, 1.35 * max(values))
axes[0].set_yticks(range(3), names)
axes[0].invert_yaxis()
fig.suptitle(f"Same weight decay, beta = {beta:g}: {k} outputs of one ReLU network")
fig.tight_layout()
plt.show()
