"""ConvexConvReLUClassifier at its defaults (or changed ones) on the 8x8 digits.

``make_pipeline(StandardScaler(), ConvexConvReLUClassifier(image_shape=(8, 8),
**params))`` on scikit-learn's digits, a stratified 75/25 split
(``random_state=0``), as in the defaults table (``benchmarks/defaults.py``).
Prints one JSON line: the parameters, the fit's CPU seconds
(``time.process_time``) and wall seconds, test and training accuracy, the
certified relative gap, objective, iterations, neurons, solver and the
first warnings. ``{"mlp": true}`` fits ``MLPClassifier(random_state=0)``
instead (other keys are its parameters).

``--bars`` instead fits the CNN (``random_state=0`` and the given
parameters) on images unlike the digits: 100 noisy 10 x 10 images with a
bar of four pixels anywhere, horizontal or vertical (the generator of
``tests/test_cnn.py``), scored on 400 more, next to
``LogisticRegression`` and ``MLPClassifier(max_iter=2000)`` on the pixels.
``--regression`` fits ``ConvexConvReLURegressor`` the same way on 200
noisy 10 x 10 images with 0-2 vertical and 0-2 horizontal bars anywhere
(target ``n_vertical - 0.5 * n_horizontal``; ``tests/test_cnn.py``), scored
(R^2) on 400 more, next to ``Ridge`` and ``MLPRegressor(max_iter=2000)``.

Commands (one BLAS thread)::

    OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 PYTHONPATH=. python benchmarks/cnn_defaults.py '{"random_state": 0}'
    OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 PYTHONPATH=. python benchmarks/cnn_defaults.py \\
        '{"kernel_size": 5, "stride": 3, "random_state": 0, "tol": 1e-4}'
    OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 PYTHONPATH=. python benchmarks/cnn_defaults.py '{"mlp": true}'
    OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 PYTHONPATH=. python benchmarks/cnn_defaults.py --bars '{}'
    OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 PYTHONPATH=. python benchmarks/cnn_defaults.py --regression '{}'
"""

import json
import sys
from pathlib import Path
import time
import warnings

import numpy as np
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skconvexnn import ConvexConvReLUClassifier, ConvexConvReLURegressor


def bars(params, regression=False):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from test_cnn import bar_count_images, bar_images

    rng = np.random.default_rng(0)
    if regression:
        X, y = bar_count_images(200, rng)
        X_test, y_test = bar_count_images(400, rng)
        cls = ConvexConvReLURegressor
        baselines = {"ridge": Ridge(),
                     "mlp": MLPRegressor(max_iter=2000, random_state=0)}
    else:
        X, y = bar_images(100, 10, rng)
        X_test, y_test = bar_images(400, 10, rng)
        cls = ConvexConvReLUClassifier
        baselines = {"logistic": LogisticRegression(),
                     "mlp": MLPClassifier(max_iter=2000, random_state=0)}
    cpu = time.process_time()
    clf = cls(**{"random_state": 0, **params}).fit(X, y)
    cpu = time.process_time() - cpu
    flat_train, flat_test = X.reshape(len(X), -1), X_test.reshape(len(X_test), -1)
    print(json.dumps(dict(
        params=params, cpu=round(cpu, 1), test=clf.score(X_test, y_test),
        gap=clf.duality_gap_ / clf.objective_, neurons=clf.n_neurons_,
        solver=str(clf.solver_),
        **{name: est.fit(flat_train, y).score(flat_test, y_test)
           for name, est in baselines.items()},
    )), flush=True)


def main(argv):
    if len(argv) > 1 and argv[1] in ("--bars", "--regression"):
        return bars(json.loads(argv[2]) if len(argv) > 2 else {},
                    regression=argv[1] == "--regression")
    X, y = load_digits(return_X_y=True)
    Xtr, Xte, ytr, yte = train_test_split(X, y, random_state=0, stratify=y)
    params = json.loads(argv[1]) if len(argv) > 1 else {}
    if params.pop("mlp", False):
        est = MLPClassifier(random_state=0, **params)
    else:
        est = ConvexConvReLUClassifier(image_shape=(8, 8), **params)
    pipe = make_pipeline(StandardScaler(), est)
    cpu, wall = time.process_time(), time.time()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pipe.fit(Xtr, ytr)
    cpu, wall = time.process_time() - cpu, time.time() - wall
    gap = (est.duality_gap_ / est.objective_ if hasattr(est, "duality_gap_")
           else None)
    print(json.dumps(dict(
        params=params, cpu=round(cpu, 1), wall=round(wall, 1),
        test=round(pipe.score(Xte, yte), 4), train=round(pipe.score(Xtr, ytr), 4),
        gap=gap, objective=getattr(est, "objective_", None),
        n_iter=getattr(est, "n_iter_", None),
        neurons=getattr(est, "n_neurons_", None),
        solver=str(getattr(est, "solver_", "")),
        warnings=[str(w.message)[:80] for w in caught][:2],
    )), flush=True)


if __name__ == "__main__":
    main(sys.argv)
