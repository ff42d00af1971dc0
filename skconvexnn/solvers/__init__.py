"""Solvers of the convex programs, behind one interface.

:func:`get_solver` turns the estimators' ``solver`` parameter into a solver
instance: ``"auto"``, a native solver's name (registered in
:data:`NATIVE_SOLVERS`), or any installed cvxpy solver.
"""

import warnings
from dataclasses import replace

import numpy as np

from ..program.dual import program_beta_max, zero_network_beta
from .base import BaseSolver, SolverResult, trivial_result
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
    "native_order",
    "FISTA_MAX_CONDITION",
    "design_condition",
    "FISTA_MIN_SAMPLES",
    "FISTA_MIN_BETA_RATIO",
    "FISTA_LARGE_SAMPLES",
    "FISTA_LARGE_BETA_RATIO",
    "FISTA_WARM_BETA_RATIO",
    "few_neurons",
    "solve_with_fallback",
    "trivial_result",
]

#: cvxpy solver tried when the default one fails (user guide, "Choosing a solver").
FALLBACK_SOLVER = "scs"

from .admm import ADMMSolver
from .admm_state import ADMMState
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


def get_solver(name, program, tol=1e-6, max_iter=10_000, verbose=0, warm=False):
    """Solver instance for a name, checked against ``program``.

    ``warm``: the solve starts from blocks that ADMM did not make (the
    previous beta of a path solved by FISTA, a trained network), which
    moves ``"auto"``'s choice for the squared loss (:func:`few_neurons`).

    ``"auto"`` picks a native solver whenever ``tol >= NATIVE_MIN_TOL``
    (below it, Clarabel: interior-point iterations are then cheaper than a
    first-order tail), at every number of samples, by :func:`native_order`:

    * the ReLU program with a smooth loss that is not quadratic (the
      logistic loss, a user's differentiable loss): FISTA with cone
      projections and its adaptive step, handing over to ADMM after
      ``FISTA_HANDOFF_STEPS`` steps without the certificate
      (:func:`_handed_over`) for one output, or for any number when the
      design matrix is badly conditioned (:func:`design_condition` above
      ``FISTA_MAX_CONDITION``); ADMM first when it is badly conditioned
      and ADMM's least-squares steps are not direct (no handover then);
    * the ReLU program with the squared loss and a well conditioned design
      matrix, at a beta of at least ``FISTA_MIN_BETA_RATIO`` times its
      beta_max, or ``FISTA_LARGE_BETA_RATIO`` times it from
      ``FISTA_LARGE_SAMPLES`` samples on (:func:`few_neurons`): FISTA, whose
      quasi-Newton polish on the face of the cones closes the gap once
      that face settles, handing over to ADMM after
      ``FISTA_QUADRATIC_HANDOFF_STEPS`` steps without the certificate;
    * the ReLU program otherwise (squared loss at smaller betas, hinge
      loss): ADMM (whose least-squares steps use conjugate gradients beyond
      ``ADMMSolver.max_samples`` samples);
    * the gated program: ADMM, or Anderson-accelerated proximal gradient
      when ADMM's ``n x n`` factorization is too large; for a smooth loss
      that is not quadratic and at least ``FISTA_MIN_SAMPLES`` samples,
      FISTA first.

    Only a program that no native solver accepts (too large for the
    memory of every one of them) goes to Clarabel, whose own memory check
    then raises a clear error.

    Measured for the ReLU program (CPU seconds, tol 1e-6, one BLAS thread,
    ``benchmarks/relu_solvers.py``): with the logistic loss, FISTA against
    ADMM and Clarabel on breast_cancer (beta = 1e-3): 50 gates, 7.6 s
    against 85 s for ADMM at tol 1e-3; 30 gates, 5.0 s against 155.7 s for
    Clarabel; on iris (softmax, 100 gates) 6.9 s against 39 s
    (ADMM at max_iter) and a Clarabel failure. With the squared loss FISTA's
    tail is long where ADMM's factorization absorbs the spread of the
    operator's spectrum: diabetes, 100 gates, 20,000 steps without reaching
    1e-6 against ADMM's 660 iterations and 2.9 s; 100 samples in 4-D, 9,920
    steps and 7.4 s against 0.7 s. On tiny programs with many more blocks
    than samples (20 samples in 3-D, every pattern; 30 in 2-D; 40 and 45
    in 1-D) the native solvers certify within 1e-6 in 0.05 to 5.5 s of
    CPU, where Clarabel takes 0.06 to 4.9 s (``benchmarks/tiny_programs.py``):
    a single fit there takes a fraction of a second either way; the five
    folds of a CV estimator take about twice Clarabel's time (the CV
    regressor on 38 samples of statecrime: 5.9 s against 2.9 s).

    For the gated program (squared and logistic losses, 20 gates, tol 1e-6,
    standardized data; FISTA with its adaptive step against ADMM at beta =
    1e-4, 1e-3, 1e-2): breast_cancer 7.6 / 0.7 / 0.4 s against 15.0 / 13.8
    / 16.6 s, wine 1.6 / 1.0 / 0.4 s against 11.2 / 8.2 / 17.8 s, iris
    11.5 / 13.0 / 5.4 s against 44.0 / 15.1 / 27.5 s (FISTA stopped at
    max_iter at 1e-3, ADMM at 1e-2); digits (softmax, 10 classes, 1257
    samples) at 1e-4, 24.2 s against 243 s (ADMM stopped at max_iter); a
    CNN on 500 digits (3 x 3 filters, stride 2, 20 gates), 14.2 s against
    27.8 s. On small programs ADMM was faster: 40 and 100 samples in 4-D,
    20 gates, 0.3-0.9 s against 0.5-1.1 s; a CNN on 30 images of 6 x 6,
    0.95 s against 7.6 s. Anderson against FISTA, on the synthetic gated
    program of ``benchmarks/large_n.py`` (squared loss, d = 50, 500 gates,
    beta = 1e-3, one BLAS thread, CPU seconds on a loaded machine): at n =
    10,000, tol 1e-4, 450 iterations and 25.3 s against FISTA's 1,480 and
    102.3 s (tol 1e-6: 840 and 44.6 s against 2,350 and 165.9 s); at n =
    50,000, tol 1e-4, 260 iterations and 69.8 s (tol 1e-6: 540 and 130.7
    s), where FISTA gave no result within 600 s of wall time. Pooled
    programs (CNNs) work with every native solver.
    """
    if not isinstance(name, str):
        raise ValueError(f"solver must be a string, got {name!r}.")
    key = name.lower()
    if key == "auto":
        native = tol >= NATIVE_MIN_TOL
        for cls in native_order(program, warm) if native else ():
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


#: The gated program with a non-quadratic loss goes to FISTA first from this
#: many samples (see get_solver).
FISTA_MIN_SAMPLES = 100
#: FISTA chosen by ``"auto"`` for the ReLU program of one output with a
#: smooth loss that is not quadratic hands over to ADMM after this many steps
#: (see _handed_over).
FISTA_HANDOFF_STEPS = 500
#: ... and for the ReLU program with the squared loss, after this many.
FISTA_QUADRATIC_HANDOFF_STEPS = 3_000


def _hands_over(solver, program, requested):
    """After how many steps ``solver`` hands over to ADMM (0: never): when
    it is FISTA chosen by ``"auto"`` for a ReLU program that ADMM takes
    with a factorization (not conjugate gradients), of one output with a
    smooth loss that is not quadratic, or of several with a badly
    conditioned design matrix (``FISTA_HANDOFF_STEPS``), or with the
    squared loss (``FISTA_QUADRATIC_HANDOFF_STEPS``).

    Badly conditioned (:func:`design_condition` above
    ``FISTA_MAX_CONDITION``), FISTA's step may crawl, but need not: on the
    vote92 table of ``benchmarks/defaults.py`` (two standardized features
    nearly collinear, condition 1.4e5; softmax over three classes) the CV
    classifier's path took FISTA 60 to 360 steps a beta, where ADMM, which
    ``"auto"`` used to choose there, took 8,950 iterations at the last
    beta (split seed 2: the CV fit 5.6 s instead of 48.2 s).

    FISTA certifies the squared loss's program within a few hundred steps
    where its face settles early (the default regressors: star98 270 and
    370 steps); where it does not, its tail is long. The CV regressor's
    refit on make_friedman1 (525 samples, split seed 0) at 0.06 of the
    beta its network was trained at stopped at 10,000 steps 3.3e-5 above
    tol, with a ConvergenceWarning.
    """
    if not (str(requested).lower() == "auto" and isinstance(solver, FISTASolver)
            and program.cone_constrained and ADMMSolver.direct(program)):
        return 0
    if program.loss.quadratic:
        steps = FISTA_QUADRATIC_HANDOFF_STEPS
    elif _smooth_curved(program.loss) and (
            program.n_outputs == 1
            or design_condition(program.X) > FISTA_MAX_CONDITION):
        steps = FISTA_HANDOFF_STEPS
    else:
        return 0
    if solver.max_iter <= steps:
        return 0
    try:
        ADMMSolver(tol=solver.tol).check_program(program)
    except (ValueError, MemoryError):
        return 0
    return steps


def _handed_over(fista, program, init, steps=FISTA_HANDOFF_STEPS):
    """FISTA's first ``steps`` steps, then ADMM from its blocks.

    FISTA identifies the face of the cones early when the optimum has few
    neurons; with many it takes thousands of steps, where ADMM takes
    hundreds. Neither count is known before the solve, so ``"auto"`` lets
    FISTA try first and, when it has not certified its gap within these
    steps, hands its blocks to ADMM as a warm start, for the rest of
    ``max_iter``. Measured on the logistic ReLU program (100 bisector
    gates, standardized features, CPU seconds, cold starts, tol 1e-3; the
    benchmarks page, "FISTA hands over to ADMM"): statsmodels' randhie
    (1,500 rows, labels above the median) at 0.001 of beta_max, 26.3 s
    and 7,690 steps before, 11.9 s after; modechoice (630 rows) at 0.003,
    6.7 s before, 2.9 s after; breast_cancer, where FISTA certifies within
    250 steps, is unchanged. The iterations reported are both solvers';
    the result is ADMM's, unless ADMM stopped at ``max_iter`` above the
    objective FISTA had reached. A warm start that ADMM made (the previous
    beta of a path, handed over) goes to ADMM directly. Not for the
    softmax: ADMM's loss steps couple its outputs, and on the digits they
    made the CV fit slower (1,081.7 s against 789.6 s). For the squared
    loss after more steps (:func:`_hands_over`): the CV regressor's refit
    that FISTA left above tol at 10,000 steps took 15.3 s of the CV fit's
    wall time instead of 23.0 s, certified.
    """
    if init is not None and isinstance(init.state, ADMMState):
        first = replace(init, n_iter=0, objective_curve=[])
    else:
        first = FISTASolver(tol=fista.tol, max_iter=steps,
                            verbose=fista.verbose).solve(program, init=init)
        if first.converged:
            return first, fista
    admm = ADMMSolver(tol=fista.tol, max_iter=fista.max_iter - first.n_iter,
                      verbose=fista.verbose)
    second = admm.solve(program, init=first)
    kept, used = second, admm
    if first.n_iter and not second.converged and (
            program.objective(first.V, first.W, first.intercept)
            < program.objective(second.V, second.W, second.intercept)):
        kept, used = first, fista  # ADMM stopped above where FISTA was
    return replace(kept, n_iter=first.n_iter + second.n_iter,
                   objective_curve=[*first.objective_curve,
                                    *second.objective_curve]), used


def native_order(program, warm=False):
    """Native solver classes that ``"auto"`` tries on ``program``, in order.

    The first one whose ``check_program`` accepts the program is used (see
    :func:`get_solver` for the measurements behind the order; ``warm`` as
    there).
    """
    loss = program.loss
    smooth_curved = _smooth_curved(loss)
    if program.cone_constrained:
        conditioned = design_condition(program.X) <= FISTA_MAX_CONDITION
        if smooth_curved and (conditioned or ADMMSolver.direct(program)):
            # (badly conditioned: FISTA tries first, and hands over to ADMM
            # when it has not certified within its steps, _hands_over)
            return [FISTASolver, ADMMSolver]
        if conditioned and loss.quadratic and few_neurons(program, warm):
            return [FISTASolver, ADMMSolver]
        return [ADMMSolver, FISTASolver]
    if smooth_curved and program.n_samples >= FISTA_MIN_SAMPLES:
        return [FISTASolver, ADMMSolver]
    if not ADMMSolver.direct(program):
        return [AndersonSolver, FISTASolver, ADMMSolver]
    return [ADMMSolver, AndersonSolver, FISTASolver]


def _smooth_curved(loss):
    """Whether ``loss`` is smooth and not quadratic (the logistic loss, a
    user's differentiable loss): FISTA's losses for the ReLU program."""
    return getattr(loss, "smooth", True) and not loss.quadratic


#: The ReLU program with a non-quadratic smooth loss goes to FISTA only
#: when the design matrix is this well conditioned (see design_condition).
FISTA_MAX_CONDITION = 1e3

#: The ReLU program with the squared loss goes to FISTA from this fraction
#: of its beta_max up (see few_neurons).
FISTA_MIN_BETA_RATIO = 0.01
#: From this many samples on, from this smaller fraction (see few_neurons).
FISTA_LARGE_SAMPLES = 2_000
FISTA_LARGE_BETA_RATIO = 0.002
#: ... and from this one for a warm start from blocks ADMM did not make.
FISTA_WARM_BETA_RATIO = 0.0005


def few_neurons(program, warm=False):
    """Whether ``program.beta`` is at least ``FISTA_MIN_BETA_RATIO`` times
    the program's beta_max (:func:`~skconvexnn.program.dual.program_beta_max`),
    or ``FISTA_LARGE_BETA_RATIO`` times it from ``FISTA_LARGE_SAMPLES``
    samples on (``FISTA_WARM_BETA_RATIO`` times it, ``warm``, from a warm
    start that ADMM did not make).

    There the optimum has few neurons, and FISTA (with its backtracked
    step) identifies their face of the cones early; its quasi-Newton polish
    on that face (:class:`._polish.FacePolish`) then closes the gap in a
    few steps. With many neurons (small beta) the face settles late and
    ADMM is faster. Measured on standardized data and target, 100
    Gaussian gates, tol 1e-6, CPU seconds with one BLAS thread, FISTA
    against ADMM at fractions of beta_max (the benchmarks page,
    "Backtracking for the squared loss"). At 0.01 FISTA was faster on
    every program tried: diabetes 0.76 s against 1.47 s, star98 1.33
    against 3.47, ``make_friedman1(1000)`` 1.17 against 10.09, and the
    synthetic regression of ``benchmarks/relu_solvers.py --scaling``
    (n = 1,000) 5.4 against 13.1. At 0.005 it was mixed: diabetes 1.93
    against 2.10, star98 2.27 against 3.03, friedman1 1.85 against 7.55,
    but the synthetic data 42.2 against 17.9.

    With more samples FISTA's iterations stay few while ADMM's grow, and
    the crossover moves to smaller betas (``benchmarks/squared_solvers.py``,
    the benchmarks page, "The squared loss at large n"): FISTA was faster
    on the synthetic data at 0.0037 of beta_max from n = 3,000 on (29.3 s
    against 42.0; n = 10,000: 24.5 against 407.6; n = 1,000: 18.7 against
    ADMM's 12.4), and on the regressor's programs of the fair (4,123
    distinct rows) and randhie (7,579) tables of statsmodels at 0.0081,
    0.0024 and 0.0048 of beta_max (4.6 against 22.4, 17.8 against 56.1,
    12.1 against 83.8); ADMM was faster at 0.00081 on fair (82.7 s against
    194.6, where FISTA stopped at 10,000 steps) and 0.00097 on randhie
    (226.6 s against 374.1).

    From a warm start that ADMM did not make (the previous beta of a path
    that FISTA solved, a trained network) the crossover moves further
    down: FISTA starts on about the face of the optimum, where ADMM's first
    iterations leave the start behind. The path of
    :func:`~skconvexnn.convex_relu_path` on the wages table of
    ``benchmarks/defaults.py`` (3,123 rows, trained patterns, tol 1e-3, CPU
    seconds; the benchmarks page, "Warm starts and the solver"), FISTA
    against ADMM at 0.001, 0.0005, 0.0002 and 0.0001 of beta_max: 3.0, 5.8,
    24.2 and 53.6 s against 9.0, 6.6, 16.2 and 38.0 s; the CV estimator's
    last path step on computers (4,654 rows) at 0.001: 3.0 s against 5.4,
    and on diamonds (14,985 rows) 16.5 s against 72.6.

    The cheap upper bound
    :func:`~skconvexnn.program.dual.zero_network_beta` of beta_max decides
    when it can, the exact value (projections onto every block's cone at
    the zero network) otherwise.
    """
    large = program.n_samples >= FISTA_LARGE_SAMPLES
    ratio = (FISTA_MIN_BETA_RATIO if not large
             else FISTA_WARM_BETA_RATIO if warm else FISTA_LARGE_BETA_RATIO)
    beta = program.beta
    if beta >= ratio * zero_network_beta(program):
        return True
    return beta >= ratio * program_beta_max(program)


def design_condition(X):
    """Condition number of the design matrix over its numerical range.

    The ratio of the largest singular value of ``X`` to the smallest one
    above ``1e-8`` times it (columns that are zero, such as constant pixels
    after scaling, do not count). A proximal gradient method sees its
    square in its step; ADMM's factorization absorbs it. Measured on the
    scikit-learn checks' data (100 samples around 100 in 2-D, random
    labels, logistic loss, 10 gates; condition 2e4): FISTA 10,000 steps to a
    relative gap of 0.92, ADMM 160 iterations to 1e-8. Standardized
    breast_cancer has 316, where FISTA is the faster (see get_solver).
    """
    s = np.linalg.svd(np.asarray(X, dtype=float), compute_uv=False)
    if not len(s) or s[0] == 0:
        return 1.0
    return float(s[0] / s[s > 1e-8 * s[0]][-1])


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
        steps = _hands_over(solver, program, requested)
        if steps:
            return _handed_over(solver, program, init, steps)
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
