"""What every solver of the shared-unit program returns."""

from dataclasses import dataclass

import numpy as np

from ..._nonconvex import weight_decay_objective
from ...losses import SquaredLoss
from ..base import SolverResult

__all__ = ["SharedUnitsResult", "shared_objective"]


@dataclass
class SharedUnitsResult(SolverResult):
    """A :class:`~skconvexnn.solvers.SolverResult` for shared hidden units.

    The shared-unit program has no pattern blocks: ``V`` and ``W`` stay
    None and the solution is a network. ``intercept``, ``n_iter``,
    ``converged``, ``status``, ``objective_curve`` and ``lower_bound`` mean
    what they mean for the other solvers.

    Attributes
    ----------
    U : ndarray of shape (n_units, n_features)
        Hidden weights of the network (the ones column's weight last),
        balanced: ``||U[j]|| = ||A[j]||``, so that the weight decay equals
        the atomic penalty ``beta sum_j ||U[j]|| ||A[j]||``.
    A : ndarray of shape (n_units, n_outputs)
        Output weights.
    objective : float
        The program's value at the network (user guide, "Multiple outputs
        and classification").
    lower_bound : float
        A proven lower bound over every network whose units have patterns
        of ``patterns`` (a dual-feasible point; the certificate).
    estimated_bound : float
        The bound the iteration stopped on: ``lower_bound`` with the exact
        oracle, an estimate with the approximate one.
    exact : bool
        Whether the oracle was exact (then ``lower_bound`` is as tight as
        the iteration's).
    pats : ndarray of shape (n_units,) or None
        Index of a pattern whose cone holds each unit.
    patterns, gates : ndarrays or None
        The final pool (``gates`` is None when the patterns were given
        without gates).
    n_local : int
        Local moves of the pattern search.
    relaxation_value, relaxation_status, factorization_exact
        The copositive relaxation only: the SDP solver's value and status,
        and whether its blocks factored into cone-feasible units.
    """

    V: np.ndarray = None
    W: np.ndarray = None
    intercept: np.ndarray = None
    U: np.ndarray = None
    A: np.ndarray = None
    objective: float = np.nan
    estimated_bound: float = -np.inf
    exact: bool = False
    pats: np.ndarray = None
    patterns: np.ndarray = None
    gates: np.ndarray = None
    n_local: int = 0
    relaxation_value: float = None
    relaxation_status: str = None
    factorization_exact: bool = None

    @property
    def duality_gap(self):
        """``objective - lower_bound`` (at least 0 up to rounding)."""
        return self.objective - self.lower_bound


def shared_objective(X1, Y, beta, U, A, c):
    """Training objective of the shared-unit network (user guide, "Multiple
    outputs and classification", with its scaling of beta): the weight-decay
    objective of the squared loss with equal sample weights."""
    n = X1.shape[0]
    return weight_decay_objective(X1, Y, SquaredLoss(), np.full(n, 1.0 / n), beta, U, A, c)
