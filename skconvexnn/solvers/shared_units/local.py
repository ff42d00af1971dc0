"""The pattern search of the shared-unit program: pool, local moves, ascent.

The program's optimum depends on its patterns; the search of
:func:`~skconvexnn.solvers.shared_units.frank_wolfe` grows a
:class:`PatternPool` by training the network as a plain ReLU network
(:func:`train_shared`) and, with the approximate oracle, by a local ascent
over all patterns (:func:`shared_ascent`); user guide, "Multiple outputs
and classification".
"""

import numpy as np
from scipy.optimize import minimize

__all__ = ["PatternPool", "ascent_candidates", "shared_ascent", "train_shared"]

#: Search: Frank-Wolfe iterations between local moves, and L-BFGS
#: iterations per move.
LOCAL_EVERY = 5
LOCAL_ITER = 200
#: Search: local moves stop after one gains less than this fraction of the
#: objective (or ``tol``, if larger), or after this many moves. On
#: ``make_regression`` data (500 x 10, 3 targets) the moves gained 0.7 %,
#: then less each time, 0.08 % at the tenth; on the speed target with
#: 5,000 samples 34 %, then 24, 15, 3, 0.4, 0.1 and 0.07 %.
LOCAL_RTOL = 1e-3
MAX_LOCAL_MOVES = 20
#: Search: random starts of the ascent, and gates of the pool (the best by
#: their value at the current dual point) it also starts from.
ASCENT_RANDOM_STARTS = 20
ASCENT_POOL_STARTS = 20
ASCENT_STEPS = 30


class PatternPool:
    """A growing set of patterns ``1[X g >= 0]``, each kept once, with its gate.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    gates : ndarray of shape (n_gates, n_features) or None
    patterns : ndarray of shape (n_samples, n_gates) or None
        The patterns of ``gates`` (computed when None). Given without
        ``gates``, the pool has no gates and cannot grow.
    """

    def __init__(self, X, gates=None, patterns=None):
        self.X = X
        d = X.shape[1]
        self._keys = {}
        self._cols, self._gates = [], []
        if patterns is None and gates is None:
            gates = np.zeros((0, d))
        self.has_gates = gates is not None
        if patterns is None:
            patterns = self._patterns_of(gates)
        patterns = np.asarray(patterns, dtype=bool)
        for j in range(patterns.shape[1]):
            self._insert(patterns[:, j], None if gates is None else gates[j])
        self._cache = None

    def _patterns_of(self, G):
        return (self.X @ np.asarray(G, dtype=float).T) >= 0

    def _insert(self, col, gate):
        key = np.packbits(col).tobytes()
        idx = self._keys.get(key)
        if idx is None and col.any():
            idx = self._keys[key] = len(self._cols)
            self._cols.append(col)
            self._gates.append(gate)
            self._cache = None
        return -1 if idx is None else idx

    def __len__(self):
        return len(self._cols)

    def add(self, G):
        """Add the patterns of the gates ``G``; return the index of each."""
        if not self.has_gates:
            raise ValueError("this pool has no gates and cannot grow")
        G = np.atleast_2d(np.asarray(G, dtype=float))
        cols = self._patterns_of(G)
        return np.array([self._insert(cols[:, j], G[j]) for j in range(len(G))],
                        dtype=int)

    def keys(self, G):
        """A hashable key of the pattern of each gate (equal keys, equal patterns)."""
        cols = self._patterns_of(np.atleast_2d(G))
        return np.array([np.packbits(cols[:, j]).tobytes() for j in range(cols.shape[1])],
                        dtype=object)

    def index(self, G):
        """Index of the pattern of each gate in the pool (-1 if absent)."""
        cols = self._patterns_of(np.atleast_2d(G))
        return np.array([self._keys.get(np.packbits(cols[:, j]).tobytes(), -1)
                         for j in range(cols.shape[1])], dtype=int)

    @property
    def patterns(self):
        """``(n_samples, n_patterns)`` float array of the patterns."""
        if self._cache is None:
            n = self.X.shape[0]
            self._cache = (np.column_stack(self._cols).astype(float) if self._cols
                           else np.zeros((n, 0)))
        return self._cache

    @property
    def gates(self):
        """``(n_patterns, n_features)`` gate vectors (None without gates)."""
        if not self.has_gates:
            return None
        return (np.vstack(self._gates) if self._gates
                else np.zeros((0, self.X.shape[1])))


def shared_ascent(X, Lam, U0, n_steps=ASCENT_STEPS):
    """Local ascent on ``max_{||u|| = 1} ||Lam^T (X u)_+||`` over all patterns.

    The shared-unit analogue of the arrangement search's ascent: each step
    takes the current output direction ``a = Lam^T h / ||Lam^T h||`` (``h =
    (X u)_+``) and moves ``u`` to the maximizer of ``a^T Lam^T D X u`` on
    the unit sphere for the current pattern ``D = 1[X u > 0]``, ``X^T D Lam
    a`` normalized (a power step when the pattern does not change). The
    best point of each run is kept. ``Lam`` has centred columns, so the
    value is the shared-unit dual norm of the pattern ``1[X u >= 0]`` at
    ``u``, a lower bound on that pattern's cone-constrained value.

    Returns
    -------
    values : ndarray of shape (m,)
    U : ndarray of shape (m, n_features)
        Best unit direction of each run.
    """
    U = U0 / np.maximum(np.linalg.norm(U0, axis=1, keepdims=True), 1e-300)

    def value(U):
        Z = X @ U.T
        return np.linalg.norm(Lam.T @ np.maximum(Z, 0.0), axis=0), Z

    best, Z = value(U)
    best_U = U.copy()
    for _ in range(n_steps):
        C = Lam.T @ np.maximum(Z, 0.0)  # (k, m)
        C /= np.maximum(np.linalg.norm(C, axis=0), 1e-300)
        step = X.T @ ((Z > 0) * (Lam @ C))  # (d, m)
        norms = np.linalg.norm(step, axis=0)
        moved = norms > 0
        U = np.where(moved[:, None], (step / np.maximum(norms, 1e-300)).T, U)
        values, Z = value(U)
        better = values > best
        best[better], best_U[better] = values[better], U[better]
    return best, best_U


def train_shared(X, Yc, beta, U, A, max_iter=LOCAL_ITER, center=True):
    """L-BFGS on the weight-decay objective of the shared-unit network.

    ``1/(2n) ||P ((X U^T)_+ A) - Yc||^2 + beta/2 (||U||^2 + ||A||^2)`` with
    ``P`` the centring (the output intercept is the mean residual) when
    ``center``; ``Yc`` is centred then. Returns the trained ``U``, ``A``.
    """
    n, d = X.shape
    m, k = A.shape
    if m == 0:
        return U, A

    def fun(z):
        W, B = z[: m * d].reshape(m, d), z[m * d:].reshape(m, k)
        pre = X @ W.T
        H = np.maximum(pre, 0.0)
        if center:
            H = H - H.mean(axis=0)
        R = (H @ B - Yc) / n
        val = 0.5 * n * np.sum(R * R) + 0.5 * beta * (np.sum(W * W) + np.sum(B * B))
        dB = H.T @ R + beta * B
        dW = ((R @ B.T) * (pre > 0)).T @ X + beta * W
        return val, np.concatenate([dW.ravel(), dB.ravel()])

    z0 = np.concatenate([U.ravel(), A.ravel()])
    res = minimize(fun, z0, jac=True, method="L-BFGS-B",
                   options={"maxiter": max_iter, "gtol": 1e-12, "ftol": 1e-15,
                            "maxcor": 20})
    z = res.x if res.fun <= fun(z0)[0] else z0
    return z[: m * d].reshape(m, d).copy(), z[m * d:].reshape(m, k).copy()



def ascent_candidates(X, Lam, U, pool, rng, q=None):
    """Best maximizers of :func:`shared_ascent`, one per pattern, best first.

    Starts: random directions, the current units, and the gates of the pool
    with the largest value at ``Lam``.
    """
    d = X.shape[1]
    starts = [rng.standard_normal((ASCENT_RANDOM_STARTS, d)), U]
    if len(pool):
        gates = pool.gates
        score = np.linalg.norm(Lam.T @ np.maximum(X @ gates.T, 0.0), axis=0)
        starts.append(gates[np.argsort(-score)[:ASCENT_POOL_STARTS]])
    values, found = shared_ascent(X, Lam, np.vstack(starts))
    order = np.argsort(-values)
    values, found = values[order], found[order]
    _, first = np.unique(pool.keys(found), return_index=True)
    first = np.sort(first)
    return values[first], found[first]
