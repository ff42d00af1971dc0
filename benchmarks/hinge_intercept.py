"""Time and peak memory of the hinge loss's optimal output intercept.

``HingeLoss.optimal_intercept`` takes a weighted median of the breakpoints
(sort and prefix sums); the former version evaluated the loss at every
breakpoint, an ``n x n`` array. Both are timed in one run where the scan
fits in memory::

    cd benchmarks && OPENBLAS_NUM_THREADS=1 python hinge_intercept.py
"""

import time
import tracemalloc

import numpy as np

from skconvexnn.losses import HingeLoss


def scan(P, Y, s):
    """The former n x n evaluation (one output)."""
    cand = Y[:, 0] - P[:, 0]
    vals = s @ np.maximum(0.0, 1.0 - Y[:, 0, None] * (P[:, 0, None] + cand))
    return np.array([cand[np.argmin(vals)]])


def measure(func, *args):
    tracemalloc.start()
    start = time.process_time()
    out = func(*args)
    seconds = time.process_time() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return out, seconds, peak


def main():
    rng = np.random.default_rng(0)
    loss = HingeLoss()
    print(f"{'n':>9} {'median s':>9} {'MiB':>8} {'scan s':>8} {'MiB':>8}")
    for n in (1_000, 4_000, 10_000, 100_000, 1_000_000):
        Y = np.where(rng.random((n, 1)) < 0.3, 1.0, -1.0)
        P = rng.standard_normal((n, 1))
        s = np.full(n, 1.0 / n)
        c, t, peak = measure(loss.optimal_intercept, P, Y, s)
        row = f"{n:>9} {t:>9.4f} {peak / 2**20:>8.1f}"
        if n <= 10_000:
            c0, t0, peak0 = measure(scan, P, Y, s)
            assert np.isclose(loss.value(P + c, Y, s), loss.value(P + c0, Y, s))
            row += f" {t0:>8.3f} {peak0 / 2**20:>8.1f}"
        print(row)


if __name__ == "__main__":
    main()
