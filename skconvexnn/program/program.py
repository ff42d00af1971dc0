"""The convex program of a two-layer ReLU network and its dual certificate.

For patterns ``D_1..D_P`` (columns of ``patterns``), design matrix ``X``
(with its column of ones when the hidden layer has biases) and ``k``
independent outputs, the program is (Pilanci and Ergen, ICML 2020;
user guide, "The convex program")

    min  F(sum_i D_i X (v_ti - w_ti) + c_t) + beta * sum_ti (||v_ti|| + ||w_ti||)
    s.t. (2 D_i - I) X v_ti >= 0,  (2 D_i - I) X w_ti >= 0     (ReLU only)

with ``F`` a mean loss of :mod:`skconvexnn.losses` and ``c`` the unpenalized
output intercept. The gated ReLU program keeps only ``v`` and drops the cone
constraints. Blocks are stored as arrays ``V``, ``W`` of shape
``(n_outputs, n_patterns, n_features)``; ``W`` is ``None`` for gated ReLU.

For a convolutional network (user guide, "Convolutional networks") the rows
of ``X`` are the
patches of the samples and the patterns are patterns of the patch rows; an
optional ``pool`` matrix (n_samples x n_rows) sums or averages the rows of
each sample, so that the prediction is ``Pool sum_i D_i X (v_i - w_i) + c``
and the dual point ``Lam`` of the samples acts on the rows as ``Pool^T Lam``.

The dual of the program is ``max_Lam -F*(-Lam)`` subject to
``max {Lam_t^T D_i X u : ||u|| <= 1, u in cone_i} <= beta`` for every block
and ``sum_j Lam_j = 0`` when there is an output intercept. Any prediction
gives such a point (its rescaled negative loss gradient), hence a lower
bound; :func:`skconvexnn.program.dual.lower_bound` computes it.
"""

from dataclasses import dataclass

import numpy as np

from .operator import block_products, signed_sum
from .penalties import ConeGroupNorm, GroupNorm

ACTIVATIONS = ("relu", "gated_relu")


@dataclass
class ConvexProgram:
    """Data of one convex program.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Design matrix, with a column of ones for hidden biases.
    patterns : ndarray of shape (n_samples, n_patterns)
        0/1 diagonals of the ``D_i``.
    Y : ndarray of shape (n_samples, n_outputs)
        Targets (encoded for classification).
    beta : float
        Regularization; the data term is a mean (user guide, "The
        regularization ``beta`` and its scaling").
    loss : Loss
    activation : {"relu", "gated_relu"}
    fit_intercept : bool
        Whether the output layer has an unpenalized intercept.
    sample_weight : ndarray of shape (n_samples,)
        Nonnegative weights summing to one (the ``s_j`` of the mean loss).
    pool : sparse matrix of shape (n_samples, n_rows) or None
        Pooling of the rows of ``X`` (patches) into samples; None when the
        rows are the samples.
    """

    X: np.ndarray
    patterns: np.ndarray
    Y: np.ndarray
    beta: float
    loss: object
    activation: str = "relu"
    fit_intercept: bool = True
    sample_weight: np.ndarray = None
    pool: object = None

    def __post_init__(self):
        if self.sample_weight is None:
            n = self.n_samples
            self.sample_weight = np.full(n, 1.0 / n)

    @property
    def n_samples(self):
        return self.X.shape[0] if self.pool is None else self.pool.shape[0]

    @property
    def n_rows(self):
        """Rows of ``X``: the samples, or their patches when pooled."""
        return self.X.shape[0]

    def pooled(self, M):
        """``Pool M``: row values summed (or averaged) per sample."""
        return M if self.pool is None else self.pool @ M

    def unpooled(self, M):
        """``Pool^T M``: sample values spread over their rows (the adjoint)."""
        return M if self.pool is None else self.pool.T @ M

    @property
    def n_features(self):
        return self.X.shape[1]

    @property
    def n_patterns(self):
        return self.patterns.shape[1]

    @property
    def n_outputs(self):
        return self.Y.shape[1]

    @property
    def cone_constrained(self):
        return self.activation == "relu"

    @property
    def group_norm(self):
        """The penalty of the program, without beta (a class):
        :class:`~.penalties.ConeGroupNorm` for ReLU,
        :class:`~.penalties.GroupNorm` for gated ReLU.

        ``program.group_norm(op)`` is the penalty over the blocks of ``op``,
        a :class:`~skconvexnn.program.BlockOperator` of this program.
        """
        return ConeGroupNorm if self.cone_constrained else GroupNorm

    @property
    def n_blocks(self):
        """Blocks of the native solvers: the ``v_i``, and the ``w_i`` for ReLU."""
        return self.n_patterns * self.group_norm.blocks_per_pattern

    def zeros(self):
        """All-zero blocks ``(V, W)`` of the right shapes."""
        shape = (self.n_outputs, self.n_patterns, self.n_features)
        return np.zeros(shape), (np.zeros(shape) if self.cone_constrained else None)

    def combined(self, V, W):
        """``V - W`` (or ``V`` for gated ReLU): the linear model per pattern."""
        return V if W is None else V - W

    def predict(self, V, W, intercept=None):
        """Predictions ``sum_i D_i X z_ti + c_t``, shape (n_samples, n_outputs)."""
        # one block per pattern, V - W (the sum is linear in the blocks)
        XZ = block_products(self.X, self.combined(V, W))
        out = self.pooled(signed_sum(XZ, self.patterns))
        if intercept is not None:
            out += intercept
        return out

    def penalty(self, V, W):
        """``beta * sum of the block norms``."""
        total = np.linalg.norm(V, axis=2).sum()
        if W is not None:
            total += np.linalg.norm(W, axis=2).sum()
        return self.beta * total

    def dual_point(self, prediction):
        """Dual point ``Lam`` (n_samples, n_outputs) at ``prediction``.

        The output intercept is refitted to ``prediction`` (a prediction
        without intercept) when there is one, then the loss gives its
        :meth:`~skconvexnn.losses.Loss.dual_point` there, unscaled:
        :func:`~skconvexnn.program.dual.lower_bound` scales it into the dual
        constraints.
        """
        loss, Y, s = self.loss, self.Y, self.sample_weight
        P = prediction
        if self.fit_intercept:
            P = P + loss.optimal_intercept(P, Y, s)
        return loss.dual_point(P, Y, s, self.fit_intercept)

    def objective(self, V, W, intercept=None):
        """Value of the convex program at ``(V, W, intercept)``."""
        P = self.predict(V, W, intercept)
        return self.loss.value(P, self.Y, self.sample_weight) + self.penalty(V, W)

    def max_cone_violation(self, V, W):
        """Largest violation of the cone constraints, relative to ``||X v||``."""
        if W is None:
            return 0.0
        S = 2.0 * self.patterns - 1.0
        worst = 0.0
        for B in (V, W):
            XB = block_products(self.X, B)
            scale = np.abs(XB).max() if XB.size else 0.0
            if scale > 0:
                worst = max(worst, float(np.max(-S[:, None, :] * XB)) / scale)
        return max(worst, 0.0)
