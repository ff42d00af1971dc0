"""Data-fit terms of the convex programs.

Every loss is the weighted mean ``F(P) = sum_j s_j l(P_j, Y_j)`` of a convex
per-sample loss ``l`` over the rows ``P_j`` of the prediction matrix, with
``s_j = sample_weight_j / sum(sample_weight)`` (DESIGN.md section 1: the data
term is a mean, as in scikit-learn's ``Lasso``). A loss supplies what the
solvers and certificates need: value, gradient, the concave dual function
``-F*(-Lambda)`` used for lower bounds, and a cvxpy expression.

Adding a loss means writing one subclass of :class:`Loss`; no solver changes.
"""

import numpy as np

__all__ = ["Loss", "SquaredLoss", "get_loss", "LOSSES"]


class Loss:
    """Base class of the data-fit terms.

    Attributes
    ----------
    name : str
        Name used in the estimators' ``loss`` parameter.
    cones : frozenset of str
        Cones a conic solver needs for this loss besides the second-order
        cone of the penalty (``"exp"`` for the exponential cone).
    """

    name = None
    cones = frozenset()

    def value(self, P, Y, s):
        """Weighted mean loss; ``P``, ``Y`` of shape (n, k), ``s`` (n,)."""
        raise NotImplementedError

    def gradient(self, P, Y, s):
        """Gradient of :meth:`value` with respect to ``P``, shape (n, k)."""
        raise NotImplementedError

    def dual(self, Lam, Y, s):
        """Dual function ``-F*(-Lam)``; ``-inf`` outside its domain.

        For any ``Lam`` that satisfies the dual constraints of the program,
        this value is a lower bound on the optimum (weak duality).
        """
        raise NotImplementedError

    def cvxpy_expression(self, P, Y, s):
        """The weighted mean loss as a cvxpy expression of the (n, k) ``P``."""
        raise NotImplementedError

    def optimal_intercept(self, P, Y, s):
        """Output intercept ``c`` (k,) minimizing ``value(P + c, Y, s)``."""
        raise NotImplementedError


class SquaredLoss(Loss):
    """Half squared error, ``l(p, y) = ||p - y||^2 / 2``."""

    name = "squared"

    def value(self, P, Y, s):
        return 0.5 * float(s @ np.sum((P - Y) ** 2, axis=1))

    def gradient(self, P, Y, s):
        return s[:, None] * (P - Y)

    def dual(self, Lam, Y, s):
        # Row-wise conjugate: sup_p z.p - s/2 ||p - y||^2 = z.y + ||z||^2/(2s);
        # a sample of zero weight forces its dual variable to zero.
        pos = s > 0
        if np.any(Lam[~pos] != 0):
            return -np.inf
        quad = np.sum(Lam[pos] ** 2, axis=1) / s[pos]
        return float(np.sum(Lam * Y) - 0.5 * quad.sum())

    def cvxpy_expression(self, P, Y, s):
        import cvxpy as cp

        return 0.5 * cp.sum(cp.multiply(s[:, None], cp.square(P - Y)))

    def optimal_intercept(self, P, Y, s):
        return s @ (Y - P)


LOSSES = {"squared": SquaredLoss}


def get_loss(name):
    """Loss instance for a name of :data:`LOSSES`."""
    try:
        return LOSSES[name]()
    except KeyError:
        raise ValueError(
            f"Unknown loss {name!r}; expected one of {sorted(LOSSES)}."
        ) from None
