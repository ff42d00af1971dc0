"""From a solver's result to a fit: recover, prune, bound, judge convergence.

A :class:`Fit` is what an estimator sets as its fitted attributes: the
network recovered from the blocks of the convex program and pruned (user
guide, "Recovering the network, and pruning"), its objective, a lower bound
from the dual (user guide, "Certificates: lower bound and duality gap") and
the verdict on convergence, which the certificate decides, not the solver's
status.
"""

import warnings
from dataclasses import dataclass, field

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from ..program.dual import lower_bound
from ..recovery import (
    network_objective,
    network_predict,
    prune_network,
    recover_best_network,
)
from ..solvers import NATIVE_SOLVERS, native_order, trivial_result

__all__ = ["Fit", "certify", "zero_fit", "converged", "convergence_advice"]


@dataclass
class Fit:
    """A network fitted to a convex program, with its certificate.

    Attributes
    ----------
    U : ndarray of shape (n_neurons, n_design_features)
        Hidden weights in design space (biases in the last column with an
        intercept).
    A : ndarray of shape (n_neurons, n_outputs)
        Output weights.
    G : ndarray of shape (n_neurons, n_design_features) or None
        Gate of each neuron (gated ReLU), None for ReLU.
    c : ndarray of shape (n_outputs,)
        Output intercept.
    gates : ndarray of shape (n_patterns, n_design_features)
        Gate vectors of the program's patterns.
    n_outputs : int
    objective, lower_bound : float
        The network's training objective and a proven lower bound on the
        optimum.
    n_iter : int
    objective_curve : ndarray
    solver : str
        Name of the solver whose network was kept.
    solution : SolverResult
        Its raw result (a warm start for a later fit).
    n_patterns : int
        Patterns of the program solved.
    examined_gates, search_report
        Of an arrangement search (None otherwise).
    trained_objective : float or None
        With the patterns of a trained network (``arrangements="trained"``),
        that network's weight-decay objective.
    warnings : tuple of str
        Messages of the :class:`~sklearn.exceptions.ConvergenceWarning`
        that applying the fit raises.
    where : str
        Said after the solver's name by a verbose fit (``" (dask, ...)"``).
    beta : float
        The program's beta.
    """

    U: np.ndarray
    A: np.ndarray
    G: np.ndarray
    c: np.ndarray
    gates: np.ndarray
    n_outputs: int
    objective: float
    lower_bound: float
    n_iter: int
    objective_curve: np.ndarray
    solver: str
    solution: object
    n_patterns: int = 0
    examined_gates: np.ndarray = None
    search_report: dict = None
    trained_objective: float = None
    warnings: tuple = field(default_factory=tuple)
    where: str = ""
    beta: float = None

    @property
    def duality_gap(self):
        """``objective - lower_bound``, at least 0."""
        return max(self.objective - self.lower_bound, 0.0)

    @property
    def n_neurons(self):
        return len(self.U)


def converged(objective, bound, result, solver, tol):
    """Whether the certificate ``(objective, bound)`` is within ``tol`` (relative).

    A native solver's own converged flag is its certificate; a cvxpy
    status is not one ("optimal" solves were seen 87 % above their bound).
    """
    if result.converged and solver.name in NATIVE_SOLVERS:
        return True
    return objective - bound <= tol * max(abs(objective), np.finfo(float).tiny)


def _network(program, result, gates, bound_program=None, bounds=True):
    """The pruned network of ``result``, its objective and a lower bound.

    ``bound_program``: the program the bound covers when it is not
    ``program`` (an arrangement search's examined patterns); the solver's
    own bound then covers too few patterns to count. ``bounds=False``: the
    bound is the solver's own (``-inf`` if none).
    """
    search = bound_program is not None
    own = None if search else result.lower_bound
    bound_program = bound_program if search else program
    U, A, G, c = recover_best_network(program, result, gates)
    groups = np.argmax(np.abs(A), axis=1) if len(A) else None
    U, A, G = prune_network(program.X, U, A, G, groups=groups, pool=program.pool)
    objective = float(network_objective(program, U, A, c, G))
    net = {"network": (U, A, G, c), "objective": objective}
    if not bounds:
        return {**net, "bound": -np.inf if own is None else float(own)}
    # Both the network and the solver's raw blocks give dual points; the
    # raw blocks are often the better one (dropping near-zero blocks moves
    # the residual off the optimum), and either bound is valid. Native
    # solvers prove their own bound (from their multipliers too); only the
    # others need the stationarity refinement for kinked losses.
    blocks = (result.V, result.W, result.intercept)
    bound = max(
        lower_bound(bound_program,
                    network_predict(program.X, U, A, 0.0, G, program.pool)),
        lower_bound(bound_program, program.predict(result.V, result.W),
                    blocks=blocks if own is None and not search else None),
    )
    if own is not None:  # it covers the active patterns only
        bound = max(bound, own)
    return {**net, "bound": float(bound)}


def _polish(program, result, solver, options, gates, bound_program):
    """Re-solve with a native solver warm started from a loose cvxpy solve.

    Returns ``(result, solver, certified network)``, or None when the
    solve was native already or no native solver handles the program.
    """
    if solver.name in NATIVE_SOLVERS:
        return None
    # The native solvers in the order "auto" tries them on this program.
    for cls in native_order(program):
        native = cls(tol=options.tol, max_iter=options.max_iter,
                     verbose=options.verbose)
        try:
            native.check_program(program)
        except (ValueError, MemoryError):
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            polished = native.solve(program, init=result)
        return polished, native, _network(program, polished, gates, bound_program)
    return None


def _polished(net, result, solver, polish):
    """The better of ``net`` and the polish's network, with the better bound."""
    result2, solver2, net2 = polish
    bound = max(net["bound"], net2["bound"])
    curve = [*result.objective_curve, *result2.objective_curve]
    n_iter = int(result.n_iter) + int(result2.n_iter)
    if net2["objective"] < net["objective"]:
        net, result, solver = net2, result2, solver2
    return {**net, "bound": bound, "curve": curve, "n_iter": n_iter}, result, solver


def certify(program, result, solver, options, gates, *, bound_program=None,
            exact=False, bounds=True):
    """The :class:`Fit` of ``result``: recovered, pruned and certified.

    Parameters
    ----------
    program : ConvexProgram
    result : SolverResult
        ``solver``'s solution of ``program``.
    solver : BaseSolver
    options : SolverOptions
        The fit's ``tol`` (the verdict) and the native re-solve's settings.
    gates : ndarray of shape (n_patterns, n_design_features)
    bound_program : ConvexProgram, optional
        The program the lower bound covers, when larger than ``program``
        (an arrangement search's examined patterns).
    exact : bool, default=False
        ``result`` is known optimal (the zero network at or above
        beta_max): its bound is its objective, rounding is not polished.
    bounds : bool, default=True
        False (folds that only predict): skip the lower bounds that a
        native solver's converged flag already vouches for; ``lower_bound``
        is then the solver's own, or ``-inf``.

    Returns
    -------
    Fit

    Notes
    -----
    The certificate decides convergence, not the solver's status: when the
    relative gap of a cvxpy solve is above ``tol``, the program is re-solved
    by a native solver warm started from it, the better network is kept
    with the better of the two bounds, and a gap still above ``tol`` gives
    the fit a :class:`~sklearn.exceptions.ConvergenceWarning` message.
    """
    # A native solver's converged flag is its certificate (converged): the
    # bounds would only fill lower_bound (bounds=False), and a certified
    # bound over the whole program needs no recomputing (for the ReLU
    # program that is a projection per block, 15 % of a digits fit).
    proven = result.converged and solver.name in NATIVE_SOLVERS
    own = (proven and bound_program is None and result.lower_bound is not None
           and np.isfinite(result.lower_bound))
    net = _network(program, result, gates, bound_program,
                   bounds=not own if bounds else not proven)
    polish, messages = None, ()
    if exact:  # optimal by the dual test at beta_max (zero_network_beta)
        net["bound"] = net["objective"]
    elif not converged(net["objective"], net["bound"], result, solver, options.tol):
        polish = _polish(program, result, solver, options, gates, bound_program)
        if polish is not None:
            net, result, solver = _polished(net, result, solver, polish)
        if not converged(net["objective"], net["bound"], result, solver, options.tol):
            messages = (convergence_advice(
                net["objective"], net["bound"], result, solver, options,
                None if polish is None else polish[1]),)
    U, A, G, c = net["network"]
    return Fit(
        U=U, A=A, G=G, c=c, gates=gates, n_outputs=program.Y.shape[1],
        objective=float(net["objective"]), lower_bound=float(net["bound"]),
        n_iter=int(net.get("n_iter", result.n_iter)),
        objective_curve=np.asarray(net.get("curve", result.objective_curve),
                                   dtype=float),
        solver=solver.name, solution=result, n_patterns=program.n_patterns,
        warnings=messages, beta=float(program.beta),
    )


def zero_fit(program, options, gates, bounds=True):
    """The fit of the network with no neuron, optimal at ``program.beta``.

    For a beta at or above beta_max: no solve (a solver would only meet
    the overflow of a huge beta). ``bounds`` as in :func:`certify`.
    """
    return certify(program, trivial_result(program), options.named(program), options,
                   gates, exact=True, bounds=bounds)


def convergence_advice(objective, bound, result, solver, options, polisher=None):
    """The ConvergenceWarning text: the gap reached and advice for this case.

    ``polisher``: the native solver that re-solved a cvxpy solution, if any.
    """
    gap = max(objective - bound, 0.0)
    head = (
        f"The fit stopped with a relative duality gap of "
        f"{gap / max(abs(objective), 1e-300):.3g} (absolute {gap:.3g}) above "
        f"tol={options.tol}: solver {solver.name!r}, status {result.status!r}, "
        f"{result.n_iter} iterations (max_iter={options.max_iter})"
    )
    if polisher is not None:
        head += (f", after a re-solve with {polisher.name!r} warm started "
                 f"from the {solver.name!r} solution")
    if solver.name in NATIVE_SOLVERS:
        advice = (
            "Increase max_iter or tol, standardize X "
            "(StandardScaler), or use a larger beta"
        )
        if solver.name == "fista":
            # the logistic ReLU program near 1e-3 of beta_max (randhie,
            # modechoice): ADMM converged where FISTA stopped at max_iter
            advice += ("; at small betas solver='admm' often converges where "
                       "FISTA crawls")
    elif result.status == "user_limit":
        advice = "Increase max_iter"
    else:
        advice = (
            f"{solver.name!r} stopped at the limit of its numerical accuracy, "
            "so a larger max_iter does not help. Standardize X "
            "(StandardScaler), use a larger beta, or solver='admm' with a "
            "larger max_iter"
        )
    return f"{head}. {advice}."
