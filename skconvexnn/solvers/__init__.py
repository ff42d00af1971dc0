"""Solvers of the convex programs, behind one interface.

:func:`get_solver` turns the estimators' ``solver`` parameter into a solver
instance: ``"auto"``, a native solver's name (registered in
:data:`NATIVE_SOLVERS`), or any installed cvxpy solver.
"""

import warnings

from .base import BaseSolver, SolverResult
from .cvxpy_backend import CVXPY_SOLVERS, CvxpySolver, SolverFailedError

__all__ = [
    "BaseSolver",
    "SolverResult",
    "ADMMSolver",
    "AndersonSolver",
    "FISTASolver",
    "CvxpySolver",
    "SolverFailedError",
    "NATIVE_SOLVERS",
    "get_solver",
    "solve_with_fallback",
]

#: cvxpy solver tried when the default one fails (DESIGN.md section 3).
FALLBACK_SOLVER = "scs"

from .admm import ADMMSolver
from .anderson import AndersonSolver
from .fista import FISTASolver

#: ``"auto"`` uses a native (first-order) solver down to this tolerance; below
#: it, interior-point iterations are cheaper than the first-order tail.
NATIVE_MIN_TOL = 1e-7

#: Native solvers: name -> class (subclasses of BaseSolver).
NATIVE_SOLVERS = {
    ADMMSolver.name: ADMMSolver,
    AndersonSolver.name: AndersonSolver,
    FISTASolver.name: FISTASolver,
}


def get_solver(name, program, tol=1e-6, max_iter=10_000, verbose=0):
    """Solver instance for a name, checked against ``program``.

    ``"auto"``, when ``tol >= NATIVE_MIN_TOL``: the first native solver
    that handles the program (ADMM, then Anderson-accelerated proximal
    gradient when ADMM's ``n x n`` factorization is too large; FISTA only
    by name), except for the ReLU program with a loss
    that is not quadratic (logistic, hinge), which goes to Clarabel through
    cvxpy unless its model would not fit in memory. Otherwise Clarabel.
    Measured (CPU seconds, 20 gates, tol 1e-6): ReLU program with the
    squared loss on breast_cancer, ADMM 1.9 s, Clarabel 12.7 s; with the
    logistic loss on iris, ADMM 7.2 s, Clarabel 0.2 s (ADMM's loss step is
    a Newton solve and it needs thousands of iterations); with the hinge
    loss ADMM's tail is slow. Pooled programs (CNNs) work with every native
    solver. Anderson against FISTA, on the synthetic gated program of
    ``benchmarks/large_n.py`` (d = 50, 500 gates, beta = 1e-3, one BLAS
    thread, CPU seconds on a loaded machine): at n = 10,000, tol 1e-4,
    450 iterations and 25.3 s against FISTA's 1,480 and 102.3 s (tol
    1e-6: 840 and 44.6 s against 2,350 and 165.9 s); at n = 50,000,
    tol 1e-4, 260 iterations and 69.8 s (tol 1e-6: 540 and 130.7 s),
    where FISTA gave no result within 600 s of wall time. FISTA's figures are from before the fused
    block products.
    """
    if not isinstance(name, str):
        raise ValueError(f"solver must be a string, got {name!r}.")
    key = name.lower()
    if key == "auto":
        native = tol >= NATIVE_MIN_TOL
        if program.cone_constrained and native and not program.loss.quadratic:
            try:
                CvxpySolver("clarabel", tol=tol).check_program(program)
                native = False
            except MemoryError:
                pass
        for cls in NATIVE_SOLVERS.values() if native else ():
            solver = cls(tol=tol, max_iter=max_iter, verbose=verbose)
            try:
                solver.check_program(program)
            except (ValueError, MemoryError):
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


def solve_with_fallback(solver, program, init=None, requested="auto"):
    """``solver.solve(program)``, retried with SCS when the default solver fails.

    Interior-point solvers can fail on exponential-cone programs (Clarabel
    raises solver errors on some small logistic problems). When the user
    left ``solver="auto"``, a failure is retried once with SCS, with a
    warning; a solver the user chose explicitly is never replaced, and its
    failure is raised. An unsolved model is never returned.

    Returns
    -------
    result : SolverResult
    solver : BaseSolver
        The solver that produced ``result``.
    """
    try:
        return solver.solve(program, init=init), solver
    except SolverFailedError as exc:
        if str(requested).lower() != "auto" or solver.name == FALLBACK_SOLVER:
            raise
        try:
            backup = CvxpySolver(FALLBACK_SOLVER, tol=solver.tol,
                                 max_iter=solver.max_iter, verbose=solver.verbose)
            backup.check_program(program)
        except (ImportError, ValueError):
            raise exc from None
        warnings.warn(
            f"Solver {solver.name!r} failed ({exc}); retrying with "
            f"{FALLBACK_SOLVER!r}.",
            RuntimeWarning,
        )
        return backup.solve(program, init=init), backup
