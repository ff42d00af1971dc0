"""One native solve of the synthetic gated program at a given size.

The scaling cases of ``bench_solvers.py`` run every solver at a ladder of
tolerances, and one solve at n = 50,000 already takes minutes; this script
times a single solve of the same program (``synthetic`` data, d = 50, 500 gates, beta =
1e-3, no output intercept) with the solver that ``solver="auto"`` picks
(or the one named by ``--solver``), and prints the iterations, wall and CPU
time, objective, relative gap and peak memory::

    cd benchmarks && OPENBLAS_NUM_THREADS=1 python large_n.py 10000 --tol 1e-4
    cd benchmarks && OPENBLAS_NUM_THREADS=1 python large_n.py 50000 --solver fista
"""

import argparse
import resource
import time

from bench_solvers import make_program, score, synthetic
from skconvexnn.solvers import get_solver


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("n", type=int, help="number of samples")
    parser.add_argument("--tol", type=float, default=1e-4,
                        help="relative duality gap to stop at")
    parser.add_argument("--activation", default="gated_relu")
    parser.add_argument("--solver", default="auto",
                        help="solver name, as the estimators' solver parameter")
    args = parser.parse_args()
    X, y = synthetic(args.n, 50)
    program, _ = make_program(X, y, 500, args.activation, 1e-3)
    solver = get_solver(args.solver, program, tol=args.tol, max_iter=100_000)
    wall, cpu = time.perf_counter(), time.process_time()
    result = solver.solve(program)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    objective = score(program, result.V, result.W)
    gap = (objective - result.lower_bound) / objective
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(f"n={args.n} {args.activation} solver={solver.name} tol={args.tol:g}: "
          f"{result.n_iter} iterations, {wall:.1f} s wall, {cpu:.1f} s CPU, "
          f"objective {objective:.8f}, relative gap {gap:.2e}, "
          f"peak memory {peak:.2f} GiB")


if __name__ == "__main__":
    main()
