"""FISTA with and without its quasi-Newton polish on the face of the cones,
and ADMM, on the same ReLU programs in one run.

Each case builds one program as ``benchmarks/relu_solvers.py`` does
(standardized features with a column of ones, an output intercept, the same
deduplicated Gaussian gates) and solves it to ``tol=1e-6`` with FISTA
without the polish (``FISTASolver.polish = False``: the solver before the
polish), FISTA with it, and ADMM for the squared loss. Times are CPU
seconds (``time.process_time``); run with one BLAS thread::

    OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 python benchmarks/face_polish.py
    OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 python benchmarks/face_polish.py --digits

The diabetes rows put beta at fractions of the program's beta_max (the
squared loss goes to FISTA from ``FISTA_MIN_BETA_RATIO`` of it up, to ADMM
below); the classification rows are at ``beta = 1e-3`` (breast_cancer,
logistic loss) and at the classifier's default ``beta = 1e-2`` (iris,
softmax; ``--digits`` adds the 10 digits, 100 gates, ``beta = 1e-3``).
"""

import argparse
import os
import sys
import time
import warnings
from dataclasses import replace

import numpy as np
from sklearn.datasets import load_iris

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from relu_solvers import dataset, make_program  # noqa: E402

from skconvexnn.program.dual import program_beta_max  # noqa: E402
from skconvexnn.losses import LogisticLoss  # noqa: E402
from skconvexnn.solvers import ADMMSolver, FISTASolver  # noqa: E402


def run(solver, program):
    start = time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = solver.solve(program)
    seconds = time.process_time() - start
    objective = program.objective(result.V, result.W, result.intercept)
    gap = (objective - result.lower_bound) / objective
    return seconds, result.n_iter, objective, gap, result.converged


def row(label, program, squared):
    plain = FISTASolver(tol=1e-6, max_iter=20_000)
    plain.polish = False
    solvers = [("fista, no polish", plain),
               ("fista + polish", FISTASolver(tol=1e-6, max_iter=20_000))]
    if squared:
        solvers.append(("admm", ADMMSolver(tol=1e-6, max_iter=20_000)))
    times = {}
    for name, solver in solvers:
        seconds, n_iter, objective, gap, ok = run(solver, program)
        times[name] = seconds
        print(f"{label:<34}{name:<18}{seconds:>9.2f}{n_iter:>7}{objective:>14.8f}"
              f"{gap:>10.1e}{'' if ok else '  (max_iter)'}", flush=True)
    print(f"{'':<34}{'no polish / polish':<18}"
          f"{times['fista, no polish'] / times['fista + polish']:>8.1f}x", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--digits", action="store_true")
    args = parser.parse_args()
    print(f"load average at start: {os.getloadavg()}")
    print(f"{'program':<34}{'solver':<18}{'cpu s':>9}{'iter':>7}{'objective':>14}"
          f"{'rel gap':>10}")
    X, Y, loss = dataset("diabetes")
    program, _ = make_program(X, Y, loss, 100)
    largest = program_beta_max(program)
    for fraction in (0.3, 0.1, 0.03, 0.01):
        row(f"diabetes, 100 gates, {fraction} b_max",
            replace(program, beta=fraction * largest), squared=True)
    X, Y, loss = dataset("breast_cancer")
    for n_gates in (30, 200):
        row(f"breast_cancer, {n_gates} gates", make_program(X, Y, loss, n_gates)[0],
            squared=False)
    X, y = load_iris(return_X_y=True)
    program, _ = make_program(X, np.eye(3)[y], LogisticLoss(), 100)
    row("iris, 100 gates, beta 1e-2", replace(program, beta=1e-2), squared=False)
    if args.digits:
        X, Y, loss = dataset("digits")
        row("digits, 100 gates", make_program(X, Y, loss, 100)[0], squared=False)
    print(f"load average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
