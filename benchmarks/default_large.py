"""The default estimators on large synthetic tables, next to the MLP.

``make_pipeline(StandardScaler(), ConvexReLURegressor())`` on
``make_friedman1(n, n_features=20, noise=1)`` (five informative features)
and ``ConvexReLUClassifier()`` on ``make_classification(n, n_features=20,
n_informative=10)``, both with ``random_state=0``, fitted on all ``n``
rows; with ``--mlp``, ``MLPRegressor`` / ``MLPClassifier(max_iter=2000)``
on the same data in the same run. Prints the fit's wall and CPU seconds,
the peak memory of the process so far, and for ours the solver, its
iterations, neurons and relative duality gap. The solve alone is timed
too (CPU seconds inside the solver).

Run: ``OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 python
benchmarks/default_large.py 20000 [--task regression|classification]
[--mlp]``. To compare two versions of the package, run it through
``PYTHONPATH`` for each, one after the other.
"""

import argparse
import resource
import time
import warnings

from sklearn.datasets import make_classification, make_friedman1
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import skconvexnn
from skconvexnn.solvers import base

SOLVE_SECONDS = []


def _timed(solve):
    def timed(self, program, init=None):
        start = time.process_time()
        try:
            return solve(self, program, init)
        finally:
            SOLVE_SECONDS.append(time.process_time() - start)
    return timed


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("n", type=int)
    parser.add_argument("--task", choices=["regression", "classification"],
                        default="regression")
    parser.add_argument("--mlp", action="store_true")
    args = parser.parse_args()
    if args.task == "regression":
        X, y = make_friedman1(args.n, n_features=20, noise=1.0, random_state=0)
        ours, mlp = skconvexnn.ConvexReLURegressor, MLPRegressor
    else:
        X, y = make_classification(args.n, n_features=20, n_informative=10,
                                   random_state=0)
        ours, mlp = skconvexnn.ConvexReLUClassifier, MLPClassifier
    base.BaseSolver.solve = _timed(base.BaseSolver.solve)
    models = [("ours", ours(random_state=0))]
    if args.mlp:
        models.append(("mlp", mlp(max_iter=2000, random_state=0)))
    for name, estimator in models:
        model = make_pipeline(StandardScaler(), estimator)
        SOLVE_SECONDS.clear()
        wall, cpu = time.perf_counter(), time.process_time()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(X, y)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
        line = (f"n={args.n} {args.task} {name}: fit {wall:.1f} s wall, {cpu:.1f} s "
                f"CPU, peak {peak:.2f} GB")
        if name == "ours":
            est = model[-1]
            gap = est.duality_gap_ / abs(est.objective_)
            line += (f"; solver {est.solver_}, {est.n_iter_} iterations, "
                     f"{est.n_neurons_} neurons, relative gap {gap:.1e}, "
                     f"solves {sum(SOLVE_SECONDS):.1f} s CPU")
        else:
            line += f"; {estimator.n_iter_} epochs"
        print(line, flush=True)


if __name__ == "__main__":
    main()
