"""What every convex ReLU estimator shares: gates, program, solve, recovery."""

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

from ._dask import dask_rows
from ._progress import Progress
from ._program import (
    ACTIVATIONS,
    ConvexProgram,
    lower_bound,
    program_beta_max,
    zero_network_beta,
)
from ._screening import pattern_norms, solve_on_working_set
from ._search import search_arrangements, search_report, seed_networks
from .arrangements import enumerate_gates, patterns_from_gates, sample_gates, unique_patterns
from .recovery import (
    network_objective,
    network_predict,
    prune_network,
    recover_best_network,
)
from .solvers import (
    NATIVE_SOLVERS,
    get_solver,
    native_order,
    solve_with_fallback,
    solver_names,
)
from .solvers._blocks import trivial_result
from .solvers.base import blas_threads

#: The ``arrangements`` strategies that are not arrays of gates.
ARRANGEMENT_STRATEGIES = {"gaussian", "exhaustive", "search"}

#: Fitted attributes that only some fits set: every fit first deletes them
#: (:meth:`ConvexReLUMixin._clear_fitted`), so that a refit with other
#: settings never keeps what the previous fit left.
OPTIONAL_FITTED_ATTRIBUTES = (
    "neuron_gates_", "examined_gates_", "search_report_", "search_seed_objective_",
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
    mean = w @ Y if fit_intercept else np.zeros(k)
    big = np.max(np.abs(Y - mean), axis=0, initial=0.0)
    big[big == 0] = 1.0
    scale = big * np.sqrt(w @ ((Y - mean) / big) ** 2)  # no overflow at 1e200
    # As StandardScaler: a scale at rounding level of the mean is a constant.
    constant = scale <= 10 * np.finfo(float).eps * np.maximum(np.abs(mean), 1e-300)
    scale[constant | ~np.isfinite(scale)] = 1.0
    return mean, scale


class ConvexReLUMixin(BaseEstimator):
    """Shared parameters and fitting machinery of the convex ReLU estimators.

    Subclasses implement ``_training_data(X, y)``, which validates ``X``
    and ``y`` and returns ``X``, the targets encoded as an ``(n_samples,
    n_outputs)`` array and the loss, and pass them to :meth:`_fit_network`
    (one beta) or :meth:`_fit_path` (a sequence of betas).
    """

    _parameter_constraints = {
        "beta": [Interval(Real, 0, None, closed="neither")],
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
    }

    # -- gates and program -------------------------------------------------

    def _make_gates(self, X1, rng):
        """Gate vectors for the design matrix ``X1`` (before deduplication)."""
        d1 = X1.shape[1]
        if (
            self.warm_start
            and self._gate_key() is not None
            and getattr(self, "_gate_source", None) == self._gate_key()
            and self._sampled_gates.shape[1] == d1
        ):
            # Same gates as the previous fit, so that its solution is a warm
            # start for this one (a new beta on the same data).
            return self._sampled_gates
        if isinstance(self.arrangements, str):
            if self.arrangements == "exhaustive":
                return enumerate_gates(X1, max_patterns=self.max_patterns)
            self._sampled_gates = sample_gates(self.n_arrangements, d1, rng)
            return self._sampled_gates
        gates = np.asarray(self.arrangements, dtype=np.float64)
        if gates.ndim != 2 or gates.shape[1] != d1:
            raise ValueError(
                "arrangements given as gate vectors must have shape (n_gates, "
                f"n_features_in_ + fit_intercept) = (n_gates, {d1}); got "
                f"{gates.shape}."
            )
        if not np.all(np.isfinite(gates)):
            raise ValueError("arrangements contains NaN or infinite values.")
        return gates

    def _fit_network(self, X, Y, loss, sample_weight=None, beta=None):
        """Build and solve the convex program, recover and prune the network.

        ``X`` (n_samples, n_features) and ``Y`` (n_samples, n_outputs) are
        validated arrays; ``beta`` defaults to ``self.beta``. Sets every
        fitted attribute.
        """
        beta = self.beta if beta is None else beta
        with self._blas_limit(X):
            rng = check_random_state(self.random_state)
            X1, pool, Y, s = self._training_rows(X, Y, sample_weight)
            if isinstance(self.arrangements, str) and self.arrangements == "search":
                empty = ConvexProgram(
                    X=X1, patterns=np.empty((X1.shape[0], 0)), Y=Y, beta=beta,
                    loss=loss, activation=self.activation,
                    fit_intercept=self.fit_intercept, sample_weight=s, pool=pool)
                if beta >= zero_network_beta(empty, all_patterns=True):
                    # No pattern at all can enter: the zero network is optimal.
                    self._set_zero_network(empty, np.empty((0, X1.shape[1])))
                    self.examined_gates_ = self.gates_
                    return self
                search = self._search(X1, Y, loss, s, float(beta), rng)
                solver = search.solver or get_solver(self.solver, search.program,
                                                     tol=self.tol)
                # The certificate covers every examined pattern (user guide,
                # "Arrangement search").
                self._set_network(search.program, search.result, solver,
                                  search.gates, search)
                return self
            program = self._program(X1, Y, loss, s, float(beta), rng, pool)
            if beta >= zero_network_beta(program):
                # At or above beta_max: no solve (a solver would only meet
                # the overflow of a huge beta).
                self._set_zero_network(program, self.gates_)
                return self
            init = getattr(self, "_solution", None) if self.warm_start else None
            self._set_network(program, *self._solve(program, init), self.gates_)
        return self

    def _set_zero_network(self, program, gates):
        """Set the fitted attributes of the network with no neuron.

        It is optimal at ``program.beta`` (at or above beta_max).
        """
        solver = get_solver(self.solver, program, tol=self.tol)
        return self._set_network(program, trivial_result(program), solver, gates,
                                 exact=True)

    def _fit_path(self, X, Y, loss, sample_weight, betas, on_fit, certify=True):
        """Fit the network at each beta in turn, on the same patterns.

        ``betas(beta_max)`` returns the decreasing sequence of betas given
        ``beta_max`` of the program (:func:`program_beta_max`); betas at or
        above ``beta_max`` take the zero network without a solve, the others
        are solved on working sets of patterns
        (:func:`skconvexnn._screening.solve_on_working_set`), each warm
        started from the previous solution. After each fit, ``on_fit(self)``
        is called with every fitted attribute set for that beta; when it
        returns a true value, the path stops there.

        ``certify=False`` (the CV estimators' folds, which only predict)
        skips the lower bounds a native solver's converged flag already
        vouches for: ``lower_bound_`` is then the solver's own bound, or
        ``-inf``, and ``duality_gap_`` may be infinite. Fits of other
        solvers are certified as always.

        Returns
        -------
        betas : ndarray
            The betas fitted (a prefix of the sequence when ``on_fit``
            stopped the path).
        beta_max : float
        """
        with self._blas_limit(X):
            program = self._path_program(X, Y, loss, sample_weight)
            largest = program_beta_max(program)
            betas = np.asarray(betas(largest), dtype=float)
            # Start from the zero network, optimal at beta_max.
            result, previous = trivial_result(program), largest
            norms = pattern_norms(program, result)
            progress = Progress("path", self.verbose, len(betas))
            for step, beta in enumerate(betas, 1):
                program = replace(program, beta=float(beta))
                exact = beta >= largest
                if exact:
                    # The zero network is optimal: no solve needed (its
                    # dual point is feasible, so the gap computed is zero).
                    result = trivial_result(program)
                    solver = get_solver(self.solver, program, tol=self.tol)
                else:
                    result, solver, norms = solve_on_working_set(
                        program, self._solve, result, norms, previous,
                        whole_bound=certify)
                    previous = beta
                self._set_network(program, result, solver, self.gates_, exact=exact,
                                  certify=certify)
                progress.update(step, self.objective_, self.duality_gap_,
                                beta=float(beta))
                if on_fit(self):
                    betas = betas[:step]
                    break
            progress.close()
        return betas, largest

    def _beta_max(self, X, Y, loss, sample_weight=None):
        """``beta_max`` of the program a path on this data would solve."""
        with self._blas_limit(X):
            return program_beta_max(self._path_program(X, Y, loss, sample_weight))

    def _path_program(self, X, Y, loss, sample_weight):
        """The program shared by every beta of a path (``beta`` left at 1)."""
        if isinstance(self.arrangements, str) and self.arrangements == "search":
            raise ValueError(
                "A beta path needs the same patterns at every beta, and "
                "arrangements='search' chooses them for one beta. Use "
                "arrangements='gaussian', 'exhaustive' or gate vectors, or "
                "tune beta with GridSearchCV and warm_start=True."
            )
        X1, pool, Y, s = self._training_rows(X, Y, sample_weight)
        return self._program(X1, Y, loss, s, 1.0,
                             check_random_state(self.random_state), pool)

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
        sw = check_weights(sample_weight, X)
        if sw.sum() <= 0:
            raise ValueError("sample_weight must have a positive sum.")
        rows = sw > 0
        X, Y, sw = X[rows], Y[rows], sw[rows]
        keys = np.hstack([X.reshape(len(X), -1), Y])
        _, first, inverse = np.unique(keys, axis=0, return_index=True,
                                      return_inverse=True)
        if len(first) < len(keys) or np.ptp(sw) > 0:
            sw = np.bincount(inverse.ravel(), weights=sw, minlength=len(first))
            X, Y = X[first], Y[first]
        X1, pool = self._design(X)
        return X1, pool, Y, sw / sw.sum()

    def _program(self, X1, Y, loss, s, beta, rng, pool=None):
        """The program over the patterns of this fit's gates (sets ``gates_``)."""
        gates = self._make_gates(X1, rng)
        patterns, self.gates_ = unique_patterns(patterns_from_gates(X1, gates), gates)
        return ConvexProgram(
            X=X1, patterns=patterns, Y=Y, beta=beta, loss=loss,
            activation=self.activation, fit_intercept=self.fit_intercept,
            sample_weight=s, pool=pool,
        )

    def _solve(self, program, init):
        solver = get_solver(self.solver, program, tol=self.tol,
                            max_iter=self.max_iter, verbose=self.verbose)
        return solve_with_fallback(solver, program, init, self.solver)

    def _set_network(self, program, result, solver, gates, search=None, exact=False,
                     certify=True):
        """Recover and prune the network of ``result``; set the fitted attributes.

        ``search`` is the arrangement search that produced ``program``, if any;
        ``exact`` says that ``result`` is known optimal (the zero network at
        or above beta_max), so that rounding in its bound is not polished.
        The certificate decides convergence, not the solver's status: when
        the relative gap of a cvxpy solve is above ``tol``, the program is
        re-solved by a native solver warm started from it, the better network
        is kept with the better of the two bounds, and a gap still above
        ``tol`` raises a :class:`~sklearn.exceptions.ConvergenceWarning`.
        """
        self._clear_fitted()
        # A native solver's converged flag is its certificate (_converged):
        # the bounds would only fill lower_bound_ (certify=False), and a
        # certified bound over the whole program needs no recomputing (for
        # the ReLU program that is a projection per block, 15 % of a digits
        # fit).
        proven = result.converged and solver.name in NATIVE_SOLVERS
        own = (proven and search is None and result.lower_bound is not None
               and np.isfinite(result.lower_bound))
        bounds = not own if certify else not proven
        net = self._certify(program, result, gates, search, bounds=bounds)
        polish = None
        if exact:
            # Optimal by the dual test at beta_max (zero_network_beta).
            net["bound"] = net["objective"]
        if not exact and not self._converged(net, result, solver):
            polish = self._polish(program, result, solver, gates, search)
            if polish is not None:
                result2, solver2, net2 = polish
                bound = max(net["bound"], net2["bound"])
                curve = [*result.objective_curve, *result2.objective_curve]
                n_iter = int(result.n_iter) + int(result2.n_iter)
                if net2["objective"] < net["objective"]:
                    net, result, solver = net2, result2, solver2
                net = {**net, "bound": bound, "curve": curve, "n_iter": n_iter}
        U, A, G, c = net["network"]
        self._set_weights(U, A, c)
        self.n_neurons_ = len(U)
        self.n_outputs_ = program.Y.shape[1]
        self.gates_ = gates
        self._gate_source = self._gate_key()
        if search is not None:
            self.examined_gates_ = search.pool_gates
            self.search_report_ = search_report(search)
            self.search_seed_objective_ = self.search_report_["seed_objective"]
        if G is not None:
            self.neuron_gates_ = G
        self.n_iter_ = int(net.get("n_iter", result.n_iter))
        self.objective_ = float(net["objective"])
        self.lower_bound_ = float(net["bound"])
        self.duality_gap_ = max(self.objective_ - self.lower_bound_, 0.0)
        self.objective_curve_ = np.asarray(net.get("curve", result.objective_curve),
                                           dtype=float)
        self.solver_ = solver.name
        self._solution = result
        self._check_finite()
        if not exact and not self._converged(net, result, solver):
            warnings.warn(self._convergence_advice(result, solver, polish),
                          ConvergenceWarning)
        if search is not None and not search.converged:
            warnings.warn(
                f"The arrangement search stopped ({search.reason}) after "
                f"{search.n_rounds} solves with examined patterns still violating "
                f"their dual constraint (by {search.max_violation:.3g} relative to "
                "beta). Increase n_arrangements (more patterns per round) or "
                f"max_patterns (now {self.max_patterns}); with a nonsmooth loss, "
                "a stalled search may already be optimal.",
                ConvergenceWarning,
            )
        if self.verbose:
            print(
                f"[{type(self).__name__}] solver={solver.name} "
                f"patterns={program.n_patterns} neurons={self.n_neurons_} "
                f"objective={self.objective_:.6g} gap={self.duality_gap_:.3g}"
            )
        return self

    def _certify(self, program, result, gates, search=None, bounds=True):
        """The pruned network of ``result``, its objective and a lower bound.

        ``bounds=False``: the bound is the solver's own (``-inf`` if none).
        """
        bound_program = program if search is None else search.pool_program
        U, A, G, c = recover_best_network(program, result, gates)
        groups = np.argmax(np.abs(A), axis=1) if len(A) else None
        U, A, G = prune_network(program.X, U, A, G, groups=groups, pool=program.pool)
        objective = float(network_objective(program, U, A, c, G))
        # Both the network and the solver's raw blocks give dual points; the
        # raw blocks are often the better one (dropping near-zero blocks moves
        # the residual off the optimum), and either bound is valid.
        # Native solvers prove their own bound (from their multipliers too);
        # only the others need the stationarity refinement for kinked losses.
        if not bounds:
            return {"network": (U, A, G, c), "objective": objective,
                    "bound": (-np.inf if result.lower_bound is None or search
                              is not None else float(result.lower_bound))}
        blocks = (result.V, result.W, result.intercept)
        bound = max(
            lower_bound(bound_program,
                        network_predict(program.X, U, A, 0.0, G, program.pool)),
            lower_bound(bound_program, program.predict(result.V, result.W),
                        blocks=blocks if result.lower_bound is None
                        and search is None else None),
        )
        # A solver's own bound covers the active patterns only.
        if result.lower_bound is not None and search is None:
            bound = max(bound, result.lower_bound)
        return {"network": (U, A, G, c), "objective": objective,
                "bound": float(bound)}

    def _converged(self, net, result, solver):
        """Whether the certificate of ``net`` is within ``tol`` (relative).

        A native solver's own converged flag is its certificate; a cvxpy
        status is not one ("optimal" solves were seen 87 % above their bound).
        """
        if result.converged and solver.name in NATIVE_SOLVERS:
            return True
        gap = net["objective"] - net["bound"]
        return gap <= self.tol * max(abs(net["objective"]), np.finfo(float).tiny)

    def _polish(self, program, result, solver, gates, search=None):
        """Re-solve with a native solver warm started from a loose cvxpy solve.

        Returns ``(result, solver, certified network)``, or None when the
        solve was native already or no native solver handles the program.
        """
        if solver.name in NATIVE_SOLVERS:
            return None
        # The native solvers in the order "auto" tries them on this program.
        for cls in native_order(program):
            native = cls(tol=self.tol, max_iter=self.max_iter, verbose=self.verbose)
            try:
                native.check_program(program)
            except (ValueError, MemoryError):
                continue
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                polished = native.solve(program, init=result)
            return polished, native, self._certify(program, polished, gates, search)
        return None

    def _convergence_advice(self, result, solver, polish):
        """The ConvergenceWarning text: the gap reached and advice for this case."""
        gap = self.duality_gap_ / max(abs(self.objective_), 1e-300)
        head = (
            f"The fit stopped with a relative duality gap of {gap:.3g} "
            f"(absolute {self.duality_gap_:.3g}) above tol={self.tol}: solver "
            f"{solver.name!r}, status {result.status!r}, {result.n_iter} "
            f"iterations (max_iter={self.max_iter})"
        )
        if polish is not None:
            head += (f", after a re-solve with {polish[1].name!r} warm started "
                     f"from the {solver.name!r} solution")
        if solver.name in NATIVE_SOLVERS:
            advice = (
                "Increase max_iter or tol, standardize X "
                "(StandardScaler), or use a larger beta"
            )
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

    def _clear_fitted(self):
        """Delete the fitted attributes that only some fits set.

        Every fit calls this before it sets its attributes, so that a refit
        after ``set_params`` (say ``gated_relu`` to ``relu``) never keeps an
        attribute of the previous fit (such as ``neuron_gates_``).
        """
        for name in OPTIONAL_FITTED_ATTRIBUTES:
            self.__dict__.pop(name, None)

    def _search(self, X1, Y, loss, s, beta, rng):
        """Run the cutting-plane arrangement search (:mod:`skconvexnn._search`)."""
        template = ConvexProgram(
            X=X1, patterns=np.empty((X1.shape[0], 0)), Y=Y, beta=beta,
            loss=loss, activation=self.activation,
            fit_intercept=self.fit_intercept, sample_weight=s,
        )
        warm = (
            self.warm_start
            and getattr(self, "_gate_source", None) == self._gate_key()
            and self.gates_.shape[1] == X1.shape[1]
        )
        seeds = None if warm else seed_networks(template, self.n_arrangements, rng)
        return search_arrangements(
            template, self._solve, self.n_arrangements, rng, tol=self.tol,
            max_patterns=self.max_patterns,
            init_gates=self.gates_ if warm else None,
            init_result=self._solution if warm else None,
            pool_gates=self.examined_gates_ if warm else None,
            seeds=seeds, verbose=self.verbose,
        )

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

    def _forward(self, X):
        """Output of the recovered network, shape (n_samples, n_outputs)."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float64)
        U, A, c, G = self._network()
        X1, pool = self._design(X)
        return network_predict(X1, U, A, c, G, pool)

    def _gate_key(self):
        """Settings under which sampled gates may be reused by a warm start."""
        if isinstance(self.arrangements, str) and self.arrangements in (
            "gaussian", "search"
        ):
            return (self.arrangements, self.n_arrangements)
        return None


class MultiOutputRegressorMixin:
    """``predict`` and tags shared by the regressors (1-D ``y`` stays 1-D)."""

    @dask_rows
    def predict(self, X):
        """Output of the recovered ReLU network.

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
