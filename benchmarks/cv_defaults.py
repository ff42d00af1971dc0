"""What makes the CV estimators cheaper at their defaults, measured setting by setting.

Each setting of :class:`~skconvexnn.ConvexReLUClassifierCV` /
:class:`~skconvexnn.ConvexReLURegressorCV` runs in
``make_pipeline(StandardScaler(), estimator)`` with ``random_state=0`` on
the 75/25 split of ``benchmarks/defaults.py`` (seed 0, stratified for the
classifiers). For each it prints the CPU seconds of the fit
(``time.process_time``, this process; run with single-threaded BLAS), the
chosen beta relative to ``beta_max``, the betas each fold fitted
(``n_betas_fitted_``), the test score (accuracy or R^2) and the load
average at the end of the fit.

Settings (``--settings``, comma-separated):

- ``default``: the defaults (10 betas, ``fold_tol=1e-3``,
  ``n_betas_no_change=3``, 5 folds);
- ``tight``: ``fold_tol=None`` (folds solved to ``tol=1e-6``);
- ``full``: ``n_betas_no_change=None`` (every fold fits every beta);
- ``grid20``: ``n_betas=20``, ``n_betas_no_change=None``;
- ``loose``: ``fold_tol=1e-2``;
- ``patience2``: ``n_betas_no_change=2``;
- ``cv3``: ``cv=3``;
- ``gated``: the folds' fits on the gated program (``activation="gated_relu"``),
  with the chosen beta refitted on the ReLU program.

Usage::

    OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 PYTHONPATH=. python benchmarks/cv_defaults.py \\
        --datasets wine,iris,diabetes,breast_cancer --settings default,tight,loose
"""

import argparse
import os
import time
import warnings

import numpy as np
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skconvexnn import ConvexReLUClassifierCV, ConvexReLURegressorCV, beta_grid

from defaults import DATASETS  # noqa: E402  (benchmarks/ is the script's folder)

SETTINGS = {
    "default": {},
    "tight": {"fold_tol": None},
    "full": {"n_betas_no_change": None},
    "grid20": {"n_betas": 20, "n_betas_no_change": None},
    "loose": {"fold_tol": 1e-2},
    "patience2": {"n_betas_no_change": 2},
    "cv3": {"cv": 3},
    "gated": {},
}


def _gated_then_relu(cls, X, y):
    """Choose beta with the gated program's folds, refit the ReLU program there.

    The grid is the ReLU program's (from its ``beta_max``), so that both
    choose among the same betas.
    """
    scaler = StandardScaler().fit(X)
    Xs = scaler.transform(X)
    relu = cls(random_state=0)
    X_, Y_, loss = relu._training_data(Xs, y, None)
    grid = beta_grid(relu._plain_estimator()._beta_max(X_, Y_, loss),
                     relu.n_betas, relu.beta_ratio)
    gated = cls(activation="gated_relu", random_state=0, betas=grid).fit(Xs, y)
    plain = gated._plain_class(beta=gated.beta_, random_state=0).fit(Xs, y)
    return make_pipeline(scaler, plain), gated


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", default="wine,iris,diabetes,breast_cancer")
    parser.add_argument("--settings", default="default,tight,full,loose,patience2")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    print(f"{'dataset':14s} {'setting':10s} {'CPU s':>7s} {'beta/max':>9s} "
          f"{'score':>6s} {'load':>5s}  betas fitted per fold")
    for dataset in args.datasets.split(","):
        load, task = DATASETS[dataset]
        X, y = load()
        X_train, X_test, y_train, y_test = train_test_split(
            X, y, test_size=0.25, random_state=0,
            stratify=y if task == "clf" else None)
        cls = ConvexReLUClassifierCV if task == "clf" else ConvexReLURegressorCV
        for setting in args.settings.split(","):
            start = time.process_time()
            if setting == "gated":
                model, est = _gated_then_relu(cls, X_train, y_train)
            else:
                est = cls(random_state=0, **SETTINGS[setting])
                model = make_pipeline(StandardScaler(), est).fit(X_train, y_train)
            seconds = time.process_time() - start
            score = model.score(X_test, y_test)
            print(f"{dataset:14s} {setting:10s} {seconds:7.1f} "
                  f"{est.beta_ / est.betas_[0]:9.3g} {score:6.3f} "
                  f"{os.getloadavg()[0]:5.1f}  {est.n_betas_fitted_.tolist()}",
                  flush=True)


if __name__ == "__main__":
    main()
