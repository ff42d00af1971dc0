"""CPU time of ``solver="auto"`` on the gated diabetes programs (100 and 500 gates).

The same programs as the gated rows of ``bench_solvers.py --quick``
(standardized data, beta = 1e-3, no output intercept), solved ten times
each at two tolerances; the minimum CPU time is printed with the solver,
its iterations and the objective, to check that a change of the native
solvers does not slow the small cases::

    cd benchmarks && OPENBLAS_NUM_THREADS=1 python diabetes_gated.py
"""

import time

from bench_solvers import make_program
from sklearn.datasets import load_diabetes

from skconvexnn.solvers import get_solver


def main(repeats=10):
    X, y = load_diabetes(return_X_y=True)
    for n_gates in (100, 500):
        program, _ = make_program(X, y, n_gates, "gated_relu", 1e-3)
        for tol in (1e-4, 1e-6):
            times = []
            for _ in range(repeats):
                solver = get_solver("auto", program, tol=tol, max_iter=100_000)
                start = time.process_time()
                result = solver.solve(program)
                times.append(time.process_time() - start)
            objective = program.objective(result.V, None, result.intercept)
            print(f"diabetes {n_gates} gates tol={tol:g} solver={solver.name}: "
                  f"min CPU {min(times):.3f} s of {repeats}, {result.n_iter} "
                  f"iterations, objective {objective:.8f}")


if __name__ == "__main__":
    main()
