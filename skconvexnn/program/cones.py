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

import numpy as np
from scipy.optimize import nnls

from ._passive import _PassiveSets

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


#: Largest violation of a passive constraint's equality, relative to the largest
#: ``|K v|``, that :func:`project_many` accepts before refactoring the passive set.
DRIFT = 1e-9
#: Bytes of ``K u`` that :func:`scan_rows` computes at once, which bounds its
#: memory. Chunks that fit in cache (4 MB) were no faster at n = 50,000 than
#: the whole array, and slower at n = 100,000 (5 rows a chunk: 207.1 s
#: against 173.2 s for a fit with 32 MB, 41 rows).
SCAN_BYTES = 2**25


def _sign_rows(signs, rows):
    """``signs[rows]``, a view where ``rows`` are consecutive (no copy)."""
    if len(rows) and rows[-1] - rows[0] == len(rows) - 1 and np.all(np.diff(rows) == 1):
        return signs[rows[0]:rows[-1] + 1]
    return signs[rows]


def scan_rows(X, signs, rows, U, at=None, inv_norms=None):
    """Reductions of ``k_r = signs[rows[r]] * (X u_r)`` for each row ``u_r`` of ``U``.

    Returns the argmin of ``k_r``, its min and max, the values at the
    columns ``at[r]`` (``at`` of shape (m, t), or None) and the min of
    ``k_r * inv_norms`` (or None), computed a chunk of rows at a time
    (``SCAN_BYTES``), so that no (m, n) array is formed.
    """
    m = len(U)
    j, lo, hi = np.empty(m, dtype=np.intp), np.empty(m), np.empty(m)
    vals = None if at is None else np.empty(at.shape)
    cut = None if inv_norms is None else np.empty(m)
    step = max(1, SCAN_BYTES // (8 * X.shape[0]))
    for s in range(0, m, step):
        part = slice(s, s + step)
        K = U[part] @ X.T
        K *= _sign_rows(signs, rows[part])
        j[part] = K.argmin(axis=1)
        lo[part] = K[np.arange(len(K)), j[part]]
        hi[part] = K.max(axis=1)
        if at is not None:
            vals[part] = np.take_along_axis(K, at[part], axis=1)
        if inv_norms is not None:
            K *= inv_norms
            cut[part] = K.min(axis=1)
    return j, lo, hi, vals, cut


def project_many(X, signs, V, guesses, rtol=1e-10, rounds=None, stop_below=None,
                 factors=None, scale=None, transposed=False, rows=None):
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
    signs : ndarray of shape (n, p), or (p, n) if ``transposed``
        ``2 D - 1`` of patterns: row ``r`` of ``V`` takes pattern ``r``, or
        ``rows[r]`` if ``rows`` is given (the rounds take them as (p, n)).
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
    factors : ndarray of shape (m, s, s) or None
        The inverses of the guesses' Gram matrices (``s = min(n, d)``,
        :func:`~skconvexnn.program._passive.factor_slots`), as this function returns
        them (a row whose first entry is not finite is recomputed). None
        computes every guess's.
    scale : ndarray of shape (m,) or None
        ``max |K_r v_r|`` of each row, if the caller has it (the
        feasibility slack is ``rtol`` times it).
    rows : ndarray of int of shape (m,) or None
        The pattern of each row of ``V`` (default: row ``r`` takes pattern
        ``r``), so that a caller with a table of patterns gathers none.

    Returns
    -------
    U : ndarray of shape (m, d)
    active : ndarray of int of shape (m, d)
        The active constraints of each projection, padded with ``-1``.
    factors : ndarray of shape (m, s, s)
        The inverse Gram matrix of each row's final passive set, NaN where
        the row was settled by :func:`project` (to pass back with
        ``active``).
    """
    signs = np.ascontiguousarray(signs if transposed else signs.T)
    rows = np.arange(len(V)) if rows is None else np.asarray(rows)
    if scale is None:
        _, lo, hi, _, _ = scan_rows(X, signs, rows, V)
        scale = np.maximum(-lo, hi)
    batch = _Batch(X, signs, rows, V, guesses, rtol, stop_below, factors, scale)
    for _ in range(6 * X.shape[1] + 10 if rounds is None else rounds):
        if not batch.round():
            break
    batch.fall_back()
    return batch.U, batch.A, batch.passive.H


class _Batch:
    """The rows of :func:`project_many` and their state between rounds."""

    def __init__(self, X, signs, rows, V, guesses, rtol, stop_below, factors, scale):
        m, d = V.shape[0], X.shape[1]
        self.X, self.signs, self.V, self.rtol, self.d = X, signs, V, rtol, d
        self.sign_of = rows  # the pattern (row of signs) of each row
        self.U = V.copy()
        self.A = (np.full((m, d), -1, dtype=np.intp) if guesses is None
                  else np.array(guesses, dtype=np.intp).reshape(m, d))
        # feasibility slack per row, relative to K v (as in project): relative
        # to K u it would be lost when the projection is (nearly) zero
        self.tols = rtol * (scale + 1e-300)
        self.passive = _PassiveSets(X, signs, self.A, factors, sign_of=rows)
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
        Xg, sg, _ = passive.signed_rows(rows)
        rhs = np.zeros(valid.shape)
        rhs[:, :sg.shape[1]] = -np.einsum("rad,rd->ra", Xg, self.V[rows]) * sg
        z = np.where(valid, passive.solve(rows, rhs), 0.0)
        neg = valid & (z <= 0)
        back = neg.any(axis=1)
        if self.stops and np.any(back):
            # any multipliers mu >= 0 bound the projection's length: it is
            # min_{mu >= 0} ||v + K^T mu|| (module docstring); the clipped
            # least-squares ones often show that a row is short enough
            rb = rows[back]
            Ub = self.V[rb] + _combine(Xg[back], sg[back], np.maximum(z[back], 0.0))
            back[np.flatnonzero(back)[self._settle_short(rb, Ub)]] = False
        back &= ~done[rows]
        if np.any(back):
            rb = rows[back]
            _drop(passive, self.mu, started, rb, z[back], neg[back], valid[back])
            done |= passive.failed
        fwd = ~back & ~passive.failed[rows] & ~done[rows]
        if np.any(fwd):
            self._forward(rows[fwd], z[fwd], Xg, sg, np.flatnonzero(fwd))
        return True

    def _settle_short(self, rows, points):
        """Settle the ``rows`` whose ``points`` are within ``stop_below``."""
        floor = self.floor[rows]
        short = np.einsum("rd,rd->r", points, points) <= floor * np.abs(floor)
        self.U[rows[short]] = points[short]
        self.done[rows[short]] = True
        return short

    def _scan(self, rk, U):
        """Most violated constraint of each row's ``U``, its value, and the
        values of the passive constraints (0 on empty slots)."""
        A = self.A[rk]
        j, worst, _, at, _ = scan_rows(self.X, self.signs, self.sign_of[rk], U,
                                       at=np.where(A >= 0, A, 0))
        at[A < 0] = 0.0
        return j, worst, at

    def _forward(self, rk, zk, Xg, sg, sel):
        """Lawson and Hanson's forward step: settle or add a constraint.

        The passive constraints of row ``rk[i]`` are ``Xg[sel[i]]``,
        ``sg[sel[i]]`` (:meth:`_PassiveSets.signed_rows` of the round): the
        rows that go on are tracked by ``sel``, not copied, and gathered
        once for the update.
        """
        self.mu[rk] = zk
        self.started[rk] = True
        Ur = self.V[rk] + _combine(Xg[sel], sg[sel], zk)
        keep = ~self._settle_short(rk, Ur)
        rk, zk, Ur, sel = rk[keep], zk[keep], Ur[keep], sel[keep]
        if not len(rk):
            return
        j, worst, at = self._scan(rk, Ur)
        keep = ~self._drifted(rk, at)
        rk, zk, Ur, sel = rk[keep], zk[keep], Ur[keep], sel[keep]
        j, worst, at = j[keep], worst[keep], at[keep]
        if not len(rk):
            return
        for _ in range(2):
            if not self._refine(rk, zk, Ur, Xg, sg, sel, (j, worst, at)):
                break
        feasible = worst >= -self.tols[rk]
        self.U[rk[feasible]] = Ur[feasible]
        self.done[rk[feasible]] = True
        grow = ~feasible
        rg, jg = rk[grow], j[grow]
        repeat = (self.A[rg] == jg[:, None]).any(1)  # a passive one: H drifted
        redo = repeat & ~self.fresh[rg]  # (as in _drifted: refactored once)
        self.fresh[rg[redo]] = True
        self.passive.refactor(rg[redo])
        stuck = (((self.A[rg] >= 0).sum(axis=1) >= self.passive.slots)
                 | (repeat & ~redo))
        self.passive.failed[rg[stuck]] = True
        ok = ~stuck & ~redo
        take = sel[grow][ok]
        self.passive.append(rg[ok], jg[ok], Xg[take], sg[take])
        self.done |= self.passive.failed

    def _refine(self, rk, zk, Ur, Xg, sg, sel, scanned):
        """One step of iterative refinement, in place, of the rows whose most
        violated constraint is a passive one; False if there is none.

        With an ill-conditioned Gram matrix the solve leaves the passive
        equalities off by more than the slack, even with a fresh inverse
        (such rows used to go to :func:`project`). The residuals ``r = K_A
        u`` (``scanned``, from :meth:`_scan`) give ``z - H r``.
        """
        j, worst, at = scanned
        ri = np.flatnonzero((worst < -self.tols[rk])
                            & (self.A[rk] == j[:, None]).any(axis=1))
        if not len(ri):
            return False
        dz = np.where(self.A[rk[ri]] >= 0, self.passive.solve(rk[ri], at[ri]), 0.0)
        zk[ri] -= dz
        self.mu[rk[ri]] = np.maximum(zk[ri], 0.0)
        Ur[ri] -= _combine(Xg[sel[ri]], sg[sel[ri]], dz)
        j[ri], worst[ri], at[ri] = self._scan(rk[ri], Ur[ri])
        return True

    def _drifted(self, rk, at):
        """Rows whose passive constraints (their values ``at``) no longer hold
        with equality: the updates of their inverses have drifted. Recompute
        them, once per call (a fresh inverse is as good as it gets), and solve
        again."""
        limit = DRIFT * self.tols[rk] / self.rtol
        drift = (np.abs(at).max(axis=1, initial=0.0) > limit) & ~self.fresh[rk]
        if np.any(drift):
            self.fresh[rk[drift]] = True
            self.passive.refactor(rk[drift])
            self.done |= self.passive.failed
        return drift

    def fall_back(self):
        """Project the rows the batched steps did not settle with :func:`project`."""
        for r in np.flatnonzero(~self.done | self.passive.failed):
            K = self.signs[self.sign_of[r], :, None] * self.X
            self.U[r], active = project(self.V[r], K, None, self.rtol, steps=0)
            self.A[r] = -1
            self.A[r, :min(len(active), self.d)] = active[:self.d]
            self.passive.H[r] = np.nan


def _combine(Xg, sg, w):
    """``K_A^T w`` of each row: its passive constraints (``Xg``, ``sg`` from
    :meth:`_PassiveSets.signed_rows`) weighted by ``w`` (padded to ``d``)."""
    return np.einsum("rad,ra->rd", Xg, w[:, :sg.shape[1]] * sg)


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
    factors : ndarray of shape (k, B, s, s) or None
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
