"""Arrangement search: dual-guided cutting planes over activation patterns.

A pattern ``D`` that is not in the program can lower its optimum only if its
dual constraint is violated at the current dual point ``Lam`` (the negative
loss gradient at the current prediction; user guide, "Arrangement search"):

* gated ReLU: ``||X^T D Lam_t|| > beta`` for some output ``t``;
* ReLU: ``max {s Lam_t^T D X u : ||u|| <= 1, (2D - I) X u >= 0} > beta`` for
  some output ``t`` and sign ``s`` (``v`` or ``w`` block).

:func:`search_arrangements` keeps a small *active* set of patterns, solves
the program on it (warm started), adds the most violated patterns of an
*examined pool*, and repeats until no pattern of the pool is violated. The
pool starts as Gaussian gates and grows by local ascent on the most violated
constraint over all patterns, ``max_{||u|| <= 1} s Lam_t^T (X u)_+`` (for
ReLU; its maximizers' patterns ``1[X u >= 0]`` are the ones worth adding),
from random directions, from the current neurons perturbed and from the
pool's best gates. Random pools alone miss the patterns that matter on real
data; the ascent finds them.

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
from scipy.special import expit

from ._cones import project
from ._nonconvex import network_blocks, train_networks
from .arrangements import patterns_from_gates, sample_gates
from .recovery import prune_weights
from .solvers import SolverResult

__all__ = ["search_arrangements", "seed_networks", "search_report", "SearchResult",
           "PatternPool"]

#: Seed networks: L-BFGS starts of the nonconvex problem, hidden units per
#: output (times ``n_arrangements``) and L-BFGS iterations per start.
SEED_STARTS = 3
SEED_UNITS_FACTOR = 2
SEED_MAX_ITER = 1000
#: Gaussian gates in the initial pool, per pattern of the active set's capacity.
POOL_FACTOR = 10
#: Cutting-plane rounds (solves) before the search stops.
MAX_ROUNDS = 40
#: Local-ascent random starts per dual vector and round.
N_RANDOM_STARTS = 48
#: Local-ascent iterations.
ASCENT_STEPS = 25
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
#: Patterns added in one round differ pairwise on at least this fraction of
#: the samples when enough violators allow it (the most violated patterns
#: are often neighbouring cells that would bring the same improvement).
MIN_DISTANCE = 0.1
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


class PatternPool:
    """Distinct nonempty patterns of ``X``, with one gate vector each."""

    def __init__(self, X):
        self.X = X
        self._cols, self._gates, self._index = [], [], {}
        self._patterns = self._gate_array = None

    def __len__(self):
        return len(self._gates)

    @property
    def patterns(self):
        if self._patterns is None or self._patterns.shape[1] != len(self):
            n = self.X.shape[0]
            self._patterns = (np.array(self._cols, dtype=np.float64).T
                              if self._cols else np.empty((n, 0)))
        return self._patterns

    @property
    def gates(self):
        if self._gate_array is None or len(self._gate_array) != len(self):
            self._gate_array = np.array(self._gates).reshape(-1, self.X.shape[1])
        return self._gate_array

    def add(self, gates):
        """Add the patterns of ``gates``; pool index of each (-1: empty pattern)."""
        gates = np.atleast_2d(np.asarray(gates, dtype=np.float64))
        if gates.shape[0] == 0:
            return np.empty(0, dtype=np.intp)
        patterns = patterns_from_gates(self.X, gates).astype(bool)
        keys = np.packbits(patterns.T, axis=1)
        out = np.full(len(gates), -1, dtype=np.intp)
        for j, key in enumerate(map(bytes, keys)):
            if not patterns[:, j].any():
                continue
            idx = self._index.get(key)
            if idx is None:
                idx = self._index[key] = len(self._gates)
                self._cols.append(patterns[:, j])
                self._gates.append(gates[j])
            out[j] = idx
        return out


def _signed_duals(Lam, relu):
    """Vectors ``s Lam_t`` whose constraints are checked: (2k, n) or (k, n)."""
    C = Lam.T
    return np.vstack([C, -C]) if relu else C


def ascent_values(X, C, U, relu):
    """Objective of the ascent for each dual vector ``C[j]`` and direction ``U[j]``.

    ReLU: ``C_j^T (X u_j)_+``, a lower bound on the cone-constrained dual
    norm of the pattern ``1[X u_j >= 0]`` (``u_j`` is feasible in its cone).
    Gated: ``||X^T D(u_j) C_j||``, that pattern's dual norm.
    """
    Z = X @ U.T  # (n, m)
    if relu:
        return np.einsum("mn,nm->m", C, np.maximum(Z, 0.0))
    return np.linalg.norm(X.T @ ((Z >= 0) * C.T), axis=0)


def local_ascent(X, C, U0, relu, n_steps=ASCENT_STEPS):
    """Local ascent on ``max_{||u|| <= 1} c^T (X u)_+`` from many starts.

    Each step fixes the current pattern ``D = 1[X u >= 0]`` and moves ``u``
    to the maximizer of the linear function ``c^T D X u`` on the unit ball,
    ``X^T D c / ||X^T D c||`` (the unconstrained optimum of that pattern;
    when it lies in the pattern's cell it is the cone-constrained one). The
    best point of each run is kept, since the step need not be monotone.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    C : ndarray of shape (m, n_samples)
        Dual vector of each run.
    U0 : ndarray of shape (m, n_features)
        Starting directions.
    relu : bool
        Which dual norm scores the points (see :func:`ascent_values`).

    Returns
    -------
    U : ndarray of shape (m, n_features)
        Best direction of each run (unit norm).
    values : ndarray of shape (m,)
    """
    U = U0 / np.maximum(np.linalg.norm(U0, axis=1, keepdims=True), 1e-300)
    best_U, best = U.copy(), ascent_values(X, C, U, relu)
    for _ in range(n_steps):
        D = X @ U.T >= 0
        G = (X.T @ (D * C.T)).T  # (m, d): X^T D_j c_j
        norms = np.linalg.norm(G, axis=1, keepdims=True)
        moved = norms[:, 0] > 0
        U = np.where(moved[:, None], G / np.maximum(norms, 1e-300), U)
        values = ascent_values(X, C, U, relu)
        better = values > best
        best_U[better], best[better] = U[better], values[better]
    if not relu:
        U, values = _smoothed_gated_ascent(X, C, U0)
        better = values > best
        best_U[better], best[better] = U[better], values[better]
    return best_U, best


def _smoothed_gated_ascent(X, C, U0, n_steps=60, start=0.3, end=0.01):
    """Ascent on ``||X^T D(u) c||`` with the gate smoothed and then sharpened.

    The gated dual norm is piecewise constant in the gate ``u``; replacing
    ``1[x.u >= 0]`` by ``sigmoid(x.u / tau)`` gives it a gradient, and
    ``tau`` decreases geometrically from ``start`` to ``end`` times the mean
    row norm. The fixed-point step alone stalls in poor cells more often for
    this norm (about 10 % below the best pattern on small tests; this gets
    within a few percent on most).
    """
    scale = np.linalg.norm(X, axis=1).mean()
    U = U0 / np.maximum(np.linalg.norm(U0, axis=1, keepdims=True), 1e-300)
    best_U, best = U.copy(), ascent_values(X, C, U, False)
    for step in range(n_steps):
        tau = scale * start * (end / start) ** (step / (n_steps - 1))
        S = expit(X @ U.T / tau)  # (n, m)
        G = (X.T @ (S * C.T)).T
        G /= np.maximum(np.linalg.norm(G, axis=1, keepdims=True), 1e-300)
        grad = (X.T @ (C.T * S * (1.0 - S) / tau * (X @ G.T))).T
        grad -= np.sum(grad * U, axis=1, keepdims=True) * U  # along the sphere
        length = np.maximum(np.linalg.norm(grad, axis=1, keepdims=True), 1e-300)
        U = U + 0.5 * tau / scale * grad / length
        U /= np.maximum(np.linalg.norm(U, axis=1, keepdims=True), 1e-300)
        values = ascent_values(X, C, U, False)
        better = values > best
        best_U[better], best[better] = U[better], values[better]
    return best_U, best


def _starts(program, result, active, pool, C, scores, rng):
    """Starting directions and their dual vector index for the ascent.

    Random Gaussian directions; the current neurons (nonzero blocks), as they
    are and perturbed; the gates of the most violated pool patterns.
    """
    d = program.n_features
    k = program.n_outputs
    relu = program.cone_constrained
    U, owner = [], []
    for j in range(len(C)):
        U.append(rng.standard_normal((N_RANDOM_STARTS, d)))
        owner += [j] * N_RANDOM_STARTS
        # Pool patterns most violated for this dual vector.
        top = np.argsort(scores[j])[::-1][:8]
        top = top[scores[j][top] > 0]
        if len(top):
            U.append(pool.gates[top])
            owner += [j] * len(top)
        if result is None or not len(active):
            continue
        side, t = divmod(j, k)
        B = result.V if side == 0 else result.W
        if relu is False and side == 1:
            continue
        blocks = B[t]
        norms = np.linalg.norm(blocks, axis=1)
        live = norms > 1e-6 * max(norms.max(initial=0.0), 1e-300)
        if not live.any():
            continue
        dirs = blocks[live] / norms[live, None]
        if not relu:
            # A gated block's own direction need not lie in its cell; its
            # gate does.
            dirs = np.vstack([dirs, pool.gates[np.asarray(active)[live]]])
        noise = rng.standard_normal((2,) + dirs.shape) / np.sqrt(d)
        U.append(np.vstack([dirs, dirs + 0.3 * noise[0], dirs + 0.1 * noise[1]]))
        owner += [j] * (3 * len(dirs))
    return np.vstack(U), np.asarray(owner)


def pool_violations(program, pool, Lam, threshold, skip, want):
    """Dual norms of the pool's patterns, exact where a decision needs it.

    Returns ``scores`` of shape (n_vectors, n_pool): for gated ReLU the
    exact dual norm of every pattern; for ReLU a lower bound (the value of
    the pattern's own gate, or the exact cone-constrained norm computed by
    NNLS). Patterns in ``skip`` (the active set) are not resolved. Exact
    norms are computed, largest unconstrained norm first, for the patterns
    whose lower bound is at most ``threshold`` but whose unconstrained norm
    exceeds it, until ``want`` patterns are known to be violated; with fewer
    violators than ``want`` every undecided pattern is resolved, so "no
    score above threshold" is then a proof that no pattern is violated.
    """
    X, D = program.X, pool.patterns
    C = _signed_duals(Lam, program.cone_constrained)
    k = Lam.shape[1]
    # G[t] = X^T D_i Lam_t for every pattern i, shape (k, P, d).
    G = np.stack([(X.T @ (D * Lam[:, [t]])).T for t in range(k)])
    free = np.linalg.norm(G, axis=2)
    if not program.cone_constrained:
        return free
    gates = pool.gates
    H = np.maximum(X @ gates.T, 0.0) / np.linalg.norm(gates, axis=1)
    scores = C @ H  # (2k, P)
    upper = np.vstack([free, free])
    outside = np.ones(len(pool), dtype=bool)
    outside[list(skip)] = False
    violated = (scores > threshold) & outside
    n_known = int(violated.any(axis=0).sum())
    if n_known >= want:
        return scores
    undecided = (scores <= threshold) & (upper > threshold) & outside
    flat = np.flatnonzero(undecided)
    for f in flat[np.argsort(upper.ravel()[flat])[::-1]]:
        j, i = np.unravel_index(f, upper.shape)
        side, t = divmod(j, k)
        K = (2.0 * D[:, i] - 1.0)[:, None] * X
        scores[j, i] = np.linalg.norm(project((1.0 - 2.0 * side) * G[t, i], K)[0])
        if scores[j, i] > threshold and not violated[:, i].any():
            violated[j, i] = True
            n_known += 1
            if n_known >= want:
                break
    return scores


def _padded(result, old_active, new_active, program):
    """Warm start for ``new_active``: the old blocks, zeros for new patterns."""
    V, W = program.zeros()
    where = {p: j for j, p in enumerate(old_active)}
    src = np.array([where.get(p, -1) for p in new_active], dtype=np.intp)
    keep = src >= 0
    V[:, keep] = result.V[:, src[keep]]
    if W is not None and result.W is not None:
        W[:, keep] = result.W[:, src[keep]]
    return SolverResult(V=V, W=W, intercept=np.array(result.intercept, dtype=float))


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
    X, D = program.X, program.patterns
    sides = [result.V.copy()] + ([result.W.copy()] if result.W is not None else [])
    for t in range(program.n_outputs):
        Q, w, where = [], [], []
        for side, B in enumerate(sides):
            norms = np.linalg.norm(B[t], axis=1)
            live = np.flatnonzero(norms > 0)
            sign = 1.0 - 2.0 * side
            Q.append(sign * (D[:, live] * (X @ B[t, live].T)).T / norms[live, None])
            w.append(norms[live])
            where += [(side, i) for i in live]
        if not where:
            continue
        w = np.concatenate(w)
        new_w = prune_weights(np.vstack(Q), w)
        for (side, i), old, new in zip(where, w, new_w):
            sides[side][t, i] *= new / old
    return dataclasses.replace(result, V=sides[0],
                               W=sides[1] if len(sides) > 1 else None)


def select_patterns(scores, patterns, threshold, n_add):
    """The ``n_add`` most violated patterns, spread out when possible.

    Patterns are taken by decreasing score, skipping one that differs from
    a pattern already taken on fewer than ``MIN_DISTANCE * n_samples``
    samples; skipped ones fill the remaining places.
    """
    order = np.argsort(scores)[::-1]
    order = order[scores[order] > threshold]
    min_distance = max(1, ceil(MIN_DISTANCE * patterns.shape[0]))
    chosen, skipped = [], []
    for i in order:
        if len(chosen) == n_add:
            break
        if chosen:
            dist = np.abs(patterns[:, chosen] - patterns[:, [i]]).sum(axis=0)
            if dist.min() < min_distance:
                skipped.append(int(i))
                continue
        chosen.append(int(i))
    return chosen + skipped[: n_add - len(chosen)]


def _empty_result(program):
    V, W = program.zeros()
    zero = np.zeros_like(program.Y)
    c = (program.loss.optimal_intercept(zero, program.Y, program.sample_weight)
         if program.fit_intercept else np.zeros(program.n_outputs))
    return SolverResult(V=V, W=W, intercept=np.asarray(c, dtype=float).reshape(-1),
                        objective_curve=[program.objective(V, W, c)])


def seed_networks(template, n_arrangements, rng):
    """Networks of the nonconvex problem that seed the search.

    ``SEED_STARTS`` L-BFGS runs of the weight-decay objective of
    ``template`` (its loss, beta and sample weights) with
    ``SEED_UNITS_FACTOR * n_arrangements`` hidden units per output, at most
    ``SEED_MAX_ITER`` iterations each (:func:`~skconvexnn._nonconvex.train_networks`).
    """
    return train_networks(
        template.X, template.Y, template.loss, template.sample_weight,
        template.beta, SEED_UNITS_FACTOR * n_arrangements, SEED_STARTS, rng,
        fit_intercept=template.fit_intercept, max_iter=SEED_MAX_ITER,
    )


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


def seed_active_set(template, pool, networks, max_patterns):
    """First active set and starting point from trained networks.

    The active set holds the distinct patterns of every network's units
    (the best network's first, at most ``max_patterns``); the starting
    point is the best network written as blocks over its own patterns
    (:func:`~skconvexnn._nonconvex.network_blocks`), zero on the others, so
    its objective is at most the network's (user guide, "Arrangement
    search"; Pilanci and Ergen, 2020).

    Returns
    -------
    active : list of int
        Pool indices.
    start : SolverResult
        Blocks over ``active``.
    """
    relu = template.cone_constrained
    networks = sorted(networks, key=lambda net: net.objective)
    active, where, best = [], {}, None
    for rank, net in enumerate(networks):
        gates, V, W = network_blocks(template.X, net, relu)
        idx = pool.add(gates)
        for i in idx:
            if i >= 0 and i not in where and len(active) < max_patterns:
                where[int(i)] = len(active)
                active.append(int(i))
        if rank == 0:
            best = net, idx, V, W
    k, d = template.n_outputs, template.n_features
    V0 = np.zeros((k, len(active), d))
    W0 = np.zeros_like(V0) if relu else None
    net, idx, V, W = best
    keep = np.flatnonzero([i in where for i in idx])
    cols = np.array([where[int(i)] for i in idx[keep]], dtype=np.intp)
    for t in range(k):
        # Units sharing a pattern add up: the sum stays in the cone and its
        # norm is at most the sum of theirs.
        np.add.at(V0[t], cols, V[t, keep])
        if relu:
            np.add.at(W0[t], cols, W[t, keep])
    c = net.c if template.fit_intercept else np.zeros(k)
    return active, SolverResult(V=V0, W=W0, intercept=np.array(c, dtype=float))


def _initial_pool(X, n_arrangements, rng, max_patterns, init_gates, pool_gates):
    """The pool (a warm start's gates, then Gaussian ones) and the first active set."""
    pool = PatternPool(X)
    active = []
    if init_gates is not None and len(init_gates):
        idx = pool.add(init_gates)
        active = list(dict.fromkeys(int(i) for i in idx if i >= 0))[:max_patterns]
    if pool_gates is not None and len(pool_gates):
        pool.add(pool_gates)
    pool.add(sample_gates(POOL_FACTOR * n_arrangements, X.shape[1], rng))
    return pool, active


def _first_point(template, program_for, pool, active, init_result, seeds,
                 max_patterns, tol):
    """Active set and solution the first round starts from.

    A warm start's solution when it fits ``active``; otherwise, with seed
    networks better than the zero network, their patterns and blocks
    (:func:`seed_active_set`). Returns ``(active, result, n_seed,
    seed_objective)``; ``result`` is None for a cold start.
    """
    if init_result is not None and init_result.V.shape[1] == len(active):
        return active, init_result, 0, None
    if seeds and not active:
        empty = _empty_result(program_for([])).objective_curve[0]
        if min(net.objective for net in seeds) < empty - tol * abs(empty):
            active, result = seed_active_set(template, pool, seeds, max_patterns)
            seed_objective = float(program_for(active).objective(
                result.V, result.W, result.intercept))
            return active, result, len(active), seed_objective
        # Otherwise the zero network is the better start (large beta).
    return active, None, 0, None


def _solve_from(program, solve, init):
    """``solve(program, init)``, never worse than a (feasible) start ``init``.

    A solver stopped early may have drifted above its start.
    """
    result, solver = solve(program, init)
    if init is not None:
        start = program.objective(init.V, init.W, init.intercept)
        if program.objective(result.V, result.W, result.intercept) > start:
            result = dataclasses.replace(result, V=init.V, W=init.W,
                                         intercept=init.intercept)
    return result, solver


def _best_violations(program, pool, result, active, threshold, n_add, rng):
    """Largest violation of every pool pattern at ``result``'s dual point.

    New candidates come first where they matter, by ascent on the violated
    constraints (added to ``pool``); active patterns score ``-inf``.
    """
    relu = program.cone_constrained
    Lam = program.dual_point(program.predict(result.V, result.W))
    C = _signed_duals(Lam, relu)
    scores = pool_violations(program, pool, Lam, threshold, active, want=0)
    U0, owner = _starts(program, result if active else None, active, pool,
                        C, scores - threshold, rng)
    U, values = local_ascent(program.X, C[owner], U0, relu)
    pool.add(U[values > threshold])
    scores = pool_violations(program, pool, Lam, threshold, active, want=n_add)
    best = scores.max(axis=0)
    best[active] = -np.inf
    return best


def _print_round(rnd, n_active, n_pool, objective, worst, clock):
    print(f"[search] round {rnd}: active={n_active} pool={n_pool} "
          f"objective={objective:.6g} max violation={worst:.3g} "
          f"({time.perf_counter() - clock:.1f} s)")


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


def search_arrangements(template, solve, n_arrangements, rng, tol=1e-6,
                        max_patterns=10_000, init_gates=None, init_result=None, pool_gates=None,
                        seeds=None, verbose=0):
    """Cutting-plane search of the patterns of the convex program.

    Parameters
    ----------
    template : ConvexProgram
        The program (data, loss, beta, activation); its ``patterns`` are
        ignored.
    solve : callable
        ``solve(program, init)`` returns ``(SolverResult, solver)``; ``init``
        is a ``SolverResult`` shaped for ``program`` or None.
    n_arrangements : int
        Scale of the search: the initial pool has ``POOL_FACTOR *
        n_arrangements`` Gaussian gates, and each round adds at most
        ``ceil(n_arrangements / 10)`` patterns.
    rng : RandomState
    tol : float
        Violations below ``max(tol, MIN_RTOL)`` (relative to beta) are
        ignored.
    max_patterns : int
        Capacity of the active set, which grows as violated patterns are
        added and shrinks as blocks stay zero.
    init_gates, init_result, pool_gates
        A previous search's active gates, solution and pool (warm start).
    seeds : list of TrainedNetwork, optional
        Networks of the nonconvex problem (:mod:`skconvexnn._nonconvex`):
        their patterns form the first active set and the best one is the
        first solve's starting point (:func:`seed_active_set`); the result
        is never worse than that network. Ignored with ``init_gates``.

    Returns
    -------
    SearchResult
    """
    rtol = max(tol, MIN_RTOL)
    threshold = template.beta * (1.0 + rtol)
    n_add = max(1, ceil(n_arrangements / 10))
    pool, active = _initial_pool(template.X, n_arrangements, rng, max_patterns,
                                 init_gates, pool_gates)

    def program_for(indices):
        return dataclasses.replace(template, patterns=pool.patterns[:, indices])

    active, result, n_seed, seed_objective = _first_point(
        template, program_for, pool, active, init_result, seeds, max_patterns, tol)
    solved_active, zero_rounds = list(active), {}
    n_iter, curve, solver, converged, worst = 0, [], None, False, np.inf
    n_rounds, reason, history, first_objective = 0, "round limit", [], None
    clock, seconds = time.perf_counter(), []
    for rnd in range(MAX_ROUNDS + 1):
        program = program_for(active)
        if active:
            init = None if result is None else _padded(result, solved_active,
                                                       active, program)
            result, solver = _solve_from(program, solve, init)
            n_iter += int(result.n_iter)
            curve += list(result.objective_curve)
            n_rounds += 1
        else:
            result = _empty_result(program)
        solved_active = list(active)
        best = _best_violations(program, pool, result, active, threshold, n_add, rng)
        worst = float(best.max(initial=-np.inf)) / template.beta - 1.0
        history.append(program.objective(result.V, result.W, result.intercept))
        seconds.append(time.perf_counter() - clock)
        if rnd == 0 and seed_objective is not None:
            first_objective = float(history[0])
        if verbose:
            _print_round(rnd, len(active), len(pool), history[-1], worst, clock)
        if worst <= rtol:
            converged, reason = True, "converged"
            break
        if rnd == MAX_ROUNDS:
            break
        if _stalled(history, tol):
            reason = "stalled"
            break
        if active:
            full = len(active) + n_add > max_patterns
            if full:  # drop the blocks that pruning can zero at no cost
                result = compact(program, result)
            active, zero_rounds = _retire_zero_blocks(
                result, active, zero_rounds, full,
                rnd == 0 and seed_objective is not None)
        room = min(n_add, max_patterns - len(active))
        new = select_patterns(best, pool.patterns, threshold, room) if room > 0 else []
        if not new:
            reason = "full"
            break
        active += new

    if seed_objective is not None and solved_active:
        # Seed patterns whose blocks the solves left at zero leave the
        # final active set, if that costs less than tol.
        result, solved_active = _drop_zero_blocks(program, result, solved_active, tol)
    gates = pool.gates[solved_active] if solved_active else pool.gates[:0]
    # The solver's state belongs to one round's program, not this one.
    result = dataclasses.replace(result, n_iter=n_iter, state=None,
                                 objective_curve=curve or result.objective_curve)
    return SearchResult(
        program=program_for(solved_active), result=result, gates=gates,
        pool_program=program_for(np.arange(len(pool))), pool_gates=pool.gates,
        solver=solver, n_rounds=n_rounds, converged=converged, max_violation=worst,
        reason=reason, seed_objective=seed_objective, first_objective=first_objective,
        n_seed_patterns=n_seed, seeds=list(seeds) if seeds and n_seed else None,
        history=history, seconds=seconds,
    )
