"""Solvers of the convex programs, behind one interface.

:func:`get_solver` turns the estimators' ``solver`` parameter into a solver
instance: ``"auto"``, a native solver's name (registered in
:data:`NATIVE_SOLVERS`), or any installed cvxpy solver.
"""

from .base import BaseSolver, SolverResult
from .cvxpy_backend import CVXPY_SOLVERS, CvxpySolver, SolverFailedError

__all__ = [
    "BaseSolver",
    "SolverResult",
    "CvxpySolver",
    "SolverFailedError",
    "NATIVE_SOLVERS",
    "get_solver",
]

#: Native solvers: name -> class (subclasses of BaseSolver).
NATIVE_SOLVERS = {}


def get_solver(name, program, tol=1e-6, max_iter=10_000, verbose=0):
    """Solver instance for a name, checked against ``program``.

    ``"auto"`` takes the first native solver that handles the program, and
    otherwise Clarabel through cvxpy.
    """
    if not isinstance(name, str):
        raise ValueError(f"solver must be a string, got {name!r}.")
    key = name.lower()
    if key == "auto":
        for cls in NATIVE_SOLVERS.values():
            solver = cls(tol=tol, max_iter=max_iter, verbose=verbose)
            try:
                solver.check_program(program)
            except ValueError:
                continue
            return solver
        key = "clarabel"
    if key in NATIVE_SOLVERS:
        solver = NATIVE_SOLVERS[key](tol=tol, max_iter=max_iter, verbose=verbose)
    else:
        solver = CvxpySolver(key, tol=tol, max_iter=max_iter, verbose=verbose)
    solver.check_program(program)
    return solver


def solver_names():
    """Names accepted by ``solver`` on this machine."""
    return ["auto", *NATIVE_SOLVERS, *CVXPY_SOLVERS]
