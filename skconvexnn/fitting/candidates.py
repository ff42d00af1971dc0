"""Candidate patterns of the arrangement search: the pool, the ascent, the checks.

The search (:mod:`skconvexnn.fitting.search`) adds to its program the
patterns whose dual constraint is violated at the current dual point
``Lam`` (user guide, "Arrangement search"). The candidates are an examined
pool of distinct patterns (:class:`PatternPool`), grown by local ascent on
the most violated constraint over all patterns, ``max_{||u|| <= 1} s Lam_t^T
(X u)_+`` for ReLU (:func:`local_ascent`); :func:`pool_violations` scores
the pool and :func:`select_patterns` picks the patterns of a round.
"""

from math import ceil

import numpy as np
from scipy.special import expit

from ..program.cones import project
from ..arrangements import patterns_from_gates

__all__ = ["PatternPool", "ascent_values", "best_violations", "local_ascent",
           "pool_violations", "select_patterns", "signed_duals"]

#: Local-ascent random starts per dual vector and round.
N_RANDOM_STARTS = 48
#: Local-ascent iterations.
ASCENT_STEPS = 25
#: Patterns added in one round differ pairwise on at least this fraction of
#: the samples when enough violators allow it (the most violated patterns
#: are often neighbouring cells that would bring the same improvement).
MIN_DISTANCE = 0.1


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


def signed_duals(Lam, relu):
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


def ascent_starts(program, result, active, pool, C, scores, rng):
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
    C = signed_duals(Lam, program.cone_constrained)
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


def best_violations(program, pool, result, active, threshold, n_add, rng):
    """Largest violation of every pool pattern at ``result``'s dual point.

    New candidates come first where they matter, by ascent on the violated
    constraints (added to ``pool``); active patterns score ``-inf``.
    """
    relu = program.cone_constrained
    Lam = program.dual_point(program.predict(result.V, result.W))
    C = signed_duals(Lam, relu)
    scores = pool_violations(program, pool, Lam, threshold, active, want=0)
    U0, owner = ascent_starts(program, result if active else None, active, pool,
                        C, scores - threshold, rng)
    U, values = local_ascent(program.X, C[owner], U0, relu)
    pool.add(U[values > threshold])
    scores = pool_violations(program, pool, Lam, threshold, active, want=n_add)
    best = scores.max(axis=0)
    best[active] = -np.inf
    return best
