"""The native solvers against Clarabel on programs of fewer than 50 samples.

``solver="auto"`` sends every program to a native solver, at every number
of samples (user guide, "Choosing a solver"). This script measures what
that costs where the blocks far outnumber the samples, in one run:

1. Synthetic data (``y = sum_j sin(2 x_j)`` plus noise, ``x`` uniform on
   ``[-2, 2]^d``) of 20 to 45 samples in 1 to 3 dimensions, every
   pattern (``arrangements="exhaustive"``) or the default patterns, at
   ``beta`` 1e-3, 1e-2 and the value ``beta="auto"`` chooses there:
   ``ConvexReLURegressor`` with ``solver="auto"`` and with
   ``solver="clarabel"`` on the same program, CPU seconds of each fit,
   its objective, relative duality gap and iterations.
2. The small real tables of ``benchmarks/defaults.py`` (split seed 0,
   features standardized in a pipeline): each plain and CV estimator at
   its defaults, and with ``solver="clarabel"`` (which also makes the CV
   estimators score their path by five folds, as the defaults do below
   50 samples), wall seconds and test score.

Run: ``OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 python
benchmarks/tiny_programs.py [--part 1|2]``.
"""

import argparse
import os
import sys
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from defaults import split_dataset  # noqa: E402

import skconvexnn  # noqa: E402

TABLES = ["statecrime", "linnerud", "stackloss", "longley", "scotland", "spector",
          "cpunish", "committee", "copper"]


def _fit(model, X, y, clock):
    """``(seconds, number of ConvergenceWarnings)`` of ``model.fit(X, y)``."""
    start = clock()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(X, y)
    warned = sum(issubclass(w.category, ConvergenceWarning) for w in caught)
    return clock() - start, warned


def synthetic():
    rng = np.random.RandomState(0)
    print(f"{'n':>3s} {'d':>2s} {'beta':>6s} {'patterns':>10s} {'solver':>8s} "
          f"{'cpu s':>6s} {'objective':>12s} {'rel gap':>8s} {'iter':>5s} "
          f"{'Clarabel s':>10s} {'objective':>12s} {'ratio':>6s}")
    for n, d in [(40, 1), (45, 1), (30, 2), (20, 3)]:
        X = rng.uniform(-2, 2, (n, d))
        y = np.sin(2 * X).sum(axis=1) + 0.1 * rng.standard_normal(n)
        for beta in (1e-3, 1e-2, "auto"):
            for arrangements in ("exhaustive", "auto"):
                if beta == "auto":  # (its value, untimed: both solve at it)
                    beta = skconvexnn.ConvexReLURegressor(
                        arrangements=arrangements, random_state=0).fit(X, y).beta_
                fits = []
                for solver in ("auto", "clarabel"):
                    est = skconvexnn.ConvexReLURegressor(
                        beta=beta, arrangements=arrangements, solver=solver,
                        random_state=0)
                    seconds, warned = _fit(est, X, y, time.process_time)
                    fits.append((est, seconds, warned))
                (ours, t_ours, w_ours), (ref, t_ref, _) = fits
                gap = ours.duality_gap_ / abs(ours.objective_)
                print(f"{n:3d} {d:2d} {beta:6.4f} {arrangements:>10s} "
                      f"{ours.solver_:>8s} {t_ours:6.2f} {ours.objective_:12.8f} "
                      f"{gap:8.1e} {ours.n_iter_:5d}{'*' if w_ours else ' '}"
                      f"{t_ref:10.2f} {ref.objective_:12.8f} "
                      f"{t_ours / t_ref:6.2f}", flush=True)
    print("ratio: our CPU seconds over Clarabel's; * a ConvergenceWarning")


def tables():
    print(f"{'dataset':12s} {'n':>3s} {'estimator':26s} {'auto s':>7s} "
          f"{'score':>7s} {'solver':>7s} {'clarabel s':>10s} {'score':>7s} "
          f"{'ratio':>6s}")
    for dataset in TABLES:
        X_train, X_test, y_train, y_test, task = split_dataset(dataset, 0)
        kind = "Classifier" if task == "clf" else "Regressor"
        for name in (f"ConvexReLU{kind}", f"ConvexReLU{kind}CV"):
            row = []
            for solver in ("auto", "clarabel"):
                model = make_pipeline(StandardScaler(), getattr(skconvexnn, name)(
                    solver=solver, random_state=0))
                seconds, warned = _fit(model, X_train, y_train, time.perf_counter)
                row.append((seconds, model.score(X_test, y_test), warned,
                            model[-1].solver_))
            (t_a, s_a, w_a, solver_a), (t_c, s_c, w_c, _) = row
            print(f"{dataset:12s} {len(X_train):3d} {name:26s} {t_a:7.2f} "
                  f"{s_a:7.3f}{'*' if w_a else ' '}{solver_a:>7s} {t_c:10.2f} "
                  f"{s_c:7.3f}{'*' if w_c else ' '}{t_a / t_c:6.2f}", flush=True)
    print("wall seconds; ratio: auto over clarabel; * a ConvergenceWarning")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--part", choices=["1", "2", "both"], default="both")
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f}")
    if args.part in ("1", "both"):
        synthetic()
    if args.part in ("2", "both"):
        tables()
    print(f"load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
