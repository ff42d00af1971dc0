"""Which solver a fit uses, and how far it solves: the estimators' settings."""

from dataclasses import dataclass

import numpy as np

from ..program.rowspace import from_row_space, row_space, to_row_space
from ..solvers import ADMMState, get_solver, solve_with_fallback

__all__ = ["SolverOptions"]


@dataclass(frozen=True)
class SolverOptions:
    """The ``solver``, ``tol``, ``max_iter`` and ``verbose`` of a fit.

    Parameters
    ----------
    solver : str, default="auto"
        A name accepted by :func:`~skconvexnn.solvers.get_solver`.
    tol : float, default=1e-6
        Relative duality gap at which a fit is certified.
    max_iter : int, default=10_000
    verbose : int, default=0
    """

    solver: str = "auto"
    tol: float = 1e-6
    max_iter: int = 10_000
    verbose: int = 0

    def named(self, program):
        """The solver ``solver`` names for ``program`` (for fits without a solve)."""
        return get_solver(self.solver, program, tol=self.tol)

    def solve(self, program, init=None):
        """Solve ``program`` (warm started from ``init``); ``(result, solver)``.

        With ``solver="auto"`` a failed cvxpy solve is retried with SCS
        (:func:`~skconvexnn.solvers.solve_with_fallback`).
        """
        # (nonzero blocks that ADMM did not make: see few_neurons)
        warm = (init is not None and not isinstance(init.state, ADMMState)
                and (np.any(init.V) or (init.W is not None and np.any(init.W))))
        solver = get_solver(self.solver, program, tol=self.tol,
                            max_iter=self.max_iter, verbose=self.verbose, warm=warm)
        # wide data: the same program on the row space of its design matrix
        reduced, basis = row_space(program)
        result, solver = solve_with_fallback(solver, reduced, to_row_space(init, basis),
                                             self.solver)
        return from_row_space(result, basis), solver
