"""
=====================================
A convex CNN on the 8x8 digits
=====================================

A two-layer CNN has one layer of filters slid over the image, a ReLU, a
global pooling over the positions and a linear output. Its weight-decay
training problem is a convex program over the activation patterns of the
*patches* (the rows of the patch matrix), so the number of patterns grows
exponentially only in the filter size, not in the image size.

Here :class:`~skconvexnn.ConvexConvReLUClassifier` learns 5 x 5 filters
(16 patches per image) with global average pooling on scikit-learn's 8 x 8
digits. We use the gated ReLU program (``activation="gated_relu"``): its
convex program is a group lasso that the native ADMM solver
(``solver="auto"``) handles in seconds, with the prediction a sum over each
image's patches; the exact ReLU program goes through an interior-point
solver and suits small problems only. The fit stops at the default relative
duality gap, ``tol=1e-6``. The same settings on the 64 flattened pixels
(:class:`~skconvexnn.ConvexReLUClassifier`) and scikit-learn's
:class:`~sklearn.neural_network.MLPClassifier` give the comparison.
"""

# %%
# Data
# ----
import time
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier

from skconvexnn import ConvexConvReLUClassifier, ConvexReLUClassifier

plt.rcParams.update({"font.size": 14})

X, y = load_digits(return_X_y=True)
X = X / 8.0 - 1.0  # pixels in [-1, 1]
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3,
                                                    random_state=0)
images_train = X_train.reshape(-1, 8, 8)  # the CNN also accepts image arrays
images_test = X_test.reshape(-1, 8, 8)

# %%
# Three models
# ------------
# The convex models share their settings: 50 Gaussian gates, squared loss
# on one-hot targets (each class has its own neurons), ``beta=1e-4``.
convex = dict(activation="gated_relu", n_arrangements=50, arrangements="gaussian",
              loss="squared", beta=1e-4, tol=1e-6, random_state=0)
models = {
    "convex CNN": (ConvexConvReLUClassifier(kernel_size=5, pooling="average",
                                            **convex),
                   images_train, images_test),
    "convex dense": (ConvexReLUClassifier(**convex), X_train, X_test),
    "MLPClassifier": (MLPClassifier(max_iter=2000, random_state=0),
                      X_train, X_test),
}
print(f"{'model':<15}{'fit s':>7}{'test accuracy':>15}")
for name, (model, train, test) in models.items():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        start = time.perf_counter()
        model.fit(train, y_train)
        seconds = time.perf_counter() - start
    print(f"{name:<15}{seconds:7.2f}{model.score(test, y_test):15.3f}")

cnn = models["convex CNN"][0]
print(f"CNN: {cnn.n_neurons_} filters, {cnn.n_patches_} patches per image, "
      f"relative duality gap {cnn.duality_gap_ / cnn.objective_:.1e}")

# %%
# The global average pooling makes the CNN's output blind to where in the
# image a 5 x 5 window sits, yet on the digits the filters are large enough
# to see most of a stroke. The CNN's convex program has patterns of
# 26-dimensional patches (25 pixels and a bias) instead of 65-dimensional
# images; each ADMM iteration works on 16 times as many rows as the dense
# program, which is what its fit time pays for.
#
# Learned filters
# ---------------
# ``coefs_[0]`` holds the filters, shape ``(n_neurons_, 5, 5, 1)``; each
# filter belongs to one class (its nonzero output weight in ``coefs_[1]``).
# The filters with the largest output weights of a few classes:
W, A = cnn.coefs_
classes = [0, 1, 3, 7]
fig, axes = plt.subplots(len(classes), 6, figsize=(10, 7.6))
for row, digit in zip(axes, classes):
    weight = A[:, digit]
    order = np.argsort(-np.abs(weight))[: len(row)]
    for ax, j in zip(row, order):
        limit = np.abs(W[j]).max()
        ax.imshow(W[j, :, :, 0], cmap="RdBu_r", vmin=-limit, vmax=limit)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(f"a = {weight[j]:+.2f}")
    row[0].set_ylabel(f"class {digit}", fontsize=16)
fig.suptitle("Convex CNN filters (5 x 5) and their output weights a\n"
             "(red: positive pixel weights, blue: negative)")
fig.tight_layout()
plt.show()
