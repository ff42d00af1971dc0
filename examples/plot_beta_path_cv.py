"""
=====================================================
The beta path and cross-validation
=====================================================

Weight decay ``beta`` decides how many neurons the optimal network has.
Above :func:`~skconvexnn.beta_max` the best network is empty (a constant);
below it, neurons appear one activation pattern at a time.
:func:`~skconvexnn.convex_relu_path` fits the network along a decreasing
grid of betas on one set of patterns, each fit warm started from the
previous one, and :class:`~skconvexnn.ConvexReLURegressorCV` runs that path
on every fold to choose beta, as :class:`~sklearn.linear_model.LassoCV`
does for the lasso.

The data are scikit-learn's diabetes data, features and target
standardized; the model is the gated ReLU network (a group lasso over
activation patterns) on 30 sampled arrangements, to keep the example fast.
"""

# %%
# The path: neurons and objective versus beta
# -------------------------------------------
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_diabetes
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from skconvexnn import ConvexReLURegressor, ConvexReLURegressorCV, convex_relu_path

plt.rcParams.update({"font.size": 14})

X, y = load_diabetes(return_X_y=True)
y = (y - y.mean()) / y.std()
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
scaler = StandardScaler().fit(X_train)
X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)

est = ConvexReLURegressor(activation="gated_relu", n_arrangements=30,
                          random_state=0, tol=1e-4)
path = convex_relu_path(X_train, y_train, estimator=est, n_betas=15)
print(f"beta_max = {path.beta_max:.3g}; neurons along the path: {path.n_neurons}")

fig, ax0 = plt.subplots(figsize=(9, 5.5))
ax0.semilogx(path.betas, path.n_neurons, "o-", color="C0", lw=2.5, ms=8)
ax0.set_xlabel(r"$\beta$")
ax0.set_ylabel("neurons", color="C0")
ax0.tick_params(axis="y", colors="C0")
ax1 = ax0.twinx()
ax1.semilogx(path.betas, path.objectives, "s--", color="C1", lw=2.5, ms=8)
ax1.set_ylabel("training objective", color="C1")
ax1.tick_params(axis="y", colors="C1")
ax0.axvline(path.beta_max, color="gray", lw=1.5)
ax0.annotate(r"$\beta_{\max}$: no neuron", (path.beta_max, 0.06),
             xycoords=("data", "axes fraction"), xytext=(-8, 0),
             textcoords="offset points", ha="right", color="gray")
ax0.set_title(r"The path: more neurons as $\beta$ decreases")
fig.tight_layout()

# %%
# Every point of the path is certified: its duality gap is at most ``tol``
# times its objective.
print(f"largest relative gap: {np.max(path.duality_gaps / path.objectives):.1e}")

# %%
# Choosing beta by cross-validation
# ---------------------------------
# Five folds, each running the path of 15 betas on its training part; the
# beta of least mean held-out error is refitted on all the training data.
reg = ConvexReLURegressorCV(activation="gated_relu", n_arrangements=30,
                            n_betas=15, cv=5, random_state=0, tol=1e-4)
reg.fit(X_train, y_train)
print(f"chosen beta {reg.beta_:.3g} ({reg.n_neurons_} neurons), "
      f"test R^2 {reg.score(X_test, y_test):.3f}")

mse = reg.mse_path_.mean(axis=1)
std = reg.mse_path_.std(axis=1)
fig, ax = plt.subplots(figsize=(9, 5.5))
ax.semilogx(reg.betas_, reg.mse_path_, ":", color="gray", lw=1.5)
ax.semilogx(reg.betas_, mse, "o-", color="k", lw=2.5, ms=8, label="mean over folds")
ax.fill_between(reg.betas_, mse - std, mse + std, color="k", alpha=0.1,
                label="one standard deviation")
ax.axvline(reg.beta_, color="C3", ls="--", lw=2.5,
           label=rf"chosen: beta_ = {reg.beta_:.3g}")
ax.set_xlabel(r"$\beta$")
ax.set_ylabel("held-out mean squared error")
ax.set_title("Cross-validation curve (dotted: each fold)")
ax.legend(loc="upper right")
fig.tight_layout()
plt.show()
