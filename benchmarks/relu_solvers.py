"""The ReLU program (cone constraints) for every loss: native solvers against
cvxpy + Clarabel and pyscnn, and the native solvers' scaling in n.

Each case builds one program (standardized features with a column of ones,
so that hidden biases are penalized; an output intercept; the same
deduplicated Gaussian gates for every solver) and gives it to
``solver="auto"`` (the native solver the estimators use) and to Clarabel
through cvxpy, in the same process. Times are CPU seconds
(``time.process_time``) with one BLAS thread, so that a shared machine
inflates them less than wall time. ``ratio`` is Clarabel's time over
ours. ``rel. diff`` is our objective minus Clarabel's, relative to
Clarabel's; our relative duality gap is certified by our own bound.

pyscnn (``--pyscnn``; installed as ``benchmarks/bench_solvers.py`` says)
has no output intercept and only the squared loss: its rows solve the
diabetes program without intercept, next to ours on that same program.

Run from the repository root::

    OPENBLAS_NUM_THREADS=1 python benchmarks/relu_solvers.py             # every case
    OPENBLAS_NUM_THREADS=1 python benchmarks/relu_solvers.py diabetes    # one case
    OPENBLAS_NUM_THREADS=1 python benchmarks/relu_solvers.py --pyscnn
    OPENBLAS_NUM_THREADS=1 python benchmarks/relu_solvers.py --scaling

The scaling series (synthetic, d = 20, 100 gates, squared and logistic
losses, n from 1,000 to 100,000) runs each fit in its own process and
reports its peak memory (``ru_maxrss``).
"""

import argparse
import os
import resource
import subprocess
import sys
import time
import warnings

import numpy as np
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits
from sklearn.preprocessing import StandardScaler

from skconvexnn.program import ConvexProgram
from skconvexnn.arrangements import patterns_from_gates, sample_gates, unique_patterns
from skconvexnn.losses import LogisticLoss, SquaredLoss
from skconvexnn.solvers import SolverFailedError, get_solver

BETA = 1e-3


def make_program(X, Y, loss, n_gates, fit_intercept=True, seed=0):
    X = StandardScaler().fit_transform(X)
    X1 = np.column_stack([X, np.ones(len(X))])
    gates = sample_gates(n_gates, X1.shape[1], np.random.RandomState(seed))
    patterns, gates = unique_patterns(patterns_from_gates(X1, gates), gates)
    program = ConvexProgram(X=X1, patterns=patterns, Y=Y, beta=BETA, loss=loss,
                            activation="relu", fit_intercept=fit_intercept)
    return program, gates


def dataset(name):
    if name == "diabetes":
        X, y = load_diabetes(return_X_y=True)
        return X, ((y - y.mean()) / y.std())[:, None], SquaredLoss()
    if name == "breast_cancer":
        X, y = load_breast_cancer(return_X_y=True)
        return X, y[:, None].astype(float), LogisticLoss()
    X, y = load_digits(return_X_y=True)
    return X, np.eye(10)[y], LogisticLoss()


def timed(solver, program):
    start = time.process_time()
    result = solver.solve(program)
    seconds = time.process_time() - start
    objective = program.objective(result.V, result.W, result.intercept)
    return seconds, objective, result


def compare(name, n_gates, clarabel=True):
    X, Y, loss = dataset(name)
    program, _ = make_program(X, Y, loss, n_gates)
    ours = get_solver("auto", program)
    t, obj, res = timed(ours, program)
    gap = (obj - res.lower_bound) / obj
    line = (f"{name:<14}{loss.name:<9}{n_gates:>6}{program.n_patterns:>9}  "
            f"{ours.name:<6}{t:>9.2f}{res.n_iter:>7}{gap:>10.1e}")
    if clarabel:
        ref = get_solver("clarabel", program)
        start = time.process_time()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                t_ref, obj_ref, res_ref = timed(ref, program)
            line += (f"{t_ref:>11.2f} {res_ref.status:<19}{t_ref / t:>7.1f}x"
                     f"{(obj - obj_ref) / abs(obj_ref):>11.1e}")
        except SolverFailedError:
            # Clarabel gives up on some large exponential-cone programs
            line += f"{time.process_time() - start:>11.2f} {'failed':<19}"
    print(line, flush=True)


def pyscnn_rows(n_gates):
    """Diabetes without output intercept: ours and pyscnn's AL, same program."""
    import torch
    from scnn.metrics import Metrics
    from scnn.models import ConvexReLU
    from scnn.optimize import optimize_model
    from scnn.regularizers import NeuronGL1
    from scnn.solvers import AL

    torch.set_num_threads(1)
    X, Y, loss = dataset("diabetes")
    program, gates = make_program(X, Y, loss, n_gates, fit_intercept=False)
    t, obj, res = timed(get_solver("auto", program), program)
    print(f"diabetes, {n_gates} gates, no intercept: ours {t:.2f} s, objective "
          f"{obj:.8f}, gap {(obj - res.lower_bound) / obj:.1e}", flush=True)
    model = ConvexReLU(gates.T, c=1)
    start = time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitted, _ = optimize_model(model, AL(model), Metrics(), program.X, program.Y,
                                   regularizer=NeuronGL1(program.beta),
                                   return_convex=True, unitize_data=False,
                                   dtype="float64")
    t_peer = time.process_time() - start
    V, W = (np.asarray(p, dtype=float) for p in fitted.parameters)
    relu = lambda B: np.maximum(np.einsum("nd,kpd->nkp", program.X, B), 0).sum(axis=2)
    value = (loss.value(relu(V) - relu(W), program.Y, program.sample_weight)
             + program.penalty(V, W))
    print(f"  pyscnn AL (default tol): {t_peer:.2f} s, objective {value:.8f} "
          f"({(value - obj) / obj:+.1e} relative to ours); ratio {t_peer / t:.1f}x",
          flush=True)


def synthetic(n, d=20, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    W = rng.standard_normal((d, 10))
    y = np.maximum(X @ W, 0) @ rng.standard_normal(10) + 0.1 * rng.standard_normal(n)
    return X, (y - y.mean()) / y.std()


def scaling_case(n, loss_name):
    X, y = synthetic(n)
    if loss_name == "squared":
        Y, loss = y[:, None], SquaredLoss()
    else:
        Y, loss = (y > np.median(y)).astype(float)[:, None], LogisticLoss()
    program, _ = make_program(X, Y, loss, 100)
    solver = get_solver("auto", program)
    t, obj, res = timed(solver, program)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(f"{n:>8}{loss_name:>10}  {solver.name:<6}{t:>9.1f}{res.n_iter:>7}"
          f"{(obj - res.lower_bound) / obj:>10.1e}{peak:>9.2f}", flush=True)


def scaling():
    print(f"{'n':>8}{'loss':>10}  {'solver':<6}{'cpu s':>9}{'iter':>7}{'rel gap':>10}"
          f"{'GiB':>9}")
    for loss_name in ("squared", "logistic"):
        for n in (1_000, 10_000, 50_000, 100_000):
            subprocess.run([sys.executable, __file__, "--one", str(n), loss_name],
                           env=os.environ, check=False)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("cases", nargs="*",
                        help="diabetes, breast_cancer, digits (default: all)")
    parser.add_argument("--scaling", action="store_true")
    parser.add_argument("--pyscnn", action="store_true")
    parser.add_argument("--gates", type=int, nargs="*",
                        help="gate counts (default: 100 and 500 for diabetes, "
                             "30 and 200 for breast_cancer, 100 for digits)")
    parser.add_argument("--one", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        return scaling_case(int(args.one[0]), args.one[1])
    if args.scaling:
        return scaling()
    if args.pyscnn:
        for n_gates in (100, 500):
            pyscnn_rows(n_gates)
        return
    print(f"load average at start: {os.getloadavg()}")
    print(f"{'data':<14}{'loss':<9}{'gates':>6}{'patterns':>9}  {'ours':<6}{'cpu s':>9}"
          f"{'iter':>7}{'rel gap':>10}{'clarabel s':>11} {'status':<19}{'ratio':>8}"
          f"{'rel. diff':>11}")
    cases = args.cases or ["diabetes", "breast_cancer", "digits"]
    for name in cases:
        gate_counts = {"diabetes": (100, 500), "breast_cancer": (30, 200),
                       "digits": (100,)}[name]
        for n_gates in args.gates or gate_counts:
            compare(name, n_gates, clarabel=name != "digits")


if __name__ == "__main__":
    main()
