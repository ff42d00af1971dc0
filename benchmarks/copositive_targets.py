"""The speed targets of CopositiveMultiOutputRegressor, against nonconvex training.

Three default fits (``CopositiveMultiOutputRegressor(random_state=0)``,
``beta=1e-3``, standardized ``X`` and ``Y``):

- ``linnerud``: 20 samples, 3 features, 3 targets (target: under 5 s);
- ``make_regression``: ``make_regression(500, 10, n_targets=3, noise=5,
  random_state=0)`` (target: under 30 s, at an objective no worse than the
  best of 3 nonconvex runs with 50 shared neurons);
- ``large``: n = 5,000, d = 20, k = 5, targets of a random 100-neuron ReLU
  network (target: under 2 minutes).

For each, the fit's CPU time (``time.process_time``, the process's own
time: the machine is shared, so wall times vary with the load), its
objective, proven lower bound, relative gap, neurons, Frank-Wolfe
iterations and local moves; then three nonconvex runs of the same
objective with 50 shared hidden neurons (L-BFGS on the weight-decay
objective, ``train_shared`` from Gaussian starts, up to 5,000 iterations,
the output intercept at its optimum), their best objective and the
relative difference of the default fit to it (negative: the convex fit is
better).

Run: ``OPENBLAS_NUM_THREADS=1 PYTHONPATH=. python benchmarks/copositive_targets.py``
(all three) or ``... --case make_regression``.
"""

import sys
import time
import warnings

import numpy as np
from copositive_methods import target_data
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_limits

from skconvexnn import CopositiveMultiOutputRegressor
from skconvexnn.solvers.shared_units import shared_objective, train_shared

CASES = ("linnerud", "make_regression", "large")
TARGET_SECONDS = {"linnerud": 5, "make_regression": 30, "large": 120}
BETA = 1e-3


def case_data(name):
    """The standardized data of one case (as ``copositive_methods.py --targets``)."""
    return target_data(name)


def nonconvex(X, Y, beta, m, seed, max_iter=5000):
    """Objective of one L-BFGS run with ``m`` shared neurons (intercept optimal)."""
    rng = np.random.default_rng(seed)
    X1 = np.c_[X, np.ones(len(X))]
    d1, k = X1.shape[1], Y.shape[1]
    U = rng.standard_normal((m, d1)) / np.sqrt(d1)
    A = rng.standard_normal((m, k)) * np.linalg.norm(U, axis=1)[:, None] / np.sqrt(k)
    Yc = Y - Y.mean(axis=0)
    with threadpool_limits(limits=1, user_api="blas"):
        U, A = train_shared(X1, Yc, beta, U, A, max_iter)
    c = (Y - np.maximum(X1 @ U.T, 0) @ A).mean(axis=0)
    return shared_objective(X1, Y, beta, U, A, c)


def run(name, n_nonconvex=3, width=50):
    X, Y = case_data(name)
    est = CopositiveMultiOutputRegressor(beta=BETA, random_state=0)
    cpu, wall = time.process_time(), time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        est.fit(X, Y)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    warned = any(issubclass(w.category, ConvergenceWarning) for w in caught)
    gap = est.duality_gap_ / est.objective_
    t0 = time.process_time()
    runs = [nonconvex(X, Y, BETA, width, seed) for seed in range(n_nonconvex)]
    nc_cpu = (time.process_time() - t0) / n_nonconvex
    best = min(runs)
    n, d = X.shape
    print(f"{name} (n={n}, d={d}, k={Y.shape[1]}), target < {TARGET_SECONDS[name]} s")
    print(f"  default fit: CPU {cpu:.1f} s (wall {wall:.1f} s), method "
          f"{est.method_}, oracle {getattr(est, 'oracle_', '-')}, "
          f"{est.n_iter_} iterations, "
          f"{getattr(est, 'n_local_moves_', 0)} local moves, "
          f"{len(est.gates_)} patterns, {est.n_neurons_} neurons")
    print(f"  objective {est.objective_:.7g}, proven bound {est.lower_bound_:.7g}, "
          f"relative gap {gap:.3g}, certified {est.certified_}, "
          f"ConvergenceWarning {warned}")
    print(f"  nonconvex, {width} neurons, {n_nonconvex} runs "
          f"({nc_cpu:.1f} s CPU each): "
          + ", ".join(f"{v:.7g}" for v in runs)
          + f"; best {best:.7g}; default fit vs best "
          f"{(est.objective_ - best) / best:+.2%}", flush=True)


def main():
    names = CASES
    if "--case" in sys.argv:
        names = [sys.argv[sys.argv.index("--case") + 1]]
    for name in names:
        run(name)


if __name__ == "__main__":
    main()
