"""Passive sets of the batched cone projections and their inverse Gram matrices.

:func:`~skconvexnn.program.cones.project_many` runs Lawson and Hanson's
active-set method on many rows at once; each row keeps its passive
constraints and the inverse of their Gram matrix here, updated as
constraints enter and leave.
"""

from contextlib import suppress

import numpy as np

#: Squared pivot, relative to its row's squared norm, of a singular passive set.
PIVOT_RTOL = 1e-12


def factor_slots(X):
    """The size ``s = min(n, d)`` of the inverse Gram matrices of passive sets
    of constraints on the rows of ``X`` (n, d): at most ``d`` independent
    constraints, and at most ``n`` rows. On wide data (150 x 400) the
    projections copied ``d x d`` inverses per block, most of a fit's time."""
    return min(X.shape)


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
    ``H = (K_A K_A^T)^{-1}`` of their Gram matrix, ``s x s`` (:func:`factor_slots`,
    the identity on empty slots).

    A solve on a passive set is one matrix product with ``H``. A constraint
    enters by bordering ``H`` (the Schur complement of the new row) and
    leaves by the matching rank-one correction, each ``d^2`` work per row
    with no loop over the slots. Updates accumulate rounding, so
    :func:`project_many` checks the equalities of every passive set it
    accepts and refactors a row whose check fails (:meth:`refactor`).
    ``signs`` holds rows ``2 D - 1`` of patterns, shape (p, n); row ``r`` of
    ``A`` takes the pattern ``signs[sign_of[r]]`` (default: ``signs[r]``).
    """

    def __init__(self, X, signs, A, factors=None, sign_of=None):
        self.X, self.signs, self.A = X, signs, A
        m, d = A.shape
        #: Most constraints a passive set holds: they are distinct rows of
        #: ``X``, linearly independent (see :func:`factor_slots`).
        self.slots = s = factor_slots(X)
        self.sign_of = np.arange(m) if sign_of is None else sign_of
        self.failed = np.zeros(m, dtype=bool)
        if factors is None:
            self.H = np.broadcast_to(np.eye(s), (m, s, s)).copy()
            stale = (A >= 0).any(axis=1)
        else:
            self.H = np.array(factors, dtype=float).reshape(m, s, s)
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
        return self.X[idx], self.signs[self.sign_of[rows][:, None], idx] * valid, valid

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
        outer = h[:, :, None] * h[:, None, :]  # (in place: one temporary)
        outer /= h[at, slot][:, None, None]
        H -= outer
        # without row and column ``slot`` (boolean masks: cheaper than
        # gathering by the shifted indices), then an empty last slot
        other = np.arange(t)[None, :] != slot[:, None]
        H = H[other].reshape(len(rows), t - 1, t).transpose(0, 2, 1)
        H = H[other].reshape(len(rows), t - 1, t - 1).transpose(0, 2, 1)
        out = np.zeros((len(rows), t, t))
        out[:, :t - 1, :t - 1] = H
        out[:, -1, -1] = 1.0
        self.H[rows, :t, :t] = out

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
        sj = self.signs[self.sign_of[rows], j]
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
        outer = Hc[:, :, None] * Hc[:, None, :]  # (in place: one temporary)
        outer /= pivot[:, None, None]
        H += outer
        H[at, size, :] = -Hc / pivot[:, None]
        H[at, :, size] = -Hc / pivot[:, None]
        H[at, size, size] = 1.0 / pivot
        self.H[rows, :t, :t] = H
        self.A[rows, size] = j
        self.refactor(rows[bad])  # rounding in H, or a dependent constraint
