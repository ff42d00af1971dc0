"""
============================
Never below the convex floor
============================

With every activation pattern (``arrangements="exhaustive"``), the convex
fit is the global minimum of the weight-decay training problem over
networks of *any* width, and its ``lower_bound_`` proves it. So no
nonconvex training run, whatever its width, optimizer or seed, can reach a
lower value of that objective. Here we train many
:class:`~sklearn.neural_network.MLPRegressor` and
:class:`~sklearn.neural_network.MLPClassifier` networks and evaluate our
objective at their weights with :func:`skconvexnn.training_objective`.

**The trap.** An MLP reports its own training objective in ``loss_``, and
``mlp.loss_`` *can* be below ``objective_``. That is no contradiction: it is
another objective. scikit-learn

* does **not** penalize the hidden biases, which the papers and skconvexnn
  do (the term :math:`\\frac{\\beta}{2}\\sum_j b_j^2`), and
* scales the weight decay by the number of samples:
  ``alpha / (2 n) * ||W||^2``, so ``alpha = n * beta`` is our ``beta``
  (with ``solver="adam"``, ``n`` is the batch size, all 20 or 30 samples
  here).

Compare ``objective_`` only with ``training_objective(X, y, mlp.coefs_,
mlp.intercepts_, beta)``, never with ``mlp.loss_``.
"""

# %%
# Regression: the data and the floor
# ----------------------------------
# Twenty points on a line, ``y`` standardized by us (so that the regressor's
# own target scaling changes nothing, see the user guide, "Target scaling").
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import make_moons
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier, MLPRegressor

from skconvexnn import ConvexReLUClassifier, ConvexReLURegressor, training_objective

plt.rcParams.update({"font.size": 14})

rng = np.random.default_rng(0)
n = 20
X = np.sort(rng.uniform(-2, 2, n)).reshape(-1, 1)
y = np.sin(2 * X.ravel()) + 0.15 * rng.standard_normal(n)
y = (y - y.mean()) / y.std()
beta = 1e-2

floor = ConvexReLURegressor(beta=beta, arrangements="exhaustive").fit(X, y)
print(f"convex optimum {floor.objective_:.6f}, lower bound {floor.lower_bound_:.6f} "
      f"(gap {floor.duality_gap_:.1e})")
print("training_objective at the convex network's weights: "
      f"{training_objective(X, y, floor.coefs_, floor.intercepts_, beta):.6f}")

# %%
# Many nonconvex runs
# -------------------
# L-BFGS and Adam, three widths, six seeds each: 36 networks. For each we
# keep our objective at its weights and scikit-learn's ``loss_``. For L-BFGS
# ``loss_`` is exactly our objective without the bias term
# (``penalize_hidden_biases=False``); for Adam it is that value one step
# before the last update.
SETTINGS = {
    "lbfgs": {"solver": "lbfgs", "max_iter": 5000, "tol": 1e-10},
    # one batch holds every sample, so shuffling would only cost time
    "adam": {"solver": "adam", "max_iter": 2000, "learning_rate_init": 1e-2,
             "tol": 1e-8, "n_iter_no_change": 50, "shuffle": False},
}
WIDTHS = [5, 10, 100]
SEEDS = range(6)


def train_many(estimator, X, y, beta, loss):
    """Our objective and loss_ of every run, by (solver, width)."""
    runs = {}
    for name, settings in SETTINGS.items():
        for width in WIDTHS:
            ours, theirs = [], []
            for seed in SEEDS:
                mlp = estimator(hidden_layer_sizes=(width,), alpha=len(y) * beta,
                                random_state=seed, **settings)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", ConvergenceWarning)
                    mlp.fit(X, y)
                ours.append(training_objective(X, y, mlp.coefs_, mlp.intercepts_,
                                               beta, loss=loss))
                theirs.append(mlp.loss_)
                if name == "lbfgs":
                    same = training_objective(X, y, mlp.coefs_, mlp.intercepts_, beta,
                                              loss=loss, penalize_hidden_biases=False)
                    assert np.isclose(same, mlp.loss_)
            runs[name, width] = np.array(ours), np.array(theirs)
    return runs


regression = train_many(MLPRegressor, X, y, beta, "squared")


def summary(runs, fit):
    ours = np.concatenate([o for o, _ in runs.values()])
    theirs = np.concatenate([t for _, t in runs.values()])
    print(f"{len(ours)} runs: our objective min {ours.min():.6f} >= lower bound "
          f"{fit.lower_bound_:.6f}: {bool(ours.min() >= fit.lower_bound_)}; "
          f"mlp.loss_ below the optimum in {int(np.sum(theirs < fit.objective_))} runs")


summary(regression, floor)

# %%
# Classification: the same with the logistic loss
# ------------------------------------------------
# Thirty points of the two moons; every pattern of these 2-D data (871 of
# them) is in the program, so the convex classifier is again the global
# optimum, here of the mean logistic loss plus weight decay. ``loss_`` of
# ``MLPClassifier`` is that loss (with the same ``alpha = n * beta``
# scaling), again without the hidden biases.
Xc, yc = make_moons(n_samples=30, noise=0.2, random_state=0)
floor_c = ConvexReLUClassifier(loss="logistic", beta=beta,
                               arrangements="exhaustive").fit(Xc, yc)
print(f"convex optimum {floor_c.objective_:.6f}, lower bound "
      f"{floor_c.lower_bound_:.6f}, {len(floor_c.gates_)} patterns")
classification = train_many(MLPClassifier, Xc, yc, beta, "logistic")
summary(classification, floor_c)

# %%
# The floor
# ---------
# Blue dots: our objective at each network's weights, which no run takes
# below the convex optimum (black line; the dashed white line on it is the
# lower bound, equal to it here). Orange triangles: scikit-learn's
# ``loss_``, which leaves out the biases' weight decay and so can fall below
# (into the grey region).


def draw(ax, runs, fit, title):
    groups = list(runs)
    jitter = np.linspace(-0.15, 0.15, len(SEEDS))
    for i, key in enumerate(groups):
        ours, theirs = runs[key]
        ax.plot(i - 0.2 + jitter, ours, "o", ms=8, color="tab:blue", mec="black",
                mew=0.5)
        ax.plot(i + 0.2 + jitter, theirs, "^", ms=8, color="tab:orange", mfc="none",
                mew=2)
    low = min(min(t.min() for _, t in runs.values()), fit.objective_)
    top = max(o.max() for o, _ in runs.values())
    ax.axhspan(0, fit.objective_, color="0.85", zorder=0)
    ax.axhline(fit.objective_, color="black", lw=3)
    ax.axhline(fit.lower_bound_, color="white", lw=1.5, ls="--")
    ax.text(len(groups) - 0.45, fit.objective_ + 0.01 * (top - low),
            f"{fit.objective_:.4f}", ha="right", va="bottom", fontweight="bold")
    ax.set_xticks(range(len(groups)), [f"{s}\n{w} units" for s, w in groups])
    ax.set_xlim(-0.6, len(groups) - 0.4)
    ax.set_ylim(low - 0.15 * (top - low), top + 0.05 * (top - low))
    ax.set_ylabel("training objective")
    ax.set_title(title)


fig, (ax0, ax1) = plt.subplots(2, 1, figsize=(9.5, 10.5))
draw(ax0, regression, floor, "MLPRegressor, 20 points on a line, squared loss")
draw(ax1, classification, floor_c, "MLPClassifier, 30 points of the moons, logistic loss")
legend = {
    "our objective at the MLP's weights": plt.Line2D(
        [], [], ls="", marker="o", ms=8, color="tab:blue", mec="black", mew=0.5),
    "mlp.loss_ (biases not penalized)": plt.Line2D(
        [], [], ls="", marker="^", ms=8, color="tab:orange", mfc="none", mew=2),
    "convex optimum, with its lower bound\n(white dashes: equal)": (
        plt.Line2D([], [], color="black", lw=3),
        plt.Line2D([], [], color="white", lw=1.5, ls="--")),
    "below the convex optimum": plt.Rectangle((0, 0), 1, 1, color="0.85"),
}
fig.legend(list(legend.values()), list(legend), loc="lower center", ncol=2,
           frameon=False)
fig.tight_layout(rect=(0, 0.1, 1, 1))
plt.show()

# %%
# Every blue dot is on or above the line: the convex optimum is a floor for
# networks of width 5 as for width 100, trained by L-BFGS or by Adam. Wide
# networks come close to it; narrow ones often stop in poor local minima
# well above it. The orange triangles of the widest networks sit together
# below the floor: that is the optimum of scikit-learn's *own* objective,
# whose biases are free. A network trained for that objective spends its
# biases freely, which our objective then charges for.
#
# So, to compare an MLP with the convex fit, evaluate the same objective at
# its weights::
#
#     training_objective(X, y, mlp.coefs_, mlp.intercepts_, beta)   # compare this
#     mlp.loss_                                                     # not this
#
# with ``alpha = n * beta`` when the MLP is trained.
