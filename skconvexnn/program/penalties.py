"""The penalties of the convex program: group norms over the pattern blocks.

The gated ReLU program penalizes ``beta * sum_b ||z_b||``; the ReLU program
adds the indicator of each block's cone ``{u : (2 D_b - I) X u >= 0}``
(user guide, "The convex program").
"""

import numpy as np

from .cones import cone_norms, project_many


def block_norms(Z):
    """Euclidean norm of every block: shape (k, B)."""
    return np.sqrt(np.einsum("kbd,kbd->kb", Z, Z))


def group_soft_threshold(Z, thresh):
    """Prox of ``thresh * sum ||z_tb||``: every block shrunk towards zero."""
    norms = block_norms(Z)
    scale = np.maximum(1.0 - thresh / np.maximum(norms, 1e-300), 0.0)
    return Z * scale[:, :, None]


#: Largest memory, in bytes, of the projections' Cholesky factors that
#: :class:`ConeProx` keeps between calls.
FACTOR_MEMORY = 2**28


class ConeProx:
    """Prox of ``thresh * ||z_b||`` plus the indicator of each block's cone.

    For a convex cone the prox of a norm plus the cone's indicator is the
    projection onto the cone, then block soft-thresholding. The projections
    (:func:`skconvexnn.program.cones.project_many`) start from each block's active
    constraints at its last projection, kept in :attr:`active`; for gated
    ReLU (no cones) this is plain block soft-thresholding.
    """

    def __init__(self, op):
        self.op = op
        #: Active constraints of every block's last projection (ReLU).
        self.active = np.full(op.shape, -1, dtype=np.intp)
        #: Cholesky factors of their Gram matrices (NaN: not computed),
        #: kept when they fit in FACTOR_MEMORY bytes, else None.
        d = op.shape[-1]
        self.factors = (np.full((*op.shape, d), np.nan)
                        if op.cone_signs is not None and self.active.size * d * 8 <= FACTOR_MEMORY
                        else None)
        self._row_norms = np.maximum(np.linalg.norm(op.X, axis=1), 1e-300)

    def project(self, B, thresh, mask=None):
        """Project onto its cone every block of ``B`` above ``thresh``, in place.

        Blocks of norm at most ``thresh`` are left alone: their projection
        is no longer, so the shrinkage that follows zeroes them anyway.
        ``mask`` (boolean, shape (k, B)), if given, is a working set: the
        blocks outside it are set to zero, with no projection.
        """
        op = self.op
        norms = block_norms(B)
        big = norms > thresh
        if mask is not None:
            B[~mask] = 0.0
            big &= mask
        ts, bs = np.nonzero(big)
        if not len(ts):
            return B
        KB = op.cone_signs[:, bs] * (op.X @ B[ts, bs].T)  # (n, m)
        worst = KB.min(axis=0)
        slack = 1e-12 * np.abs(KB).max(axis=0)
        if thresh > 0:
            # The projection onto the half-space of the most violated
            # constraint (relative to its row's length) is no shorter than
            # the projection onto the cone: where it is at most thresh, the
            # shrinkage zeroes the block, no projection needed.
            cut = np.min(np.minimum(KB, 0.0) / self._row_norms[:, None], axis=0)
            zero = norms[ts, bs] ** 2 - cut ** 2 <= thresh ** 2
            B[ts[zero], bs[zero]] = 0.0
            worst[zero] = 0.0
        todo = worst < -slack
        ts, bs = ts[todo], bs[todo]
        if len(ts):
            # blocks the shrinkage will zero stop as soon as that is known
            cached = self.factors is not None
            U, act, L = project_many(op.X, op.cone_signs[:, bs], B[ts, bs],
                                     self.active[ts, bs], stop_below=thresh,
                                     factors=self.factors[ts, bs] if cached else None)
            B[ts, bs] = U
            self.active[ts, bs] = act
            if cached:
                self.factors[ts, bs] = L
        return B

    def __call__(self, B, thresh, mask=None):
        """The prox at ``B``; ``B`` (a temporary in the solvers) is overwritten.

        With ``mask``, the prox of the program restricted to the working
        set of blocks ``mask`` (the others are zero).
        """
        if self.op.cone_signs is not None:
            B = self.project(B, thresh, mask)
        elif mask is not None:
            B[~mask] = 0.0
        return group_soft_threshold(B, thresh)

    def max_dual_norm(self, Lam):
        """Largest dual norm of ``Lam`` over the blocks (exact).

        Cone-constrained norms for ReLU, started from the active sets of
        the blocks' last projections.
        """
        op = self.op
        G = op.adjoint(Lam)
        if op.cone_signs is not None:
            return float(cone_norms(op.X, op.cone_signs, G, guesses=self.active,
                                    factors=self.factors).max())
        return float(block_norms(G).max(initial=0.0))
