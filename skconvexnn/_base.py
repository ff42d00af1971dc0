"""What every convex ReLU estimator shares: parameters, gates, the program, the setter.

The fit itself (solve, recovery, certificate, path, search) is
:mod:`skconvexnn.fitting`'s; an estimator builds the program and sets the
:class:`~skconvexnn.fitting.Fit` it gets back.
"""

import warnings
from dataclasses import replace
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data
from threadpoolctl import threadpool_limits

from ._defaults import auto_beta
from ._program import ACTIVATIONS, ConvexProgram, program_beta_max
from .arrangements import (bisector_gates, enumerate_gates, patterns_from_gates,
                           sample_gates, unique_patterns)
from .fitting import (SolverOptions, fit_beta, fit_path, fit_search, fit_trained,
                      trained_program)
from .recovery import network_predict
from .solvers import solver_names
from .solvers.base import blas_threads

#: The ``arrangements`` strategies that are not arrays of gates.
ARRANGEMENT_STRATEGIES = {"auto", "bisector", "gaussian", "exhaustive", "search",
                          "trained"}
#: Those that do not choose the patterns for one beta (all that the CNN
#: estimators have).
DRAWN_OR_ENUMERATED = ARRANGEMENT_STRATEGIES - {"auto", "search", "trained"}
#: Fitted attributes that only some fits set: every fit first deletes them
#: (:meth:`ConvexReLUMixin._clear_fitted`), so that a refit with other
#: settings never keeps what the previous fit left.
OPTIONAL_FITTED_ATTRIBUTES = (
    "neuron_gates_", "examined_gates_", "search_report_", "search_seed_objective_",
    "trained_objective_",
    "oracle_", "objective_curve_",
    "relaxation_value_", "relaxation_status_", "factorization_exact_", "certified_",
    "solver_",
    "method_", "n_local_moves_",
)


class CaseInsensitiveOptions(StrOptions):
    """``StrOptions`` that accepts any letter case (``"CLARABEL"``, ``"Auto"``)."""

    def is_satisfied_by(self, val):
        return isinstance(val, str) and val.lower() in self.options


def check_weights(sample_weight, X):
    """``sample_weight`` as a float array of non-negative finite weights.

    ``None`` gives uniform weights. A negative weight is refused (it would
    otherwise be dropped silently with the zero weights).
    """
    sw = _check_sample_weight(sample_weight, X, dtype=np.float64)
    if np.any(sw < 0):
        raise ValueError(
            "sample_weight must be non-negative; got "
            f"{int(np.sum(sw < 0))} negative weight(s), the smallest "
            f"{float(sw.min()):.6g}."
        )
    return sw


def gate_array(arrangements, d1):
    """``arrangements`` given as gate vectors, checked against the design width ``d1``.

    Returns a float array of shape (n_gates, d1); raises a ValueError on
    another shape or on a non-finite entry.
    """
    gates = np.asarray(arrangements, dtype=np.float64)
    if gates.ndim != 2 or gates.shape[1] != d1:
        raise ValueError(
            "arrangements given as gate vectors must have shape (n_gates, "
            f"n_features_in_ + fit_intercept) = (n_gates, {d1}); got "
            f"{gates.shape}."
        )
    if not np.all(np.isfinite(gates)):
        raise ValueError("arrangements contains NaN or infinite values.")
    return gates


def add_ones(X, fit_intercept):
    """Design matrix: ``X`` with a column of ones for the hidden biases."""
    if not fit_intercept:
        return X
    return np.hstack([X, np.ones((X.shape[0], 1), dtype=X.dtype)])


def target_scaling(Y, sample_weight, fit_intercept, standardize=True):
    """Mean and scale per output of the targets the solvers see.

    The targets become ``(Y - mean) / scale``: the weighted mean and
    standard deviation of each output (``sample_weight`` as in the loss),
    or without intercept no centering and the root mean square as scale;
    a constant output keeps the scale 1. ``standardize=False`` gives 0 and 1.
    """
    k = Y.shape[1]
    if not standardize:
        return np.zeros(k), np.ones(k)
    w = np.ones(len(Y)) if sample_weight is None else np.asarray(
        sample_weight, dtype=np.float64).reshape(-1)
    if w.shape != (len(Y),) or not np.all(np.isfinite(w)) or w.sum() <= 0:
        w = np.ones(len(Y))  # bad weights get their error in _training_rows
    w = np.maximum(w, 0.0) / np.maximum(w, 0.0).sum()
    # over the distinct targets, their weights summed: repeated samples and
    # their weights give the same numbers to the last bit, hence the same
    # program (and the same trained network for its patterns)
    Y, inverse = np.unique(Y, axis=0, return_inverse=True)
    w = np.bincount(inverse.ravel(), weights=w, minlength=len(Y))
    w /= w.sum()
    mean = w @ Y if fit_intercept else np.zeros(k)
    # An output of one value is centred on it exactly: its mean, summed in
    # floating point, can miss it by more than the test below allows (150
    # targets of 7: a scale of 1.7e-14, and the solvers fitted the noise of
    # the last bits, with a ConvergenceWarning).
    single = Y.min(axis=0, initial=np.inf) == Y.max(axis=0, initial=-np.inf)
    if fit_intercept:
        mean[single] = Y[0, single]
    big = np.max(np.abs(Y - mean), axis=0, initial=0.0)
    big[big == 0] = 1.0
    scale = big * np.sqrt(w @ ((Y - mean) / big) ** 2)  # no overflow at 1e200
    # As StandardScaler: a scale at rounding level of the mean is a constant.
    constant = scale <= 10 * np.finfo(float).eps * np.maximum(np.abs(mean), 1e-300)
    scale[constant | ~np.isfinite(scale)] = 1.0
    return mean, scale


class ConvexReLUMixin(BaseEstimator):
    """Shared parameters, program building and fitted attributes of the estimators.

    Subclasses implement ``_training_data(X, y)``, which validates ``X``
    and ``y`` and returns ``X``, the targets encoded as an ``(n_samples,
    n_outputs)`` array and the loss, and pass them to :meth:`_fit_network`
    (one beta) or :meth:`_fit_path` (a sequence of betas). These build the
    convex program, hand it to :mod:`skconvexnn.fitting` and set the
    resulting fit by :meth:`_set_fit`, the only method that sets fitted
    attributes.
    """

    _parameter_constraints = {
        "beta": [Interval(Real, 0, None, closed="neither"), StrOptions({"auto"})],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "n_arrangements": [Interval(Integral, 1, None, closed="left")],
        "arrangements": [StrOptions(ARRANGEMENT_STRATEGIES), "array-like"],
        "max_patterns": [Interval(Integral, 1, None, closed="left")],
        "fit_intercept": ["boolean"],
        "solver": [CaseInsensitiveOptions(set(solver_names()))],
        "tol": [Interval(Real, 0, None, closed="neither")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "warm_start": ["boolean"],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "extrapolation": [StrOptions({"clip", "linear"})],
    }

    # -- gates and program -------------------------------------------------

    def _make_gates(self, X1, rng):
        """Gate vectors for the design matrix ``X1`` (before deduplication)."""
        d1 = X1.shape[1]
        if self._reuses_gates(d1):
            # Same gates as the previous fit, so that its solution is a warm
            # start for this one (a new beta on the same data).
            return self._sampled_gates
        strategy = self._strategy()
        if isinstance(strategy, str):
            if strategy == "exhaustive":
                return enumerate_gates(X1, max_patterns=self.max_patterns)
            # ("trained" here: a path's trained network had no pattern of
            # the data, so the path takes the bisectors)
            if strategy in ("bisector", "trained"):
                self._sampled_gates = bisector_gates(X1, self.n_arrangements, rng,
                                                     intercept=self.fit_intercept)
            else:
                self._sampled_gates = sample_gates(self.n_arrangements, d1, rng)
            return self._sampled_gates
        return gate_array(self.arrangements, d1)

    def _options(self):
        """The solver settings of this fit."""
        return SolverOptions(self.solver, self.tol, self.max_iter, self.verbose)

    def _searching(self):
        return isinstance(self.arrangements, str) and self.arrangements == "search"

    def _strategy(self, n_samples=None, n_outputs=1):
        """``arrangements`` for a fit or a path on ``n_samples`` samples and
        ``n_outputs`` outputs, ``"auto"`` resolved: ``"trained"`` at every
        size and number of outputs (user guide, "Default parameters"), and
        ``"bisector"`` for ``n_samples=None`` (the gates of a path whose
        trained network had no pattern of the data)."""
        if not (isinstance(self.arrangements, str) and self.arrangements == "auto"):
            return self.arrangements
        return "bisector" if n_samples is None else "trained"

    def _training(self, X1, n_samples, n_outputs):
        """Whether this fit trains a network for its patterns (``"trained"``),
        unless a warm start reuses the last ones."""
        strategy = self._strategy(n_samples, n_outputs)
        return (isinstance(strategy, str) and strategy == "trained"
                and not self._reuses_gates(X1.shape[1]))

    def _reuses_gates(self, d1):
        """Whether a warm start takes the gates of the previous fit."""
        return (self.warm_start and self._gate_key() is not None
                and getattr(self, "_gate_source", None) == self._gate_key()
                and self._sampled_gates.shape[1] == d1)

    def _fit_network(self, X, Y, loss, sample_weight=None, beta=None):
        """Build the convex program at ``beta`` (default: :meth:`_beta`) and fit it.

        ``X`` (n_samples, n_features) and ``Y`` (n_samples, n_outputs) are
        validated arrays. Trained patterns come from a network trained at
        ``beta``. Sets every fitted attribute.
        """
        shape = Y.shape
        beta = self._beta(*shape) if beta is None else float(beta)
        with self._blas_limit(X):
            rng = check_random_state(self.random_state)
            X1, pool, Y, s = self._training_rows(X, Y, sample_weight)
            template = self._template(X1, Y, loss, s, beta, pool)
            if self._searching():
                fit = fit_search(template, self._options(), self.n_arrangements, rng,
                                 self.max_patterns, warm=self._search_warm_start(X1))
            elif self._training(X1, *shape):
                fit = fit_trained(template, self._options(), self.n_arrangements, rng,
                                  self.max_patterns)
                self._sampled_gates = fit.gates
            else:
                program, gates = self._program(X1, Y, loss, s, beta, rng, pool)
                init = getattr(self, "_solution", None) if self.warm_start else None
                fit = fit_beta(program, self._options(), gates, init)
            self._set_fit(fit)
        return self

    #: The beta of ``beta="auto"`` up to AUTO_BETA_SAMPLES samples per output
    #: (each estimator's own), and the power of its shrinkage beyond
    #: (:func:`auto_beta`).
    _auto_beta = None
    _auto_beta_power = 1.0

    def _beta(self, n_samples, n_outputs=1):
        """The beta of a fit on ``n_samples`` samples and ``n_outputs``
        outputs: ``beta``, or the rule of ``beta="auto"`` (:func:`auto_beta`)."""
        if isinstance(self.beta, str):
            return auto_beta(self._auto_beta, n_samples, n_outputs,
                             self._auto_beta_power)
        return float(self.beta)

    def _search_warm_start(self, X1):
        """``(gates, solution, examined gates)`` of the previous search, if reused."""
        if (self.warm_start and getattr(self, "_gate_source", None) == self._gate_key()
                and self.gates_.shape[1] == X1.shape[1]):
            return self.gates_, self._solution, self.examined_gates_
        return None

    def _fit_path(self, X, Y, loss, sample_weight, betas, on_fit):
        """Fit the network at each beta in turn, on the same patterns.

        ``betas(beta_max)`` returns the decreasing sequence of betas given
        ``beta_max`` of the program (:func:`program_beta_max`); the fits are
        those of :func:`skconvexnn.fitting.fit_path`. After each fit,
        ``on_fit(self)`` is called with every fitted attribute set for that
        beta; when it returns a true value, the path stops there.

        Returns
        -------
        betas : ndarray
            The betas fitted (a prefix of the sequence when ``on_fit``
            stopped the path).
        beta_max : float
        """

        def step(fit):
            self._set_fit(fit)
            return on_fit(self)

        with self._blas_limit(X):
            program, gates, _ = self._path_program(X, Y, loss, sample_weight)
            _, betas, largest = fit_path(program, betas, self._options(), gates,
                                         on_fit=step)
        return betas, largest

    def _beta_max(self, X, Y, loss, sample_weight=None):
        """``beta_max`` of the program a path on this data would solve."""
        with self._blas_limit(X):
            return program_beta_max(self._path_program(X, Y, loss, sample_weight)[0])

    def _path_program(self, X, Y, loss, sample_weight, hold_out=False):
        """The program shared by every beta of a path (``beta`` at 1), its
        gates, and the samples (program rows) whose fits did not choose
        the patterns (None: all of them).

        Trained patterns (``"trained"``, or ``"auto"`` choosing them) are
        those of one network trained at this estimator's beta
        (:meth:`_beta`), kept at every beta of the path. With ``hold_out``,
        the network is trained on a random half of the samples only, and
        the other half is returned: their approximate leave-one-out
        outputs then see no choice made on them.
        """
        if self._searching():
            raise ValueError(
                "A beta path needs the same patterns at every beta, and "
                "arrangements='search' chooses them for one beta. Use "
                "arrangements='auto', 'bisector', 'gaussian', 'exhaustive', "
                "'trained' or gate vectors, or "
                "tune beta with GridSearchCV and warm_start=True."
            )
        shape = Y.shape
        X1, pool, Y, s = self._training_rows(X, Y, sample_weight)
        rng = check_random_state(self.random_state)
        strategy = self._strategy(*shape)
        if isinstance(strategy, str) and strategy == "trained":
            n = len(X1)
            rows = held = None
            if hold_out and n >= 4:  # (merged repeats can leave few rows)
                order = rng.permutation(n)
                rows, held = np.sort(order[:n // 2]), np.sort(order[n // 2:])
            beta = self._beta(shape[0] if rows is None else shape[0] // 2, shape[1])
            template = self._template(X1, Y, loss, s, beta, pool)
            program, gates = trained_program(template, self.n_arrangements, rng,
                                             self.max_patterns, rows=rows)
            if len(gates):
                return replace(program, beta=1.0), gates, held
        return (*self._program(X1, Y, loss, s, 1.0, rng, pool), None)

    def _template(self, X1, Y, loss, s, beta, pool):
        """The program with no pattern yet (a search or a training run
        chooses them)."""
        return ConvexProgram(
            X=X1, patterns=np.empty((X1.shape[0], 0)), Y=Y, beta=beta,
            loss=loss, activation=self.activation,
            fit_intercept=self.fit_intercept, sample_weight=s, pool=pool)

    def _blas_limit(self, X):
        """Small fits run BLAS single-threaded, recovery and bounds included."""
        limit = blas_threads(X.shape[0], X.shape[1], self.n_arrangements)
        return threadpool_limits(limits=limit, user_api="blas")

    def _training_rows(self, X, Y, sample_weight):
        """Design matrix, its pooling, targets and weights (summing to one).

        Samples of zero weight are left out entirely: their rows would
        otherwise still add cone constraints. Identical samples (the same
        features and target) become one, with their weights summed, and
        weighted or merged samples are put in a canonical order: that is the
        same program with fewer rows, and data given with integer weights or
        with repeated samples (in any order) then yield the very same
        program, hence the same fit. Unweighted data without repeats keep
        their order.
        """
        X, Y, sw, _ = merge_repeats(X, Y, sample_weight)
        X1, pool = self._design(X)
        return X1, pool, Y, sw / sw.sum()

    @staticmethod
    def _row_shares(X, Y, sample_weight):
        """The share of one sample in each row of :meth:`_training_rows`:
        one over the number of samples the row merges (the part of the
        row that leaves in a leave-one-out output)."""
        return 1.0 / merge_repeats(X, Y, sample_weight)[3]

    def _program(self, X1, Y, loss, s, beta, rng, pool=None):
        """The program over the patterns of this fit's gates, and those gates."""
        gates = self._make_gates(X1, rng)
        patterns, gates = unique_patterns(patterns_from_gates(X1, gates), gates)
        program = ConvexProgram(
            X=X1, patterns=patterns, Y=Y, beta=beta, loss=loss,
            activation=self.activation, fit_intercept=self.fit_intercept,
            sample_weight=s, pool=pool,
        )
        return program, gates

    def _set_fit(self, fit):
        """Set the fitted attributes of ``fit`` (:class:`skconvexnn.fitting.Fit`).

        The one place that sets them: the optional ones of the previous fit
        are deleted first, so that none outlives the fit that made it. Raises
        the fit's :class:`~sklearn.exceptions.ConvergenceWarning`.
        """
        self._clear_fitted()
        self.beta_ = fit.beta
        self._set_weights(fit.U, fit.A, fit.c)
        self.n_neurons_ = fit.n_neurons
        self.n_outputs_ = fit.n_outputs
        self.gates_ = fit.gates
        self._gate_source = self._gate_key()
        if fit.examined_gates is not None:
            self.examined_gates_ = fit.examined_gates
        if fit.search_report is not None:
            self.search_report_ = fit.search_report
            self.search_seed_objective_ = fit.search_report["seed_objective"]
        if fit.trained_objective is not None:
            self.trained_objective_ = fit.trained_objective
        if fit.G is not None:
            self.neuron_gates_ = fit.G
        self.n_iter_ = fit.n_iter
        self.objective_ = fit.objective
        self.lower_bound_ = fit.lower_bound
        self.duality_gap_ = fit.duality_gap
        self.objective_curve_ = fit.objective_curve
        self.solver_ = fit.solver
        self._solution = fit.solution
        self._check_finite()
        for message in fit.warnings:
            warnings.warn(message, ConvergenceWarning)
        if self.verbose:
            print(
                f"[{type(self).__name__}] solver={fit.solver}{fit.where} "
                f"patterns={fit.n_patterns} neurons={self.n_neurons_} "
                f"objective={self.objective_:.6g} gap={self.duality_gap_:.3g}"
            )
        return self

    def _clear_fitted(self):
        """Delete the fitted attributes that only some fits set.

        Every fit calls this before it sets its attributes, so that a refit
        after ``set_params`` (say ``gated_relu`` to ``relu``) never keeps an
        attribute of the previous fit (such as ``neuron_gates_``).
        """
        for name in OPTIONAL_FITTED_ATTRIBUTES:
            self.__dict__.pop(name, None)

    def _check_finite(self):
        arrays = [*self.coefs_, *self.intercepts_]
        if not all(np.all(np.isfinite(a)) for a in arrays) or not np.isfinite(
            self.objective_
        ):
            raise FloatingPointError(
                "The fitted network has non-finite weights; the solver failed. "
                "Try another solver or rescale the data."
            )

    # -- design matrix and weights (overridden by the CNN estimators) -------

    def _design(self, X):
        """Design matrix of validated ``X`` and its pooling (None: no pooling)."""
        return add_ones(X, self.fit_intercept), None

    def _set_weights(self, U, A, c):
        """``coefs_`` and ``intercepts_`` from the network in design space."""
        d = U.shape[1] - self.fit_intercept
        # Regressors fit standardized targets: the output layer in user units.
        scale, mean = getattr(self, "_target_shift", (1.0, 0.0))
        self.coefs_ = [U[:, :d].T.copy(), A * scale]
        self.intercepts_ = [
            U[:, d].copy() if self.fit_intercept else np.zeros(len(U)),
            c * scale + mean,
        ]

    def _hidden_weights(self):
        """Hidden weights, shape (n_neurons_, n_design_features) without biases."""
        return self.coefs_[0].T

    # -- evaluation ---------------------------------------------------------

    def _network(self):
        """``(U, A, c, neuron_gates)`` in design-matrix space."""
        A = self.coefs_[1]
        b1, c = self.intercepts_
        W1 = self._hidden_weights()
        U = np.hstack([W1, b1[:, None]]) if self.fit_intercept else W1
        return U, A, c, getattr(self, "neuron_gates_", None)

    def _record_range(self, X, sample_weight):
        """Set ``data_min_`` and ``data_max_``, each feature's range over the
        training samples of positive weight (validated ``X``, one row a
        sample; a sample of zero weight is as good as absent)."""
        if sample_weight is not None:
            X = X[check_weights(sample_weight, X) > 0]
        self.data_min_, self.data_max_ = feature_range(X)

    def _forward(self, X):
        """Output of the recovered network, shape (n_samples, n_outputs), on
        ``X`` clipped to the training range with ``extrapolation="clip"``."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float64)
        if self.extrapolation == "clip":
            X = np.clip(X, self.data_min_, self.data_max_)
        U, A, c, G = self._network()
        X1, pool = self._design(X)
        return network_predict(X1, U, A, c, G, pool)

    def _gate_key(self):
        """Settings under which sampled gates may be reused by a warm start."""
        if isinstance(self.arrangements, str) and self.arrangements in (
            "auto", "bisector", "gaussian", "search", "trained"
        ):
            return (self.arrangements, self.n_arrangements)
        return None


def merge_repeats(X, Y, sample_weight):
    """The samples of positive weight, identical ones (the same features and
    target) merged into one row with their weights summed (see
    ``_training_rows``).

    Returns
    -------
    X, Y, sample_weight : ndarray
        One row per distinct sample; the weights are not normalized.
    counts : ndarray of int
        The number of samples each row merges.
    """
    sw = check_weights(sample_weight, X)
    if sw.sum() <= 0:
        raise ValueError("sample_weight must have a positive sum.")
    rows = sw > 0
    X, Y, sw = X[rows], Y[rows], sw[rows]
    keys = np.hstack([X.reshape(len(X), -1), Y])
    _, first, inverse = np.unique(keys, axis=0, return_index=True,
                                  return_inverse=True)
    counts = np.ones(len(X), dtype=np.intp)
    if len(first) < len(keys) or np.ptp(sw) > 0:
        sw = np.bincount(inverse.ravel(), weights=sw, minlength=len(first))
        counts = np.bincount(inverse.ravel(), minlength=len(first))
        X, Y = X[first], Y[first]
    return X, Y, sw, counts


def feature_range(X):
    """Each feature's smallest and largest value in ``X`` (n_samples,
    n_features), as float arrays: the range that ``extrapolation="clip"``
    clips the inputs of ``predict`` to (empty ``X``: no bound)."""
    X = np.asarray(X, dtype=np.float64)
    if not len(X):
        return np.full(X.shape[1], -np.inf), np.full(X.shape[1], np.inf)
    return X.min(axis=0), X.max(axis=0)
