"""The interface every solver of skconvexnn implements."""

from dataclasses import dataclass, field, replace

import numpy as np
from threadpoolctl import threadpool_limits

__all__ = ["BaseSolver", "SolverResult", "SolverState", "blas_threads",
           "trivial_result", "warm_start"]


def blas_threads(n_samples, n_features, n_patterns):
    """BLAS thread limit for products of this size (``threadpool_limits``).

    On small products the threads' start-up and spinning cost more than
    they give (and much more on a machine whose other core is busy), so the
    native solvers and the estimators run them single-threaded (1); larger
    ones keep the default (None).
    """
    return 1 if n_samples * n_features * n_patterns < 5e6 else None


class SolverState:
    """A solver's internal state, kept to warm start a later solve.

    Opaque to everything but the solver that made it (ADMM's split
    variables and multipliers, :class:`~skconvexnn.solvers.admm.ADMMState`);
    the rest of the package only moves it between the blocks of a program
    and those of a working set of its patterns (user guide, "Tuning beta").
    """

    def restrict(self, keep):
        """The state of the program over the patterns ``keep`` (a boolean mask)."""
        raise NotImplementedError

    def pad(self, keep):
        """The state of the whole program from one over the patterns ``keep``.

        The blocks of the patterns left out are zero.
        """
        raise NotImplementedError

    def dual_points(self):
        """``(predictions, duals)`` the solver certified with, for lower bounds.

        Lists of arrays of shape (n_samples, n_outputs): predictions whose
        loss gradients are dual points, and dual points as they are.
        """
        return [], []


@dataclass
class SolverResult:
    """What every solver returns.

    Attributes
    ----------
    V, W : ndarray of shape (n_outputs, n_patterns, n_features)
        Blocks of the convex program (``W`` is None for gated ReLU).
    intercept : ndarray of shape (n_outputs,)
        Output intercept (zeros without one).
    n_iter : int
        Iterations of the solver.
    converged : bool
        False when the solver stopped before its tolerance was met.
    status : str
        The solver's own word for how it ended.
    objective_curve : list of float
        Objective after each iteration (native solvers) or the final value.
    lower_bound : float or None
        A lower bound the solver proved, if any.
    state : SolverState or None
        What the solver needs to resume from this point (a warm start of a
        later solve of the same solver); None when it needs nothing more
        than the blocks.
    """

    V: np.ndarray
    W: np.ndarray
    intercept: np.ndarray
    n_iter: int = 0
    converged: bool = True
    status: str = "optimal"
    objective_curve: list = field(default_factory=list)
    lower_bound: float = None
    state: SolverState = None


class BaseSolver:
    """Base class of the solvers.

    Subclasses set the capability attributes and implement ``_solve``, the
    iteration alone: :meth:`solve` does what every solver shares before and
    after it (see there).

    Parameters
    ----------
    tol : float
        Tolerance (its meaning is the solver's; see its docstring).
    max_iter : int
        Maximum number of iterations.
    verbose : int
        Verbosity.
    """

    #: Name accepted by the estimators' ``solver`` parameter.
    name = None
    #: Loss names handled (None: every loss whose cones are in ``cones``).
    losses = None
    #: Cones the solver handles (for conic backends).
    cones = frozenset({"exp"})
    #: Activations handled.
    activations = frozenset({"relu", "gated_relu"})

    def __init__(self, tol=1e-6, max_iter=10_000, verbose=0):
        self.tol = tol
        self.max_iter = max_iter
        self.verbose = verbose

    def check_program(self, program):
        """Raise ``ValueError`` if the solver cannot handle ``program``."""
        loss = program.loss
        if self.losses is not None and loss.name not in self.losses:
            raise ValueError(
                f"Solver {self.name!r} does not handle loss {loss.name!r}; it "
                f"handles {sorted(self.losses)}."
            )
        missing = set(loss.cones) - set(self.cones)
        if missing:
            raise ValueError(
                f"Solver {self.name!r} cannot handle loss {loss.name!r}: it "
                f"needs the {', '.join(sorted(missing))} cone. Use "
                "solver='clarabel' or solver='scs'."
            )
        if program.activation not in self.activations:
            raise ValueError(
                f"Solver {self.name!r} does not handle activation "
                f"{program.activation!r}."
            )

    def solve(self, program, init=None):
        """Solve ``program``, optionally warm-started from a ``SolverResult``.

        Checks that the solver handles the program (an incompatible pair is
        a clear error naming both), keeps a warm start only when its blocks
        have the program's shapes (:func:`warm_start`), and runs the solve
        under the BLAS thread limit of :func:`blas_threads`. A program
        without patterns is solved by its intercept alone
        (:func:`trivial_result`); any other goes to ``_solve(program,
        init)``, whose ``init`` is None or float copies of the warm start.
        """
        self.check_program(program)
        init = warm_start(program, init)
        sizes = program.n_rows, program.n_features, program.n_patterns
        with threadpool_limits(limits=blas_threads(*sizes), user_api="blas"):
            if program.n_patterns == 0:
                return trivial_result(program)
            return self._solve(program, init)

    def _solve(self, program, init):
        raise NotImplementedError

    def _certified(self, final_check, blocks, n_iter, ok, cert, curve, state=None):
        """The final certificate and the ``SolverResult`` of the blocks ``(V, W)``.

        For the native solvers, which check a
        :class:`~skconvexnn.program.dual.Certificate` ``cert`` every
        ``check_every`` iterations, appending its objective to ``curve``:
        unless the last check was an exact one at iteration ``n_iter``,
        ``final_check()`` certifies the final point with the exact bound.
        Converged when a check met the tolerance (``ok``).
        """
        if not curve or n_iter % self.check_every or not cert.exact:
            ok = final_check() or ok
        V, W = blocks
        return SolverResult(
            V=V, W=W, intercept=cert.intercept, n_iter=n_iter,
            converged=bool(ok), status="optimal" if ok else "max_iter",
            objective_curve=curve, lower_bound=cert.bound, state=state,
        )


def warm_start(program, init):
    """A warm start ``init`` as float copies, or None when its shapes do not fit.

    Its blocks must have the shapes of ``program.zeros()``: ``W`` present
    for ReLU, absent for gated ReLU.
    """
    if init is None:
        return None
    V, W = program.zeros()
    if (np.shape(init.V) != V.shape or (init.W is None) != (W is None)
            or (W is not None and np.shape(init.W) != W.shape)):
        return None
    return replace(init, V=np.array(init.V, dtype=float),
                   W=None if W is None else np.array(init.W, dtype=float),
                   intercept=np.array(init.intercept, dtype=float))


def trivial_result(program):
    """Solution of a program without patterns: the intercept alone."""
    V, W = program.zeros()
    zero = np.zeros(program.Y.shape)
    c = (program.loss.optimal_intercept(zero, program.Y, program.sample_weight)
         if program.fit_intercept else np.zeros(program.n_outputs))
    return SolverResult(V=V, W=W, intercept=c, n_iter=0,
                        objective_curve=[program.objective(V, W, c)])
