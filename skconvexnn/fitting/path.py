"""Fits along a decreasing sequence of betas, warm started; one beta is a path.

As ``enet_path`` serves ``ElasticNet.fit`` and ``ElasticNetCV``,
:func:`fit_path` serves the estimators' ``fit``, :func:`~skconvexnn.convex_relu_path`
and the CV estimators' folds (user guide, "Tuning beta: the path and
cross-validation").
"""

from dataclasses import replace
from functools import partial

import numpy as np

from ..program.dual import program_beta_max, zero_network_beta
from .._progress import Progress
from .._screening import pattern_norms, solve_on_working_set
from ..solvers import trivial_result
from .certify import certify, zero_fit

__all__ = ["fit_path", "fit_beta"]


def fit_path(program, betas, options, gates, *, screening=True, init=None,
             bounds=True, on_fit=None, beta_max=None):
    """Fit the network at each beta in turn, on the patterns of ``program``.

    Parameters
    ----------
    program : ConvexProgram
        Its ``beta`` is not used.
    betas : array-like or callable
        The betas, decreasing, or ``betas(beta_max)`` returning them.
    options : SolverOptions
    gates : ndarray of shape (n_patterns, n_design_features)
        Gate vectors of the program's patterns.
    screening : bool, default=True
        Solve each beta on working sets of patterns
        (:func:`skconvexnn._screening.solve_on_working_set`), from the zero
        network at the exact beta_max. ``False``: solve every beta on all
        the patterns, from ``init``; the zero network is taken from the
        cheap bound :func:`~skconvexnn.program.dual.zero_network_beta` up.
    init : SolverResult, optional
        Warm start of the first solve (``screening=False`` only).
    bounds : bool, default=True
        As in :func:`~skconvexnn.fitting.certify.certify` (False: the
        folds of the CV estimators, which only predict).
    on_fit : callable, optional
        ``on_fit(fit)`` after each fit; a true value stops the path there.
    beta_max : float, optional
        ``program_beta_max(program)`` when the caller has it (screening
        only): not computed again.

    Returns
    -------
    fits : list of Fit
        One per beta fitted (a prefix of ``betas`` when ``on_fit`` stopped
        the path).
    betas : ndarray
        The betas fitted.
    beta_max : float
        The beta from which the zero network is taken.
    """
    if screening and beta_max is not None:
        largest = float(beta_max)
    else:
        largest = (program_beta_max if screening else zero_network_beta)(program)
    betas = np.asarray(betas(largest) if callable(betas) else betas, dtype=float)
    step = _Steps(program, options, largest, screening, init, bounds)
    progress = Progress("path", options.verbose if screening else 0, len(betas))
    fits = []
    for beta in betas:
        fits.append(step(replace(program, beta=float(beta)), gates))
        stop = on_fit is not None and on_fit(fits[-1])
        progress.update(len(fits), fits[-1].objective, fits[-1].duality_gap,
                        beta=float(beta))
        if stop:
            break
    progress.close()
    return fits, betas[:len(fits)], largest


def fit_beta(program, options, gates, init=None):
    """The fit at ``program.beta``: a path of length one, warm started from ``init``."""
    fits, _, _ = fit_path(program, [program.beta], options, gates, screening=False,
                          init=init)
    return fits[0]


class _Steps:
    """The fit at each beta of a path, warm started from the previous one."""

    def __init__(self, program, options, largest, screening, init, bounds):
        self.options, self.largest, self.screening = options, largest, screening
        self.bounds = bounds
        # With screening the path starts from the zero network, optimal at
        # beta_max.
        self.result = trivial_result(program) if screening else init
        # (computed when the first working set needs them)
        self.norms = partial(pattern_norms, program, self.result) if screening else None
        self.previous = largest

    def __call__(self, program, gates):
        if program.beta >= self.largest:
            # The zero network is optimal: no solve needed (its dual point
            # is feasible, so the gap computed is zero).
            fit = zero_fit(program, self.options, gates, bounds=self.bounds)
            self.result = fit.solution
            return fit
        if self.screening:
            result, solver, self.norms = solve_on_working_set(
                program, self.options.solve, self.result, self.norms,
                self.previous, whole_bound=self.bounds)
        else:
            result, solver = self.options.solve(program, self.result)
        # The next beta starts from the solve, not from a native re-solve
        # the certificate may have kept.
        self.previous, self.result = program.beta, result
        return certify(program, result, solver, self.options, gates,
                       bounds=self.bounds)
