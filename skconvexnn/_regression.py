"""ConvexReLURegressor: a two-layer ReLU network fitted to its global optimum."""

import warnings
from dataclasses import replace

import numpy as np
from sklearn.base import RegressorMixin, _fit_context, clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import validate_data

from ._base import ConvexReLUMixin, target_scaling
from ._defaults import AUTO_SCALED_BETA_FLOOR, AUTO_SCALED_MIN_RATIO
from .arrangements import patterns_from_gates
from .fitting.loo import loo_outputs
from .solvers import NATIVE_SOLVERS
from ._dask import dask_rows, fit_dask, is_dask_array, reject_dask
from .losses import Loss, SquaredLoss

__all__ = ["ConvexReLURegressor"]


class MultiOutputRegressorMixin:
    """``predict`` and tags shared by the regressors (1-D ``y`` stays 1-D)."""

    @dask_rows
    def predict(self, X):
        """Output of the recovered ReLU network (each feature of ``X`` clipped
        to its training range first, with ``extrapolation="clip"``).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
        """
        out = self._forward(X)
        return out.ravel() if self._y_1d else out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags


#: Largest face (columns) whose leave-one-out residuals scale ``beta="auto"``:
#: its Hessian is inverted (measured with scipy's ``pinvh``, one BLAS thread
#: on a shared machine: 0.8 s at 1,000 columns, 8.2 s at 2,000; the squared
#: loss's inverse is now by Cholesky, about an eighth of that).
NOISE_MAX_COLUMNS = 1000
#: Relative duality gap of the first fit of ``beta="auto"`` (at least the
#: estimator's ``tol``): its noise is a root mean square of residuals, which
#: a gap of 1e-3 moved by at most 0.06 % where it scales beta (wages,
#: diabetes, star98, friedman1 and others; on five targets of 10,000 rows
#: the first fit took 33.8 s instead of 88.9 s).
NOISE_TOL = 1e-3


class ConvexReLURegressor(MultiOutputRegressorMixin, RegressorMixin, ConvexReLUMixin):
    r"""Two-layer ReLU network regressor trained by convex optimization.

    The network is :math:`f(x) = \sum_j (x^\top u_j + b_j)_+ a_j + c`. With
    the squared loss the targets are first standardized,
    :math:`z = (y - \bar y) / s` (weighted mean and standard deviation of
    each output, in `y_mean_` and `y_scale_`), and the weight-decay training
    problem on them

    .. math::

        \min \frac{1}{2n} \|f(X) - z\|_2^2
        + \frac{\beta}{2} \sum_j \left(\|u_j\|^2 + b_j^2 + a_j^2\right)

    is solved through an equivalent convex program over hyperplane
    arrangements of the data (activation patterns), then the network is read
    off the solution and pruned. With every pattern
    (``arrangements="exhaustive"``) the result is the global optimum of the
    nonconvex problem; with a sample of patterns it is the optimum over
    networks whose neurons have those patterns.

    Parameters
    ----------
    loss : "squared" or Loss instance, default="squared"
        The data term: half the mean squared error, or any convex loss
        written as a subclass of :class:`skconvexnn.losses.Loss` (see the
        tutorial "Add a loss"), with the targets as given.
    beta : float or "auto", default="auto"
        Weight-decay strength, > 0, of the problem on the standardized
        targets, so that one beta means the same whatever the units of
        ``y``. On the raw targets it is weight decay of strength
        ``beta * y_scale_`` (see Notes). The data term is a mean, as in
        :class:`~sklearn.linear_model.Lasso`: the papers' regularization is
        ``n_samples * beta``. ``"auto"`` is 3e-2 up to 1,000 samples per
        output (``n_samples / n_outputs``), then ``3e-2 * (1000 / m) **
        1.5`` for ``m`` samples per output, down to 3e-3 from about 4,600
        on; with the squared loss (no warm start, ``X`` in memory), that
        beta is then scaled by the root mean square of the approximate
        leave-one-out residuals of a first fit at it, of the gated program
        (the noise, relative to the targets' spread), down to 3e-3: less
        regularization for targets with little noise. The value used is
        ``beta_``. It was chosen by measuring test scores on standardized
        features (user guide, "Default parameters").
    activation : {"relu", "gated_relu"}, default="relu"
        ``"relu"`` solves the exact program with cone constraints;
        ``"gated_relu"`` fixes each neuron's gate to its pattern (a group
        lasso, faster), giving a gated ReLU network.
    n_arrangements : int, default=100
        Number of gate vectors drawn when ``arrangements="bisector"`` or
        ``"gaussian"``. With
        ``arrangements="search"``, the scale of the search: its pool starts
        with ``10 * n_arrangements`` Gaussian gates and each round adds up
        to ``n_arrangements / 10`` patterns. With ``arrangements="trained"``,
        the hidden units of the network trained, shared equally among the
        outputs (at least a tenth of them each), so that its program has
        about ``n_arrangements`` patterns up to ten outputs.
    arrangements : str or array-like, default="auto"
        ``"auto"``, ``"bisector"``, ``"gaussian"``, ``"exhaustive"``,
        ``"search"``, ``"trained"`` or gate vectors. ``"auto"`` is
        ``"trained"`` at every size and number of targets (for a beta path
        too, trained once); it was chosen by measuring test scores (user
        guide, "Default parameters"). Where
        the activation patterns come from: the hyperplanes that bisect
        random pairs of training samples, random Gaussian gates, every
        pattern of the data (for data of low rank), a cutting-plane search
        guided by the dual (see Notes), the hidden units of one short
        nonconvex training run (see Notes), or the given gate vectors, of
        shape (n_gates, `n_features_in_` + fit_intercept) (the pattern of
        ``g`` is ``1[[X, 1] g >= 0]``). The bisectors
        follow the data's spread: they scored higher than Gaussian gates
        on digits, wine, iris and statecrime, and within noise on most
        other tables (user guide, "Default parameters").
    max_patterns : int, default=10_000
        With ``arrangements="exhaustive"``, refuse to enumerate when the
        data may have more patterns than this. With ``arrangements="search"``,
        the largest active set.
    fit_intercept : bool, default=True
        Give each hidden neuron a bias (penalized with its weights, via a
        column of ones) and the output an unpenalized intercept.
    solver : str, default="auto"
        ``"auto"``, a native solver, or a cvxpy solver (``"clarabel"``,
        ``"ecos"``, ``"scs"``, ``"mosek"``, ...). A solver that is not
        installed raises an error naming the package to install.
    tol : float, default=1e-6
        Target relative duality gap, ``duality_gap_ / |objective_|``. A fit
        above it is re-solved by a native solver (after a cvxpy solve) or
        raises a :class:`~sklearn.exceptions.ConvergenceWarning`.
    max_iter : int, default=10_000
        Solver iteration limit; reaching it raises a
        :class:`~sklearn.exceptions.ConvergenceWarning`.
    warm_start : bool, default=False
        Reuse the previous fit's gates and solution as a starting point.
    random_state : int, RandomState instance or None, default=None
        Seed of the gates (the pairs of samples, or the Gaussian vectors).
    verbose : int, default=0
        Print a summary of each fit (``> 1``: the solver's own log).
    extrapolation : {"clip", "linear"}, default="clip"
        What ``predict`` does beyond the training data. ``"clip"``: each
        feature is clipped to its range in the training data
        (``data_min_``, ``data_max_``) before the network; inside that range
        the output is the network's. ``"linear"``: the network itself, whose
        last linear pieces go on without limit. A ReLU network fitted to
        the data can be steep where few samples are, and on real tables a
        single test sample far outside the training range (17 to 61
        standard deviations) dominated the test error (user guide,
        "Predictions beyond the training data").

    Attributes
    ----------
    beta_ : float
        The beta of the fit: ``beta``, or the value ``"auto"`` gave (after
        its scaling by the noise, see ``beta``).
    coefs_ : list of two ndarrays
        Hidden weights of shape (`n_features_in_`, `n_neurons_`) and output
        weights of shape (`n_neurons_`, `n_outputs_`), as in
        :class:`~sklearn.neural_network.MLPRegressor`. With
        ``activation="gated_relu"`` they do not define the network alone:
        neuron ``j`` outputs ``1[[x, 1] . g_j >= 0] ([x, 1] . u_j)`` with
        its gate ``g_j`` in ``neuron_gates_``, not ``(x . u_j + b_j)_+``.
    intercepts_ : list of two ndarrays
        Hidden biases (`n_neurons_`,) and output intercept (`n_outputs_`,).
    n_neurons_ : int
        Neurons of the recovered network after pruning (at most
        ``n_samples + 1`` per output).
    objective_ : float
        Training objective of the returned network on the standardized
        targets (see Notes).
    lower_bound_ : float
        A proven lower bound on the convex program over the patterns used
        (on the standardized targets).
    duality_gap_ : float
        ``objective_ - lower_bound_``: how far from optimal the fit can be.
    gates_ : ndarray of shape (n_patterns, `n_features_in_` + fit_intercept)
        One gate vector per distinct activation pattern used.
    neuron_gates_ : ndarray of shape (`n_neurons_`, `n_features_in_` + fit_intercept)
        Gate of each neuron (only for ``activation="gated_relu"``).
    examined_gates_ : ndarray of shape (n_examined, `n_features_in_` + fit_intercept)
        One gate vector per pattern the search examined (only for
        ``arrangements="search"``); the certificate covers these patterns.
    search_seed_objective_ : float or None
        Objective of the point the search's first solve started from: the
        best of its seed networks (nonconvex weight-decay training, see
        Notes) as a point of the convex program; ``objective_`` is at most
        this. None when nothing seeded the search (a warm refit, or a
        ``beta`` so large that the zero network is better). Only for
        ``arrangements="search"``.
    trained_objective_ : float
        The weight-decay objective of the network whose hidden units gave
        the patterns (only for ``arrangements="trained"``, and not after a
        warm refit, which keeps the previous patterns); ``objective_`` is at
        most this.
    search_report_ : dict
        What seeded the search and what it certifies (only for
        ``arrangements="search"``): ``seed_objectives`` (each seed
        network's objective), ``seed_units`` (their hidden units per
        output), ``seed_seconds``, ``seed_patterns`` (distinct patterns of
        their neurons), ``seed_objective``, ``first_objective`` (after the
        first solve), ``objective``, ``n_rounds`` (solves), ``reason``
        (``"converged"``, ``"stalled"``, ``"round limit"`` or ``"full"``),
        ``converged``, ``max_violation`` (largest dual constraint violation
        over the examined patterns outside the active set, relative to
        ``beta``), ``n_active``, ``n_examined``, ``round_objectives`` and
        ``round_seconds`` (per solve, seconds from the end of the seeding).
    n_iter_ : int
        Solver iterations (FISTA's and ADMM's together when
        ``solver="auto"`` hands FISTA's blocks over to ADMM, user guide,
        "Choosing a solver").
    objective_curve_ : ndarray
        Objective per iteration (native solvers) or final value (cvxpy).
    solver_ : str
        The solver whose network was kept (a native one when it re-solved
        a loose cvxpy solve).
    n_outputs_ : int
        Number of targets.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when ``X`` has string column names.
    data_min_, data_max_ : ndarray of shape (`n_features_in_`,)
        Each feature's smallest and largest value over the training samples
        (of positive weight): the range ``extrapolation="clip"`` clips the
        inputs of ``predict`` to.
    y_mean_ : ndarray of shape (`n_outputs_`,)
        Mean of each target subtracted before the fit (weighted by
        ``sample_weight``); 0 without ``fit_intercept`` or with a
        :class:`~skconvexnn.losses.Loss` instance.
    y_scale_ : ndarray of shape (`n_outputs_`,)
        Scale each target was divided by: its (weighted) standard
        deviation, the root mean square without ``fit_intercept``, 1 for a
        constant target or a :class:`~skconvexnn.losses.Loss` instance.

    Notes
    -----
    **Target scaling.** With ``loss="squared"`` the solvers see the
    standardized targets ``z = (y - y_mean_) / y_scale_``, whatever the
    units of ``y`` (targets of order 1e8 fit as well as those of order 1).
    ``predict``, ``coefs_`` and ``intercepts_`` are in the user's units:
    the network fitted to ``z`` has the output layer ``coefs_[1] /
    y_scale_`` and output intercept ``(intercepts_[1] - y_mean_) /
    y_scale_``. ``objective_``, ``lower_bound_`` and ``duality_gap_`` are of
    the problem on ``z`` (so relative gaps do not depend on the units).
    Since the network is positively homogeneous, that problem is the
    weight-decay problem on ``y`` with strength ``beta * y_scale_`` (per
    output) and the hidden and output layers both multiplied by
    ``sqrt(y_scale_)``, whose objective is ``y_scale_**2 * objective_``.
    The output intercept is not penalized, so centering changes nothing
    but the intercept.

    With several targets, each has its own hidden neurons (the program
    separates per target). The lower bound comes from the dual of the convex
    program: the negative loss gradient at the fitted prediction, scaled to
    be dual feasible (user guide, "Certificates: lower bound and duality
    gap"). It covers the patterns in
    ``gates_``; with ``arrangements="exhaustive"`` it bounds the global
    optimum of the nonconvex problem.

    ``arrangements="search"`` first trains three networks of the same
    weight-decay objective (L-BFGS, ``2 * n_arrangements`` hidden units per
    output, at most 1000 iterations each). The activation patterns of their
    neurons form the first active set, and the first solve starts from the
    best network written as a point of the convex program (each neuron
    ``(u, a)`` gives the block ``|a| u`` over its own pattern, whose penalty
    ``beta |a| ||u||`` is at most the network's ``beta/2 (||u||^2 + a^2)``),
    so the fit is never worse than that network. It then solves the program
    on the active set of patterns, and adds the patterns whose dual constraint
    the current dual point violates most,
    until none is violated (by more than ``max(tol, 1e-3)`` relative to
    ``beta``). Candidates come from a pool of ``10 * n_arrangements``
    Gaussian gates and from local ascent on the most violated constraint
    over all patterns, ``max_{||u|| <= 1} lam^T (X u)_+``, started at random
    directions and at the current neurons. Each solve is warm started from
    the previous one. ``lower_bound_`` is then computed over every examined
    pattern (``examined_gates_``): the fit is optimal over them, not over
    patterns the search never met. A
    :class:`~sklearn.exceptions.ConvergenceWarning` says when the active
    set filled up (``max_patterns``), the round limit (40 solves) was
    reached or the objective decreased by less than ``max(tol, 1e-3)``
    (relative) in three rounds with patterns still violated. Blocks that
    stay zero for two rounds leave the active set (seed patterns unused by
    the first solve leave at once).

    ``arrangements="trained"`` is the first step of that search alone, and
    lighter: one L-BFGS run (``n_arrangements`` hidden units shared among
    the outputs, at most 300 iterations) of the weight-decay objective at
    ``beta_``; the program is solved over the patterns of its units, from
    that network, so ``objective_`` is at most its objective
    (``trained_objective_``).
    The certificate covers those patterns. The patterns follow the data
    and the target: they generalize better than the bisectors, at a
    higher cost, and ``"auto"`` takes them (user guide, "Patterns from a
    training run"). A beta path needs the same patterns at every beta, so
    the CV estimators and :func:`convex_relu_path` do not offer it.

    References
    ----------
    M. Pilanci and T. Ergen, "Neural Networks are Convex Regularizers: Exact
    Polynomial-time Convex Optimization Formulations for Two-layer
    Networks", ICML 2020.

    Examples
    --------
    >>> import numpy as np
    >>> from skconvexnn import ConvexReLURegressor
    >>> X = np.linspace(-1, 1, 20).reshape(-1, 1)
    >>> y = np.abs(X).ravel()
    >>> reg = ConvexReLURegressor(beta=1e-4, arrangements="exhaustive").fit(X, y)
    >>> bool(reg.score(X, y) > 0.99)
    True
    """

    _parameter_constraints = {
        **ConvexReLUMixin._parameter_constraints,
        "loss": [StrOptions({"squared"}), Loss],
    }

    #: ``beta="auto"`` up to AUTO_BETA_SAMPLES samples per output (see ``beta``).
    _auto_beta = 3e-2
    #: Beyond AUTO_BETA_SAMPLES samples the regressors' beta shrinks as
    #: ``(1000 / n) ** 1.5`` (see ``beta``; user guide, "Default parameters").
    _auto_beta_power = 1.5

    #: Fit on standardized targets (the copositive estimator, which
    #: standardizes its own, turns this off for the regressor it runs).
    _standardize_targets = True

    def __init__(
        self,
        *,
        loss="squared",
        beta="auto",
        activation="relu",
        n_arrangements=100,
        arrangements="auto",
        max_patterns=10_000,
        fit_intercept=True,
        solver="auto",
        tol=1e-6,
        max_iter=10_000,
        warm_start=False,
        random_state=None,
        verbose=0,
        extrapolation="clip",
    ):
        self.loss = loss
        self.beta = beta
        self.activation = activation
        self.n_arrangements = n_arrangements
        self.arrangements = arrangements
        self.max_patterns = max_patterns
        self.fit_intercept = fit_intercept
        self.solver = solver
        self.tol = tol
        self.max_iter = max_iter
        self.warm_start = warm_start
        self.random_state = random_state
        self.verbose = verbose
        self.extrapolation = extrapolation

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the network to its convex program's optimum.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Or a dask array chunked by rows (user guide, "Running on
            dask"): the fit then runs chunk by chunk on the workers.
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the samples in the mean loss.

        Returns
        -------
        self : ConvexReLURegressor
        """
        if is_dask_array(X):  # chunked fit on the workers (user guide, dask)
            return fit_dask(self, X, y, sample_weight)
        X, Y, loss = self._training_data(X, y, sample_weight)
        beta = (self._noise_scaled_beta(X, y, Y, sample_weight)
                if self._scales_beta() else None)
        self._fit_network(X, Y, loss, sample_weight, beta=beta)
        return self

    def _scales_beta(self):
        """Whether ``beta="auto"`` scales the size rule's beta by the noise
        of a first fit (the squared loss on standardized targets, no warm
        start)."""
        return (isinstance(self.beta, str) and isinstance(self.loss, str)
                and self._standardize_targets and not self.warm_start)

    def _noise_scaled_beta(self, X, y, Y, sample_weight):
        """The beta of ``beta="auto"`` on the validated ``X``, the user's
        targets ``y`` (``Y`` standardized): the size rule's, times the noise
        of a first fit when below 1, down to AUTO_SCALED_BETA_FLOOR (user
        guide, "Default parameters").

        The first fit solves the gated program at the size rule's beta, to
        NOISE_TOL, over the patterns of a network trained as the fit's: the
        noise of its leave-one-out residuals is about the ReLU program's
        (0.31 against 0.30 on make_friedman1 with 525 samples, 0.75 against
        0.68 on diabetes) and it is solved several times faster. No first fit
        where no noise would come of it (a CNN's pooled program) or where
        it could change beta by less than AUTO_SCALED_MIN_RATIO (near the
        floor).
        """
        beta = self._beta(*Y.shape)
        _, pool, _, _ = self._training_rows(X, Y, sample_weight)
        if beta < AUTO_SCALED_MIN_RATIO * AUTO_SCALED_BETA_FLOOR or pool is not None:
            return beta
        first = clone(self).set_params(beta=beta, activation="gated_relu",
                                       tol=max(self.tol, NOISE_TOL))
        X1, Y1, loss = first._training_data(X, y, sample_weight)
        # Its fit only gives the noise: one short of tol gives none, and
        # its warning is not the user's (the fit that follows warns).
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            first._fit_network(X1, Y1, loss, sample_weight)
        noise = first._loo_noise(X1, Y1, loss, sample_weight)
        scaled = (beta if noise is None or noise >= 1
                  else max(beta * noise, AUTO_SCALED_BETA_FLOOR))
        if self.verbose:
            print(f"[{type(self).__name__}] beta='auto': {beta:.3g} by the size "
                  f"rule, noise of the first fit (gated) "
                  f"{'none' if noise is None else format(noise, '.3g')}, "
                  f"beta {scaled:.3g}")
        return scaled

    def _loo_noise(self, X, Y, loss, sample_weight):
        """Root mean square of the approximate leave-one-out residuals of the
        fit just made (standardized targets: 1 is the targets' spread), or
        None where they do not exist (user guide, "Default parameters"): no
        neuron, a CNN's pooled program, Clarabel's inexact face, a fit
        short of its tolerance, or a face of more than NOISE_MAX_COLUMNS
        columns for one output.

        The squared loss does not couple the outputs: each output's
        program, over its own blocks, gives its residuals (the same as the
        whole program's, with a Hessian per output).
        """
        if (not len(self.gates_) or self.solver_ not in NATIVE_SOLVERS
                or self.duality_gap_ > self.tol * abs(self.objective_)):
            return None
        X1, pool, Y1, s = self._training_rows(X, Y, sample_weight)
        if pool is not None:
            return None
        program = replace(self._template(X1, Y1, loss, s, self.beta_, pool),
                          patterns=patterns_from_gates(X1, self.gates_))
        sol = self._solution
        intercept = np.asarray(sol.intercept).reshape(-1)
        residuals = np.empty_like(Y1)
        with self._blas_limit(X):
            for t in range(Y1.shape[1]):
                part = replace(sol, V=sol.V[t:t + 1],
                               W=None if sol.W is None else sol.W[t:t + 1],
                               intercept=intercept[t:t + 1])
                outputs = loo_outputs(replace(program, Y=Y1[:, t:t + 1]), part,
                                      max_columns=NOISE_MAX_COLUMNS)
                if outputs is None or not np.all(np.isfinite(outputs)):
                    return None
                residuals[:, t] = Y1[:, t] - outputs[:, 0]
        return float(np.sqrt(s @ np.mean(residuals ** 2, axis=1)))

    def _training_data(self, X, y, sample_weight=None):
        """Validated ``X``, targets as an (n_samples, n_outputs) array, loss.

        ``sample_weight`` is not used (classifiers check it).
        """
        reject_dask(self, X)
        X, y = validate_data(
            self, X, y, multi_output=True, y_numeric=True, dtype=np.float64
        )
        self._record_range(X, sample_weight)
        self._y_1d = y.ndim == 1
        Y = (y.reshape(-1, 1) if self._y_1d else y).astype(np.float64)
        loss = SquaredLoss() if isinstance(self.loss, str) else self.loss
        self.y_mean_, self.y_scale_ = target_scaling(
            Y, sample_weight, self.fit_intercept,
            standardize=isinstance(self.loss, str) and self._standardize_targets,
        )
        # The output layer is mapped back to the user's units in _set_weights.
        self._target_shift = (self.y_scale_, self.y_mean_)
        return X, (Y - self.y_mean_) / self.y_scale_, loss
