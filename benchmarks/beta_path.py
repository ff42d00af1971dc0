"""Beta path versus independent fits, and the CV estimators versus GridSearchCV.

Part 1 (``path``): on the diabetes data (standardized features and
standardized target), a path of 30 betas (default grid: beta_max down to
beta_max * 1e-3) against 30 independent fits at the same betas, on the same
gates (``random_state=0``, 100 Gaussian gates) with the same solver; the
ratio of the times and the largest relative difference of the objectives.

Part 2 (``cv``): ConvexReLURegressorCV on diabetes and ConvexReLUClassifierCV
on breast_cancer (gated ReLU, 50 gates, 5 folds, 20 betas; features
standardized on the training part of a 75/25 split), against GridSearchCV
over the same grid with the same folds and the same scoring
(ConvexReLU*(warm_start=True): GridSearchCV clones the estimator for every
candidate, so the warm start does not carry over between betas there).

Run: ``OPENBLAS_NUM_THREADS=1 python benchmarks/beta_path.py [PART ...]`` with
parts ``gated``, ``relu-clarabel``, ``relu-admm``, ``relu-auto`` (FISTA with
its polish from 0.02 beta_max up, ADMM below), ``relu-logistic`` (the
ReLU program with the logistic loss on breast_cancer, ``solver="auto"``)
(or ``path`` for all of them) and ``cv``; default: all.
Times are CPU seconds of this process (``time.process_time``), so that other
work on a shared machine inflates them less than wall time.
"""

import sys
import time
import warnings

import numpy as np
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import (
    GridSearchCV,
    KFold,
    StratifiedKFold,
    train_test_split,
)
from sklearn.preprocessing import StandardScaler

from skconvexnn import (
    ConvexReLUClassifier,
    ConvexReLUClassifierCV,
    ConvexReLURegressor,
    ConvexReLURegressorCV,
    convex_relu_path,
)


def diabetes():
    X, y = load_diabetes(return_X_y=True)
    return StandardScaler().fit_transform(X), (y - y.mean()) / y.std()


def path_versus_fits(activation, solver, n_betas=30, loss=None):
    if loss is None:
        X, y = diabetes()
        cls, params = ConvexReLURegressor, {}
    else:
        X, y = load_breast_cancer(return_X_y=True)
        X = StandardScaler().fit_transform(X)
        cls, params = ConvexReLUClassifier, {"loss": loss}
    params.update(activation=activation, solver=solver, arrangements="gaussian",
                  n_arrangements=100,
                  random_state=0)
    est = cls(**params)
    start = time.process_time()
    path = convex_relu_path(X, y, estimator=est, n_betas=n_betas)
    t_path = time.process_time() - start
    start = time.process_time()
    fits = [cls(beta=b, **params).fit(X, y) for b in path.betas]
    t_fits = time.process_time() - start
    assert all(np.array_equal(f.gates_, path.gates) for f in fits)
    objectives = np.array([f.objective_ for f in fits])
    diff = np.max(np.abs(path.objectives - objectives) / objectives)
    iters = np.array([f.n_iter_ for f in fits])
    print(f"{activation:<11}{solver:<9}{n_betas:>6}{t_path:>10.2f}{t_fits:>10.2f}"
          f"{t_fits / t_path:>8.2f}{path.n_iter.sum():>9}{iters.sum():>9}"
          f"{diff:>11.1e}   neurons {path.n_neurons.min()}..{path.n_neurons.max()}",
          flush=True)


def compare_cv(name, cv_est, plain, X, y, folds, scoring):
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    scaler = StandardScaler().fit(X_train)
    X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    start = time.process_time()
    cv_est.fit(X_train, y_train)
    t_cv = time.process_time() - start
    search = GridSearchCV(plain, {"beta": list(cv_est.betas_)}, cv=folds,
                          scoring=scoring)
    start = time.process_time()
    search.fit(X_train, y_train)
    t_grid = time.process_time() - start
    best = int(np.argmax(cv_est.cv_results_["mean_test_score"]))
    print(f"{name}: {len(cv_est.betas_)} betas from {cv_est.betas_[0]:.3g}, "
          f"{folds.get_n_splits()} folds, CV scoring {scoring}, test score "
          f"{'R^2' if scoring.startswith('neg') else scoring}", flush=True)
    print(f"  {type(cv_est).__name__:<24} beta_={cv_est.beta_:.4g}  CV score "
          f"{cv_est.cv_results_['mean_test_score'][best]:.4f}  test score "
          f"{cv_est.score(X_test, y_test):.4f}  neurons {cv_est.n_neurons_}  "
          f"time {t_cv:.1f} s")
    print(f"  {'GridSearchCV':<24} beta={search.best_params_['beta']:.4g}  CV score "
          f"{search.best_score_:.4f}  test score "
          f"{search.best_estimator_.score(X_test, y_test):.4f}"
          f"  neurons {search.best_estimator_.n_neurons_}  time {t_grid:.1f} s")
    print(f"  same beta: {cv_est.beta_ == search.best_params_['beta']}, "
          f"time ratio GridSearchCV / CV estimator {t_grid / t_cv:.2f}")


def cv_results():
    kw = dict(activation="gated_relu", n_arrangements=50, random_state=0)
    X, y = load_diabetes(return_X_y=True)
    y = (y - y.mean()) / y.std()
    folds = KFold(5)
    compare_cv("diabetes (target standardized)",
               ConvexReLURegressorCV(cv=folds, **kw),
               ConvexReLURegressor(warm_start=True, **kw), X, y, folds,
               "neg_mean_squared_error")
    X, y = load_breast_cancer(return_X_y=True)
    folds = StratifiedKFold(5)
    kw = dict(kw, loss="squared")
    compare_cv("breast_cancer (squared loss)",
               ConvexReLUClassifierCV(cv=folds, **kw),
               ConvexReLUClassifier(warm_start=True, **kw), X, y, folds, "accuracy")


#: Path configurations: part name -> (activation, solver).
PATHS = {
    "gated": ("gated_relu", "admm"),
    "relu-clarabel": ("relu", "clarabel"),
    "relu-admm": ("relu", "admm"),
    "relu-auto": ("relu", "auto"),
    "relu-logistic": ("relu", "auto", 30, "logistic"),
}


def main(parts):
    warnings.simplefilter("ignore", ConvergenceWarning)
    if "path" in parts:
        parts = [*parts, *PATHS]
    if any(part in PATHS for part in parts):
        print("diabetes, 100 Gaussian gates, standardized X and y")
        print(f"{'activation':<11}{'solver':<9}{'betas':>6}{'path s':>10}"
              f"{'fits s':>10}{'ratio':>8}{'it path':>9}{'it fits':>9}"
              f"{'max rel':>11}", flush=True)
    for part in parts:
        if part in PATHS:
            path_versus_fits(*PATHS[part])
    if "cv" in parts:
        cv_results()


if __name__ == "__main__":
    main(sys.argv[1:] or ["path", "cv"])
