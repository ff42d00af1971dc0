"""cvxpy backends: the convex program handed to any installed conic solver.

The program is built with a few vectorized expressions per output (one
``(n_samples, n_patterns)`` product ``X V`` and elementwise sign
constraints) rather than a Python loop of per-pattern constraints, so that
cvxpy compiles it quickly. ``beta`` is a ``cvxpy.Parameter``.
"""

import functools
import os
import warnings

import numpy as np

from .base import BaseSolver, SolverResult

__all__ = ["CvxpySolver", "CVXPY_SOLVERS", "estimate_cvxpy_bytes"]

#: Solvers usable through cvxpy: name -> (cvxpy name, pip package, cones).
CVXPY_SOLVERS = {
    "clarabel": ("CLARABEL", "clarabel", {"soc", "exp", "psd"}),
    "ecos": ("ECOS", "ecos", {"soc", "exp"}),
    "scs": ("SCS", "scs", {"soc", "exp", "psd"}),
    "mosek": ("MOSEK", "Mosek", {"soc", "exp", "psd"}),
    "cvxopt": ("CVXOPT", "cvxopt", {"soc", "psd"}),
    "gurobi": ("GUROBI", "gurobipy", {"soc"}),
    "copt": ("COPT", "coptpy", {"soc", "psd"}),
    "xpress": ("XPRESS", "xpress", {"soc"}),
    "qoco": ("QOCO", "qoco", {"soc"}),
    "sdpa": ("SDPA", "sdpa-python", {"soc", "psd"}),
}

# Measured bytes of peak memory per nonzero of the compiled problem (cvxpy's
# canonicalization keeps several copies of the constraint matrix).
_BYTES_PER_NONZERO = 250


def estimate_cvxpy_bytes(n_samples, n_features, n_patterns, n_outputs, relu=True):
    """Rough peak memory (bytes) that cvxpy needs to compile the program."""
    per_block = n_samples * n_features * n_patterns * n_outputs
    nnz = per_block * (4 if relu else 1)  # V and W, each in the fit and a cone
    return nnz * _BYTES_PER_NONZERO


def available_memory_bytes():
    """Physical memory of the machine (an upper limit for one problem)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # pragma: no cover
        return 8 * 2**30


def solver_options(name, tol, max_iter):
    """Map ``tol`` and ``max_iter`` to the solver's own keywords.

    Conic solvers measure their gap on the conic reformulation, whose
    variables include the block norms; they are asked for ``tol / 100`` so
    that blocks that are zero at the optimum come out near zero and the
    recovered network's own gap stays within ``tol``.
    """
    eps = tol * 1e-2
    if name == "clarabel":
        return {"max_iter": max_iter, "tol_gap_abs": eps, "tol_gap_rel": eps,
                "tol_feas": eps}
    if name == "ecos":
        return {"max_iters": max_iter, "abstol": eps, "reltol": eps,
                "feastol": eps}
    if name == "scs":
        return {"max_iters": max_iter, "eps_abs": eps, "eps_rel": eps}
    return {}


class CvxpySolver(BaseSolver):
    """Solve the convex program with a conic solver through cvxpy.

    Parameters
    ----------
    name : str
        Lower-case solver name (``"clarabel"``, ``"ecos"``, ``"scs"``,
        ``"mosek"``, ...). It must be installed.
    tol : float
        Passed to the solver as its gap and feasibility tolerances where the
        solver has them (Clarabel, ECOS, SCS).
    max_iter : int
        Passed as the solver's iteration limit.
    verbose : int
        ``verbose > 1`` shows the solver's own log.
    memory_limit : int or None
        Refuse to build a problem whose estimated size exceeds this many
        bytes (default: half the machine's memory).
    """

    def __init__(self, name="clarabel", tol=1e-6, max_iter=10_000, verbose=0,
                 memory_limit=None):
        super().__init__(tol=tol, max_iter=max_iter, verbose=verbose)
        self.name = name
        self.memory_limit = memory_limit
        self.cvxpy_name, self.package, cones = CVXPY_SOLVERS.get(
            name, (name.upper(), name, {"soc"})
        )
        self.cones = frozenset(cones) - {"soc"}
        check_installed(name)

    def check_program(self, program):
        super().check_program(program)
        limit = self.memory_limit
        if limit is None:
            limit = available_memory_bytes() // 2
        need = estimate_cvxpy_bytes(
            program.n_rows, program.n_features, program.n_patterns,
            program.n_outputs, program.cone_constrained,
        )
        if need > limit:
            raise MemoryError(
                f"The cvxpy model of this problem ({program.n_samples} samples, "
                f"{program.n_features} features, {program.n_patterns} patterns, "
                f"{program.n_outputs} outputs) needs about {need / 2**30:.1f} GiB, "
                f"more than the {limit / 2**30:.1f} GiB allowed. Reduce "
                "n_arrangements, subsample the data, or use solver='admm' (up to "
                "5,000 samples) or activation='gated_relu' (solver='anderson', "
                "memory linear in the number of samples)."
            )

    def _build(self, program):
        import cvxpy as cp

        X, D = program.X, program.patterns
        k, P, d = program.n_outputs, program.n_patterns, program.n_features
        beta = cp.Parameter(nonneg=True, value=program.beta)
        S = 2.0 * D - 1.0
        V = [cp.Variable((d, P)) for _ in range(k)]
        W = [cp.Variable((d, P)) for _ in range(k)] if program.cone_constrained else []
        c = cp.Variable(k) if program.fit_intercept else np.zeros(k)
        cols, constraints, norms = [], [], []
        for t in range(k):
            XV = X @ V[t]
            fit = XV
            if W:
                XW = X @ W[t]
                fit = XV - XW
                constraints += [cp.multiply(S, XV) >= 0, cp.multiply(S, XW) >= 0]
                norms.append(cp.sum(cp.norm(W[t], 2, axis=0)))
            norms.append(cp.sum(cp.norm(V[t], 2, axis=0)))
            if self.name == "ecos" or not W:
                cols.append(cp.sum(cp.multiply(D, fit), axis=1))
            else:
                # An auxiliary variable for D * (X V - X W) keeps the rows of
                # the fit sparse; Clarabel's factorization is then ~2.5x
                # faster on the diabetes data (ECOS is faster without it).
                R = cp.Variable((X.shape[0], P))
                constraints.append(R == cp.multiply(D, fit))
                cols.append(cp.sum(R, axis=1))
        fitted = cp.vstack(cols).T
        if program.pool is not None:  # patches pooled per sample (a CNN)
            fitted = program.pool @ fitted
        pred = fitted + (cp.reshape(c, (1, k), order="C")
                         if program.fit_intercept else 0)
        data = program.loss.cvxpy_expression(pred, program.Y, program.sample_weight)
        problem = cp.Problem(cp.Minimize(data + beta * cp.sum(cp.hstack(norms))),
                             constraints)
        return problem, V, W, c

    def _solve(self, program, init):
        import cvxpy as cp

        problem, V, W, c = self._build(program)
        try:
            # cvxpy's "inaccurate" UserWarning is replaced by the estimator's
            # ConvergenceWarning, which is decided by the duality gap.
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", "Solution may be inaccurate")
                problem.solve(
                    solver=self.cvxpy_name,
                    verbose=self.verbose > 1,
                    **solver_options(self.name, self.tol, self.max_iter),
                )
        except cp.error.SolverError as exc:
            raise SolverFailedError(
                f"Solver {self.name!r} failed on this problem ({exc}). "
                f"{_advice(self.name, program)}, or a larger max_iter (now "
                f"max_iter={self.max_iter})."
            ) from exc
        except BaseException as exc:
            # Clarabel's Rust panics reach Python as pyo3's PanicException,
            # a BaseException that `except Exception` misses.
            if not is_panic(exc):
                raise
            raise SolverFailedError(
                f"Solver {self.name!r} crashed on this problem ({exc!r}). "
                "Rescale the data (StandardScaler) or choose a beta below "
                "beta_max; " + _advice(self.name, program)[0].lower()
                + _advice(self.name, program)[1:] + "."
            ) from exc
        status = problem.status
        if status == "user_limit" and V[0].value is None:
            raise SolverFailedError(
                f"Solver {self.name!r} reached max_iter={self.max_iter} before "
                "it had a solution; increase max_iter."
            )
        # An iteration limit with an iterate is a stopped-early solve: the
        # estimator evaluates that network honestly and warns.
        usable = (cp.OPTIMAL, cp.OPTIMAL_INACCURATE, "user_limit")
        if status not in usable or V[0].value is None:
            raise SolverFailedError(
                f"Solver {self.name!r} ended with status {status!r} and no "
                f"solution. {_advice(self.name, program)}, or a larger beta."
            )
        Vs = np.stack([v.value.T for v in V])
        Ws = np.stack([w.value.T for w in W]) if W else None
        intercept = np.asarray(c.value if program.fit_intercept else c, dtype=float)
        stats = problem.solver_stats
        n_iter = int(stats.num_iters) if stats and stats.num_iters else 0
        return SolverResult(
            V=Vs, W=Ws, intercept=intercept.reshape(-1), n_iter=n_iter,
            converged=status == cp.OPTIMAL, status=status,
            objective_curve=[float(problem.value)],
        )


def _advice(name, program):
    """Which solvers to try instead of ``name`` on this program.

    A native solver first (``"auto"`` picks one for every program and loss);
    SCS, the slowest, last.
    """
    others = [o for o in ("clarabel", "ecos", "scs") if o != name]
    head = "Try"
    if "exp" in program.loss.cones:
        # ECOS's exponential-cone support is the most fragile of the three.
        others = [o for o in others if o != "ecos"]
        head = f"Loss {program.loss.name!r} needs the exponential cone; try"
    return (f"{head} solver='auto' (a native solver), "
            + " or ".join(f"solver={o!r}" for o in others))


def is_panic(exc):
    """Whether ``exc`` is a Rust panic of a solver (pyo3's PanicException)."""
    return type(exc).__name__ == "PanicException"


class SolverFailedError(RuntimeError):
    """A solver ended without a usable solution."""


@functools.lru_cache(maxsize=4)
def _installed(listing):
    """The solvers that ``listing`` (``cvxpy.installed_solvers``) names.

    That function tries to import every solver cvxpy knows, about 1.5 ms
    a call, which a CV fit on a small table (whose fits all go to Clarabel)
    made 80 times. Kept per function, so that a replaced one is called
    again.
    """
    return frozenset(listing())


def check_installed(name):
    """Raise a clear error if cvxpy or the named solver is not installed."""
    try:
        import cvxpy as cp
    except ImportError as exc:  # pragma: no cover - cvxpy is a dependency
        raise ImportError(
            "The cvxpy backends need cvxpy: pip install cvxpy"
        ) from exc
    cvxpy_name, package, _ = CVXPY_SOLVERS.get(name, (name.upper(), None, None))
    if cvxpy_name in _installed(cp.installed_solvers):
        return
    import cvxpy.settings

    if cvxpy_name not in cvxpy.settings.SOLVERS:
        raise ValueError(f"Unknown solver {name!r}.")
    raise ImportError(
        f"Solver {name!r} is not installed. Install it with "
        f"`pip install {package or name}`; installed cvxpy solvers: "
        f"{sorted(s.lower() for s in _installed(cp.installed_solvers))}."
    )
