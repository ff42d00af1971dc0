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
2. **Fully corrective step.** Add the maximizing ``u`` as a hidden unit and
   re-optimize the output weights of all hidden units, a group lasso
   ``min_A 1/(2n) ||P (H A - Y)||^2 + beta sum_t ||a_t||`` on the hidden
   features ``H = (X U^T)_+`` (block coordinate descent); units whose
   weights vanish are dropped, and beyond ``n k / 2`` units Caratheodory
   pruning removes units without changing the fit or the penalty. At the
   end, atoms of one pattern with parallel output weights are merged into
   one (:func:`merge_atoms`), which keeps the fit and can only lower the
   penalty.

**Stopping rule.** Any ``Theta`` with centred columns and dual norm
``max_i max {||Theta^T D_i X u|| : ...} <= beta`` gives the lower bound
``-<Theta, Y> - n/2 ||Theta||^2``. Scaling the residual, ``Theta = -s R / n``
with ``R = P (Y - Z)``, the oracle value says how large ``s`` may be
(``s lambda <= beta``), and the best such ``s`` gives

    bound = s <R, Y> / n - s^2 ||R||^2 / (2 n),  s = clip(<R, Y> / ||R||^2, 0, beta / lambda).

The iteration stops when ``objective - bound <= tol * objective``. With the
exact oracle the bound is proven. With the approximate oracle ``lambda``
may be underestimated: the iteration then stops on that estimate, and the
bound it reports is recomputed from an upper bound on ``lambda`` that holds
for every ``u`` of the cone, the spectral norm ``max_i ||G^T D_i X||_2``
(:func:`spectral_dual_norm`), so it is proven too, but looser.
"""

from dataclasses import dataclass, field
from itertools import combinations
from math import comb

import numpy as np
from scipy.optimize import nnls

from ..recovery import prune_weights

__all__ = [
    "ConePCAOracle",
    "FrankWolfeResult",
    "frank_wolfe",
    "dual_point_bound",
    "group_lasso",
    "in_some_cone",
    "merge_atoms",
    "spectral_dual_norm",
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
    normalized projection of ``M^T a`` onto the cone, an NNLS problem),
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
        self.D = np.asarray(patterns, dtype=float)
        self.signs = 2.0 * self.D - 1.0
        self.n_starts = n_starts
        self.rng = np.random.default_rng(random_state)
        n, P = self.D.shape
        self.slack = 1e-9 * max(np.linalg.norm(self.Z, axis=1).max(initial=0.0), 1e-300)
        eig = P * sum(comb(n, j) for j in range(max(rank - 1, 0)))
        rays = comb(n, rank - 1) * n * P if rank else 0
        if exact == "auto":
            exact = (eig <= EXACT_MAX_EIGENPROBLEMS and eig * rank**3 <= EXACT_MAX_EIGEN_WORK
                     and rays <= EXACT_MAX_RAY_WORK)
        self.exact = bool(exact) and rank > 0
        if self.exact:
            self._faces = [self._face_bases(j) for j in range(rank)]

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
        if r == 0:
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
        """Projection of ``c`` onto the cone ``{K_i z >= 0}`` (Moreau, via NNLS)."""
        K = self.signs[:, i, None] * self.Z
        if (K @ c).min() >= 0:
            return c
        mu, _ = nnls(K.T, -c, maxiter=50 * K.shape[0])
        return c + K.T @ mu

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


def spectral_dual_norm(G, X, patterns):
    """``max_i ||G^T D_i X||_2``, an upper bound on the oracle value at ``G``.

    It drops the cone constraint, so it holds whatever the rank of ``X``.
    """
    if patterns.shape[1] == 0:
        return 0.0
    M = np.einsum("nk,np,nr->pkr", G, np.asarray(patterns, dtype=float), X)
    return float(np.linalg.norm(M, ord=2, axis=(1, 2)).max())


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
    all in Gram form.
    """
    n = H.shape[0]
    Q, B = H.T @ H / n, H.T @ Y / n
    yy = np.sum(Y**2) / n
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


@dataclass
class FrankWolfeResult:
    """What :func:`frank_wolfe` returns.

    ``U`` (unit rows) and ``A`` are the hidden directions and output weights
    of the atoms, ``pats`` the index of a pattern whose cone holds each
    direction, ``c`` the output intercept; ``objective`` is the program's
    value at that point, ``lower_bound`` the best proven dual bound,
    ``estimated_bound`` the bound the iteration stopped on (equal to
    ``lower_bound`` with the exact oracle), ``exact`` whether the oracle is
    exact.
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


def frank_wolfe(X, patterns, Y, beta, fit_intercept=True, tol=1e-6, max_iter=500,
                exact="auto", n_candidates=5, random_state=0, verbose=0,
                init=None, oracle=None):
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

    Returns
    -------
    FrankWolfeResult
    """
    n, d = X.shape
    k = Y.shape[1]
    center = (lambda M: M - M.mean(axis=0)) if fit_intercept else (lambda M: M)
    Yc = center(Y)
    if oracle is None:
        oracle = ConePCAOracle(X, patterns, exact=exact, random_state=random_state)
    if init is None:
        U, A, pats = np.zeros((0, d)), np.zeros((0, k)), np.zeros(0, dtype=int)
    else:
        U, A, pats = (np.asarray(v) for v in init)
        pats = pats.astype(int)
    Hc = center(np.maximum(X @ U.T, 0.0))
    if len(U):
        A = group_lasso(Hc, Yc, beta, A, rtol=1e-3)
        keep = np.linalg.norm(A, axis=1) > 0
        U, A, Hc, pats = U[keep], A[keep], Hc[:, keep], pats[keep]
    bound, curve, converged = -np.inf, [], False

    def value_of(Hc, A):
        return np.sum((Hc @ A - Yc) ** 2) / (2 * n) + beta * np.linalg.norm(A, axis=1).sum()

    objective = value_of(Hc, A)
    best_R = None
    for it in range(1, max_iter + 1):
        R = Yc - Hc @ A
        values, new_units, new_pats = oracle(-R / n, n_candidates)
        lam = values[0]
        new = dual_point_bound(R, Yc, beta, lam)
        if new > bound:
            bound, best_R = new, R
        gap = objective - bound
        curve.append(objective)
        if verbose:
            print(f"[frank_wolfe] iter {it}: objective {objective:.8g} gap {gap:.3g} "
                  f"oracle {lam:.6g} (beta {beta:.3g}) units {len(U)}")
        if gap <= tol * max(objective, np.finfo(float).tiny):
            converged = True
            break
        if it == max_iter:
            break
        new_units, new_pats = new_units[values > beta], new_pats[values > beta]
        if len(new_units):
            U = np.vstack([U, new_units])
            pats = np.concatenate([pats, new_pats])
            Hc = np.column_stack([Hc, center(np.maximum(X @ new_units.T, 0.0))])
            A = np.vstack([A, np.zeros((len(new_units), k))])
        # Inner accuracy follows the outer gap: exact enough to make progress.
        A = group_lasso(Hc, Yc, beta, A, rtol=min(1e-2, max(0.1 * gap / objective, 1e-9)))
        w = np.linalg.norm(A, axis=1)
        if np.sum(w > 0) > n * k // 2:
            # Caratheodory pruning (recovery.prune_weights): same fit, same penalty.
            live = np.flatnonzero(w > 0)
            Q = np.einsum("nj,jk->jnk", Hc[:, live], A[live] / w[live, None])
            w[live] = prune_weights(Q.reshape(len(live), -1), w[live])
            A = A * (w / np.maximum(np.linalg.norm(A, axis=1), 1e-300))[:, None]
        keep = w > 0
        U, A, Hc, pats = U[keep], A[keep], Hc[:, keep], pats[keep]
        objective = value_of(Hc, A)
    estimated = bound
    if not oracle.exact:
        # The approximate oracle may underestimate lambda: recompute the bound
        # from an upper bound on it that holds over the whole cone.
        R = Yc - Hc @ A if best_R is None else best_R
        bound = dual_point_bound(R, Yc, beta, spectral_dual_norm(R / n, X, patterns))
    # Merging inside the loop would discard the near-copies that the fully
    # corrective step combines; at the end it only removes units.
    if len(U):
        U, A, pats, merged = merge_atoms(U, A, pats)
        if merged:
            objective = value_of(center(np.maximum(X @ U.T, 0.0)), A)
            curve.append(objective)
    Z = np.maximum(X @ U.T, 0.0) @ A
    c = (Y - Z).mean(axis=0) if fit_intercept else np.zeros(k)
    return FrankWolfeResult(U=U, A=A, c=c, objective=float(objective),
                            lower_bound=float(bound), n_iter=it, converged=converged,
                            exact=oracle.exact, objective_curve=curve, pats=pats,
                            estimated_bound=float(estimated))
