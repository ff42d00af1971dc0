"""Arrangement search: dual-guided cutting planes over activation patterns.

A pattern ``D`` that is not in the program can lower its optimum only if its
dual constraint is violated at the current dual point ``Lam`` (the negative
loss gradient at the current prediction; user guide, "Arrangement search"):

* gated ReLU: ``||X^T D Lam_t|| > beta`` for some output ``t``;
* ReLU: ``max {s Lam_t^T D X u : ||u|| <= 1, (2D - I) X u >= 0} > beta`` for
  some output ``t`` and sign ``s`` (``v`` or ``w`` block).

:func:`search_arrangements` keeps a small *active* set of patterns, solves
the program on it (warm started), adds the most violated patterns of an
*examined pool* (:mod:`skconvexnn.fitting.candidates`), and repeats until no
pattern of the pool is violated; :func:`fit_search` certifies its result.

What the result certifies: the program over the active patterns is solved,
and no examined pattern violates its dual constraint by more than the
search tolerance, so (up to that tolerance) the fit is also optimal over the
whole examined pool; the lower bound computed over the pool is a proof of
that. Patterns never examined are not covered.
"""

import dataclasses
import time
from math import ceil

import numpy as np

from ..program.dual import zero_network_beta
from ..program.operator import BlockOperator
from ..recovery import prune_weights
from ..solvers import SolverResult, trivial_result
from .candidates import best_violations, select_patterns
from .certify import certify, zero_fit
from .seeds import first_point, initial_pool, seed_networks, solve_from

__all__ = ["fit_search", "search_arrangements", "search_report", "SearchResult"]

#: Cutting-plane rounds (solves) before the search stops.
MAX_ROUNDS = 40
#: Rounds without a decrease of the objective (relative ``max(tol,
#: STALL_RTOL)``) that stop the search. On the diabetes data (beta = 1e-3)
#: the seeded search's rounds after the first solve gained 0.13 % in
#: seven solves (benchmarks/search_vs_training.py).
STALL_ROUNDS = 3
STALL_RTOL = 1e-3
#: Rounds a block must stay zero before it leaves the active set.
PATIENCE = 2
#: Blocks below this fraction of the largest are zero up to solver accuracy
#: (the finest threshold of :func:`~skconvexnn.recovery.recover_best_network`
#: that still matters in practice).
ZERO_RTOL = 1e-4
#: A dual constraint counts as violated above ``beta * (1 + rtol)`` with
#: ``rtol = max(tol, MIN_RTOL)``: solvers return blocks at their own accuracy,
#: and the dual point inherits it.
MIN_RTOL = 1e-3


@dataclasses.dataclass
class SearchResult:
    """Outcome of :func:`search_arrangements`.

    Attributes
    ----------
    program : ConvexProgram
        The program over the final active patterns.
    result : SolverResult
        Its solution (``n_iter`` and ``objective_curve`` summed over rounds).
    gates : ndarray of shape (n_active, n_features)
        One gate vector per active pattern.
    pool_program : ConvexProgram
        The same program over every examined pattern (for the certificate).
    pool_gates : ndarray of shape (n_examined, n_features)
    solver : BaseSolver
        The solver of the last round.
    n_rounds : int
        Solves performed.
    converged : bool
        False if the search stopped with violated patterns left.
    reason : str
        Why it stopped: ``"converged"``, ``"round limit"``, ``"stalled"``
        (the objective did not decrease by ``max(tol, STALL_RTOL)``
        (relative) in ``STALL_ROUNDS`` rounds: with a
        nonsmooth loss such as the hinge, the dual point read off the
        prediction need not be the optimal one, and its violations need not
        be improvements) or ``"full"`` (``max_patterns`` nonzero blocks).
    max_violation : float
        Largest ``dual norm / beta - 1`` over examined patterns outside the
        active set at the last check (``<= rtol`` when converged).
    seed_objective : float or None
        Objective of the feasible point the first solve started from (the
        best seeding network), None without seed networks.
    first_objective : float or None
        Objective after the first solve (at most ``seed_objective``).
    n_seed_patterns : int
        Distinct patterns of the seed networks (the first active set).
    seeds : list of TrainedNetwork or None
        The seed networks.
    history : list of float
        Objective after each round's solve.
    seconds : list of float
        Wall time from the start of the search to the end of each round.
    """

    program: object
    result: SolverResult
    gates: np.ndarray
    pool_program: object
    pool_gates: np.ndarray
    solver: object
    n_rounds: int
    converged: bool
    max_violation: float
    reason: str = "converged"
    seed_objective: float = None
    first_objective: float = None
    n_seed_patterns: int = 0
    seeds: list = None
    history: list = None
    seconds: list = None


def _padded(result, old_active, new_active, program):
    """Warm start for ``new_active``: the old blocks, zeros for new patterns.

    The solver's state (ADMM's, or the cones' active sets) moves with the
    blocks when the patterns kept are in the same order in both sets, as
    :meth:`_Rounds.grow` leaves them; new patterns start at zero there too.
    """
    V, W = program.zeros()
    where = {p: j for j, p in enumerate(old_active)}
    src = np.array([where.get(p, -1) for p in new_active], dtype=np.intp)
    keep = src >= 0
    V[:, keep] = result.V[:, src[keep]]
    if W is not None and result.W is not None:
        W[:, keep] = result.W[:, src[keep]]
    state = None
    if result.state is not None and np.all(np.diff(src[keep]) > 0):
        kept = np.zeros(len(old_active), dtype=bool)
        kept[src[keep]] = True
        state = result.state.restrict(kept).pad(keep)
    return SolverResult(V=V, W=W, intercept=np.array(result.intercept, dtype=float),
                        state=state)


def _drop_zero_blocks(program, result, active, tol, rtol=1e-7):
    """Result and active set without the blocks below ``rtol`` of the largest.

    Kept as they are when dropping them raises the objective by more than
    ``tol`` (relative). The threshold is far below ``ZERO_RTOL``: dropping
    blocks moves the dual point, and the certificate is read off it.
    """
    norms = _block_norms(result)
    keep = norms > rtol * max(norms.max(initial=0.0), 1e-300)
    if keep.all() or not keep.any():
        return result, active
    smaller = dataclasses.replace(
        result, V=result.V[:, keep], W=None if result.W is None else result.W[:, keep])
    sub = dataclasses.replace(program, patterns=program.patterns[:, keep])
    before = program.objective(result.V, result.W, result.intercept)
    after = sub.objective(smaller.V, smaller.W, smaller.intercept)
    if after > before + tol * abs(before):
        return result, active
    return smaller, [p for p, k in zip(active, keep) if k]


def _block_norms(result):
    """Largest block norm of each active pattern over outputs and signs."""
    norms = np.linalg.norm(result.V, axis=2).max(axis=0)
    if result.W is not None:
        norms = np.maximum(norms, np.linalg.norm(result.W, axis=2).max(axis=0))
    return norms


def compact(program, result):
    """Same objective with fewer nonzero blocks, by pruning (user guide, "Recovering the
    network, and pruning").

    Per output, block ``b`` contributes ``||z_b|| q_b`` to the prediction
    (``q_b = +-D_i X z_b / ||z_b||``) and ``beta ||z_b||`` to the penalty;
    :func:`~skconvexnn.recovery.prune_weights` moves the weights along null
    directions of the ``q_b`` until some are zero, changing neither.
    """
    op = BlockOperator(program)
    Z = op.stack(result.V, result.W).copy()
    XZ = op.products(Z)
    for t in range(program.n_outputs):
        norms = np.linalg.norm(Z[t], axis=1)
        live = np.flatnonzero(norms > 0)
        if not len(live):
            continue
        w = norms[live]
        Q = (op.signed[:, live] * XZ[:, t, live]).T / w[:, None]
        Z[t, live] *= (prune_weights(Q, w) / w)[:, None]
    V, W = op.split(Z)
    # the solver's state belongs to the blocks before pruning
    return dataclasses.replace(result, V=V, W=W, state=None)


def search_report(search):
    """What seeded a search and what it certifies, as a plain dict.

    Keys: ``seed_objectives`` (objective of each seed network, in the order
    trained; empty without seeds), ``seed_units`` (hidden units per output
    of the seeds), ``seed_seconds`` (their training time), ``seed_patterns``
    (distinct patterns of their units: the first active set),
    ``seed_objective`` (objective of the first solve's starting point, the
    best seed as blocks of the convex program; None without seeds),
    ``first_objective`` (after the first solve), ``objective`` (after the
    last), ``n_rounds``, ``reason``, ``converged``, ``max_violation`` (over
    the examined patterns outside the active set, relative to beta),
    ``n_active`` and ``n_examined`` (patterns the certificate covers),
    ``round_objectives`` and ``round_seconds`` (objective after each round
    and wall time from the end of the seeding to the end of that round).
    """
    seeds = search.seeds or []
    res = search.result
    return {
        "seed_objectives": [net.objective for net in seeds],
        "seed_units": (len(seeds[0].U) // search.program.n_outputs) if seeds else 0,
        "seed_seconds": float(sum(net.seconds for net in seeds)),
        "seed_patterns": int(search.n_seed_patterns),
        "seed_objective": search.seed_objective,
        "first_objective": search.first_objective,
        "objective": float(search.program.objective(res.V, res.W, res.intercept)),
        "n_rounds": int(search.n_rounds),
        "reason": search.reason,
        "converged": bool(search.converged),
        "max_violation": float(search.max_violation),
        "n_active": int(search.program.n_patterns),
        "n_examined": int(len(search.pool_gates)),
        "round_objectives": [float(v) for v in search.history or []],
        "round_seconds": [float(v) for v in search.seconds or []],
    }


def _stalled(history, tol):
    """Whether the objective gained less than the stall tolerance in STALL_ROUNDS."""
    return len(history) > STALL_ROUNDS and history[-1] >= (
        history[-1 - STALL_ROUNDS] - max(tol, STALL_RTOL) * abs(history[-1]))


def _retire_zero_blocks(result, active, zero_rounds, full, seeded_start):
    """The active set without the patterns whose blocks stayed zero.

    A pattern leaves after PATIENCE rounds at zero; at once when the set is
    ``full`` or, on the first round of a seeded start, when the solve did
    not use it. Returns the new active set and the zero-round counts.
    """
    norms = _block_norms(result)
    zero = norms <= ZERO_RTOL * max(norms.max(initial=0.0), 1e-300)
    zero_rounds = {p: zero_rounds.get(p, 0) + 1 if z else 0
                   for p, z in zip(active, zero)}
    stale = {p for p, r in zero_rounds.items() if r >= PATIENCE}
    if seeded_start or full:
        stale |= {p for p, r in zero_rounds.items() if r > 0}
    return [p for p in active if p not in stale], zero_rounds


def search_arrangements(template, options, n_arrangements, rng, max_patterns=10_000,
                        init_gates=None, init_result=None, pool_gates=None,
                        seeds=None):
    """Cutting-plane search of the patterns of the convex program.

    Parameters
    ----------
    template : ConvexProgram
        The program (data, loss, beta, activation); its ``patterns`` are
        ignored.
    options : SolverOptions
        The solver of each round (warm started from the previous round),
        and ``tol``: violations below ``max(tol, MIN_RTOL)`` (relative to
        beta) are ignored.
    n_arrangements : int
        Scale of the search: the initial pool has ``POOL_FACTOR *
        n_arrangements`` Gaussian gates, and each round adds at most
        ``ceil(n_arrangements / 10)`` patterns.
    rng : RandomState
    max_patterns : int
        Capacity of the active set, which grows as violated patterns are
        added and shrinks as blocks stay zero.
    init_gates, init_result, pool_gates
        A previous search's active gates, solution and pool (warm start).
    seeds : list of TrainedNetwork, optional
        Networks of the nonconvex problem (:mod:`skconvexnn._nonconvex`):
        their patterns form the first active set and the best one is the
        first solve's starting point
        (:func:`~skconvexnn.fitting.seeds.seed_active_set`); the result is
        never worse than that network. Ignored with ``init_gates``.

    Returns
    -------
    SearchResult
    """
    pool, active = initial_pool(template.X, n_arrangements, rng, max_patterns,
                                init_gates, pool_gates)
    rounds = _Rounds(template, options, n_arrangements, max_patterns, pool)
    active, rounds.result, n_seed, seed_objective = first_point(
        template, rounds.program_for, pool, active, init_result, seeds,
        max_patterns, options.tol)
    rounds.solved_active, seeded = list(active), seed_objective is not None
    for rnd in range(MAX_ROUNDS + 1):
        program, best = rounds.solve(active, rng)
        if rnd == 0 and seeded:
            rounds.first_objective = float(rounds.history[0])
        if options.verbose:
            rounds.print_round(rnd, len(active))
        reason = rounds.stop(rnd)
        if reason is not None:
            break
        active = rounds.grow(program, best, active, rnd == 0 and seeded)
        if active is None:
            reason = "full"
            break
    if seeded and rounds.solved_active:
        # Seed patterns whose blocks the solves left at zero leave the
        # final active set, if that costs less than tol.
        rounds.result, rounds.solved_active = _drop_zero_blocks(
            program, rounds.result, rounds.solved_active, options.tol)
    return rounds.outcome(reason, seeds if seeds and n_seed else None, n_seed,
                          seed_objective)


class _Rounds:
    """The state of a search between its rounds: active set, solution, history."""

    def __init__(self, template, options, n_arrangements, max_patterns, pool):
        self.template, self.options, self.pool = template, options, pool
        self.rtol = max(options.tol, MIN_RTOL)
        self.threshold = template.beta * (1.0 + self.rtol)
        self.n_add = max(1, ceil(n_arrangements / 10))
        self.max_patterns = max_patterns
        self.result = self.solver = None
        self.solved_active, self.zero_rounds = [], {}
        self.n_iter, self.curve, self.n_rounds = 0, [], 0
        self.converged, self.worst, self.first_objective = False, np.inf, None
        self.history, self.seconds = [], []
        self.clock = time.perf_counter()

    def program_for(self, indices):
        return dataclasses.replace(self.template,
                                   patterns=self.pool.patterns[:, indices])

    def solve(self, active, rng):
        """Solve the program over ``active``; the pool's violations at its optimum."""
        program = self.program_for(active)
        if active:
            init = None if self.result is None else _padded(
                self.result, self.solved_active, active, program)
            self.result, self.solver = solve_from(program, self.options, init)
            self.n_iter += int(self.result.n_iter)
            self.curve += list(self.result.objective_curve)
            self.n_rounds += 1
        else:
            self.result = trivial_result(program)
        self.solved_active = list(active)
        best = best_violations(program, self.pool, self.result, active,
                               self.threshold, self.n_add, rng)
        self.worst = float(best.max(initial=-np.inf)) / self.template.beta - 1.0
        res = self.result
        self.history.append(program.objective(res.V, res.W, res.intercept))
        self.seconds.append(time.perf_counter() - self.clock)
        return program, best

    def print_round(self, rnd, n_active):
        print(f"[search] round {rnd}: active={n_active} pool={len(self.pool)} "
              f"objective={self.history[-1]:.6g} max violation={self.worst:.3g} "
              f"({time.perf_counter() - self.clock:.1f} s)")

    def stop(self, rnd):
        """Why the search stops after round ``rnd``, or None."""
        if self.worst <= self.rtol:
            self.converged = True
            return "converged"
        if rnd == MAX_ROUNDS:
            return "round limit"
        if _stalled(self.history, self.options.tol):
            return "stalled"
        return None

    def grow(self, program, best, active, seeded_start):
        """The next active set: zero blocks retired, violators added (None: full)."""
        if active:
            full = len(active) + self.n_add > self.max_patterns
            if full:  # drop the blocks that pruning can zero at no cost
                self.result = compact(program, self.result)
            active, self.zero_rounds = _retire_zero_blocks(
                self.result, active, self.zero_rounds, full, seeded_start)
        room = min(self.n_add, self.max_patterns - len(active))
        new = (select_patterns(best, self.pool.patterns, self.threshold, room)
               if room > 0 else [])
        return active + new if new else None

    def outcome(self, reason, seeds, n_seed, seed_objective):
        """The :class:`SearchResult` of the rounds."""
        pool, solved = self.pool, self.solved_active
        gates = pool.gates[solved] if solved else pool.gates[:0]
        # The solver's state belongs to one round's program, not this one.
        result = dataclasses.replace(
            self.result, n_iter=self.n_iter, state=None,
            objective_curve=self.curve or self.result.objective_curve)
        return SearchResult(
            program=self.program_for(solved), result=result, gates=gates,
            pool_program=self.program_for(np.arange(len(pool))),
            pool_gates=pool.gates, solver=self.solver, n_rounds=self.n_rounds,
            converged=self.converged, max_violation=self.worst, reason=reason,
            seed_objective=seed_objective, first_objective=self.first_objective,
            n_seed_patterns=n_seed, seeds=list(seeds) if seeds else None,
            history=self.history, seconds=self.seconds,
        )


def fit_search(template, options, n_arrangements, rng, max_patterns=10_000,
               warm=None):
    """The certified :class:`~skconvexnn.fitting.certify.Fit` of a search.

    ``template`` as in :func:`search_arrangements`; ``warm``: ``(gates,
    solution, examined gates)`` of a previous search to start from, else
    the search is seeded by networks of the nonconvex problem
    (:func:`~skconvexnn.fitting.seeds.seed_networks`). The certificate
    covers every examined pattern (user guide, "Arrangement search").
    """
    if template.beta >= zero_network_beta(template, all_patterns=True):
        # No pattern at all can enter: the zero network is optimal.
        fit = zero_fit(template, options, np.empty((0, template.n_features)))
        return dataclasses.replace(fit, examined_gates=fit.gates)
    seeds = None if warm else seed_networks(template, n_arrangements, rng)
    init_gates, init_result, pool_gates = warm or (None, None, None)
    search = search_arrangements(
        dataclasses.replace(template, pool=None), options, n_arrangements, rng,
        max_patterns, init_gates, init_result, pool_gates, seeds)
    solver = search.solver or options.named(search.program)
    fit = certify(search.program, search.result, solver, options, search.gates,
                  bound_program=search.pool_program)
    messages = fit.warnings
    if not search.converged:
        messages += (
            f"The arrangement search stopped ({search.reason}) after "
            f"{search.n_rounds} solves with examined patterns still violating "
            f"their dual constraint (by {search.max_violation:.3g} relative to "
            "beta). Increase n_arrangements (more patterns per round) or "
            f"max_patterns (now {max_patterns}); with a nonsmooth loss, "
            "a stalled search may already be optimal.",)
    return dataclasses.replace(fit, examined_gates=search.pool_gates,
                               search_report=search_report(search),
                               warnings=messages)
