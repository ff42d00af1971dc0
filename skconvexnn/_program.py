"""The convex program of a two-layer ReLU network and its dual certificate.

For patterns ``D_1..D_P`` (columns of ``patterns``), design matrix ``X``
(with its column of ones when the hidden layer has biases) and ``k``
independent outputs, the program is (DESIGN.md section 2)

    min  F(sum_i D_i X (v_ti - w_ti) + c_t) + beta * sum_ti (||v_ti|| + ||w_ti||)
    s.t. (2 D_i - I) X v_ti >= 0,  (2 D_i - I) X w_ti >= 0     (ReLU only)

with ``F`` a mean loss of :mod:`skconvexnn.losses` and ``c`` the unpenalized
output intercept. The gated ReLU program keeps only ``v`` and drops the cone
constraints. Blocks are stored as arrays ``V``, ``W`` of shape
``(n_outputs, n_patterns, n_features)``; ``W`` is ``None`` for gated ReLU.

The dual of the program is ``max_Lam -F*(-Lam)`` subject to
``max {Lam_t^T D_i X u : ||u|| <= 1, u in cone_i} <= beta`` for every block
and ``sum_j Lam_j = 0`` when there is an output intercept. Any prediction
gives such a point (its rescaled negative loss gradient), hence a lower
bound; :func:`lower_bound` computes it.
"""

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize_scalar, nnls

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
        Regularization, scaled as in DESIGN.md section 1.
    loss : Loss
    activation : {"relu", "gated_relu"}
    fit_intercept : bool
        Whether the output layer has an unpenalized intercept.
    sample_weight : ndarray of shape (n_samples,)
        Nonnegative weights summing to one (the ``s_j`` of the mean loss).
    """

    X: np.ndarray
    patterns: np.ndarray
    Y: np.ndarray
    beta: float
    loss: object
    activation: str = "relu"
    fit_intercept: bool = True
    sample_weight: np.ndarray = None

    def __post_init__(self):
        if self.sample_weight is None:
            n = self.X.shape[0]
            self.sample_weight = np.full(n, 1.0 / n)

    @property
    def n_samples(self):
        return self.X.shape[0]

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

    def zeros(self):
        """All-zero blocks ``(V, W)`` of the right shapes."""
        shape = (self.n_outputs, self.n_patterns, self.n_features)
        return np.zeros(shape), (np.zeros(shape) if self.cone_constrained else None)

    def combined(self, V, W):
        """``V - W`` (or ``V`` for gated ReLU): the linear model per pattern."""
        return V if W is None else V - W

    def predict(self, V, W, intercept=None):
        """Predictions ``sum_i D_i X z_ti + c_t``, shape (n_samples, n_outputs)."""
        Z = self.combined(V, W)
        k, P, d = Z.shape
        XZ = (self.X @ Z.reshape(k * P, d).T).reshape(self.n_samples, k, P)
        out = np.einsum("nkp,np->nk", XZ, self.patterns)
        if intercept is not None:
            out += intercept
        return out

    def penalty(self, V, W):
        """``beta * sum of the block norms``."""
        total = np.linalg.norm(V, axis=2).sum()
        if W is not None:
            total += np.linalg.norm(W, axis=2).sum()
        return self.beta * total

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
            k, P, d = B.shape
            XB = (self.X @ B.reshape(k * P, d).T).reshape(self.n_samples, k, P)
            scale = np.abs(XB).max() if XB.size else 0.0
            if scale > 0:
                worst = max(worst, float(np.max(-S[:, None, :] * XB)) / scale)
        return max(worst, 0.0)


def _cone_dual_norm(g, K):
    """``max {g.u : ||u|| <= 1, K u >= 0}``, as ``min_{mu >= 0} ||g + K^T mu||``.

    The two are equal by conic duality (the cone has interior when the
    pattern comes from a full-dimensional cell); the minimization is a
    nonnegative least-squares problem solved by scipy's ``nnls``.
    """
    _, value = nnls(K.T, -g, maxiter=50 * K.shape[0])
    return value


def dual_norms(program, Lam, threshold=None):
    """Dual norm of ``Lam`` for every block: the left side of the dual constraint.

    Parameters
    ----------
    program : ConvexProgram
    Lam : ndarray of shape (n_samples, n_outputs)
    threshold : float or None
        For the ReLU program, cone-constrained norms are computed exactly
        only for blocks whose unconstrained norm exceeds this value and the
        largest exact norm found so far; the others are reported by their
        unconstrained norm, an upper bound. The maximum is exact either way.

    Returns
    -------
    norms : ndarray of shape (n_outputs, n_patterns) or (2, n_outputs, n_patterns)
        For the ReLU program, the first axis is (``v`` blocks, ``w`` blocks).
    """
    X, D = program.X, program.patterns
    # G[t, i] = X^T D_i Lam_t
    G = np.einsum("nd,np,nk->kpd", X, D, Lam)
    free = np.linalg.norm(G, axis=2)
    if not program.cone_constrained:
        return free
    norms = np.stack([free, free.copy()])
    floor = program.beta if threshold is None else threshold
    order = np.argsort(free, axis=None)[::-1]
    best = 0.0
    for flat in order:
        t, i = np.unravel_index(flat, free.shape)
        if free[t, i] <= max(floor, best):
            break
        K = (2.0 * D[:, i] - 1.0)[:, None] * X
        for side, sign in enumerate((1.0, -1.0)):
            norms[side, t, i] = _cone_dual_norm(sign * G[t, i], K)
        best = max(best, norms[:, t, i].max())
    return norms


def lower_bound(program, prediction):
    """Lower bound on the program's optimum from a prediction (weak duality).

    The dual point is the negative loss gradient at ``prediction``, after
    the output intercept is refitted (see
    :meth:`~skconvexnn.losses.Loss.dual_point`). It is scaled by the largest
    ``alpha <= 1`` that keeps it dual feasible, then by the best ``alpha``
    below that.

    Parameters
    ----------
    program : ConvexProgram
    prediction : ndarray of shape (n_samples, n_outputs)

    Returns
    -------
    bound : float
    """
    Y, s, loss = program.Y, program.sample_weight, program.loss
    P = prediction
    if program.fit_intercept:
        P = P + loss.optimal_intercept(P, Y, s)
    # With an intercept, sum_j Lam_j = 0 (its dual constraint) holds exactly.
    Lam = loss.dual_point(P, Y, s, program.fit_intercept)
    biggest = float(np.max(dual_norms(program, Lam), initial=0.0))
    alpha_max = 1.0 if biggest <= program.beta else program.beta / biggest
    best = max(loss.dual(0.0 * Lam, Y, s), loss.dual(alpha_max * Lam, Y, s))
    res = minimize_scalar(
        lambda a: -loss.dual(a * Lam, Y, s),
        bounds=(0.0, alpha_max),
        method="bounded",
        options={"xatol": 1e-10 * max(alpha_max, 1e-300)},
    )
    if np.isfinite(res.fun):
        best = max(best, -res.fun)
    return float(best)
