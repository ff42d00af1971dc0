"""Native solvers versus cvxpy + Clarabel and pyscnn on identical programs.

Every case builds one convex program (standardized data with a column of
ones appended, so that hidden biases are penalized as in skconvexnn; no
output intercept, which pyscnn does not have; the same deduplicated gate
vectors; the same beta) and hands it to every solver. pyscnn's objective is
``1/(2 n k) ||.||^2 + lam * sum ||.||``, so it gets ``lam = beta / k``
(DESIGN.md section 7). Each solver runs cold at a ladder of its own
tolerances (``TOLS``; ``PEER_TOLS`` for pyscnn); every result is scored by
the same function (the training objective of the ReLU network of its
blocks, ``relu(X v)``, which is always a valid network; for pyscnn's gated
model its own prediction), and the table gives, per solver, the time of its fastest
run within ``1e-4`` (relative) of the best objective any solver reached.

Run (from the repository root)::

    pip install ".[benchmarks]"
    python benchmarks/bench_solvers.py            # every case
    python benchmarks/bench_solvers.py --quick    # diabetes, 100 and 500 gates
                                                  # (not the 500-gate ReLU case)
    python benchmarks/bench_solvers.py --scaling  # synthetic n series only

pyscnn is optional; without it its rows are skipped. To install it
(its wheel pins nothing, and plain ``torch`` would pull a CUDA build)::

    pip install torch==2.13.0
    pip install tqdm opt_einsum typing_extensions
    pip install --no-deps linalg_backends pyscnn==0.0.10
"""

import argparse
import resource
import time
import warnings

import numpy as np
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.preprocessing import StandardScaler

from skconvexnn.program import ConvexProgram
from skconvexnn.arrangements import patterns_from_gates, sample_gates, unique_patterns
from skconvexnn.losses import SquaredLoss
from skconvexnn.solvers import ADMMSolver, CvxpySolver, FISTASolver

TOLS = (1e-3, 1e-4, 1e-5, 1e-6, 1e-7)
#: pyscnn's tolerances: R-FISTA at its default and tighter; AL (which takes
#: minutes per run on these programs) at its default only.
PEER_TOLS = {"R-FISTA": (1e-6, 1e-8), "AL": (1e-6,)}
TARGET = 1e-4


def make_program(X, y, n_gates, activation, beta, seed=0):
    X = StandardScaler().fit_transform(X)
    y = (y - y.mean()) / y.std()
    X1 = np.column_stack([X, np.ones(len(X))])
    gates = sample_gates(n_gates, X1.shape[1], np.random.RandomState(seed))
    patterns, gates = unique_patterns(patterns_from_gates(X1, gates), gates)
    program = ConvexProgram(X=X1, patterns=patterns, Y=y[:, None], beta=beta,
                            loss=SquaredLoss(), activation=activation,
                            fit_intercept=False)
    return program, gates


def score(program, V, W):
    """Training objective of the ReLU (or gated) network of the blocks."""
    X = program.X
    if W is None:
        pred = program.predict(V, None)
    else:
        relu = lambda B: np.maximum(np.einsum("nd,kpd->nkp", X, B), 0).sum(axis=2)
        pred = relu(V) - relu(W)
    return program.loss.value(pred, program.Y, program.sample_weight) + program.penalty(V, W)


def neurons(V, W):
    blocks = [V] if W is None else [V, W]
    norms = np.concatenate([np.linalg.norm(B, axis=2).ravel() for B in blocks])
    return int(np.sum(norms > 1e-6 * max(norms.max(initial=0.0), 1e-300)))


def run_native(program):
    cls = ADMMSolver
    try:
        cls(tol=1e-6).check_program(program)
    except MemoryError:
        cls = FISTASolver
    runs = []
    for tol in TOLS:
        solver = cls(tol=tol, max_iter=100_000)
        start = time.perf_counter()
        result = solver.solve(program)
        runs.append((time.perf_counter() - start, score(program, result.V, result.W),
                     neurons(result.V, result.W)))
    return f"skconvexnn {cls.name}", runs


def run_clarabel(program):
    solver = CvxpySolver("clarabel", tol=1e-8)
    try:
        solver.check_program(program)
    except MemoryError:
        return "cvxpy+clarabel", None
    start = time.perf_counter()
    result = solver.solve(program)
    seconds = time.perf_counter() - start
    return "cvxpy+clarabel", [(seconds, score(program, result.V, result.W),
                               neurons(result.V, result.W))]


def run_pyscnn(program, gates):
    try:
        from scnn.metrics import Metrics
        from scnn.models import ConvexGatedReLU, ConvexReLU
        from scnn.optimize import optimize_model
        from scnn.regularizers import NeuronGL1
        from scnn.solvers import AL, RFISTA
    except ImportError:
        return None
    relu = program.cone_constrained
    name = "pyscnn " + ("AL" if relu else "R-FISTA")
    k = program.n_outputs
    lam = program.beta / k
    runs = []
    for tol in PEER_TOLS[name.split()[1]]:
        model = (ConvexReLU if relu else ConvexGatedReLU)(gates.T, c=k)
        solver = (AL(model, tol=tol, constraint_tol=tol) if relu
                  else RFISTA(model, tol=tol, max_iters=100_000))
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fitted, _ = optimize_model(model, solver, Metrics(), program.X,
                                       program.Y, regularizer=NeuronGL1(lam),
                                       return_convex=True, unitize_data=False,
                                       dtype="float64")
        seconds = time.perf_counter() - start
        params = [np.asarray(p, dtype=float) for p in fitted.parameters]
        if relu:
            # scored as the ReLU network of its blocks, like every solver
            V, W = params
            value = score(program, V, W)
        else:
            # pyscnn may reorder or drop gates: its own prediction, with its
            # own gates, and the same penalty
            V, W = params[0], None
            pred = np.asarray(fitted(program.X), dtype=float).reshape(program.Y.shape)
            value = (program.loss.value(pred, program.Y, program.sample_weight)
                     + program.penalty(V, None))
        runs.append((seconds, value, neurons(V, W)))
    return name, runs


def bench(label, program, gates, peers=True):
    print(f"\n{label}: n={program.n_samples} d={program.n_features} "
          f"patterns={program.n_patterns} {program.activation} beta={program.beta}")
    rows = [run_native(program)]
    if peers:
        rows.append(run_clarabel(program))
        pyscnn = run_pyscnn(program, gates)
        if pyscnn is not None:
            rows.append(pyscnn)
    rows = [(name, runs) for name, runs in rows if runs]
    best = min(obj for _, runs in rows for _, obj, _ in runs)
    times = {}
    print(f"  {'solver':<22}{'time to 1e-4 (s)':>18}{'best objective':>18}{'neurons':>9}")
    for name, runs in rows:
        hits = [(t, o, m) for t, o, m in runs if o <= best + TARGET * abs(best)]
        reached = min(hits) if hits else None
        final = min(runs, key=lambda r: r[1])
        times[name] = reached[0] if reached else np.inf
        slowest = max(runs)[0]
        shown = f"{reached[0]:.3f}" if reached else f"not reached ({slowest:.1f} s)"
        print(f"  {name:<22}{shown:>18}{final[1]:>18.8f}{final[2]:>9}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(f"  peak memory of this process so far: {peak:.2f} GiB")
    ours = next(t for n, t in times.items() if n.startswith("skconvexnn"))
    for name, t in times.items():
        if not name.startswith("skconvexnn") and np.isfinite(t) and np.isfinite(ours):
            print(f"  speed-up over {name}: {t / ours:.1f}x")


def synthetic(n, d, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    W = rng.standard_normal((d, 10))
    y = np.maximum(X @ W, 0) @ rng.standard_normal(10) + 0.1 * rng.standard_normal(n)
    return X, y


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="diabetes cases only, without the 500-gate ReLU one")
    parser.add_argument("--scaling", action="store_true",
                        help="only the synthetic series in n (skconvexnn alone at 5e4)")
    args = parser.parse_args()
    if args.scaling:
        return scaling()
    X, y = load_diabetes(return_X_y=True)
    cases = [(100, "relu"), (100, "gated_relu"), (500, "gated_relu")]
    if not args.quick:
        cases.append((500, "relu"))
    for n_gates, activation in cases:
        program, gates = make_program(X, y, n_gates, activation, 1e-3)
        bench(f"diabetes, {n_gates} gates", program, gates)
    if args.quick:
        return
    Xb, yb = load_breast_cancer(return_X_y=True)
    for activation in ("relu", "gated_relu"):
        program, gates = make_program(Xb, 2.0 * yb - 1.0, 100, activation, 1e-3)
        bench("breast_cancer (squared loss on +/-1)", program, gates)
    for n_gates in (50, 200, 1000):
        program, gates = make_program(X, y, n_gates, "gated_relu", 1e-3)
        bench(f"diabetes, P series: {n_gates} gates", program, gates)
    scaling()


def scaling():
    for n in (1_000, 10_000, 50_000):
        Xs, ys = synthetic(n, 50)
        program, gates = make_program(Xs, ys, 500, "gated_relu", 1e-3)
        bench(f"synthetic n series: n={n}", program, gates, peers=n <= 10_000)


if __name__ == "__main__":
    main()
