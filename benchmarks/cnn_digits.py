"""Convex CNN on scikit-learn's 8x8 digits, next to dense networks.

Pixels scaled to [-1, 1], a 70/30 split (random_state=0). Prints the fit
time, test accuracy, hidden neurons (filters) and, for the convex models,
the certified relative duality gap of the returned network:

- ``ConvexConvReLUClassifier``: gated ReLU CNN, 5 x 5 filters with stride 1
  (16 patches per image), global average pooling, 50 Gaussian gates,
  squared loss, beta=1e-4, tol=1e-6 (set, not the classifier's defaults;
  ``solver="auto"``: the native ADMM solver);
- ``ConvexReLUClassifier`` on the 64 flattened pixels, the same settings
  (gated ReLU, 50 gates, squared loss, beta=1e-4);
- ``MLPClassifier`` with 100 hidden units (scikit-learn's defaults).

Command (from the repository root, one BLAS thread)::

    OPENBLAS_NUM_THREADS=1 PYTHONPATH=. python benchmarks/cnn_digits.py
"""

import time
import warnings

from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier

from skconvexnn import ConvexConvReLUClassifier, ConvexReLUClassifier

CONVEX = dict(activation="gated_relu", n_arrangements=50, loss="squared",
              beta=1e-4, tol=1e-6, random_state=0)


def models():
    return {
        "ConvexConvReLUClassifier (5x5 filters)": ConvexConvReLUClassifier(
            image_shape=(8, 8), kernel_size=5, pooling="average", **CONVEX),
        "ConvexReLUClassifier (flat pixels)": ConvexReLUClassifier(**CONVEX),
        "MLPClassifier (100 units)": MLPClassifier(max_iter=2000, random_state=0),
    }


def main():
    X, y = load_digits(return_X_y=True)
    X = X / 8.0 - 1.0
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.3, random_state=0)
    print(f"{'model':<44}{'fit s':>8}{'test acc':>10}{'neurons':>9}{'rel gap':>9}")
    for name, est in models().items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            t0 = time.perf_counter()
            est.fit(Xtr, ytr)
            seconds = time.perf_counter() - t0
        neurons = getattr(est, "n_neurons_", sum(est.hidden_layer_sizes
                                                 if hasattr(est, "n_layers_")
                                                 else ()))
        gap = (f"{est.duality_gap_ / est.objective_:9.1e}"
               if hasattr(est, "duality_gap_") else f"{'-':>9}")
        print(f"{name:<44}{seconds:8.2f}{est.score(Xte, yte):10.3f}"
              f"{neurons:9d}{gap}", flush=True)


if __name__ == "__main__":
    main()
