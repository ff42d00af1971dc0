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


def project_many(X, signs, V, guesses, rtol=1e-10, rounds=None, stop_below=None):
    """Project each row ``v_r`` of ``V`` onto ``{u : (s_r * X) u >= 0}``.

    Lawson and Hanson's active-set method for the nonnegative least-squares
    problem ``min_{mu >= 0} ||v + K^T mu||`` (see the module docstring), run
    on all rows at once. Each row keeps a passive set of at most ``d``
    constraints, padded to ``d`` slots, with multipliers ``mu`` that solve
    the least-squares problem on it and are positive. Every round does one
    batched ``d x d`` solve and one product with ``X``; per row it either
    adds the most violated constraint (when the least-squares solution is
    positive) or moves towards that solution until a multiplier vanishes
    and drops it. Unlike plain greedy exchanges this cannot cycle. A row
    starts from its guess with the constraints of negative multipliers
    dropped. Rows that do not settle in ``rounds`` rounds (default
    ``6 d + 10``), or whose passive set degenerates, go through
    :func:`project`.

    Parameters
    ----------
    X : ndarray of shape (n, d)
    signs : ndarray of shape (n, m)
        ``2 D - 1`` of each row's pattern.
    V : ndarray of shape (m, d)
    guesses : ndarray of int of shape (m, d) or None
        Active sets to start from, one row per vector: distinct constraint
        indices first, padded with ``-1`` (the ``active`` this function
        returns).
    stop_below : float, ndarray of shape (m,) or None
        Rows whose projection is known to be no longer than this stop
        early. After a forward step the point is the projection onto the
        cone of the passive constraints alone, which contains the row's
        cone, so its length bounds the projection's from above (and it
        only decreases as constraints enter). Such a row returns that
        point, not its projection, and its active constraints so far. The
        proximal steps zero these rows anyway, and the dual norms only
        need to know that they are small.

    Returns
    -------
    U : ndarray of shape (m, d)
    active : ndarray of int of shape (m, d)
        The active constraints of each projection, padded with ``-1``.
    """
    n, d = X.shape
    m = V.shape[0]
    U = V.copy()
    if guesses is None:
        A = np.full((m, d), -1, dtype=np.intp)
    else:
        A = np.array(guesses, dtype=np.intp).reshape(m, d)
    # feasibility slack per row, relative to K v (as in project): relative
    # to K u it would be lost when the projection is (nearly) zero
    tols = rtol * (np.abs(X @ V.T).max(axis=0, initial=0.0) + 1e-300)
    mu = np.zeros((m, d))
    # rows whose multipliers solve the least squares on their passive set
    started = np.zeros(m, dtype=bool)
    done = np.zeros(m, dtype=bool)
    failed = np.zeros(m, dtype=bool)
    slots = np.arange(d)
    floor = (np.full(m, -1.0) if stop_below is None
             else np.broadcast_to(np.asarray(stop_below, dtype=float), (m,)))
    for _ in range(6 * d + 10 if rounds is None else rounds):
        rows = np.flatnonzero(~done)
        if not len(rows):
            break
        Ar = A[rows]
        valid = Ar >= 0
        idx = np.where(valid, Ar, 0)
        KA = X[idx] * (signs[idx, rows[:, None]] * valid)[..., None]  # (r, d, d)
        gram = np.einsum("rad,rbd->rab", KA, KA)
        gram[:, slots, slots] += ~valid
        rhs = -np.einsum("rad,rd->ra", KA, V[rows])
        try:
            z = np.linalg.solve(gram, rhs[..., None])[..., 0]
        except np.linalg.LinAlgError:
            failed[rows] = done[rows] = True
            break
        z = np.where(valid, z, 0.0)
        neg = valid & (z <= 0)
        back = neg.any(axis=1)
        if np.any(back):
            # Move from mu towards z until a multiplier reaches zero (a row
            # not yet started just drops its negative multipliers), then
            # drop the vanished constraints and keep the slots compact.
            rb = rows[back]
            m_old, z_b, neg_b, valid_b = mu[rb], z[back], neg[back], valid[back]
            gap = np.where(neg_b, m_old - z_b, 1.0)
            ratio = np.where(neg_b, m_old / np.where(gap > 0, gap, 1.0), np.inf)
            alpha = np.where(started[rb], ratio.min(axis=1), 0.0)
            m_new = m_old + alpha[:, None] * (z_b - m_old)
            tiny = 1e-14 * np.abs(m_old).max(axis=1, initial=0.0)[:, None]
            keep = valid_b & ~(neg_b & (~started[rb][:, None] | (m_new <= tiny)))
            # in a started row, the slot that set alpha always goes
            st = np.flatnonzero(started[rb])
            keep[st, np.argmin(ratio[st], axis=1)] = False
            order = np.argsort(~keep, axis=1, kind="stable")
            A[rb] = np.where(np.take_along_axis(keep, order, 1),
                             np.take_along_axis(A[rb], order, 1), -1)
            mu[rb] = np.where(np.take_along_axis(keep, order, 1),
                              np.take_along_axis(m_new, order, 1), 0.0)
        fwd = ~back
        if not np.any(fwd):
            continue
        rk = rows[fwd]
        mu[rk] = z[fwd]
        started[rk] = True
        Ur = V[rk] + np.einsum("rad,ra->rd", KA[fwd], z[fwd])
        # (a negative floor, the default, stops no row)
        small = np.einsum("rd,rd->r", Ur, Ur) <= floor[rk] * np.abs(floor[rk])
        if np.any(small):
            U[rk[small]] = Ur[small]
            done[rk[small]] = True
            rk, Ur = rk[~small], Ur[~small]
            if not len(rk):
                continue
        KU = signs[:, rk] * (X @ Ur.T)  # (n, r)
        j = np.argmin(KU, axis=0)
        cols = np.arange(len(rk))
        feasible = KU[j, cols] >= -tols[rk]
        U[rk[feasible]] = Ur[feasible]
        done[rk[feasible]] = True
        grow, jg = rk[~feasible], j[~feasible]
        size = (A[grow] >= 0).sum(axis=1)
        stuck = (size >= d) | np.any(A[grow] == jg[:, None], axis=1)
        A[grow[~stuck], size[~stuck]] = jg[~stuck]
        failed[grow[stuck]] = done[grow[stuck]] = True
    for r in np.flatnonzero(~done | failed):
        K = signs[:, r, None] * X
        # the batched steps did not settle this row: straight to NNLS
        U[r], active = project(V[r], K, None, rtol, steps=0)
        A[r] = -1
        A[r, :min(len(active), d)] = active[:d]
    return U, A


def cone_norms(X, signs, G, floor=0.0, guesses=None, chunk=32):
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
        U, _ = project_many(X, signs[:, bs], G[ts, bs],
                            None if guesses is None else guesses[ts, bs],
                            stop_below=max(floor, best))
        norms[ts, bs] = np.sqrt(np.sum(U * U, axis=1))
        best = max(best, float(norms[ts, bs].max()))
    return norms
