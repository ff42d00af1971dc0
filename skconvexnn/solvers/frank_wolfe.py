"""Frank-Wolfe with cone-constrained PCA for the shared-unit program.

The copositive program (Sahiner et al., ICLR 2021; user guide, "Multiple
outputs and classification"), with ``K_i = (2 D_i - I) X``,

    min_{V_i}  1/(2n) ||P (sum_i D_i X V_i - Y)||_F^2 + beta sum_i ||V_i||_{*,K_i}

(``P`` centres the columns when there is an output intercept, which is then
the mean residual), is a problem regularized by the atomic norm whose atoms
are ``D_i X u a^T`` with ``||u|| = ||a|| = 1`` and ``K_i u >= 0``. On such a
``u``, ``D_i X u = (X u)_+``: every atom is one ReLU neuron.

Conditional gradient on it (Sahiner et al., 2021, section 5):

1. **Linear minimization oracle.** For the gradient ``G = P (Z - Y) / n``
   of the data term at the current fit ``Z``, find
   ``lambda = max_i max {||G^T D_i X u|| : ||u|| <= 1, K_i u >= 0}``, a
   cone-constrained PCA per pattern (:class:`ConePCAOracle`).
2. **Fully corrective step.** Add the maximizing ``u`` as hidden units and
   re-optimize the output weights of all hidden units, a group lasso
   ``min_A 1/(2n) ||P (H A - Y)||^2 + beta sum_t ||a_t||`` on the hidden
   features ``H = (X U^T)_+``, solved by an interior-point method
   (:func:`group_lasso_ipm`, Clarabel on the Gram form): near-duplicate
   hidden units make that problem ill-conditioned, which first-order
   methods pay for with thousands of iterations and an interior-point
   method does not. Units whose weights vanish are dropped, and beyond
   ``n k / 2`` units Caratheodory pruning removes units without changing
   the fit or the penalty. At the end, atoms of one pattern with parallel
   output weights are merged into one (:func:`merge_atoms`), which keeps
   the fit and can only lower the penalty.

**Growing the patterns** (``search=True``). The program's optimum depends
on its patterns, and a fixed sample of Gaussian gates is far from the
patterns a trained network uses (on ``make_regression`` data with ten
features, 50 Gaussian patterns gave an objective eight times that of
L-BFGS training with 50 neurons). The search grows the pool of patterns
in two ways, each of which keeps every hidden unit on a pattern of the pool:

- **Local moves.** Every ``local_every`` iterations the network is trained
  as a plain ReLU network (L-BFGS on the weight-decay objective, from the
  current atoms, :func:`train_shared`): hidden units may cross samples,
  and the patterns they end on join the pool. The objective can only go
  down (the atomic penalty ``beta ||u|| ||a||`` is at most the weight decay
  ``beta/2 (||u||^2 + ||a||^2)`` that L-BFGS decreases). Local moves stop
  once one gains less than :data:`LOCAL_RTOL` (relative), or after
  :data:`MAX_LOCAL_MOVES`.
- **Ascent** (approximate oracle only): the oracle is then a local ascent
  over *all* patterns, ``max_{||u|| = 1} ||G^T (X u)_+||``
  (:func:`shared_ascent`), from random directions, the current units and
  the best gates of the pool; the patterns of its maximizers join the
  pool. With the exact oracle the pool grows by local moves only, and
  only while the oracle stays exact on it.

The certificate covers the final pool: a bound is reset whenever the pool
grows.

**Stopping rule.** Any ``Theta`` with centred columns and dual norm
``max_i max {||Theta^T D_i X u|| : ...} <= beta`` gives the lower bound
``-<Theta, Y> - n/2 ||Theta||^2``. Scaling the residual, ``Theta = -s R / n``
with ``R = P (Y - Z)``, the oracle value says how large ``s`` may be
(``s lambda <= beta``), and the best such ``s`` gives

    bound = s <R, Y> / n - s^2 ||R||^2 / (2 n),  s = clip(<R, Y> / ||R||^2, 0, beta / lambda).

The iteration stops when ``objective - bound <= tol * objective``. With the
exact oracle the bound is proven. With the approximate oracle (or the
ascent) ``lambda`` may be underestimated: the iteration then stops on that
estimate, and the bound it reports is recomputed from an upper bound on
``lambda`` that holds for every ``u`` of every cone of the pool, the
spectral norm ``max_i ||G^T D_i X||_2`` (:func:`spectral_dual_norm`), so it
is proven too, but looser.
"""

import warnings
from dataclasses import dataclass, field
from itertools import combinations
from math import comb

import numpy as np
import scipy.sparse as sp
from scipy.optimize import minimize

from .._cones import project, project_many
from ..recovery import prune_weights
from .cvxpy_backend import is_panic

__all__ = [
    "ConePCAOracle",
    "FrankWolfeResult",
    "PatternPool",
    "cone_dual_norm_bound",
    "dual_point_bound",
    "frank_wolfe",
    "group_lasso",
    "group_lasso_ipm",
    "in_some_cone",
    "merge_atoms",
    "shared_ascent",
    "spectral_dual_norm",
    "train_shared",
]

#: The exact oracle is used while it solves at most this many small
#: eigenproblems (pattern x active set pairs) per call, ...
EXACT_MAX_EIGENPROBLEMS = 200_000
#: ... their cost (count times ``r^3`` for rank ``r``) stays below this: on
#: the scikit-learn check with 11 samples, 10 features and 5 outputs (rank
#: 11, 20,000 eigenproblems of size up to 11) one call took 0.9 s and the
#: fit 650 iterations ...
EXACT_MAX_EIGEN_WORK = 2e6
#: ... and its ray test (extreme rays x samples x patterns) stays below this.
EXACT_MAX_RAY_WORK = 5e7
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
#: Rows of the interior-point solution below this fraction of the largest
#: are zero (the barrier keeps them at 1e-9 to 1e-6 of it, while the rows
#: that matter were above 1e-4 on the scikit-learn check's data).
IPM_ZERO_RTOL = 1e-7
#: Projections (times ``n d``) that :func:`cone_dual_norm_bound` may spend
#: before it bounds the remaining patterns by their spectral norms.
BOUND_MAX_WORK = 2e9


class ConePCAOracle:
    """``max_i max {||G^T D_i X u|| : ||u|| <= 1, K_i u >= 0}`` for any ``G``.

    **Exact** (small rank ``r`` of ``X``): the maximizer lies in the relative
    interior of a face of the cone ``{K_i u >= 0}``; a face is cut out by a
    set ``S`` of active constraints, ``x_j . u = 0`` for ``j`` in ``S``, and
    on its span the maximum of ``||M u||`` over the unit sphere is the top
    eigenvector of ``N^T M^T M N`` (``N`` a basis of the null space of
    ``X_S``): the local maxima of a Rayleigh quotient are global. Every set
    of up to ``r - 1`` linearly independent rows is enumerated, the null
    spaces being the same for all patterns; candidates outside the cone are
    discarded. Sets of ``r - 1`` rows give extreme rays, tested against all
    patterns at once by a matrix product. The cost grows as
    ``P * n^(r - 1)``; it is used while it stays below
    :data:`EXACT_MAX_EIGENPROBLEMS` and :data:`EXACT_MAX_RAY_WORK`. (Ties in
    a top eigenvalue, which generic data do not have, can hide a maximizer.)

    **Approximate** (otherwise): per pattern, alternating maximization of
    ``a^T M u`` over unit ``a`` and ``u`` in the cone (``u`` is the
    normalized projection of ``M^T a`` onto the cone, by the active-set
    projection of :mod:`skconvexnn._cones`, warm started per pattern),
    from the top singular vector of ``M`` (both signs) and random starts.
    Patterns are visited by decreasing ``||M||_2``, an upper bound, and
    skipped once it is below the best value found. Each step increases the
    value, but only a local maximum is guaranteed.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    patterns : ndarray of shape (n_samples, n_patterns)
    exact : {"auto", True, False}
    n_starts : int
        Random starts per pattern of the approximate oracle (besides the
        two singular-vector starts).
    random_state : int or None
    """

    def __init__(self, X, patterns, exact="auto", n_starts=1, random_state=0):
        _, s, Vt = np.linalg.svd(X, full_matrices=False)
        rank = int(np.sum(s > 1e-10 * s[0])) if s.size and s[0] > 0 else 0
        self.basis = Vt[:rank].T  # u = basis @ z
        self.Z = X @ self.basis
        self.n_starts = n_starts
        self.rng = np.random.default_rng(random_state)
        n = X.shape[0]
        self.slack = 1e-9 * max(np.linalg.norm(self.Z, axis=1).max(initial=0.0), 1e-300)
        # Work per pattern of the exact oracle, and the patterns it can afford.
        eig = sum(comb(n, j) for j in range(max(rank - 1, 0)))
        rays = comb(n, rank - 1) * n if rank else 0
        limits = [EXACT_MAX_EIGENPROBLEMS / max(eig, 1),
                  EXACT_MAX_EIGEN_WORK / max(eig * rank**3, 1),
                  EXACT_MAX_RAY_WORK / max(rays, 1)]
        if exact == "auto":
            self.capacity = int(min(limits)) if rank else 0
        else:
            self.capacity = np.inf if exact and rank else 0
        self._faces = None
        self.set_patterns(patterns)

    def set_patterns(self, patterns):
        """Use these patterns from now on (the data stay); returns ``self``.

        The face bases depend on the data only and are kept. An oracle that
        was exact stays exact while the patterns fit in :attr:`capacity`.
        """
        self.D = np.asarray(patterns, dtype=float)
        self.signs = 2.0 * self.D - 1.0
        self._active = {}
        self.exact = bool(self.D.shape[1] <= self.capacity) and self.Z.shape[1] > 0
        if self.exact and self._faces is None:
            self._faces = [self._face_bases(j) for j in range(self.Z.shape[1])]
        return self

    def _face_bases(self, j):
        """Orthonormal null-space bases of ``Z_S`` over sets ``S`` of ``j`` independent rows."""
        n, r = self.Z.shape
        if j == 0:
            return np.eye(r)[None]
        S = np.array(list(combinations(range(n), j)), dtype=int)
        _, s, Vt = np.linalg.svd(self.Z[S], full_matrices=True)
        independent = s[:, -1] > 1e-10 * np.maximum(s[:, 0], 1e-300)
        return np.swapaxes(Vt[independent, j:, :], 1, 2)  # (n_sets, r, r - j)

    def __call__(self, G, n_candidates=1):
        """Oracle value and maximizers (unit, in the original coordinates).

        Parameters
        ----------
        G : ndarray of shape (n_samples, n_outputs)
        n_candidates : int
            Also return the next best distinct maximizers of the
            subproblems (up to this many in all), so that several units can
            enter at once.

        Returns
        -------
        values : ndarray of shape (n_found,)
            Decreasing; ``values[0]`` is the oracle value (0 when nothing is
            found).
        U : ndarray of shape (n_found, n_features)
        patterns : ndarray of shape (n_found,)
            Index of a pattern whose cone contains each ``u``.
        """
        r = self.Z.shape[1]
        if r == 0 or self.D.shape[1] == 0:
            return np.zeros(1), np.zeros((1, self.basis.shape[0])), np.zeros(1, int)
        if self.exact:
            found = [self._rays(G, N[:, :, 0], n_candidates) if N.shape[2] == 1
                     else self._faces_top(G, N, n_candidates) for N in self._faces]
            values = np.concatenate([f[0] for f in found])
            Zs = np.concatenate([f[1] for f in found]).reshape(-1, r)
            pats = np.concatenate([f[2] for f in found]).astype(int)
        else:
            values, Zs, pats = self._approximate(G, n_candidates)
        if values.size == 0:
            return np.zeros(1), np.zeros((1, self.basis.shape[0])), np.zeros(1, int)
        order = np.argsort(-values)
        values, Zs, pats = values[order], Zs[order], pats[order]
        _, first = np.unique(np.round(Zs, 8), axis=0, return_index=True)
        first = np.sort(first)[:n_candidates]
        return values[first], Zs[first] @ self.basis.T, pats[first]

    # -- exact: enumerate active sets --------------------------------------

    def _faces_top(self, G, N, q):
        """Top eigenvectors of ``N^T M_i^T M_i N`` for every face basis and pattern."""
        Z, signs = self.Z, self.signs
        M = np.einsum("nk,np,nr->pkr", G, self.D, Z)  # G^T D_i Z, one per pattern
        MN = np.einsum("pkr,crs->cpks", M, N)
        lam, vec = np.linalg.eigh(np.einsum("cpks,cpkt->cpst", MN, MN))
        cand = np.einsum("crs,cps->cpr", N, vec[..., -1])  # (sets, patterns, r)
        ZU = np.einsum("nr,cpr->cpn", Z, cand) * signs.T[None]
        sign = np.where(ZU.min(axis=2) >= -self.slack, 1.0,
                        np.where(ZU.max(axis=2) <= self.slack, -1.0, 0.0))
        value = np.where(sign != 0, np.sqrt(np.maximum(lam[..., -1], 0.0)), -1.0).ravel()
        top = np.argsort(-value)[:q]
        top = top[value[top] >= 0]
        c, p = np.unravel_index(top, sign.shape)
        return value[top], sign[c, p, None] * cand[c, p], p

    def _rays(self, G, R, q):
        """Extreme rays ``+-R[c]`` that lie in some pattern's cone, best first."""
        H = R @ self.Z.T  # (rays, n)
        pos, neg = H > self.slack, H < -self.slack
        D = self.D
        out = []
        for sign, up, down in ((1.0, pos, neg), (-1.0, neg, pos)):
            # Mismatches of the ray's signs with each pattern; 0 = in its cone.
            ok = (up.astype(float) @ (1.0 - D) + down.astype(float) @ D) == 0
            rows = np.flatnonzero(ok.any(axis=1))
            value = np.linalg.norm(np.maximum(sign * H[rows], 0.0) @ G, axis=1)
            top = np.argsort(-value)[:q]
            out.append((value[top], sign * R[rows[top]], ok[rows[top]].argmax(axis=1)))
        return tuple(np.concatenate(parts) for parts in zip(*out))

    # -- approximate: alternating maximization -----------------------------

    def _project(self, i, c):
        """Projection of ``c`` onto the cone ``{K_i z >= 0}`` (Moreau)."""
        K = self.signs[:, i, None] * self.Z
        u, self._active[i] = project(c, K, self._active.get(i))
        return u

    def _approximate(self, G, q, n_steps=100):
        """Best local maxima of the patterns visited (one per pattern), best first."""
        M = np.einsum("nk,np,nr->pkr", G, self.D, self.Z)
        _, s, Vt = np.linalg.svd(M, full_matrices=False)
        found = []  # (value, z, pattern)
        for i in np.argsort(-s[:, 0]):
            # Skip patterns whose upper bound ||M_i||_2 cannot enter the top q.
            if len(found) >= q and s[i, 0] <= found[q - 1][0]:
                break
            starts = [Vt[i, 0], -Vt[i, 0]] + list(
                self.rng.standard_normal((self.n_starts, self.Z.shape[1])))
            best = (0.0, None, int(i))
            for z in starts:
                z = self._project(i, z)
                value = 0.0
                for _ in range(n_steps):
                    norm = np.linalg.norm(z)
                    if norm <= 1e-14:
                        break
                    z = z / norm
                    Mz = M[i] @ z
                    new = float(np.linalg.norm(Mz))
                    if new <= value * (1 + 1e-10) or new == 0.0:
                        value = max(value, new)
                        break
                    value = new
                    z = self._project(i, M[i].T @ (Mz / new))
                if value > best[0] and np.linalg.norm(z) > 0:
                    best = (value, z / np.linalg.norm(z), int(i))
            if best[1] is not None:
                found = sorted(found + [best], key=lambda f: -f[0])
        if not found:
            return np.zeros(0), np.zeros((0, self.Z.shape[1])), np.zeros(0, int)
        return (np.array([f[0] for f in found]), np.array([f[1] for f in found]),
                np.array([f[2] for f in found]))


def _sample_outer_products(G, X):
    """``g_j x_j^T`` of every sample ``j``, flattened to shape (n, k * d).

    A pattern's sum of these rows is ``G^T D_i X``, reshaped to (k, d).
    """
    n, k = G.shape
    return (G[:, :, None] * X[:, None, :]).reshape(n, k * X.shape[1])


def spectral_dual_norm(G, X, patterns, chunk=256):
    """``max_i ||G^T D_i X||_2``, an upper bound on the oracle value at ``G``.

    It drops the cone constraint, so it holds whatever the rank of ``X``.
    """
    patterns = np.asarray(patterns, dtype=float)
    P = patterns.shape[1]
    if P == 0:
        return 0.0
    k, d = G.shape[1], X.shape[1]
    GX = _sample_outer_products(G, X)
    best = 0.0
    for start in range(0, P, chunk):
        M = (patterns[:, start:start + chunk].T @ GX).reshape(-1, k, d)
        best = max(best, float(np.linalg.norm(M, ord=2, axis=(1, 2)).max()))
    return best


def cone_dual_norm_bound(G, X, patterns, chunk=64, max_work=None):
    """An upper bound on the oracle value at ``G`` that respects the cones.

    For pattern ``i`` with ``M_i = G^T D_i X`` and any orthonormal basis
    ``q_1..q_k`` of the outputs, every unit ``u`` of the cone ``C_i``
    satisfies ``||M_i u||^2 = sum_t (q_t^T M_i u)^2 <= sum_t c_t^2`` with
    ``c_t = max(||P_i(M_i^T q_t)||, ||P_i(-M_i^T q_t)||)``, ``P_i`` the
    projection onto ``C_i`` (:mod:`skconvexnn._cones`): each term is a
    cone-constrained dual norm of one output direction, computed exactly.
    The basis is that of the left singular vectors of ``M_i``; the bound
    of a pattern is the smaller of this one and ``||M_i||_2``. With one
    output it is the exact value. Patterns are visited by decreasing
    ``||M_i||_2`` until that falls below the largest bound so far, or until
    the projections have cost ``max_work`` (projections times ``n d``,
    default :data:`BOUND_MAX_WORK`); the spectral norm of the first pattern
    not visited then bounds the rest. Any multipliers of the projections'
    nonnegative least-squares problems give an upper bound on their norms
    (Moreau), so the result is a bound whatever their accuracy.
    """
    if max_work is None:
        max_work = BOUND_MAX_WORK
    patterns = np.asarray(patterns, dtype=float)
    n_patterns = patterns.shape[1]
    if n_patterns == 0:
        return 0.0
    n, k = G.shape
    d = X.shape[1]
    M = (patterns.T @ _sample_outer_products(G, X)).reshape(n_patterns, k, d)
    Q, spec, _ = np.linalg.svd(M, full_matrices=False)
    spec = spec[:, 0]
    order = np.argsort(-spec)
    best, work = 0.0, 0.0
    for start in range(0, n_patterns, chunk):
        part = order[start:start + chunk]
        part = part[spec[part] > best]
        if not len(part):
            break
        if work > max_work:
            best = max(best, float(spec[part[0]]))  # the rest: spectral norms
            break
        work += 2 * k * len(part) * n * d
        rotated = np.einsum("pkj,pkr->pjr", Q[part], M[part])  # rows q_t^T M_i
        V = np.concatenate([rotated, -rotated], axis=1).reshape(-1, d)
        signs = np.repeat(2.0 * patterns[:, part] - 1.0, 2 * rotated.shape[1], axis=1)
        projected, _, _ = project_many(X, signs, V, None)
        c = np.linalg.norm(projected, axis=1).reshape(len(part), 2, -1).max(axis=1)
        bound = np.minimum(spec[part], np.sqrt(np.sum(c**2, axis=1)))
        best = max(best, float(bound.max()))
    return best


def dual_point_bound(R, Yc, beta, lam):
    """Lower bound from the dual point ``-s R / n`` of a centred residual ``R``.

    ``lam`` must be an upper bound on the oracle value at ``-R / n`` (the
    dual norm of ``R / n``); then ``s = clip(<R, Y> / ||R||^2, 0, beta / lam)``
    makes the point feasible and the bound is
    ``s <R, Y> / n - s^2 ||R||^2 / (2 n)`` (module docstring).
    """
    n = R.shape[0]
    rr, ry = float(np.sum(R**2)), float(np.sum(R * Yc))
    if rr == 0:
        # Zero residual: the dual point 0 gives the bound 0.
        return 0.0
    s = np.clip(ry / rr, 0.0, beta / lam if lam > 0 else np.inf)
    return float(s * ry / n - s**2 * rr / (2 * n))


def in_some_cone(XU, patterns, rtol=1e-9):
    """Whether each column ``X u`` of ``XU`` has the signs of some pattern.

    That is, ``K_i u >= 0`` for some ``i`` (zeros fit either side, up to
    ``rtol`` times the column's largest entry).
    """
    slack = rtol * np.abs(XU).max(axis=0)
    pos = (XU > slack).astype(float)
    neg = (XU < -slack).astype(float)
    bad = pos.T @ (1.0 - patterns) + neg.T @ patterns
    return (bad == 0).any(axis=1)


def merge_atoms(U, A, pats, rtol=1e-9):
    """Merge atoms of one pattern whose output weights point the same way.

    On the cone of pattern ``i`` the hidden layer is linear, ``(X u)_+ =
    D_i X u``, and the cone is convex, so atoms ``(u_t, a_t)`` of pattern
    ``i`` with ``a_t = ||a_t|| e`` (one unit vector ``e``; always one of two
    for a single output) add up to the single atom ``v = sum_t ||a_t|| u_t``,
    ``a = ||v|| e`` with ``u = v / ||v||``: the same fit, and a penalty
    ``beta ||v|| <= beta sum_t ||a_t||``.

    Returns
    -------
    U, A, pats, merged : the new atoms and whether any were merged.
    """
    w = np.linalg.norm(A, axis=1)
    E = np.round(A / w[:, None] / rtol) * rtol
    keys = np.column_stack([pats, E])
    _, group, counts = np.unique(keys, axis=0, return_inverse=True, return_counts=True)
    group = group.ravel()
    if counts.max(initial=0) <= 1:
        return U, A, pats, False
    V = np.zeros((len(counts), U.shape[1]))
    np.add.at(V, group, w[:, None] * U)
    first = np.zeros(len(counts), dtype=int)
    first[group[::-1]] = np.arange(len(group))[::-1]
    norm = np.linalg.norm(V, axis=1)
    live = norm > 0
    U_new = V[live] / norm[live, None]
    A_new = (A[first] / w[first, None] * norm[:, None])[live]
    return U_new, A_new, pats[first][live], True


def group_lasso(H, Y, beta, A0, rtol=1e-6, max_iter=5000):
    """``min_A 1/(2n) ||H A - Y||_F^2 + beta sum_t ||A[t]||`` by accelerated proximal gradient.

    ``H`` (n x m) and ``Y`` (n x k) are already centred when there is an
    intercept. FISTA on the Gram form (``Q = H^T H / n``, ``B = H^T Y / n``)
    with adaptive restart; it stops when every row meets its optimality
    condition to ``rtol * beta``: ``||g_t + beta a_t / ||a_t|| ||`` for
    nonzero rows and ``||g_t|| - beta`` for zero rows, ``g = Q A - B``, or
    when the duality gap of this problem falls below ``rtol`` times its
    objective. The second test matters with near-duplicate atoms (an
    ill-conditioned Gram matrix): the iterate then converges slowly along
    directions in which the objective is flat. The gap uses the dual point
    ``s R / n`` with ``R = Y - H A`` and ``s = min(1, beta / max_t ||g_t||)``,
    all in Gram form. Frank-Wolfe uses :func:`group_lasso_ipm`, which does
    not suffer from that conditioning; this is its fallback.
    """
    n = H.shape[0]
    return _group_lasso_gram(H.T @ H / n, H.T @ Y / n, beta, A0, rtol, max_iter,
                             yy=np.sum(Y**2) / n)


def _group_lasso_gram(Q, B, beta, A0, rtol=1e-6, max_iter=5000, yy=None):
    """:func:`group_lasso` on its Gram form; without ``yy`` (``||Y||^2 / n``)
    only the optimality test stops it."""
    L = np.linalg.eigvalsh(Q)[-1] if len(Q) else 0.0
    if L <= 0:
        return np.zeros_like(A0)

    def rownorm(W):
        return np.sqrt(np.einsum("ij,ij->i", W, W))

    A, W, t = A0.copy(), A0.copy(), 1.0
    for it in range(max_iter):
        new = W - (Q @ W - B) / L
        new *= np.maximum(1.0 - beta / L / np.maximum(rownorm(new), 1e-300), 0.0)[:, None]
        if it % 20 == 0:
            g0 = Q @ new - B
            g = g0.copy()
            norm = rownorm(new)
            live = norm > 0
            g[live] += beta * new[live] / norm[live, None]
            viol = rownorm(g) - np.where(live, 0.0, beta)
            if viol.max(initial=0.0) <= rtol * beta:
                return new
            if yy is not None:
                ab = np.sum(new * B)
                rr = yy - 2 * ab + np.sum(new * (g0 + B))  # ||R||^2 / n
                primal = 0.5 * rr + beta * norm.sum()
                s = min(1.0, beta / max(rownorm(g0).max(initial=0.0), 1e-300))
                if primal - (s * (yy - ab) - 0.5 * s * s * rr) <= rtol * max(primal, 1e-300):
                    return new
        t_new = (1 + np.sqrt(1 + 4 * t * t)) / 2
        step = new - A
        if np.einsum("ij,ij->", W - new, step) > 0:  # restart when momentum goes uphill
            t_new, W = 1.0, new
        else:
            W = new + (t - 1) / t_new * step
        A, t = new, t_new
    return A


def group_lasso_ipm(Q, B, beta, atol=1e-12, A0=None):
    """``min_A 1/2 <A, Q A> - <B, A> + beta sum_t ||A[t]||`` by an interior-point method.

    The Gram form of the group lasso of the corrective step (``Q = H^T H /
    n``, ``B = H^T Y / n``), as a second-order cone program for Clarabel:
    variables ``A`` and ``t`` with ``||A[t]|| <= t_t``. An interior-point
    method does not care about the conditioning of ``Q`` (near-duplicate
    hidden units), which costs first-order methods thousands of iterations;
    it takes 10 to 20 factorizations of a matrix of size ``m (k + 1)``.
    ``atol`` is the absolute duality gap asked for. Rows that the barrier
    leaves barely above zero (below :data:`IPM_ZERO_RTOL` of the largest)
    are set to zero. If Clarabel fails, :func:`group_lasso`
    (FISTA, from ``A0``) answers instead.
    """
    import clarabel

    m, k = B.shape
    if m == 0:
        return np.zeros((0, k))
    N = m * k
    P = sp.kron(sp.csc_matrix(np.triu(Q)), sp.identity(k), format="csc")
    P = sp.block_diag([P, sp.csc_matrix((m, m))], format="csc")
    q = np.concatenate([-B.ravel(), np.full(m, float(beta))])
    # Cone i holds (t_i, A[i]); Clarabel's form is  A x + s = b,  s in K.
    cols = np.column_stack([N + np.arange(m), np.arange(N).reshape(m, k)]).ravel()
    rows = np.arange(m * (k + 1))
    G = sp.csc_matrix((-np.ones(len(rows)), (rows, cols)), shape=(m * (k + 1), N + m))
    settings = clarabel.DefaultSettings()
    settings.verbose = False
    settings.max_threads = 1
    settings.direct_solve_method = "faer"
    settings.tol_gap_abs = max(float(atol), 1e-300)
    settings.tol_gap_rel = 1e-14
    settings.max_iter = 100
    try:
        solver = clarabel.DefaultSolver(P, q, G, np.zeros(m * (k + 1)),
                                        [clarabel.SecondOrderConeT(k + 1)] * m, settings)
        x = np.asarray(solver.solve().x, dtype=float)
        A = x[:N].reshape(m, k)
        if not np.all(np.isfinite(A)):
            raise ValueError("non-finite solution")
    except BaseException as exc:
        # A failure (or a Rust panic, pyo3's PanicException, a
        # BaseException) must not end the fit.
        if not (isinstance(exc, Exception) or is_panic(exc)):
            raise
        warnings.warn(f"Clarabel failed on the corrective group lasso ({exc}); "
                      "using FISTA instead.", RuntimeWarning)
        return _group_lasso_gram(Q, B, beta, np.zeros((m, k)) if A0 is None else A0)
    w = np.linalg.norm(A, axis=1)
    A[w <= IPM_ZERO_RTOL * w.max(initial=0.0)] = 0.0
    return A


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


@dataclass
class FrankWolfeResult:
    """What :func:`frank_wolfe` returns.

    ``U`` (unit rows) and ``A`` are the hidden directions and output weights
    of the atoms, ``pats`` the index of a pattern whose cone holds each
    direction, ``c`` the output intercept; ``objective`` is the program's
    value at that point, ``lower_bound`` the best proven dual bound over
    the final patterns, ``estimated_bound`` the bound the iteration stopped
    on (equal to ``lower_bound`` with the exact oracle), ``exact`` whether
    the oracle was exact. ``patterns`` and ``gates`` are the final pool
    (``gates`` is None when the patterns were given without gates);
    ``n_local`` counts the local moves made.
    """

    U: np.ndarray
    A: np.ndarray
    c: np.ndarray
    objective: float
    lower_bound: float
    n_iter: int
    converged: bool
    exact: bool
    objective_curve: list = field(default_factory=list)
    """Objective at each iteration, then after the final merge if it changed."""
    pats: np.ndarray = None
    estimated_bound: float = -np.inf
    patterns: np.ndarray = None
    gates: np.ndarray = None
    n_local: int = 0


class _SharedUnits:
    """The fully corrective step's pieces for centred targets ``Yc``.

    ``Hc`` are the (centred, when there is an output intercept) hidden
    activations of the unit directions, ``A`` their output weights.
    """

    def __init__(self, X, Yc, beta, fit_intercept):
        self.X, self.Yc, self.beta = X, Yc, beta
        self.fit_intercept = fit_intercept

    def center(self, M):
        return M - M.mean(axis=0) if self.fit_intercept else M

    def hidden(self, U):
        """Centred activations ``(X U^T)_+``, shape (n, len(U))."""
        return self.center(np.maximum(self.X @ U.T, 0.0))

    def value(self, Hc, A):
        n = len(self.Yc)
        return (np.sum((Hc @ A - self.Yc) ** 2) / (2 * n)
                + self.beta * np.linalg.norm(A, axis=1).sum())

    def corrective(self, Hc, A, atol):
        n = len(self.Yc)
        return group_lasso_ipm(Hc.T @ Hc / n, Hc.T @ self.Yc / n, self.beta,
                               atol=atol, A0=A)

    def entered(self, U, A, Hc, pats, new_units, new_pats):
        """The atoms with ``new_units`` (patterns ``new_pats``) added at weight zero."""
        if not len(new_units):
            return U, A, Hc, pats
        return (np.vstack([U, new_units]),
                np.vstack([A, np.zeros((len(new_units), A.shape[1]))]),
                np.column_stack([Hc, self.hidden(new_units)]),
                np.concatenate([pats, new_pats]))

    def drop_zeros(self, U, A, Hc, pats):
        """The atoms with nonzero weights, after Caratheodory pruning when many."""
        n, k = self.Yc.shape
        w = np.linalg.norm(A, axis=1)
        if np.sum(w > 0) > n * k // 2:
            # Caratheodory pruning (recovery.prune_weights): same fit, same penalty.
            live = np.flatnonzero(w > 0)
            Qm = np.einsum("nj,jk->jnk", Hc[:, live], A[live] / w[live, None])
            w[live] = prune_weights(Qm.reshape(len(live), -1), w[live])
            A = A * (w / np.maximum(np.linalg.norm(A, axis=1), 1e-300))[:, None]
        keep = w > 0
        return U[keep], A[keep], Hc[:, keep], pats[keep]


def _pool_and_oracle(X, patterns, gates, oracle, exact, random_state):
    """The pattern pool (of ``gates`` when given) and an oracle on it."""
    pool = PatternPool(X, gates, None if gates is not None else patterns)
    if gates is not None and len(pool) != patterns.shape[1]:
        pool = PatternPool(X, gates)  # gates with repeated patterns
    if oracle is None:
        oracle = ConePCAOracle(X, pool.patterns, exact=exact, random_state=random_state)
    elif oracle.D.shape[1] != len(pool):
        oracle.set_patterns(pool.patterns)
    return pool, oracle


def _local_move(fit, U, A, pool, room, local_iter, atol):
    """The network trained (balanced atoms) as plain ReLU, then corrected.

    Returns ``(U, A, Hc, n_new)`` of the moved atoms, ``n_new`` the patterns
    they add to ``pool``, or None when those exceed ``room``.
    """
    w = np.sqrt(np.linalg.norm(A, axis=1))[:, None]
    U2, A2 = train_shared(fit.X, fit.Yc, fit.beta, U * w, A / w, local_iter,
                          fit.fit_intercept)
    norms = np.linalg.norm(U2, axis=1)
    live = norms > 0
    U2, A2 = U2[live] / norms[live, None], A2[live] * norms[live, None]
    n_new = len(np.unique(pool.keys(U2)[pool.index(U2) < 0]))
    if n_new > room:
        return None
    Hc2 = fit.hidden(U2)
    return U2, fit.corrective(Hc2, A2, atol), Hc2, n_new


def _candidates(fit, Lam, U, pool, oracle, ascend, n_candidates, rng):
    """Units that may enter, their values and patterns (-1: not in the pool)."""
    if ascend:
        values, new_units = _ascent_candidates(fit.X, Lam, U, pool, rng)
        values, new_units = values[:n_candidates], new_units[:n_candidates]
        return values, new_units, np.full(len(values), -1)
    return oracle(-Lam, n_candidates)


def _proven_result(fit, Y, U, A, Hc, pats, pool, oracle, ascend, core, bound, **info):
    """The final atoms merged, the pool cut to ``core``, the bound proven."""
    X, n, k = fit.X, len(Y), Y.shape[1]
    objective, curve = info.pop("objective"), info.pop("objective_curve")
    estimated = bound
    # Merging inside the loop would discard the near-copies that the fully
    # corrective step combines; at the end it only removes units.
    if len(U):
        U, A, pats, merged = merge_atoms(U, A, pats)
        if merged:
            Hc = fit.hidden(U)
            objective = fit.value(Hc, A)
            curve.append(objective)
    if ascend and core is not None:
        # The proven bound needs projections onto every cone it covers:
        # keep the first `core` patterns and those of the returned units.
        pool = PatternPool(X, pool.gates[:core], pool.patterns[:, :core])
        pats = pool.add(U) if len(U) else pats
    patterns = pool.patterns
    if ascend or not oracle.exact:
        # The approximate oracle or the ascent may underestimate lambda:
        # recompute the bound from an upper bound on it that holds over
        # every cone of the final pool.
        R = fit.Yc - Hc @ A
        bound = dual_point_bound(R, fit.Yc, fit.beta,
                                 cone_dual_norm_bound(R / n, X, patterns))
    Z = np.maximum(X @ U.T, 0.0) @ A
    c = (Y - Z).mean(axis=0) if fit.fit_intercept else np.zeros(k)
    return FrankWolfeResult(U=U, A=A, c=c, objective=float(objective),
                            lower_bound=float(bound), exact=bool(oracle.exact and not ascend),
                            objective_curve=curve, pats=pats,
                            estimated_bound=float(estimated), patterns=patterns,
                            gates=pool.gates, **info)


def frank_wolfe(X, patterns, Y, beta, fit_intercept=True, tol=1e-6, max_iter=500,
                exact="auto", n_candidates=5, random_state=0, verbose=0,
                init=None, oracle=None, gates=None, search=False,
                local_every=LOCAL_EVERY, local_iter=LOCAL_ITER, core=None):
    """Solve the shared-unit program by fully corrective Frank-Wolfe.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Design matrix (column of ones included for hidden biases).
    patterns : ndarray of shape (n_samples, n_patterns)
    Y : ndarray of shape (n_samples, n_outputs)
    beta : float
        Regularization, scaled as in the user guide (the data term is a mean).
    fit_intercept : bool
        Unpenalized output intercept.
    tol : float
        Relative duality gap at which to stop.
    max_iter : int
        Oracle calls at most.
    exact : {"auto", True, False}
        Oracle choice (:class:`ConePCAOracle`).
    n_candidates : int
        Units that may enter per iteration (the oracle's best candidates
        above ``beta``).
    init : tuple (U, A, pats) or None
        Atoms to start from: unit directions ``U`` with ``K_i u >= 0`` for
        the pattern ``pats``, and their output weights ``A``.
    oracle : ConePCAOracle or None
        A prebuilt oracle for ``X`` and ``patterns``.
    gates : ndarray of shape (n_patterns, n_features) or None
        Gate vectors of ``patterns`` (needed by ``search``).
    search : bool
        Grow the patterns by local moves and, with the approximate oracle,
        by the ascent (module docstring).
    local_every, local_iter : int
        Iterations between local moves, and L-BFGS iterations per move.
    core : int or None
        Search with the approximate oracle: the final pool keeps only the
        first ``core`` patterns of ``gates`` and those of the returned
        units (None: every pattern examined), since the proven bound costs
        a projection onto each cone it covers.

    Returns
    -------
    FrankWolfeResult
    """
    n, d = X.shape
    k = Y.shape[1]
    fit = _SharedUnits(X, Y - Y.mean(axis=0) if fit_intercept else Y, beta,
                       fit_intercept)
    Yc = fit.Yc
    rng = np.random.default_rng(random_state)
    if search and gates is None:
        raise ValueError("search=True needs the gates of the patterns")
    pool, oracle = _pool_and_oracle(X, patterns, gates, oracle, exact, random_state)
    ascend = search and not oracle.exact  # the ascent is the oracle
    if init is None:
        U, A, pats = np.zeros((0, d)), np.zeros((0, k)), np.zeros(0, dtype=int)
    else:
        U, A, pats = (np.asarray(v, dtype=float) for v in init)
        pats = pats.astype(int)

    scale = max(np.sum(Yc**2) / (2 * n), np.finfo(float).tiny)
    Hc = fit.hidden(U)
    if len(U):
        A = fit.corrective(Hc, A, 1e-3 * tol * scale)
        U, A, Hc, pats = fit.drop_zeros(U, A, Hc, pats)
    bound, curve, converged = -np.inf, [], False
    objective = fit.value(Hc, A)
    local = search and local_every > 0
    n_local, it = 0, 0
    for it in range(1, max_iter + 1):
        R = Yc - Hc @ A
        values, new_units, new_pats = _candidates(fit, R / n, U, pool, oracle, ascend,
                                                  n_candidates, rng)
        if ascend:
            bound = -np.inf  # an estimate at the current point only
        lam = float(values[0]) if len(values) else 0.0
        bound = max(bound, dual_point_bound(R, Yc, beta, lam))
        gap = objective - bound
        curve.append(objective)
        if verbose:
            print(f"[frank_wolfe] iter {it}: objective {objective:.8g} gap {gap:.3g} "
                  f"oracle {lam:.6g} (beta {beta:.3g}) units {len(U)} "
                  f"patterns {len(pool)}")
        if gap <= tol * max(objective, np.finfo(float).tiny):
            converged = True
            break
        if it == max_iter:
            break
        atol = 1e-2 * min(tol * objective, gap)
        if local and it % local_every == 0 and len(U):
            local = False  # unless it gains more than tol
            room = np.inf if ascend else oracle.capacity - len(pool)
            move = _local_move(fit, U, A, pool, room, local_iter, atol)
            if move is not None:
                U2, A2, Hc2, n_new = move
                moved = fit.value(Hc2, A2)
                if verbose:
                    print(f"[frank_wolfe] local move: objective {objective:.8g} -> "
                          f"{moved:.8g}, {n_new} new patterns")
                if moved < objective:
                    local = (objective - moved > max(tol, LOCAL_RTOL) * objective
                             and n_local + 1 < MAX_LOCAL_MOVES)
                    U, A, Hc, pats = fit.drop_zeros(U2, A2, Hc2, pool.add(U2))
                    objective = fit.value(Hc, A)
                    n_local += 1
                    if n_new:
                        if not ascend:
                            oracle.set_patterns(pool.patterns)
                        bound = -np.inf  # it was for fewer patterns
                    continue
        keep = values > beta
        new_units, new_pats = new_units[keep], new_pats[keep]
        if ascend and len(new_units):
            new_pats = pool.add(new_units)
        U, A, Hc, pats = fit.entered(U, A, Hc, pats, new_units, new_pats)
        A = fit.corrective(Hc, A, atol)
        U, A, Hc, pats = fit.drop_zeros(U, A, Hc, pats)
        objective = fit.value(Hc, A)
    return _proven_result(fit, Y, U, A, Hc, pats, pool, oracle, ascend, core, bound,
                          objective=objective, objective_curve=curve, n_iter=it,
                          converged=converged, n_local=n_local)


def _ascent_candidates(X, Lam, U, pool, rng, q=None):
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
