"""ConvexReLUClassifier next to MLPClassifier and LogisticRegression.

Standardized features, a 70/30 split (random_state=0), beta (or alpha / C)
chosen by 3-fold GridSearchCV on the training part. Prints test accuracy,
hidden neurons and the time of the final refit.

    OPENBLAS_NUM_THREADS=1 PYTHONPATH=. python benchmarks/classifiers.py [breast_cancer wine digits]

With no arguments every data set is run.

ConvexReLUClassifier keeps its default loss (logistic: softmax
cross-entropy for the 10 digits) and tol=1e-6. Settings other than its
defaults, and why:

- ``n_arrangements=20`` (default 100) everywhere: with the logistic loss the
  ReLU program goes to Clarabel, whose model has n x P cone constraints per
  output; at 20 gates the breast_cancer refit already took 90 s.
- ``activation="gated_relu"`` on digits (64 features, 10 classes, 1257
  training samples): the ReLU program is out of reach there. The default
  ``ConvexReLUClassifier()`` (ReLU, 100 gates, Clarabel) did not finish in
  15 minutes; ADMM on the ReLU program took 2.2 s per step at 20 gates,
  most of it in the cone projections (on the gated program ADMM had not
  converged after 10,000 steps). The gated program goes to the native
  FISTA (``solver="auto"``).
"""

import sys
import time
import warnings

import numpy as np
from sklearn.datasets import load_breast_cancer, load_digits, load_wine
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skconvexnn import ConvexReLUClassifier

CONVEX = {
    "breast_cancer": dict(n_arrangements=20),
    "wine": dict(n_arrangements=20),
    "digits": dict(n_arrangements=20, activation="gated_relu"),
}
BETAS = [1e-4, 1e-3, 1e-2]


def models(name):
    convex = ConvexReLUClassifier(random_state=0, **CONVEX[name])
    return {
        f"ConvexReLU({', '.join(f'{k}={v}' for k, v in CONVEX[name].items())})":
            (convex, {"beta": BETAS}),
        "MLPClassifier(100)": (MLPClassifier(max_iter=2000, random_state=0),
                               {"alpha": BETAS}),
        "LogisticRegression": (LogisticRegression(max_iter=5000),
                               {"C": [0.1, 1.0, 10.0]}),
    }


def neurons(est):
    if hasattr(est, "n_neurons_"):
        return est.n_neurons_
    if hasattr(est, "hidden_layer_sizes"):
        return int(np.sum(est.hidden_layer_sizes))
    return 0


def main():
    loaders = {"breast_cancer": load_breast_cancer, "wine": load_wine,
               "digits": load_digits}
    print(f"{'data':<14}{'model':<52}{'param':>10}{'test acc':>10}"
          f"{'neurons':>9}{'fit s':>8}")
    chosen = sys.argv[1:] or list(loaders)
    for name in chosen:
        load = loaders[name]
        X, y = load(return_X_y=True)
        Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.3, random_state=0)
        for label, (est, grid) in models(name).items():
            step = type(est).__name__.lower()
            search = GridSearchCV(
                make_pipeline(StandardScaler(), est),
                {f"{step}__{k}": v for k, v in grid.items()}, cv=3,
            )
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                search.fit(Xtr, ytr)
                best = search.best_estimator_
                t0 = time.perf_counter()
                best.fit(Xtr, ytr)
                fit_time = time.perf_counter() - t0
            (param,) = search.best_params_.values()
            acc = best.score(Xte, yte)
            print(f"{name:<14}{label:<52}{param:>10g}{acc:>10.3f}"
                  f"{neurons(best[-1]):>9}{fit_time:>8.2f}", flush=True)


if __name__ == "__main__":
    main()
