"""
=====================================================
Choosing beta with a Pipeline and GridSearchCV
=====================================================

:class:`~skconvexnn.ConvexReLURegressor` is an ordinary scikit-learn
estimator: it goes in a :class:`~sklearn.pipeline.Pipeline` after a
:class:`~sklearn.preprocessing.StandardScaler` and its weight decay ``beta``
is tuned by :class:`~sklearn.model_selection.GridSearchCV`.

To keep the search fast we use the gated ReLU model (``activation=
"gated_relu"``, a group lasso without cone constraints) on a modest number of
sampled arrangements. The data are scikit-learn's diabetes data.
"""

# %%
# The pipeline and the grid
# -------------------------
import matplotlib.pyplot as plt
import numpy as np
from sklearn.compose import TransformedTargetRegressor
from sklearn.datasets import load_diabetes
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skconvexnn import ConvexReLURegressor

plt.rcParams.update({"font.size": 14})

X, y = load_diabetes(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)

pipe = make_pipeline(
    StandardScaler(),
    ConvexReLURegressor(activation="gated_relu", n_arrangements=30,
                        random_state=0),
)
# Standardize the target too, so that beta has the same meaning on any scale.
model = TransformedTargetRegressor(pipe, transformer=StandardScaler())
betas = np.logspace(-4, -0.5, 8)
search = GridSearchCV(model, {"regressor__convexreluregressor__beta": betas},
                      cv=5, n_jobs=1)
search.fit(X_train, y_train)
best_beta = search.best_params_["regressor__convexreluregressor__beta"]
print(f"best beta {best_beta:.1e}, cross-validated R^2 "
      f"{search.best_score_:.3f}, test R^2 {search.score(X_test, y_test):.3f}")

# %%
# Network size along the grid
# ---------------------------
# Larger beta prunes more neurons: the group-lasso penalty of the convex
# program switches whole activation patterns off.
neurons = []
for beta in betas:
    fitted = model.set_params(regressor__convexreluregressor__beta=beta)
    fitted.fit(X_train, y_train)
    neurons.append(fitted.regressor_[-1].n_neurons_)

fig, ax0 = plt.subplots(figsize=(9, 5.5))
mean = search.cv_results_["mean_test_score"]
std = search.cv_results_["std_test_score"]
ax0.errorbar(betas, mean, yerr=std, fmt="o-", color="tab:blue", lw=2.5, ms=8,
             capsize=4)
ax0.axvline(best_beta, color="gray", ls=":", lw=2)
ax0.annotate(rf"best $\beta$ = {best_beta:.1e}", (best_beta, 0.04),
             xycoords=("data", "axes fraction"), xytext=(-6, 0),
             textcoords="offset points", ha="right", color="gray")
ax0.set_xscale("log")
ax0.set_xlabel(r"$\beta$")
ax0.set_ylabel("cross-validated $R^2$", color="tab:blue")
ax0.tick_params(axis="y", colors="tab:blue")
ax1 = ax0.twinx()
ax1.plot(betas, neurons, "s--", color="tab:orange", lw=2.5, ms=8)
ax1.set_ylabel("neurons after pruning", color="tab:orange")
ax1.tick_params(axis="y", colors="tab:orange")
ax0.set_title("Gated ReLU network on diabetes: tuning beta")
fig.tight_layout()
plt.show()
