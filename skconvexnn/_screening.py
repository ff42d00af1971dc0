"""Working sets of patterns along a beta path (sequential strong rule).

Along a decreasing path most patterns stay zero at the next beta. As
glmnet does for the lasso, each beta is solved first on a working set: the
patterns active at the previous beta and those whose dual norm there,
``c_i = max ||X^T D_i Lam||`` (cone-constrained for ReLU), is at least
``2 beta - beta_previous`` (the sequential strong rule). The solution,
padded with zero blocks, is optimal for the whole program exactly when no
left-out pattern violates its dual constraint ``c_i <= beta`` at the new
dual point (user guide, "Tuning beta"); violators join the working set and the
program is solved again, warm started. The rule is a heuristic, the check
is not: the result is the optimum over all the patterns.

A working set of every pattern is the whole program: its solver's own
certificate covers every pattern and is kept, and there is nothing to
check. Dual norms are computed for the patterns whose blocks are zero
only: the rule keeps the others, and the check concerns zero blocks.
They are computed only when the rule needs them: at ``2 beta <=
beta_previous`` it keeps every pattern (the CV estimators' grid, 3 betas
a decade, steps by a factor of 2.15).
"""

from dataclasses import replace
from functools import partial

import numpy as np

from .program.dual import dual_norms, lower_bound
from .solvers.base import SolverResult


def pattern_norms(program, result, patterns=None):
    """Largest dual norm of each pattern at the prediction of ``result``.

    The dual point is the negative loss gradient after the output intercept
    is refitted, as for the lower bound. For ReLU, patterns whose free norm
    is at most ``beta`` report it (an upper bound), and some above it may
    too (see :func:`skconvexnn.program.dual.dual_norms`): an overestimate only
    keeps a pattern in the working set. ``patterns`` (a boolean mask), if
    given, limits the computation to those patterns; the others report
    ``inf`` (they stay in the working set).
    """
    prediction = program.predict(result.V, result.W)
    return _norms_at(program, program.dual_point(prediction), patterns)


def _zero_block_norms(program, result):
    """:func:`pattern_norms` of ``result`` over its zero blocks."""
    return pattern_norms(program, result, ~_active(result))


def _norms_at(program, Lam, patterns=None):
    """:func:`pattern_norms` at the dual point ``Lam``."""
    norms = np.full(program.n_patterns, np.inf)
    if patterns is None:
        patterns = np.ones(program.n_patterns, dtype=bool)
    if patterns.any():
        sub = replace(program, patterns=program.patterns[:, patterns])
        norms[patterns] = dual_norms(sub, Lam).reshape(-1, sub.n_patterns).max(axis=0)
    return norms


def _active(result):
    """Patterns with a nonzero block in ``result``."""
    blocks = [result.V] + ([] if result.W is None else [result.W])
    return np.any([np.any(B != 0, axis=(0, 2)) for B in blocks], axis=0)


def _restrict(result, keep):
    """Warm start for the working set ``keep`` from whole-program blocks.

    The solver's state (:attr:`SolverResult.state`) is kept in the layout
    of the whole program, so that it carries over to any working set.
    """
    W = None if result.W is None else result.W[:, keep]
    state = None if result.state is None else result.state.restrict(keep)
    return SolverResult(V=result.V[:, keep], W=W, intercept=result.intercept,
                        state=state)


def _pad(result, keep, program):
    """``result`` of the working-set program as blocks of the whole program.

    The solver's own lower bound covers the working set only, and a
    restricted optimum is above the whole one, so it is dropped.
    """
    V, W = program.zeros()
    V[:, keep] = result.V
    if W is not None:
        W[:, keep] = result.W
    state = None if result.state is None else result.state.pad(keep)
    return replace(result, V=V, W=W, lower_bound=None, state=state)


def _whole_bound(program, result, prediction, norms):
    """Lower bound over all patterns from the solver's last points.

    The dual points the solver certified with, if it kept them (for ADMM
    its loss split and its multipliers,
    :meth:`~skconvexnn.solvers.base.SolverState.dual_points`), and that of
    its blocks' ``prediction`` (the one that certified a polished solve),
    now scaled to be feasible for every pattern. ``norms`` are
    :func:`pattern_norms` at ``prediction`` over the zero blocks (``inf``
    over the others): only the nonzero blocks' norms are left to compute.
    """
    state = result.state
    predictions, duals = ([], []) if state is None else state.dual_points()
    nonzero = np.isinf(norms)
    computed = float(np.max(norms[~nonzero], initial=0.0))

    def max_dual_norm(Lam):  # Lam is the dual point of ``prediction``
        rest = _norms_at(program, Lam, nonzero)[nonzero]
        return max(computed, float(np.max(rest, initial=0.0)))

    return max([*(lower_bound(program, P) for P in predictions),
                *(lower_bound(program, dual=L) for L in duals),
                lower_bound(program, prediction, max_dual_norm=max_dual_norm)])


def solve_on_working_set(program, solve, init, norms, previous_beta,
                         whole_bound=True):
    """Solve ``program`` over all its patterns through working sets.

    Parameters
    ----------
    program : ConvexProgram
    solve : callable
        ``solve(program, init)`` returns ``(result, solver)``.
    init : SolverResult
        Solution at ``previous_beta``, blocks of the whole program.
    norms : ndarray of shape (n_patterns,) or callable
        :func:`pattern_norms` of ``init`` (``inf`` where not computed), or a
        function without arguments that returns them, called only if the
        rule needs them.
    previous_beta : float
    whole_bound : bool, default=True
        Whether to compute a lower bound over all the patterns when the
        working set leaves some out (``result.lower_bound``; otherwise it
        is None). A working set of every pattern keeps the solver's own.

    Returns
    -------
    result : SolverResult
        Blocks of the whole program.
    solver : BaseSolver
    norms : ndarray of shape (n_patterns,) or callable
        :func:`pattern_norms` of ``result`` over its zero blocks, ``inf``
        over the others; when every pattern was solved, a function that
        computes them (the next beta's rule may not need them).
    """
    threshold = 2 * program.beta - previous_beta
    if threshold <= 0:  # every norm passes: no need to compute them
        keep = np.ones(program.n_patterns, dtype=bool)
    else:
        norms = norms() if callable(norms) else norms
        keep = _active(init) | (norms >= threshold)
        keep[np.argmax(norms)] = True  # never empty: below beta_max it enters
    while True:
        if keep.all():
            # the whole program: the solver's certificate covers it
            result, solver = solve(program, init)
            return result, solver, partial(_zero_block_norms, program, result)
        sub = replace(program, patterns=program.patterns[:, keep])
        result, solver = solve(sub, _restrict(init, keep))
        result = _pad(result, keep, program)
        prediction = program.predict(result.V, result.W)
        norms = _norms_at(program, program.dual_point(prediction), ~_active(result))
        violated = ~keep & (norms > program.beta)
        if not violated.any():
            result.lower_bound = (_whole_bound(program, result, prediction, norms)
                                  if whole_bound else None)
            return result, solver, norms
        keep = keep | violated
        init = result
