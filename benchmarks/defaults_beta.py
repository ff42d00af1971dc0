"""Test score against beta for the plain estimators, to choose the default.

For each dataset and split seed, the data are standardized on the training
part (as ``make_pipeline(StandardScaler(), ...)`` does), then
:func:`skconvexnn.convex_relu_path` fits the estimator at every beta of a
fixed grid (same gates along the grid, warm starts) and each fit is scored
on the test part (accuracy, or R^2 averaged over targets). The regressors
standardize their targets, so beta is on the scale of a standardized
problem for every dataset.

Usage::

    OPENBLAS_NUM_THREADS=1 python benchmarks/defaults_beta.py --datasets diabetes
    python benchmarks/defaults_beta.py --datasets wine --set activation=gated_relu
"""

import argparse
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from skconvexnn import ConvexReLUClassifier, ConvexReLURegressor, convex_relu_path

from defaults import DATASETS, parse_settings

BETAS = [1e-1, 3e-2, 1e-2, 3e-3, 1e-3, 3e-4, 1e-4]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE")
    args = parser.parse_args(argv)
    params = parse_settings(args.set)
    print("dataset        " + " ".join(f"{b:>7.0e}" for b in BETAS) + "   time s")
    for dataset in args.datasets.split(","):
        load, task = DATASETS[dataset]
        X, y = load()
        scores, start = [], time.perf_counter()
        for seed in map(int, args.seeds.split(",")):
            X_tr, X_te, y_tr, y_te = train_test_split(
                X, y, test_size=0.25, random_state=seed,
                stratify=y if task == "clf" else None)
            scaler = StandardScaler().fit(X_tr)
            X_tr, X_te = scaler.transform(X_tr), scaler.transform(X_te)
            cls = ConvexReLUClassifier if task == "clf" else ConvexReLURegressor
            est = cls(random_state=seed, **params)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                path = convex_relu_path(X_tr, y_tr, BETAS, estimator=est)
            scores.append([fit.score(X_te, y_te) for fit in path.estimators])
        mean = np.mean(scores, axis=0)
        print(f"{dataset:14s} " + " ".join(f"{s:7.3f}" for s in mean)
              + f" {time.perf_counter() - start:8.1f}", flush=True)


if __name__ == "__main__":
    main()
