"""A gated fit on a dask array of 1,000,000 x 10 rows, and weak scaling.

Run:  python benchmarks/dask_fit.py            (needs pip install ".[dask]")
      python benchmarks/dask_fit.py --rows 200000 --scaling-rows 50000   (quick)

Part 1, on a LocalCluster of 2 worker processes (one thread each): the data
are made on the workers (dask's random generator, chunks of ``--chunk``
rows) and kept there (``persist``); ConvexReLURegressor(activation=
"gated_relu") fits them. Reported: wall time, iterations, objective and
gap, and this process's memory: its resident size before the fit and its
peak during it (``resource.getrusage``, the maximum resident set since the
process started, so the peak of the fit is an upper bound), against the
size of X. Then X is gathered here and the in-memory fit (solver="fista",
the same method) gives the objective to compare.

Part 2, weak scaling: ``--scaling-rows`` rows per worker, with 1, 2 and 4
workers (one thread each): time per FISTA step of the dask fit.
"""

import argparse
import logging
import resource
import sys
import time
import warnings

import numpy as np


def rss_mb():
    """Current resident set size of this process (MB), from /proc or psutil."""
    try:
        import psutil

        return psutil.Process().memory_info().rss / 2**20
    except ImportError:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * resource.getpagesize() / 2**20


def peak_mb():
    """Peak resident set size of this process since it started (MB, Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def make_data(n, d, chunk, seed=0):
    import dask.array as da

    rs = da.random.RandomState(seed)
    X = rs.standard_normal((n, d), chunks=(chunk, d))
    w = np.random.default_rng(seed).standard_normal(d)
    noise = rs.standard_normal(n, chunks=chunk)
    y = da.maximum(X @ w, 0) - abs(X[:, 0]) + 0.1 * noise
    return X, y


def estimator(args, **kw):
    from skconvexnn import ConvexReLURegressor

    return ConvexReLURegressor(activation="gated_relu", beta=args.beta,
                               n_arrangements=args.gates, tol=args.tol,
                               random_state=0, **kw)


def part1(args):
    import dask
    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                           dashboard_address=None, silence_logs=logging.ERROR)
    client = Client(cluster)
    # a tiny fit first: its imports are not the fit's memory
    small_X, small_y = make_data(1000, args.features, 250, seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        estimator(args, max_iter=20).fit(small_X, small_y)
    X, y = make_data(args.rows, args.features, args.chunk)
    X, y = dask.persist(X, y)
    distributed_wait(X, y)
    x_mb = X.nbytes / 2**20
    before, peak_before = rss_mb(), peak_mb()
    t = time.perf_counter()
    est = estimator(args).fit(X, y)
    seconds = time.perf_counter() - t
    peak = peak_mb()
    pred = est.predict(X)
    print(f"dask fit: {args.rows:,} x {args.features} rows in {X.numblocks[0]} chunks "
          f"on 2 workers; {len(est.gates_)} patterns")
    print(f"  time {seconds:.1f} s, {est.n_iter_} FISTA steps "
          f"({seconds / max(est.n_iter_, 1) * 1e3:.0f} ms a step, "
          "certificates and recovery included)")
    print(f"  objective {est.objective_:.10g}, relative gap "
          f"{est.duality_gap_ / est.objective_:.2e}, {est.n_neurons_} neurons")
    print(f"  predict returns {type(pred).__module__}.{type(pred).__name__} "
          f"{pred.shape}")
    print(f"  client memory: X is {x_mb:.0f} MB; RSS before the fit "
          f"{before:.0f} MB, peak RSS before {peak_before:.0f} MB and after "
          f"{peak:.0f} MB (growth {peak - peak_before:.0f} MB)")
    Xm, ym = X.compute(), y.compute()  # only now is X in this process
    del X, y, pred
    client.close()
    cluster.close()
    t = time.perf_counter()
    ref = estimator(args, solver="fista").fit(Xm, ym)
    mem_seconds = time.perf_counter() - t
    print(f"in-memory fit (solver='fista', this process, BLAS threads as "
          f"installed): {mem_seconds:.1f} s, {ref.n_iter_} steps, objective "
          f"{ref.objective_:.10g}, relative gap {ref.duality_gap_ / ref.objective_:.2e}")
    print(f"  objectives differ by {abs(est.objective_ - ref.objective_) / ref.objective_:.1e}"
          f" (relative); predictions by at most "
          f"{np.abs(est.predict(Xm) - ref.predict(Xm)).max():.1e}")
    print(f"  peak RSS after gathering X and the in-memory fit: {peak_mb():.0f} MB")


def distributed_wait(*arrays):
    from distributed import wait

    wait(list(arrays))


def part2(args):
    import dask
    from distributed import Client, LocalCluster

    print(f"weak scaling: {args.scaling_rows:,} rows per worker, chunks of "
          f"{args.chunk:,}, fixed {args.scaling_steps} FISTA steps (max_iter; the "
          "ConvergenceWarning is expected)")
    base = None
    for workers in (1, 2, 4):
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1,
                               processes=True, dashboard_address=None,
                               silence_logs=logging.ERROR)
        client = Client(cluster)
        X, y = make_data(args.scaling_rows * workers, args.features, args.chunk)
        X, y = dask.persist(X, y)
        distributed_wait(X, y)
        t = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est = estimator(args, max_iter=args.scaling_steps).fit(X, y)
        seconds = time.perf_counter() - t
        step = seconds / est.n_iter_
        base = step if base is None else base
        print(f"  {workers} worker(s), {args.scaling_rows * workers:>9,} rows: "
              f"{seconds:6.1f} s, {step * 1e3:6.0f} ms a step, efficiency "
              f"{base / step:.2f}")
        del X, y
        client.close()
        cluster.close()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--features", type=int, default=10)
    parser.add_argument("--chunk", type=int, default=125_000)
    parser.add_argument("--gates", type=int, default=20)
    parser.add_argument("--beta", type=float, default=1e-2)
    parser.add_argument("--tol", type=float, default=1e-4)
    parser.add_argument("--scaling-rows", type=int, default=250_000)
    parser.add_argument("--scaling-steps", type=int, default=50)
    parser.add_argument("--skip", choices=["fit", "scaling"], default=None)
    args = parser.parse_args(argv)
    print(f"python {sys.version.split()[0]}; {args}")
    if args.skip != "fit":
        part1(args)
    if args.skip != "scaling":
        part2(args)


if __name__ == "__main__":
    main()
