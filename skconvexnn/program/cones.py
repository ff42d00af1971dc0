"""Euclidean projection onto the polyhedral cones ``{u : K u >= 0}``.

Each pattern ``D_i`` of the ReLU program has the cone ``C_i = {u : K_i u >=
0}`` with ``K_i = (2 D_i - I) X``. By Moreau's decomposition the projection
of ``v`` is ``P(v) = v + K^T mu`` with ``mu = argmin_{mu >= 0} ||v + K^T
mu||``, a nonnegative least-squares problem whose solution has at most
``n_features`` nonzeros (the active constraints). The same quantity gives the
cone-constrained dual norm ``max {g.u : ||u|| <= 1, K u >= 0} = ||P(g)||``.

Solvers call the projection many times on slowly changing points, so
:func:`project` first tries the previous active set: one small linear solve
and one check of all the constraints, and only if that fails a full
nonnegative least-squares solve.
"""

from contextlib import suppress

import numpy as np
from scipy.optimize import nnls

__all__ = ["project"]


def project(v, K, active=None, rtol=1e-10, steps=None):
    """Projection of ``v`` onto ``{u : K u >= 0}`` and its active set.

    An active-set method started from ``active``: solve with the active
    rows as equalities, drop the row of most negative multiplier, or add
    the most violated row, until the point is feasible with nonnegative
    multipliers (the optimality conditions). If that does not settle within
    ``steps`` changes (default ``d + 2``; the greedy changes can cycle),
    scipy's nonnegative least squares decides.

    Parameters
    ----------
    v : ndarray of shape (d,)
    K : ndarray of shape (n, d)
    active : ndarray of int or None
        A guess of the active constraints (for example from the previous
        call on a nearby point).
    rtol : float
        Relative slack allowed in the check of ``K u >= 0``.

    Returns
    -------
    u : ndarray of shape (d,)
    active : ndarray of int
        Rows of ``K`` with a positive multiplier.
    """
    Kv = K @ v
    scale = rtol * (np.abs(Kv).max(initial=0.0) + 1e-300)
    A = [] if active is None else list(active)
    if not A and Kv.min(initial=0.0) >= -scale:
        return v, np.empty(0, dtype=int)
    d = K.shape[1]
    for _ in range(d + 2 if steps is None else steps):
        if A:
            KA = K[A]
            try:
                mu = np.linalg.solve(KA @ KA.T, -(KA @ v))
            except np.linalg.LinAlgError:
                break
            if mu.min() < 0:
                del A[int(np.argmin(mu))]
                continue
            u = v + KA.T @ mu
        else:
            u = v
        Ku = K @ u
        j = int(np.argmin(Ku))
        if Ku[j] >= -scale:
            return u, np.array(A, dtype=int)
        if j in A or len(A) >= d:
            break
        A.append(j)
    return _project_nnls(v, K, Kv, scale)


def _project_nnls(v, K, Kv, scale):
    """Projection by nonnegative least squares on a growing subset of rows.

    The multipliers live on at most ``d`` rows. NNLS on the ``2 d`` rows of
    smallest ``K v``, then on those plus the ``2 d`` rows the result violates
    most, and so on until it violates none, is much cheaper than NNLS on all
    ``n`` rows (its cost grows quickly with the number of rows) and ends
    with the same optimality conditions.
    """
    n, d = K.shape
    m = min(2 * d, n)
    rows = np.argpartition(Kv, m - 1)[:m]
    while True:
        mu, _ = nnls(K[rows].T, -v, maxiter=50 * len(rows) + 50)
        u = v + K[rows].T @ mu
        Ku = K @ u
        Ku[rows] = np.inf
        bad = np.flatnonzero(Ku < -scale)
        if not len(bad):
            return u, rows[mu > 0]
        if len(bad) > m:
            bad = bad[np.argpartition(Ku[bad], m - 1)[:m]]
        rows = np.concatenate([rows, bad])


def _inverse(gram):
    """Batched inverses of Gram matrices, the identity where one is singular, and
    that mask (a squared Cholesky pivot <= PIVOT_RTOL of its row's, as in append)."""
    try:
        L = np.linalg.cholesky(gram)
    except np.linalg.LinAlgError:
        L = np.zeros_like(gram)
        for r, matrix in enumerate(gram):
            with suppress(np.linalg.LinAlgError):  # (a zero pivot marks it)
                L[r] = np.linalg.cholesky(matrix)
    bad = (np.diagonal(L, axis1=1, axis2=2) ** 2
           <= PIVOT_RTOL * np.diagonal(gram, axis1=1, axis2=2)).any(axis=1)
    H = np.broadcast_to(np.eye(gram.shape[1]), gram.shape).copy()
    if not bad.all():
        H[~bad] = np.linalg.inv(gram[~bad])
    return H, bad


class _PassiveSets:
    """Each row's passive constraints, padded to ``d`` slots, and the inverse
    ``H = (K_A K_A^T)^{-1}`` of their Gram matrix (the identity on empty
    slots).

    A solve on a passive set is one matrix product with ``H``. A constraint
    enters by bordering ``H`` (the Schur complement of the new row) and
    leaves by the matching rank-one correction, each ``d^2`` work per row
    with no loop over the slots. Updates accumulate rounding, so
    :func:`project_many` checks the equalities of every passive set it
    accepts and refactors a row whose check fails (:meth:`refactor`).
    ``signs`` has one row per vector: ``2 D - 1`` of its pattern, shape (m, n).
    """

    def __init__(self, X, signs, A, factors=None):
        self.X, self.signs, self.A = X, signs, A
        m, d = A.shape
        self.failed = np.zeros(m, dtype=bool)
        if factors is None:
            self.H = np.broadcast_to(np.eye(d), (m, d, d)).copy()
            stale = (A >= 0).any(axis=1)
        else:
            self.H = np.array(factors, dtype=float).reshape(m, d, d)
            stale = ~np.isfinite(self.H[:, 0, 0])
        self.refactor(np.flatnonzero(stale))

    def signed_rows(self, rows):
        """``X`` at each slot, the signs times validity, and the validity.

        Only the first ``t`` slots, ``t`` the largest passive set of ``rows``
        (the others are empty).
        """
        Ar = self.A[rows]
        Ar = Ar[:, :int((Ar >= 0).sum(axis=1).max(initial=0))]
        valid = Ar >= 0
        idx = np.where(valid, Ar, 0)
        return self.X[idx], self.signs[rows[:, None], idx] * valid, valid

    def refactor(self, rows):
        """Invert the rows' Gram matrices from scratch."""
        if not len(rows):
            return
        Xg, sg, valid = self.signed_rows(rows)
        KA = Xg * sg[..., None]
        gram = KA @ KA.transpose(0, 2, 1)
        t = gram.shape[1]
        gram[:, np.arange(t), np.arange(t)] += ~valid
        H, bad = _inverse(gram)
        self.H[rows] = np.eye(self.H.shape[1])
        self.H[rows, :t, :t] = H
        self.failed[rows[bad]] = True

    def remove(self, rows, slot):
        """Update ``H`` of ``rows`` for removing the constraint at ``slot``.

        The rows' slots past ``slot`` move one to the left (as :func:`_drop`
        compacts them). The inverse of the Gram matrix without row and
        column ``j`` is ``H_{-j,-j} - H_{-j,j} H_{j,-j} / H_jj``.
        """
        if not len(rows):
            return
        t = int((self.A[rows] >= 0).sum(axis=1).max(initial=0))  # slots in use
        H = self.H[rows, :t, :t]
        at = np.arange(len(rows))
        h = H[at, slot]  # (r, t): row slot of each H
        H -= h[:, :, None] * h[:, None, :] / h[at, slot][:, None, None]
        cols = np.arange(t)
        keep = np.minimum(cols[None, :] + (cols[None, :] >= slot[:, None]), t - 1)
        H = H[at[:, None, None], keep[:, :, None], keep[:, None, :]]
        H[:, -1, :] = 0.0
        H[:, :, -1] = 0.0
        H[:, -1, -1] = 1.0
        self.H[rows, :t, :t] = H

    def solve(self, rows, rhs):
        """Solve ``K_A K_A^T z = rhs`` on each row's passive set."""
        top = int((self.A[rows] >= 0).sum(axis=1).max(initial=0))
        z = np.zeros_like(rhs)
        if top:
            H = self.H[rows, :top, :top]  # the slots past top are empty
            z[:, :top] = np.matmul(H, rhs[:, :top, None])[..., 0]
        return z

    def append(self, rows, j, Xg, sg):
        """Add constraint ``j[i]`` to ``rows[i]`` at its first empty slot.

        ``Xg``, ``sg`` are the rows' :meth:`signed_rows`. A row whose update is
        singular is refactored, which fails it if the constraint is dependent.
        """
        size = (self.A[rows] >= 0).sum(axis=1)
        t = int(size.max(initial=0)) + 1  # slots in use after the update
        xj = self.X[j]
        sj = self.signs[rows, j]
        # (Xg may have been taken for more rows, with more slots: those are 0)
        part = (np.einsum("rad,rd->ra", Xg, xj) * sg * sj[:, None])[:, :t]
        cross = np.zeros((len(rows), t))  # 0 past size
        cross[:, :part.shape[1]] = part
        H = self.H[rows, :t, :t]
        Hc = np.matmul(H, cross[..., None])[..., 0]  # 0 past size
        norm2 = np.einsum("rd,rd->r", xj, xj)
        pivot = norm2 - np.einsum("ra,ra->r", cross, Hc)
        bad = pivot <= PIVOT_RTOL * norm2
        pivot = np.where(bad, 1.0, pivot)
        at = np.arange(len(rows))
        H += Hc[:, :, None] * Hc[:, None, :] / pivot[:, None, None]
        H[at, size, :] = -Hc / pivot[:, None]
        H[at, :, size] = -Hc / pivot[:, None]
        H[at, size, size] = 1.0 / pivot
        self.H[rows, :t, :t] = H
        self.A[rows, size] = j
        self.refactor(rows[bad])  # rounding in H, or a dependent constraint


#: Largest violation of a passive constraint's equality, relative to the largest
#: ``|K v|``, that :func:`project_many` accepts before refactoring the passive set.
DRIFT = 1e-9
#: Squared pivot, relative to its row's squared norm, of a singular passive set.
PIVOT_RTOL = 1e-12


def project_many(X, signs, V, guesses, rtol=1e-10, rounds=None, stop_below=None,
                 factors=None, KV=None, transposed=False):
    """Project each row ``v_r`` of ``V`` onto ``{u : (s_r * X) u >= 0}``.

    Lawson and Hanson's active-set method for the nonnegative least-squares
    problem ``min_{mu >= 0} ||v + K^T mu||`` (see the module docstring), run
    on all rows at once. Each row keeps a passive set of at most ``d``
    constraints, padded to ``d`` slots, with multipliers ``mu`` that solve
    the least-squares problem on it and are positive, and the inverse of
    the passive set's Gram matrix (:class:`_PassiveSets`). Every round
    solves on the passive sets with the inverses and does one product with
    ``X``; per row it either adds the most violated constraint (when the
    least-squares solution is positive; the inverse is bordered) or moves
    towards that solution until a multiplier vanishes and drops it (a
    rank-one correction of the inverse). Unlike plain greedy exchanges this
    cannot cycle. The same product checks that the passive constraints
    hold with equality; a row where rounding has made them fail has its
    inverse recomputed and solves again. A row starts from its guess with
    the constraints of negative multipliers dropped. Rows that do not settle
    in ``rounds`` rounds (default ``6 d + 10``), or whose passive set
    degenerates, go through :func:`project`.

    Parameters
    ----------
    X : ndarray of shape (n, d)
    signs : ndarray of shape (n, m), or (m, n) if ``transposed``
        ``2 D - 1`` of each row's pattern (the rounds take it as (m, n)).
    V : ndarray of shape (m, d)
    guesses : ndarray of int of shape (m, d) or None
        Active sets to start from, one row per vector: distinct constraint
        indices first, padded with ``-1`` (the ``active`` this function
        returns).
    stop_below : float, ndarray of shape (m,) or None
        Rows whose projection is known to be no longer than this stop
        early. After a forward step the point is the projection onto the
        cone of the passive constraints alone, which contains the row's cone,
        so its length bounds the projection's from above (and it only
        decreases as constraints enter). Such a row returns that point and
        its active constraints so far: the proximal steps zero these rows
        anyway, and the dual norms only need to know that they are small.
    factors : ndarray of shape (m, d, d) or None
        The inverses of the guesses' Gram matrices, as this function returns
        them (a row whose first entry is not finite is recomputed). None
        computes every guess's.
    KV : ndarray or None
        ``signs * (X @ V.T)`` in the layout of ``signs``, if the caller has it.

    Returns
    -------
    U : ndarray of shape (m, d)
    active : ndarray of int of shape (m, d)
        The active constraints of each projection, padded with ``-1``.
    factors : ndarray of shape (m, d, d)
        The inverse Gram matrix of each row's final passive set, NaN where
        the row was settled by :func:`project` (to pass back with
        ``active``).
    """
    signs, KV = (signs, KV) if transposed else (signs.T, None if KV is None else KV.T)
    signs = np.ascontiguousarray(signs)
    KV = signs * (V @ X.T) if KV is None else np.ascontiguousarray(KV)
    batch = _Batch(X, signs, V, guesses, rtol, stop_below, factors, KV)
    for _ in range(6 * X.shape[1] + 10 if rounds is None else rounds):
        if not batch.round():
            break
    batch.fall_back()
    return batch.U, batch.A, batch.passive.H


class _Batch:
    """The rows of :func:`project_many` and their state between rounds."""

    def __init__(self, X, signs, V, guesses, rtol, stop_below, factors, KV):
        m, d = V.shape[0], X.shape[1]
        self.X, self.signs, self.V, self.rtol, self.d = X, signs, V, rtol, d
        self.U = V.copy()
        self.A = (np.full((m, d), -1, dtype=np.intp) if guesses is None
                  else np.array(guesses, dtype=np.intp).reshape(m, d))
        self.KV = KV  # (m, n), as signs
        # feasibility slack per row, relative to K v (as in project): relative
        # to K u it would be lost when the projection is (nearly) zero
        self.tols = rtol * (np.abs(KV).max(axis=1, initial=0.0) + 1e-300)
        self.passive = _PassiveSets(X, signs, self.A, factors)
        # started: the rows whose multipliers mu solve the least squares on
        # their passive set; fresh: those whose inverse has been recomputed
        self.mu, self.started = np.zeros((m, d)), np.zeros(m, dtype=bool)
        self.done, self.fresh = self.passive.failed.copy(), np.zeros(m, dtype=bool)
        self.stops = stop_below is not None
        self.floor = (np.full(m, -1.0) if stop_below is None
                      else np.broadcast_to(np.asarray(stop_below, dtype=float), (m,)))

    def round(self):
        """One round on the rows not done (False when none is left)."""
        passive, done, started = self.passive, self.done, self.started
        rows = np.flatnonzero(~done)
        if not len(rows):
            return False
        valid = self.A[rows] >= 0
        rhs = -np.where(valid, self.KV[rows[:, None], self.A[rows].clip(0)], 0.0)
        z = np.where(valid, passive.solve(rows, rhs), 0.0)
        neg = valid & (z <= 0)
        back = neg.any(axis=1)
        if self.stops and np.any(back):
            # any multipliers mu >= 0 bound the projection's length: it is
            # min_{mu >= 0} ||v + K^T mu|| (module docstring); the clipped
            # least-squares ones often show that a row is short enough
            rb = rows[back]
            Xb, sb, _ = passive.signed_rows(rb)
            clipped = np.maximum(z[back], 0.0)[:, :sb.shape[1]]
            Ub = self.V[rb] + np.einsum("rad,ra->rd", Xb, clipped * sb)
            back[np.flatnonzero(back)[self._settle_short(rb, Ub)]] = False
        back &= ~done[rows]
        if np.any(back):
            _drop(passive, self.mu, started, rows[back], z[back], neg[back], valid[back])
            done |= passive.failed
        fwd = ~back & ~passive.failed[rows] & ~done[rows]
        if np.any(fwd):
            self._forward(rows[fwd], z[fwd])
        return True

    def _settle_short(self, rows, points):
        """Settle the ``rows`` whose ``points`` are within ``stop_below``."""
        floor = self.floor[rows]
        short = np.einsum("rd,rd->r", points, points) <= floor * np.abs(floor)
        self.U[rows[short]] = points[short]
        self.done[rows[short]] = True
        return short

    def _forward(self, rk, zk):
        """Lawson and Hanson's forward step: settle or add a constraint."""
        self.mu[rk] = zk
        self.started[rk] = True
        Xg, sg, _ = self.passive.signed_rows(rk)
        Ur = self.V[rk] + np.einsum("rad,ra->rd", Xg, zk[:, :sg.shape[1]] * sg)
        keep = ~self._settle_short(rk, Ur)
        rk, Ur, Xg, sg = rk[keep], Ur[keep], Xg[keep], sg[keep]
        if not len(rk):
            return
        KU = self.signs[rk] * (Ur @ self.X.T)  # (r, n)
        keep = ~self._drifted(rk, KU)
        rk, Ur, Xg, sg, KU = rk[keep], Ur[keep], Xg[keep], sg[keep], KU[keep]
        if not len(rk):
            return
        j = np.argmin(KU, axis=1)
        feasible = KU[np.arange(len(rk)), j] >= -self.tols[rk]
        self.U[rk[feasible]] = Ur[feasible]
        self.done[rk[feasible]] = True
        grow = ~feasible
        rg, jg = rk[grow], j[grow]
        repeat = (self.A[rg] == jg[:, None]).any(1)  # a passive one: H drifted
        redo = repeat & ~self.fresh[rg]  # (as in _drifted: refactored once)
        self.fresh[rg[redo]] = True
        self.passive.refactor(rg[redo])
        stuck = ((self.A[rg] >= 0).sum(axis=1) >= self.d) | (repeat & ~redo)
        self.passive.failed[rg[stuck]] = True
        ok = ~stuck & ~redo
        self.passive.append(rg[ok], jg[ok], Xg[grow][ok], sg[grow][ok])
        self.done |= self.passive.failed

    def _drifted(self, rk, KU):
        """Rows whose passive constraints no longer hold with equality: the
        updates of their inverses have drifted. Recompute them, once per call
        (a fresh inverse is as good as it gets), and solve again."""
        Ar = self.A[rk]
        at = np.arange(len(rk))[:, None], np.where(Ar >= 0, Ar, 0)
        off = np.where(Ar >= 0, np.abs(KU[at]), 0.0)
        limit = DRIFT * self.tols[rk] / self.rtol
        drift = (off.max(axis=1, initial=0.0) > limit) & ~self.fresh[rk]
        if np.any(drift):
            self.fresh[rk[drift]] = True
            self.passive.refactor(rk[drift])
            self.done |= self.passive.failed
        return drift

    def fall_back(self):
        """Project the rows the batched steps did not settle with :func:`project`."""
        for r in np.flatnonzero(~self.done | self.passive.failed):
            K = self.signs[r, :, None] * self.X
            self.U[r], active = project(self.V[r], K, None, self.rtol, steps=0)
            self.A[r] = -1
            self.A[r, :min(len(active), self.d)] = active[:self.d]
            self.passive.H[r] = np.nan


def _drop(passive, mu, started, rb, z, neg, valid):
    """Lawson and Hanson's backward step on the rows ``rb``: move from ``mu``
    towards the least-squares solution ``z`` until a multiplier reaches zero (a
    row not yet started just drops its negative multipliers), then drop the
    vanished constraints, keep the slots compact and refactor."""
    A = passive.A
    m_old = mu[rb]
    gap = np.where(neg, m_old - z, 1.0)
    ratio = np.where(neg, m_old / np.where(gap > 0, gap, 1.0), np.inf)
    alpha = np.where(started[rb], ratio.min(axis=1), 0.0)
    m_new = m_old + alpha[:, None] * (z - m_old)
    tiny = 1e-14 * np.abs(m_old).max(axis=1, initial=0.0)[:, None]
    keep = valid & ~(neg & (~started[rb][:, None] | (m_new <= tiny)))
    # in a started row, the slot that set alpha always goes
    st = np.flatnonzero(started[rb])
    keep[st, np.argmin(ratio[st], axis=1)] = False
    # one constraint less: update the factor; several: factor anew
    single = (valid.sum(axis=1) - keep.sum(axis=1)) == 1
    slot = np.argmin(~valid | keep, axis=1)
    passive.remove(rb[single], slot[single])
    order = np.argsort(~keep, axis=1, kind="stable")
    kept = np.take_along_axis(keep, order, 1)
    A[rb] = np.where(kept, np.take_along_axis(A[rb], order, 1), -1)
    mu[rb] = np.where(kept, np.take_along_axis(m_new, order, 1), 0.0)
    passive.refactor(rb[~single])


def cone_norms(X, signs, G, floor=0.0, guesses=None, chunk=32, factors=None):
    """Cone-constrained norms ``||P_b(g_tb)||``, exact where they can be the max.

    Parameters
    ----------
    X : ndarray of shape (n, d)
    signs : ndarray of shape (n, B)
        ``2 D_b - 1`` of each block's pattern.
    G : ndarray of shape (k, B, d)
        The vectors ``g_tb``.
    floor : float
        Blocks whose free norm ``||g_tb||`` is at most ``floor`` keep it.
    guesses : ndarray of int of shape (k, B, d) or None
        Active sets to start the projections from, padded with ``-1`` (see
        :func:`project_many`).
    chunk : int
        Blocks projected together.
    factors : ndarray of shape (k, B, d, d) or None
        The guesses' inverse Gram matrices (see :func:`project_many`).

    Returns
    -------
    norms : ndarray of shape (k, B)
        Exact for the blocks projected (by decreasing free norm, until no
        free norm left can beat the largest exact norm found), the free norm
        (an upper bound) elsewhere; a projection is stopped as soon as its
        length is known to be at most ``floor`` or the largest exact norm
        so far, and then reports an upper bound below that (see
        ``stop_below`` in :func:`project_many`). So ``norms.max()`` is
        exact when it is above ``floor``, and an upper bound otherwise.
    """
    norms = np.sqrt(np.einsum("kbd,kbd->kb", G, G))
    order = np.argsort(norms, axis=None)[::-1]
    flat = norms.ravel().copy()
    best = 0.0
    for start in range(0, len(order), chunk):
        part = order[start:start + chunk]
        part = part[flat[part] > max(floor, best)]
        if not len(part):
            break
        ts, bs = np.unravel_index(part, norms.shape)
        # a block shorter than the floor or the best so far cannot matter
        U, _, _ = project_many(X, signs[:, bs], G[ts, bs],
                               None if guesses is None else guesses[ts, bs],
                               stop_below=max(floor, best),
                               factors=None if factors is None else factors[ts, bs])
        norms[ts, bs] = np.sqrt(np.sum(U * U, axis=1))
        best = max(best, float(norms[ts, bs].max()))
    return norms
