"""The penalties of the convex program: group norms over the pattern blocks.

The gated ReLU program penalizes ``beta * sum_b ||z_b||`` (:class:`GroupNorm`);
the ReLU program adds the indicator of each block's cone ``{u : (2 D_b -
I) X u >= 0}`` (:class:`ConeGroupNorm`; Pilanci and Ergen, ICML 2020; user
guide, "The convex program"). Each gives its value, its prox and its dual
norm, so that a solver written for one serves both.
"""

import numpy as np

from ._passive import factor_slots
from .cones import cone_norms, project_many, scan_rows


def block_norms(Z):
    """Euclidean norm of every block: shape (k, B)."""
    return np.sqrt(np.einsum("kbd,kbd->kb", Z, Z))


def group_soft_threshold(Z, thresh):
    """Prox of ``thresh * sum ||z_tb||``: every block shrunk towards zero."""
    norms = block_norms(Z)
    scale = np.maximum(1.0 - thresh / np.maximum(norms, 1e-300), 0.0)
    return Z * scale[:, :, None]


class GroupNorm:
    """``sum_b ||z_b||`` over the blocks of a :class:`~.operator.BlockOperator`.

    The penalty of the gated ReLU program (times beta): no constraint, the
    prox is block soft-thresholding and the dual norm of ``Lam`` is
    ``max_b ||X^T D_b Lam_t||``.
    """

    #: Whether the blocks are constrained to cones.
    cones = False
    #: Blocks per pattern: the ``v_i``.
    blocks_per_pattern = 1

    def __init__(self, op):
        self.op = op

    @staticmethod
    def pattern_dual_norms(X, patterns, G, floor=0.0, chunk=32):
        """Dual norms of the gradients ``G[t, i] = X^T D_i Lam_t`` of the
        patterns, shape (n_outputs, n_patterns): their lengths.

        ``floor`` and ``chunk`` are for
        :meth:`ConeGroupNorm.pattern_dual_norms`.
        """
        return np.linalg.norm(G, axis=2)

    @staticmethod
    def value(Z):
        """``sum_b ||z_b||`` (the constraints of :class:`ConeGroupNorm` aside)."""
        return float(block_norms(Z).sum())

    def project(self, B, thresh, mask=None):
        """``B`` with the blocks outside the working set ``mask`` set to zero.

        No constraint to project onto; see :meth:`ConeGroupNorm.project`.
        """
        if mask is not None:
            B[~mask] = 0.0
        return B

    def prox(self, B, thresh, mask=None):
        """Prox of ``thresh`` times the penalty at ``B`` (a temporary: it may
        be overwritten).

        With ``mask``, the prox of the program restricted to the working
        set of blocks ``mask`` (the others are zero).
        """
        return group_soft_threshold(self.project(B, thresh, mask), thresh)

    __call__ = prox

    def max_dual_norm(self, Lam):
        """Largest dual norm of ``Lam`` over the blocks (exact)."""
        return float(block_norms(self.op.adjoint(Lam)).max(initial=0.0))

    def screen(self, Z):
        """A cheap lower estimate of :meth:`max_dual_norm`, or None when the
        exact value costs no more (see :class:`~.dual.Certificate`)."""
        return None


#: Largest memory, in bytes, of the projections' inverse Gram matrices that
#: :class:`ConeGroupNorm` keeps between calls.
FACTOR_MEMORY = 2**28


class ConeGroupNorm(GroupNorm):
    """``sum_b ||z_b||`` plus the indicator of each block's cone.

    The penalty of the ReLU program (times beta). For a convex cone the prox
    of a norm plus the cone's indicator is the projection onto the cone,
    then block soft-thresholding. The projections
    (:func:`skconvexnn.program.cones.project_many`) start from each block's
    active constraints at its last projection, kept in :attr:`active`. The
    dual norm of a block is the length of the projection of its gradient
    onto the cone (:func:`~skconvexnn.program.cones.cone_norms`).
    """

    cones = True
    #: Blocks per pattern: the ``v_i`` and the ``w_i``.
    blocks_per_pattern = 2

    def __init__(self, op):
        super().__init__(op)
        #: Active constraints of every block's last projection.
        self.active = np.full(op.shape, -1, dtype=np.intp)
        #: Inverses of their Gram matrices, ``s x s`` (NaN: not computed;
        #: ``s = min(n, d)``, :func:`~._passive.factor_slots`), kept when
        #: they fit in FACTOR_MEMORY bytes, else None.
        s = factor_slots(op.X)
        self.factors = (np.full((*op.shape[:-1], s, s), np.nan)
                        if self.active.size // op.shape[-1] * s * s * 8 <= FACTOR_MEMORY
                        else None)
        self._inv_row_norms = 1.0 / np.maximum(np.linalg.norm(op.X, axis=1), 1e-300)
        # one row of signs per block: the projections gather rows, as int8
        # (+-1 exactly; an eighth of the memory of each gather: the scan of
        # 200 blocks on 20,000 rows took 5.5 ms instead of 10.2)
        self._sign_rows = np.ascontiguousarray(op.cone_signs.T, dtype=np.int8)

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
        Bv = B[ts, bs]
        _, worst, best, _, cut = scan_rows(
            op.X, self._sign_rows, bs, Bv,
            inv_norms=self._inv_row_norms if thresh > 0 else None)
        scale = np.maximum(best, -worst)
        todo = worst < -1e-12 * scale
        if thresh > 0 and todo.any():
            # The projection onto the half-space of the most violated
            # constraint (relative to its row's length) is no shorter than
            # the projection onto the cone: where it is at most thresh, the
            # shrinkage zeroes the block, no projection needed.
            on = np.flatnonzero(todo)
            low = np.minimum(cut[on], 0.0)
            zero = on[norms[ts[on], bs[on]] ** 2 - low ** 2 <= thresh ** 2]
            B[ts[zero], bs[zero]] = 0.0
            todo[zero] = False
        if todo.any():
            ts, bs, Bv, scale = ts[todo], bs[todo], Bv[todo], scale[todo]
            # blocks the shrinkage will zero stop as soon as that is known
            cached = self.factors is not None
            U, act, L = project_many(op.X, self._sign_rows, Bv, self.active[ts, bs],
                                     stop_below=thresh, scale=scale, transposed=True,
                                     rows=bs,
                                     factors=self.factors[ts, bs] if cached else None)
            B[ts, bs] = U
            self.active[ts, bs] = act
            if cached:
                self.factors[ts, bs] = L
        return B

    @staticmethod
    def pattern_dual_norms(X, patterns, G, floor=0.0, chunk=32):
        """Dual norms of the gradients ``G[t, i] = X^T D_i Lam_t`` of the
        patterns, shape (2, n_outputs, n_patterns): first the ``v`` blocks
        (``+g``), then the ``w`` blocks (``-g``), under the same cone.

        The norms ``max {g.u : ||u|| <= 1, K u >= 0} = ||P_K(g)||``
        (:func:`~skconvexnn.program.cones.cone_norms`, ``chunk`` blocks
        projected together): the largest is exact when it is above
        ``floor`` (see :func:`~skconvexnn.program.dual.dual_norms`).
        """
        signs = 2.0 * patterns - 1.0
        both = cone_norms(X, np.hstack([signs, signs]),
                          np.concatenate([G, -G], axis=1), floor, chunk=chunk)
        P = patterns.shape[1]
        return np.stack([both[:, :P], both[:, P:]])

    def max_dual_norm(self, Lam):
        """Largest dual norm of ``Lam`` over the blocks: exact when above
        the program's beta, else an upper bound at most beta.

        Cone-constrained norms, started from the active sets of the blocks'
        last projections. A lower bound needs no more: it scales ``Lam`` by
        ``min(1, beta / norm)`` (:func:`~.dual.lower_bound`), and the
        projections of blocks known to be below beta stop early (on
        breast_cancer's path of the CV estimator, 0.19 s against 0.99 s).
        """
        op = self.op
        G = op.adjoint(Lam)
        return float(cone_norms(op.X, op.cone_signs, G, floor=op.program.beta,
                                guesses=self.active, factors=self.factors).max())

    def screen(self, Z):
        """``screen(Lam)``: :func:`screen_estimate` at the blocks ``Z``."""
        return lambda Lam: screen_estimate(self.op, Z, Lam)


def screen_estimate(op, Z, Lam):
    """``max_b g_b . z_b / ||z_b||`` over the nonzero (cone-feasible) blocks.

    A lower estimate of the largest cone-constrained dual norm of ``Lam``,
    exact at the optimum (see :class:`~.dual.Certificate`); ``g_b`` are the
    blocks of ``op.adjoint(Lam)``.
    """
    norms = block_norms(Z)
    live = norms > 0
    if not live.any():
        return 0.0
    G = op.adjoint(Lam)
    return float(np.max(np.einsum("kbd,kbd->kb", G, Z)[live] / norms[live]))
