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


def project_many(X, signs, V, guesses, rtol=1e-10, rounds=None):
    """Project each row ``v_r`` of ``V`` onto ``{u : (s_r * X) u >= 0}``.

    The active-set method of :func:`project` run on all rows at once: the
    active sets (at most ``d`` rows each) are padded to ``d`` slots, every
    round does one batched ``d x d`` solve and one product with ``X``, and
    each unfinished row drops its most negative multiplier or adds its most
    violated constraint. Rows that do not settle in ``rounds`` rounds
    (default ``2 d + 2``) go through :func:`project`.

    Parameters
    ----------
    X : ndarray of shape (n, d)
    signs : ndarray of shape (n, m)
        ``2 D - 1`` of each row's pattern.
    V : ndarray of shape (m, d)
    guesses : list of (ndarray of int or None)
        Active sets to start from.

    Returns
    -------
    U : ndarray of shape (m, d)
    active : list of ndarray of int
    """
    n, d = X.shape
    m = V.shape[0]
    U = V.copy()
    A = np.full((m, d), -1, dtype=np.intp)
    for r, g in enumerate(guesses):
        if g is not None and len(g):
            g = np.asarray(g)[:d]
            A[r, :len(g)] = g
    done = np.zeros(m, dtype=bool)
    settled = list(guesses)
    cols = np.arange(m)
    for _ in range(2 * d + 2 if rounds is None else rounds):
        rows = cols[~done]
        if not len(rows):
            break
        Ar = A[rows]
        valid = Ar >= 0
        idx = np.where(valid, Ar, 0)
        KA = X[idx] * (signs[idx, rows[:, None]] * valid)[..., None]  # (r, d, d)
        gram = np.einsum("rad,rbd->rab", KA, KA)
        gram[:, np.arange(d), np.arange(d)] += ~valid
        rhs = -np.einsum("rad,rd->ra", KA, V[rows])
        try:
            mu = np.linalg.solve(gram, rhs[..., None])[..., 0]
        except np.linalg.LinAlgError:
            break
        mu = np.where(valid, mu, 0.0)
        drop = mu.min(axis=1) < 0
        if np.any(drop):
            r_drop = rows[drop]
            slot = np.argmin(mu[drop], axis=1)
            last = valid[drop].sum(axis=1) - 1
            A[r_drop, slot] = A[r_drop, last]
            A[r_drop, last] = -1
        keep = ~drop
        if not np.any(keep):
            continue
        rk = rows[keep]
        Ur = V[rk] + np.einsum("rad,ra->rd", KA[keep], mu[keep])
        KU = signs[:, rk] * (X @ Ur.T)  # (n, r)
        j = np.argmin(KU, axis=0)
        scale = rtol * (np.abs(KU).max(axis=0) + 1e-300)
        feasible = KU[j, np.arange(len(rk))] >= -scale
        U[rk[feasible]] = Ur[feasible]
        done[rk[feasible]] = True
        for r in rk[feasible]:
            settled[r] = A[r][A[r] >= 0].copy()
        grow = rk[~feasible]
        size = (A[grow] >= 0).sum(axis=1)
        full = (size >= d) | np.any(A[grow] == j[~feasible][:, None], axis=1)
        A[grow[~full], size[~full]] = j[~feasible][~full]
        done[grow[full]] = True  # handled below, one by one
        for r in grow[full]:
            settled[r] = None
            U[r] = np.nan
    for r in np.flatnonzero(~done | np.isnan(U[:, 0])):
        K = signs[:, r, None] * X
        # the greedy steps already failed for this row: straight to NNLS
        U[r], settled[r] = project(V[r], K, None, rtol, steps=0)
    return U, settled


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
    guesses : dict or None
        Active sets by ``(t, b)`` to start the projections from.
    chunk : int
        Blocks projected together.

    Returns
    -------
    norms : ndarray of shape (k, B)
        Exact for the blocks projected (by decreasing free norm, until no
        free norm left can beat the largest exact norm found), the free norm
        (an upper bound) elsewhere; so ``norms.max()`` is exact.
    """
    norms = np.sqrt(np.einsum("kbd,kbd->kb", G, G))
    order = np.argsort(norms, axis=None)[::-1]
    flat = norms.ravel().copy()
    guesses = {} if guesses is None else guesses
    best = 0.0
    for start in range(0, len(order), chunk):
        part = order[start:start + chunk]
        part = part[flat[part] > max(floor, best)]
        if not len(part):
            break
        ts, bs = np.unravel_index(part, norms.shape)
        U, _ = project_many(X, signs[:, bs], G[ts, bs],
                            [guesses.get((t, b)) for t, b in zip(ts, bs)])
        norms[ts, bs] = np.sqrt(np.sum(U * U, axis=1))
        best = max(best, float(norms[ts, bs].max()))
    return norms
