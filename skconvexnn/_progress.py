"""Progress of long work: the objective, the gap and the iterations as a fit runs.

With ``verbose=1`` a solver shows a progress bar (tqdm's, when tqdm is
installed) whose label carries the objective and the relative duality gap,
or else prints one line at most every second; with ``verbose >= 2`` it
prints a line at every check of its certificate.
"""

import math
import sys
import time

__all__ = ["Progress"]


class Progress:
    """Reports of one solve (or path, or search) while it runs.

    Parameters
    ----------
    name : str
        What runs (a solver's name, for example).
    verbose : int
    total : int or None
        The most iterations it can take (the bar's length).
    every : float
        Seconds between two lines at ``verbose=1`` without tqdm.
    """

    def __init__(self, name, verbose, total=None, every=1.0):
        self.name, self.verbose, self.every = name, int(verbose or 0), every
        self.last = -math.inf
        self.bar = None
        if self.verbose == 1:
            try:
                from tqdm.auto import tqdm
            except ImportError:
                tqdm = None
            if tqdm is not None:
                self.bar = tqdm(total=total, desc=name, leave=False, file=sys.stderr)

    def update(self, n_iter, objective, gap, **extra):
        """Report iteration ``n_iter`` with its objective and absolute gap.

        A gap that is not known yet (no lower bound proved so far) shows as
        ``n/a``; ``extra`` are further named values to show.
        """
        if not self.verbose:
            return
        rel = gap / max(abs(objective), 1e-300) if math.isfinite(gap) else math.nan
        shown = "n/a" if math.isnan(rel) else f"{rel:.2e}"
        if self.bar is not None:
            self.bar.update(max(n_iter - self.bar.n, 0))
            self.bar.set_postfix_str(f"obj={objective:.8g} gap={shown}", refresh=False)
            return
        now = time.monotonic()
        if self.verbose >= 2 or now - self.last >= self.every:
            self.last = now
            more = "".join(f" {k}={v:.3g}" for k, v in extra.items())
            print(f"[{self.name}] it={n_iter} obj={objective:.10g} gap={shown}{more}",
                  flush=True)

    def close(self):
        if self.bar is not None:
            self.bar.close()
            self.bar = None
