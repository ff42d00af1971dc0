"""Shared hidden units against independent units per output, at equal beta.

Three multi-output datasets, split 75/25 (``random_state=0``), ``X`` and
``Y`` standardized on the training part:

- ``linnerud``: 20 samples, 3 features, 3 targets;
- ``make_regression``: ``make_regression(500, 10, n_targets=3, noise=5,
  random_state=0)``;
- ``teacher``: 600 samples, 5 features, 5 targets from one random ReLU
  network with 8 hidden units plus noise (standard deviation 0.1 of the
  targets' scale): the outputs share their hidden units.

Three estimators with the same weight decay ``beta = 1e-3`` (the training
objective of the user guide, ``1/(2n) ||F(X) - Y||^2 + beta/2 (||W_1||^2
+ ||b_1||^2 + ||W_2||^2)``):

- ``shared``: :class:`~skconvexnn.CopositiveMultiOutputRegressor` at its
  defaults, hidden units shared by the outputs;
- ``independent``: :class:`~skconvexnn.ConvexReLURegressor` at its
  defaults, which gives each output its own hidden units (one convex
  program per output);
- ``mlp``: :class:`~sklearn.neural_network.MLPRegressor` with 100 shared
  hidden units, L-BFGS, ``alpha = beta n / k`` (scikit-learn's loss is a
  mean over samples *and* outputs, and its penalty ``alpha/(2n)
  ||W||^2``; with that alpha its objective is ours divided by ``k``,
  except that it does not penalize the hidden biases).

For each: hidden neurons (units with a nonzero input and output weight),
the training objective above evaluated on the fitted weights, the test
:math:`R^2` (mean over outputs, standardized targets), and the CPU time.

Run: ``OPENBLAS_NUM_THREADS=1 PYTHONPATH=. python benchmarks/copositive_shared.py``.
"""

import time
import warnings

import numpy as np
from sklearn.datasets import load_linnerud, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import r2_score
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPRegressor
from sklearn.preprocessing import StandardScaler

from skconvexnn import ConvexReLURegressor, CopositiveMultiOutputRegressor

BETA = 1e-3


def teacher(n=600, d=5, k=5, width=8, noise=0.1, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    W, b = rng.standard_normal((d, width)), rng.standard_normal(width)
    Y = np.maximum(X @ W + b, 0) @ rng.standard_normal((width, k))
    return X, Y + noise * Y.std(axis=0) * rng.standard_normal((n, k))


def datasets():
    yield "linnerud", *load_linnerud(return_X_y=True)
    yield "make_regression", *make_regression(500, 10, n_targets=3, noise=5,
                                              random_state=0)
    yield "teacher", *teacher()


def split(X, Y):
    X_tr, X_te, Y_tr, Y_te = train_test_split(X, Y, test_size=0.25, random_state=0)
    sx, sy = StandardScaler().fit(X_tr), StandardScaler().fit(Y_tr)
    return sx.transform(X_tr), sx.transform(X_te), sy.transform(Y_tr), sy.transform(Y_te)


def weights(est):
    """``(W1, b1, W2, b2)`` of a fitted estimator (MLP or ours)."""
    (W1, W2), (b1, b2) = est.coefs_, est.intercepts_
    return W1, b1, W2, b2


def objective(X, Y, beta, W1, b1, W2, b2):
    P = np.maximum(X @ W1 + b1, 0) @ W2 + b2
    return (np.sum((P - Y) ** 2) / (2 * len(X))
            + 0.5 * beta * (np.sum(W1**2) + np.sum(b1**2) + np.sum(W2**2)))


def n_neurons(W1, b1, W2):
    size = np.sqrt(np.sum(W1**2, axis=0) + b1**2) * np.linalg.norm(W2, axis=1)
    return int(np.sum(size > 1e-8 * max(size.max(initial=0.0), 1e-300)))


def estimators(n, k):
    return {
        "shared": CopositiveMultiOutputRegressor(beta=BETA, random_state=0),
        "independent": ConvexReLURegressor(beta=BETA, random_state=0),
        "mlp": MLPRegressor(hidden_layer_sizes=(100,), alpha=BETA * n / k,
                            solver="lbfgs", max_iter=5000, random_state=0),
    }


def measure():
    """Rows ``(dataset, estimator, neurons, objective, test R^2, CPU s)``."""
    rows = []
    for name, X, Y in datasets():
        X_tr, X_te, Y_tr, Y_te = split(X, Y)
        n, k = Y_tr.shape
        for label, est in estimators(n, k).items():
            start = time.process_time()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                est.fit(X_tr, Y_tr)
            seconds = time.process_time() - start
            W1, b1, W2, b2 = weights(est)
            rows.append((name, label, n_neurons(W1, b1, W2),
                         objective(X_tr, Y_tr, BETA, W1, b1, W2, b2),
                         r2_score(Y_te, est.predict(X_te)), seconds))
    return rows


def main():
    print(f"{'data':<17}{'estimator':<13}{'neurons':>8}{'objective':>12}"
          f"{'test R2':>9}{'CPU s':>8}")
    for name, label, m, obj, r2, seconds in measure():
        print(f"{name:<17}{label:<13}{m:>8}{obj:>12.5g}{r2:>9.3f}{seconds:>8.1f}",
              flush=True)


if __name__ == "__main__":
    main()
