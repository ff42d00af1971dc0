"""Seeded arrangement search against plain nonconvex training, beta = 1e-3.

For each data set (features standardized; regression targets standardized
too): ``arrangements="search"`` with the default ``n_arrangements=100``
(seeded by three L-BFGS runs of 200 units per output, user guide
"Arrangement search") and ``solver="auto"``, against the best of 5 L-BFGS
runs (at most 5000 iterations each, random starts) of the same weight-decay
objective with 100 and with 200 hidden units per output, scored by the same
objective (mean loss + beta/2 (||U||^2 + ||A||^2), hidden biases penalized).
Times are CPU seconds of this process (one BLAS thread: the other work on a
shared machine inflates them less than wall time); the L-BFGS rows give the total of
their 5 runs. The MLP row (scikit-learn's defaults, ``max_iter=2000``, its
own objective) is the time reference of the defaults' speed goal.

Run: ``OPENBLAS_NUM_THREADS=1 python benchmarks/search_vs_training.py
[diabetes] [friedman1] [breast_cancer] [wine]``.
"""

import sys
import time
import warnings

import numpy as np
from sklearn.datasets import (load_breast_cancer, load_diabetes, load_wine,
                              make_friedman1)
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.preprocessing import StandardScaler

from skconvexnn import ConvexReLUClassifier, ConvexReLURegressor
from skconvexnn._base import add_ones
from skconvexnn._nonconvex import train_networks
from skconvexnn.losses import get_loss

BETA = 1e-3


def data(name):
    """``X``, ``y``, estimator class, loss name."""
    if name == "diabetes":
        X, y = load_diabetes(return_X_y=True)
    elif name == "friedman1":
        X, y = make_friedman1(1000, random_state=0)
    elif name == "breast_cancer":
        X, y = load_breast_cancer(return_X_y=True)
    elif name == "wine":
        X, y = load_wine(return_X_y=True)
    else:
        raise ValueError(name)
    X = StandardScaler().fit_transform(X)
    if name in ("diabetes", "friedman1"):
        return X, (y - y.mean()) / y.std(), ConvexReLURegressor, "squared"
    return X, y, ConvexReLUClassifier, "logistic"


def encoded(y, loss):
    """Targets as the classifier's program sees them (0/1 or one-hot)."""
    if loss == "squared":
        return y.reshape(-1, 1)
    classes = np.unique(y)
    codes = np.searchsorted(classes, y)
    if len(classes) == 2:
        return codes.reshape(-1, 1).astype(float)
    return np.eye(len(classes))[codes]


def main(names):
    print(f"beta={BETA}")
    print(f"{'data':<14}{'method':<28}{'objective':>11}{'bound':>11}{'neurons':>8}"
          f"{'time (s)':>9}")
    for name in names:
        X, y, cls, loss_name = data(name)
        X1, Y = add_ones(X, True), encoded(y, loss_name)
        s = np.full(len(X), 1.0 / len(X))
        rng = np.random.RandomState(0)
        total = 0.0
        for units in (100, 200):
            start = time.process_time()
            nets = train_networks(X1, Y, get_loss(loss_name), s, BETA, units, 5, rng,
                                  max_iter=5000)
            seconds = time.process_time() - start
            total += seconds
            print(f"{name:<14}{f'L-BFGS x5, {units} units':<28}"
                  f"{min(n.objective for n in nets):>11.5f}{'-':>11}"
                  f"{units * Y.shape[1]:>8}{seconds:>9.1f}", flush=True)
        print(f"{name:<14}{'L-BFGS, all 10 runs':<28}{'':>11}{'':>11}{'':>8}"
              f"{total:>9.1f}")
        mlp_cls = MLPClassifier if cls is ConvexReLUClassifier else MLPRegressor
        start = time.process_time()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            mlp_cls(max_iter=2000, random_state=0).fit(X, y)
        print(f"{name:<14}{mlp_cls.__name__ + ' (max_iter=2000)':<28}{'-':>11}"
              f"{'-':>11}{100:>8}{time.process_time() - start:>9.1f}", flush=True)
        params = {"loss": loss_name} if cls is ConvexReLUClassifier else {}
        est = cls(beta=BETA, arrangements="search", random_state=0, **params)
        start = time.process_time()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            est.fit(X, y)
        seconds = time.process_time() - start
        r = est.search_report_
        flag = " (ConvergenceWarning)" if caught else ""
        print(f"{name:<14}{'search / ' + est.solver_:<28}{est.objective_:>11.5f}"
              f"{est.lower_bound_:>11.5f}{est.n_neurons_:>8}{seconds:>9.1f}{flag}")
        print(f"{'':<14}seeds {[round(v, 5) for v in r['seed_objectives']]} "
              f"in {r['seed_seconds']:.1f} s, {r['seed_patterns']} patterns; "
              f"first solve {r['first_objective']:.5f}; {r['n_rounds']} solves, "
              f"{r['reason']}, max violation {r['max_violation']:.3g}, "
              f"{r['n_active']} active / {r['n_examined']} examined patterns",
              flush=True)


if __name__ == "__main__":
    main(sys.argv[1:] or ["diabetes", "friedman1", "breast_cancer", "wine"])
