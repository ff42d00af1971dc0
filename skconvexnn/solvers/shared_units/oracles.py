"""The linear minimization oracle of the shared-unit program and bounds on it.

For ``G`` (n x k), the oracle value is the dual norm
``max_i max {||G^T D_i X u|| : ||u|| <= 1, K_i u >= 0}`` with
``K_i = (2 D_i - I) X`` (Sahiner et al., ICLR 2021, section 5; user guide,
"Multiple outputs and classification"). :class:`ConePCAOracle` computes it
(exactly for a small rank of ``X``, by alternating maximization
otherwise); :func:`spectral_dual_norm` and :func:`cone_dual_norm_bound`
bound it from above on every cone, and :func:`dual_point_bound` turns such
a bound into a proven lower bound on the program.
"""

from itertools import combinations
from math import comb

import numpy as np

from ...program.cones import project, project_many
from .result import SharedUnitsResult

__all__ = [
    "ConePCAOracle",
    "cone_dual_norm_bound",
    "dual_point_bound",
    "in_some_cone",
    "spectral_dual_norm",
    "zero_network",
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
    projection of :mod:`skconvexnn.program.cones`, warm started per pattern),
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
    projection onto ``C_i`` (:mod:`skconvexnn.program.cones`): each term is a
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


def zero_network(X, patterns, Y, beta, fit_intercept=True, oracle=None):
    """The zero network when ``beta`` is at least ``beta_max``, else None.

    ``beta_max`` is the dual norm of the centred targets over ``n`` (the
    oracle value at ``-Y_c / n``); :func:`cone_dual_norm_bound` bounds it
    from above when the oracle is not exact. At or above it the dual point
    ``-Y_c / n`` is feasible and proves the zero network optimal.

    Returns
    -------
    SharedUnitsResult or None
    """
    n, k = Y.shape
    c = Y.mean(axis=0) if fit_intercept else np.zeros(k)
    Yc = Y - c
    exact = oracle is not None and oracle.exact
    if patterns.shape[1] == 0:
        lam = 0.0
    elif exact:
        lam = float(oracle(Yc / n)[0][0])
    else:
        lam = cone_dual_norm_bound(Yc / n, X, patterns)
    if beta < lam:
        return None
    bound = dual_point_bound(Yc, Yc, beta, lam)
    return SharedUnitsResult(
        U=np.zeros((0, X.shape[1])), A=np.zeros((0, k)), intercept=c,
        objective=float(np.sum(Yc**2) / (2 * n)), lower_bound=bound,
        estimated_bound=bound, exact=exact, pats=np.zeros(0, int), patterns=patterns,
        n_iter=0)
