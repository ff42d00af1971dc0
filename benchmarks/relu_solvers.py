"""The ReLU program (cone constraints) for every loss: native solvers against
cvxpy + Clarabel and pyscnn, and the native solvers' scaling in n.

Each case builds one program (standardized features with a column of ones,
so that hidden biases are penalized; an output intercept; the same
deduplicated Gaussian gates for every solver) and gives it to
``solver="auto"`` (the native solver the estimators use) and to Clarabel
through cvxpy, in the same process. Times are CPU seconds
(``time.process_time``) with one BLAS thread, so that a shared machine
inflates them less than wall time; each covers ``get_solver`` (for
``"auto"``, its choice of solver; for Clarabel, the memory check) and the
solve (for Clarabel, cvxpy's compilation too).

The measure is the time to within ``1e-4`` (relative) of the optimum, as in
``benchmarks/bench_solvers.py``: each side runs cold at a ladder of its own
tolerances (``TOLS``): ours as ``get_solver("auto", program, tol=t)``,
Clarabel as ``get_solver("clarabel", program, tol=t)``, whose backend asks
Clarabel for gap and feasibility tolerances of ``t / 100`` (``tol=1e-6``
gives ``1e-8``, Clarabel's own defaults). Every run is scored by the same
function, the training objective of the ReLU network of its blocks
(``relu(X v)``, a valid network even where a solution violates its cone
constraints slightly; each run's line shows its largest violation,
``viol``). The reference is the lowest objective of all runs;
each side's row is its fastest run within ``TARGET`` (relative) of it, and
``ratio`` is Clarabel's time over ours. The last columns are ours at
``tol=1e-6`` (the estimators' default), with its relative duality gap
certified by its own lower bound. A run that fails prints ``failed``.
Both sides first solve a small program once, untimed (``warm_up``), so
that imports are not charged to either side's first run.

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

from skconvexnn.program import BlockOperator, ConvexProgram
from skconvexnn.arrangements import patterns_from_gates, sample_gates, unique_patterns
from skconvexnn.losses import LogisticLoss, SquaredLoss
from skconvexnn.solvers import SolverFailedError, get_solver

BETA = 1e-3
#: Each side's ladder of tolerances (``tol`` of ``get_solver``); every run cold.
TOLS = (1e-3, 1e-4, 1e-5, 1e-6)
#: A run "reaches the optimum" within this relative distance of the best.
TARGET = 1e-4


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


def score(program, V, W, intercept):
    """Training objective of the ReLU network of the blocks (``relu(X v)``,
    :meth:`~skconvexnn.program.BlockOperator.network`)."""
    op = BlockOperator(program)
    pred = op.network(op.products(op.stack(V, W))) + intercept
    data = program.loss.value(pred, program.Y, program.sample_weight)
    return data + program.penalty(V, W)


def ladder(name, program):
    """Runs of ``get_solver(name, program, tol=t)`` for t in TOLS, each cold.

    A run is a dict (tol, solver, cpu, obj, iter, gap, viol, status); ``obj``
    is None for a run that failed; ``viol`` is the largest violation of the
    cone constraints (``program.max_cone_violation``).
    """
    runs = []
    for tol in TOLS:
        start = time.process_time()
        run = {"tol": tol, "solver": name, "obj": None, "iter": 0, "gap": None,
               "viol": None}
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                solver = get_solver(name, program, tol=tol)
                run["solver"] = solver.name
                result = solver.solve(program)
        except SolverFailedError:
            # Clarabel gives up on some large exponential-cone programs
            run.update(cpu=time.process_time() - start, status="failed")
        else:
            run["cpu"] = time.process_time() - start
            run.update(obj=score(program, result.V, result.W, result.intercept),
                       iter=result.n_iter, status=result.status,
                       viol=program.max_cone_violation(result.V, result.W))
            if result.lower_bound is not None:
                value = program.objective(result.V, result.W, result.intercept)
                run["gap"] = (value - result.lower_bound) / abs(value)
        runs.append(run)
        show_run(run)
    return runs


def show_run(run):
    obj = "failed" if run["obj"] is None else f"{run['obj']:.10f}"
    gap = "--" if run["gap"] is None else f"{run['gap']:.1e}"
    viol = "--" if run["viol"] is None else f"{run['viol']:.1e}"
    print(f"    {run['solver']:<9}{run['tol']:>8.0e}{run['cpu']:>9.2f}{run['iter']:>7}"
          f"{obj:>15}{gap:>9}{viol:>9}  {run['status']}", flush=True)


def fastest(runs, best):
    """The fastest run within TARGET (relative) of ``best``, or None."""
    hits = [r for r in runs if r["obj"] is not None
            and r["obj"] <= best + TARGET * abs(best)]
    return min(hits, key=lambda r: r["cpu"]) if hits else None


HEADER = (f"{'data':<14}{'loss':<9}{'gates':>6}{'patt.':>6}  {'ours':<6}{'tol':>6}"
          f"{'cpu s':>8}  {'clarabel tol':>12}{'cpu s':>8}{'ratio':>8}  "
          f"{'ours 1e-6 s':>11}{'iter':>6}{'rel gap':>9}{'vs ref':>9}")


def warm_up():
    """Solve a small program with both sides, untimed, so that one-time costs
    (imports of cvxpy, Clarabel and scipy modules) are not charged to the
    first timed run of either side."""
    for name in ("diabetes", "breast_cancer"):
        X, Y, loss = dataset(name)
        program, _ = make_program(X[:100], Y[:100], loss, 5)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for solver in ("auto", "clarabel"):
                get_solver(solver, program).solve(program)


def compare(name, n_gates, clarabel=True):
    """Time to within TARGET of the best objective: ours and Clarabel.

    Prints every run, then returns the case's row of the summary table.
    """
    X, Y, loss = dataset(name)
    program, _ = make_program(X, Y, loss, n_gates)
    print(f"{name}, {loss.name} loss, {n_gates} gates, {program.n_patterns} "
          "patterns", flush=True)
    print(f"    {'solver':<9}{'tol':>8}{'cpu s':>9}{'iter':>7}{'objective':>15}"
          f"{'rel gap':>9}{'viol':>9}  status",
          flush=True)
    ours = ladder("auto", program)
    theirs = ladder("clarabel", program) if clarabel else []
    values = [r["obj"] for r in ours + theirs if r["obj"] is not None]
    best = min(values) if values else np.nan
    print(f"    reference (best objective): {best:.10f}", flush=True)
    mine, ref = fastest(ours, best), fastest(theirs, best)
    row = f"{name:<14}{loss.name:<9}{n_gates:>6}{program.n_patterns:>6}  "
    if mine:
        row += f"{mine['solver']:<6}{mine['tol']:>6.0e}{mine['cpu']:>8.2f}  "
    else:
        row += f"{ours[-1]['solver']:<6}{'not reached':>14}  "
    if ref:
        row += f"{ref['tol']:>12.0e}{ref['cpu']:>8.2f}"
        row += f"{ref['cpu'] / mine['cpu']:>7.1f}x" if mine else f"{'--':>8}"
    elif not clarabel:
        row += f"{'not run':>20}{'--':>8}"
    else:
        reason = "failed" if all(r["obj"] is None for r in theirs) else "not reached"
        row += f"{reason:>20}{'--':>8}"
    last = ours[-1]  # tol=1e-6, the estimators' default
    if last["obj"] is None:
        row += f"  {'failed':>11}"
    else:
        gap = "--" if last["gap"] is None else f"{last['gap']:.1e}"
        row += (f"  {last['cpu']:>11.2f}{last['iter']:>6}{gap:>9}"
                f"{(last['obj'] - best) / abs(best):>9.1e}")
    print(HEADER + "\n" + row + "\n", flush=True)
    return row


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
    print(f"load average at start: {os.getloadavg()}", flush=True)
    cases = args.cases or ["diabetes", "breast_cancer", "digits"]
    warm_up()
    rows = []
    for name in cases:
        gate_counts = {"diabetes": (100, 500), "breast_cancer": (30, 200),
                       "digits": (100,)}[name]
        for n_gates in args.gates or gate_counts:
            rows.append(compare(name, n_gates, clarabel=name != "digits"))
    print(f"time to within {TARGET:.0e} (relative) of the best objective of all runs")
    print("\n".join([HEADER] + rows))
    print(f"load average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
