"""Where the CV estimators' paths stop: patience alone, or also a downturn.

Each path of ``ConvexReLURegressorCV`` / ``ConvexReLUClassifierCV`` stops
once ``n_betas_no_change`` betas in a row have not improved on its best
score, or after two when the score has turned down (below the best by more
than ``PAST_BEST_DROP`` of its rise from the largest beta;
``skconvexnn.fitting.cv.stalled``). This runs each estimator at its
defaults in a ``StandardScaler`` pipeline on the training part of split
seed 0 of tables of ``benchmarks/defaults.py``, with the rule and without
it (``PAST_BEST_DROP`` set to infinity: patience alone), one after the
other, and prints the betas fitted, the chosen beta, the test score and
the fit's wall seconds of each.

Run: ``OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 python
benchmarks/cv_stopping.py [--datasets breast_cancer,diabetes,...]``.
"""

import argparse
import os
import sys
import time
import warnings

import numpy as np
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from defaults import split_dataset  # noqa: E402

import skconvexnn  # noqa: E402
from skconvexnn.fitting import cv  # noqa: E402

DATASETS = ["breast_cancer", "wine", "iris", "anes96", "diabetes", "star98", "fgl",
            "mode", "heating", "yogurt", "catsup", "cracker", "fishing", "cigar",
            "boston", "hedonic", "crime", "friedman1_700", "friedman3_300",
            "friedman2_300", "syn600_10_3", "syn1000_8_5", "fair", "randhie",
            "modechoice", "engel", "cancer"]


def run(dataset, drop):
    """``(betas fitted, chosen beta, test score, seconds)`` at ``drop``."""
    X_train, X_test, y_train, y_test, task = split_dataset(dataset, 0)
    name = "ConvexReLURegressorCV" if task == "reg" else "ConvexReLUClassifierCV"
    model = make_pipeline(StandardScaler(), getattr(skconvexnn, name)(random_state=0))
    kept = cv.PAST_BEST_DROP
    cv.PAST_BEST_DROP = drop
    try:
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(X_train, y_train)
        seconds = time.perf_counter() - start
    finally:
        cv.PAST_BEST_DROP = kept
    est = model[-1]
    return (int(est.n_betas_fitted_.min()), est.beta_, model.score(X_test, y_test),
            seconds)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", default=",".join(DATASETS))
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f}; "
          f"PAST_BEST_DROP = {cv.PAST_BEST_DROP}")
    print(f"{'':14s} {'with the rule':>29s} | {'patience alone':>29s}")
    print(f"{'dataset':14s} {'fitted':>6s} {'beta_':>9s} {'score':>6s} {'s':>5s} | "
          f"{'fitted':>6s} {'beta_':>9s} {'score':>6s} {'s':>5s} {'ratio':>6s}")
    for dataset in args.datasets.split(","):
        ours = run(dataset, cv.PAST_BEST_DROP)
        alone = run(dataset, np.inf)
        print(f"{dataset:14s} {ours[0]:6d} {ours[1]:9.3g} {ours[2]:6.3f} "
              f"{ours[3]:5.1f} | {alone[0]:6d} {alone[1]:9.3g} {alone[2]:6.3f} "
              f"{alone[3]:5.1f} {ours[3] / alone[3]:6.2f}", flush=True)
    print(f"load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
