"""FISTA against ADMM on the squared-loss ReLU program, by size and by beta.

The numbers behind ``solver="auto"``'s choice for the ReLU program with the
squared loss (:func:`skconvexnn.solvers.few_neurons`): FISTA from
``FISTA_MIN_BETA_RATIO`` of the program's beta_max up, and from
``FISTA_LARGE_BETA_RATIO`` from ``FISTA_LARGE_SAMPLES`` samples on; ADMM
below. Each case is one program solved by both, one after the other in the
same process, to ``tol=1e-6`` (at most 10,000 iterations), CPU seconds
(``time.process_time``, the solver's construction and solve), run with one
BLAS thread:

- ``synthetic-N``: the synthetic regression of ``relu_solvers.py
  --scaling`` (d = 20 plus a ones column, 100 Gaussian gates, the target
  standardized, ``beta = 1e-3``, 0.0036 of its beta_max), N samples;
- ``fair-B`` and ``randhie-B``: tables shipped with statsmodels (6,366 and
  20,190 rows), a 75 % training part standardized, the program of
  ``ConvexReLURegressor(random_state=0, beta=B)`` (100 bisector gates, the
  target standardized).

Usage (statsmodels is in the ``benchmarks`` extra)::

    OPENBLAS_NUM_THREADS=1 python benchmarks/squared_solvers.py
    OPENBLAS_NUM_THREADS=1 python benchmarks/squared_solvers.py synthetic-1000 fair-1e-3

The whole list takes about half an hour: ADMM on ``synthetic-10000`` takes
some 400 s, FISTA on ``randhie-2e-4`` some 350 s.
"""

import sys
import time
import warnings

import numpy as np
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

import relu_solvers  # (benchmarks/, the script's directory)
from skconvexnn import ConvexReLURegressor
from skconvexnn.program.dual import program_beta_max
from skconvexnn.solvers import get_solver

CASES = ["synthetic-1000", "synthetic-3000", "synthetic-10000", "fair-1e-3",
         "fair-3e-4", "fair-1e-4", "randhie-1e-3", "randhie-2e-4"]


def synthetic_program(n):
    X, y = relu_solvers.synthetic(n)
    program, _ = relu_solvers.make_program(X, y[:, None], relu_solvers.SquaredLoss(),
                                           100)
    return program


def table_program(name, beta):
    """The program ``ConvexReLURegressor(random_state=0, beta=beta)`` fits."""
    import statsmodels.api as sm

    data = getattr(sm.datasets, name).load_pandas()
    X, y = np.asarray(data.exog, dtype=float), np.asarray(data.endog, dtype=float)
    X_train, _, y_train, _ = train_test_split(X, y, test_size=0.25, random_state=0)
    X_train = StandardScaler().fit_transform(X_train)
    est = ConvexReLURegressor(random_state=0, beta=beta)
    X_train, Y, loss = est._training_data(X_train, y_train, None)
    X1, pool, Y, weights = est._training_rows(X_train, Y, None)
    program, _ = est._program(X1, Y, loss, weights, beta,
                              np.random.RandomState(0), pool)
    return program


def case_program(case):
    name, value = case.split("-", 1)
    if name == "synthetic":
        return synthetic_program(int(value))
    return table_program(name, float(value))


def run(case):
    program = case_program(case)
    ratio = program.beta / program_beta_max(program)
    print(f"{case}: n = {program.n_samples}, beta / beta_max = {ratio:.2g}, "
          f"auto: {get_solver('auto', program).name}", flush=True)
    for name in ("fista", "admm"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            start = time.process_time()
            result = get_solver(name, program, tol=1e-6).solve(program)
            seconds = time.process_time() - start
        objective = program.objective(result.V, result.W, result.intercept)
        gap = (objective - result.lower_bound) / objective
        print(f"    {name:<6}{seconds:>9.1f} s{result.n_iter:>7} it.  "
              f"objective {objective:.8f}  rel. gap {gap:.1e}", flush=True)


def main():
    for case in sys.argv[1:] or CASES:
        run(case)


if __name__ == "__main__":
    main()
