"""CopositiveMultiOutputRegressor: shared hidden units for several outputs."""

import warnings
from dataclasses import replace

import numpy as np
from sklearn.base import _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import validate_data
from threadpoolctl import threadpool_limits

from ._base import add_ones, feature_range, target_scaling
from ._copositive_base import CopositiveRegressorBase
from .arrangements import sample_gates
from .recovery import prune_network
from .solvers.shared_units import (
    ConePCAOracle,
    PatternPool,
    SharedUnitsResult,
    estimate_relaxation_size,
    frank_wolfe,
    solve_relaxation,
    svd_closed_form,
    train_shared,
    zero_network,
)

__all__ = ["CopositiveMultiOutputRegressor"]

#: ``method="auto"`` uses the relaxation up to this many samples ...
AUTO_MAX_SAMPLES_RELAXATION = 20
#: ... while its estimated memory stays below this many bytes (n = 10,
#: d = 500 would need 17 GiB), Frank-Wolfe otherwise.
AUTO_MAX_RELAXATION_BYTES = 2**28
#: ``arrangements="search"``: L-BFGS iterations of the seed network (whose
#: ``n_arrangements`` hidden units give the first patterns beyond the
#: Gaussian gates).
SEED_ITER = 1000
#: Defaults of ``tol`` and ``max_iter`` per method when they are None.
DEFAULT_TOL = {"relaxation": 1e-6, "frank_wolfe": 1e-4, "svd": 1e-6, "scalar": 1e-6}
DEFAULT_MAX_ITER = {"relaxation": 10_000, "frank_wolfe": 1000, "svd": 1,
                    "scalar": 10_000}


def shared_target_scaling(Y, fit_intercept, standardize=True):
    """Mean of each output and one scale shared by the outputs.

    The targets the solvers see are ``(Y - mean) / scale``: each output
    centred (with ``fit_intercept``) and all divided by the root mean
    square of the centred targets over samples and outputs, so that the
    outputs keep their relative weights in the loss and one beta means the
    same whatever the units. A scale at rounding level of the mean (constant
    targets) is 1. Returns ``mean`` (n_outputs,) and ``scale`` (n_outputs,),
    its entries equal; ``standardize=False`` gives 0 and 1.
    """
    k = Y.shape[1]
    mean = target_scaling(Y, None, fit_intercept, standardize=standardize)[0]
    if not standardize:
        return mean, np.ones(k)
    R = Y - mean
    big = float(np.max(np.abs(R), initial=0.0))
    scale = big * float(np.sqrt(np.mean((R / big) ** 2))) if big > 0 else 0.0
    eps = 10 * np.finfo(float).eps * max(float(np.max(np.abs(mean), initial=0.0)),
                                         1e-300)
    if not np.isfinite(scale) or scale <= eps:
        scale = 1.0
    return mean, np.full(k, scale)


class CopositiveMultiOutputRegressor(CopositiveRegressorBase):

    r"""Vector-output two-layer ReLU network with shared hidden units.

    The network is :math:`F(x) = \sum_j (x^\top u_j + b_j)_+ a_j^\top + c`
    with :math:`a_j \in \mathbb{R}^k`: every hidden unit feeds all outputs.
    Its training problem

    .. math::

        \min \frac{1}{2n} \|F(X) - Y\|_F^2
        + \frac{\beta}{2} \sum_j \left(\|u_j\|^2 + b_j^2 + \|a_j\|^2\right)

    on the standardized targets :math:`Y = (y - \bar y) / s` (each output
    centred, all divided by one scale :math:`s`, the root mean square of the
    centred targets, in `y_mean_` and `y_scale_`) is a copositive program
    (Sahiner et al., 2021); this estimator solves it
    by a semidefinite relaxation with a certificate, by Frank-Wolfe with
    cone-constrained PCA steps (the paper's polynomial-time algorithm), or in
    closed form for whitened data.

    Parameters
    ----------
    beta : float, default=1e-2
        Weight-decay strength, > 0, of the problem on the standardized
        targets (see Notes), so that one beta means the same whatever the
        units of ``y``. The data term is a mean: the papers' regularization
        is ``n_samples * beta``. The default was measured on six real
        tables of two or three outputs (the benchmarks page, "The
        shared-unit estimator at its defaults").
    method : {"auto", "relaxation", "frank_wolfe", "svd", "scalar"}, default="auto"
        ``"relaxation"``: the copositive relaxation (lifted PSD blocks, one
        per pattern, with ``K_i A_i K_i^T >= 0`` entrywise), solved by cvxpy;
        ``"frank_wolfe"``: fully corrective Frank-Wolfe on the
        cone-constrained nuclear-norm problem (see Notes);
        ``"svd"``: the soft-thresholded SVD, for whitened data
        (``X X^T = I``, ``fit_intercept=False``) whose targets have
        nonnegative left singular vectors; ``"scalar"``, for a single output
        only: the exact convex program of :class:`ConvexReLURegressor` on the
        same patterns (see Notes); ``"auto"``: ``"scalar"`` for a single
        output on fixed patterns (not with ``arrangements="search"``);
        otherwise Frank-Wolfe, except up to 20 samples when its oracle
        would be approximate, where the relaxation is used while its
        estimated memory (``n^2 d^2`` per pattern) stays below 256 MiB.
    n_arrangements : int, default=50
        Gaussian gate vectors drawn (``"gaussian"`` and ``"search"``); with
        ``"search"`` also the hidden units of its seed network.
    arrangements : {"search", "gaussian", "exhaustive"} or array-like, default="search"
        Where the patterns come from. ``"search"``: Frank-Wolfe grows them
        (see Notes), starting from the Gaussian gates and the patterns of
        a seed network (``n_arrangements`` shared units trained by L-BFGS
        on the weight-decay objective), so that the fit starts from what
        training finds and can only improve on it. ``"gaussian"``,
        ``"exhaustive"`` or gate vectors: fixed patterns, as in
        :class:`ConvexReLURegressor`. With ``"exhaustive"`` the lower bound
        holds over every network; otherwise over every network whose units
        use patterns of ``gates_`` (for the search, its final pool).
    max_patterns : int, default=10_000
        Limit of the exhaustive enumeration.
    fit_intercept : bool, default=True
        Hidden biases (penalized, via a ones column) and an unpenalized
        output intercept.
    solver : str, default="auto"
        cvxpy solver with PSD cones (``"clarabel"`` for ``"auto"``, ``"scs"``);
        with ``method="scalar"``, any solver of :class:`ConvexReLURegressor`.
    tol : float or None, default=None
        Relaxation: solver tolerance, and relative tolerance of the
        certificate (None: 1e-6). Frank-Wolfe: relative duality gap at which
        it stops (None: 1e-4). ``"scalar"``: as in
        :class:`ConvexReLURegressor` (None: 1e-6).
    max_iter : int or None, default=None
        Iteration limit of the relaxation's solver (None: 10,000), of
        Frank-Wolfe (None: 1,000) or of the scalar program's solver (None:
        10,000).
    warm_start : bool, default=False
        Reuse the previous fit's Gaussian gates.
    random_state : int, RandomState instance or None, default=None
        Seed of the gates and of the factorization search.
    verbose : int, default=0
        ``> 1`` shows the solver's log.
    extrapolation : {"clip", "linear"}, default="clip"
        As in :class:`ConvexReLURegressor`: ``predict`` clips each feature to
        its range in the training data, or (``"linear"``) evaluates the
        network as it is.

    Attributes
    ----------
    coefs_, intercepts_ : lists of two ndarrays
        Weights and biases, as in :class:`~sklearn.neural_network.MLPRegressor`.
    n_neurons_ : int
        Hidden units after pruning.
    objective_ : float
        Training objective of the returned network.
    lower_bound_ : float
        A proven lower bound on the training objective of every network
        whose neurons have patterns of ``gates_`` (of every network when the
        patterns are exhaustive), from a dual-feasible point (see Notes);
        for ``"svd"`` the closed-form optimum. With the approximate oracle
        it is proven but loose.
    duality_gap_ : float
        ``max(objective_ - lower_bound_, 0)``. Every method returns a
        network whose neurons have patterns of ``gates_``, so the bound
        covers it.
    certified_ : bool
        ``duality_gap_ <= tol * |objective_|``: the network is within that
        relative gap of the optimum over the patterns used (globally
        optimal to that tolerance when the patterns are exhaustive).
    relaxation_value_ : float
        Relaxation only: the SDP solver's optimal value. It is not reported
        as the bound, being only as accurate as the solver.
    oracle_ : {"exact", "approximate"}
        Frank-Wolfe and relaxation: which cone-constrained PCA was used.
    objective_curve_ : ndarray
        Frank-Wolfe and relaxation: Frank-Wolfe's objective at each
        iteration.
    method_ : str
        The method used.
    n_local_moves_ : int
        ``arrangements="search"`` with Frank-Wolfe: the local moves made
        (L-BFGS runs from the current network, see Notes).
    solver_ : str
        ``"scalar"`` only: the solver of the ReLU program.
    gates_ : ndarray of shape (n_patterns, `n_features_in_` + fit_intercept)
    y_mean_ : ndarray of shape (`n_outputs_`,)
        Mean of each target subtracted before the fit; 0 without
        ``fit_intercept``.
    y_scale_ : ndarray of shape (`n_outputs_`,)
        The one scale all targets were divided by (repeated per output):
        the root mean square of the centred targets (of the targets without
        ``fit_intercept``), 1 for constant targets.
    n_iter_ : int
    n_outputs_, n_features_in_, feature_names_in_
    data_min_, data_max_
        As in :class:`ConvexReLURegressor`.

    Notes
    -----
    **Target scaling.** The solvers see ``(y - y_mean_) / y_scale_``;
    ``predict``, ``coefs_`` and ``intercepts_`` are in the user's units (the
    output layer times ``y_scale_``, the output intercept mapped back).
    ``objective_``, ``lower_bound_`` and ``duality_gap_`` are of the problem
    on the standardized targets. One scale for all outputs keeps their
    relative weights in the loss, so this is the weight-decay problem on
    the centred ``y`` at strength ``beta * s`` with both layers multiplied
    by ``sqrt(s)`` (positive homogeneity), whose objective is ``s**2 *
    objective_``.

    **Bounds.** Every bound comes from a dual point ``-s R / n`` built from a
    centred residual ``R``, feasible when ``s`` times the dual norm
    ``max_i max {||R^T D_i X u|| / n : ||u|| <= 1, K_i u >= 0}`` is at most
    beta; then ``s <R, Y> / n - s^2 ||R||^2 / (2 n)`` bounds the objective
    from below (weak duality). The dual norm is bounded from above by the
    exact oracle below when it is available, by ``lambda_max([[K_i^T L_i
    K_i, G_i^T], [G_i, 0]])`` with the relaxation solver's multipliers
    ``L_i >= 0`` of its nonnegativity constraints (any ``L_i >= 0`` gives
    a valid bound, checked by an eigenvalue computation), and in any case by
    the spectral norm ``max_i ||G_i||_2`` (``G_i = R^T D_i X / n``). So no
    bound depends on a solver's accuracy.

    **Relaxation.** The bound is built from the residual of the
    relaxation's fit, and from the final network's residual (through
    Frank-Wolfe). Recovery factors each lifted block into rank-one terms
    ``[u; a]`` whose hidden parts satisfy ``K_i u >= 0`` (scaled
    eigenvectors first, rotations of them next) and, when every block has
    one, runs Frank-Wolfe (below, at most 50 iterations) from these
    neurons; otherwise Frank-Wolfe starts from scratch, on the same
    patterns and oracle. The network never leaves the patterns, and
    ``certified_`` says whether it meets the bound.

    **Frank-Wolfe.** The program is regularized by an atomic norm whose
    atoms are single neurons ``(X u)_+ a^T`` with ``||u|| = ||a|| = 1`` and
    ``u`` in the cone of a pattern of ``gates_``. Each iteration asks the
    oracle ``lambda = max_i max {||G^T D_i X u|| : ||u|| <= 1, K_i u >= 0}``
    at the gradient ``G`` of the data term, adds its best maximizers as
    hidden units and re-fits all output weights (a group lasso). The oracle
    is exact (enumeration of the active constraint sets, each an
    eigenproblem) while ``n_patterns * sum_{j < r - 1} C(n, j)`` stays below
    200,000, that count times ``r^3`` below ``2e6`` and the ray test below
    ``5e7`` (``r`` the rank of the design
    matrix, with the column of ones), and approximate (alternating power
    iterations projected on the cone) otherwise. It stops when the gap to
    the bound of the residual with ``s = clip(<R, Y> / ||R||^2, 0, beta /
    lambda)`` is at most ``tol * objective``. With the approximate oracle
    ``lambda`` may be too small: that gap is only an estimate, the
    iteration stops on it, and ``lower_bound_`` is recomputed from an upper
    bound of the dual norm that respects the cones: per pattern, in the
    basis of the left singular vectors of ``G_i``, the sum of the squared
    cone-constrained norms of its output directions (exact projections
    onto the cone; with one output the exact value), capped by
    ``||G_i||_2``. It is proven whatever the projections' accuracy, but
    not tight, so such a fit is rarely ``certified_`` and warns; its gates
    are then the Gaussian gates and the returned network's patterns.

    **Search** (``arrangements="search"``). Every few Frank-Wolfe
    iterations a local move trains the current network as a plain ReLU
    network (L-BFGS on the weight-decay objective), whose units may cross
    samples; the patterns they end on join the pool, and the objective can
    only go down. Local moves stop when one gains less than 0.1 %
    (relative) or after 20. With the approximate oracle, the oracle is an
    ascent over all patterns whose maximizers' patterns join the pool too;
    with the exact oracle, the pool grows only while the oracle stays
    exact on it. The certificate covers the final pool. At or above ``beta_max``, the dual norm of
    ``Y_c / n`` (exact oracle, or the spectral norm), the zero network is
    returned at once: it is then optimal. The atoms are the
    neurons of the returned network, pruned without changing its output or
    penalty, so ``objective_`` is the Frank-Wolfe objective.

    **One output.** With ``k = 1`` the cone-constrained nuclear norm of a
    pattern's block ``v`` is ``min {||p|| + ||q|| : v = p - q, K p >= 0,
    K q >= 0}`` (group the atoms by the sign of their output weight; the
    triangle inequality makes one atom per sign optimal), so the copositive
    program is exactly the ReLU program of the user guide on the same
    patterns. ``method="scalar"`` solves that program with the solvers of
    :class:`ConvexReLURegressor` (native ADMM or Clarabel), which is exact,
    certified by its duality gap, and much faster than Frank-Wolfe.

    References
    ----------
    A. Sahiner, T. Ergen, J. Pauly and M. Pilanci, "Vector-output ReLU Neural
    Network Problems are Copositive Programs", ICLR 2021.

    Examples
    --------
    >>> import numpy as np
    >>> from skconvexnn import CopositiveMultiOutputRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((12, 2))
    >>> Y = np.maximum(X @ [[1.0, -1.0], [0.5, 2.0]], 0)
    >>> reg = CopositiveMultiOutputRegressor(beta=1e-3, random_state=0).fit(X, Y)
    >>> bool(reg.lower_bound_ <= reg.objective_ + 1e-6)
    True
    """

    #: Fit the standardized targets (see Notes); False fits ``y`` as given.
    _standardize_targets = True

    _parameter_constraints = {
        **CopositiveRegressorBase._parameter_constraints,
        "method": [StrOptions({"auto", "relaxation", "frank_wolfe", "svd", "scalar"})],
    }

    def __init__(self, *, beta=1e-2, method="auto", n_arrangements=50,
                 arrangements="search", max_patterns=10_000, fit_intercept=True,
                 solver="auto", tol=None, max_iter=None, warm_start=False,
                 random_state=None, verbose=0, extrapolation="clip"):
        self.beta = beta
        self.method = method
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
    def fit(self, X, y):
        """Fit the shared-unit network.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)

        Returns
        -------
        self : CopositiveMultiOutputRegressor
        """
        X, y = validate_data(self, X, y, multi_output=True, y_numeric=True,
                             dtype=np.float64)
        self._y_1d = y.ndim == 1
        Y = (y.reshape(-1, 1) if self._y_1d else y).astype(np.float64)
        self._clear_fitted()
        self.y_mean_, self.y_scale_ = shared_target_scaling(
            Y, self.fit_intercept, standardize=self._standardize_targets)
        Y = (Y - self.y_mean_) / self.y_scale_  # (mapped back in _set_result)
        self.data_min_, self.data_max_ = feature_range(X)
        X1 = add_ones(X, self.fit_intercept)
        beta = float(self.beta)
        search = isinstance(self.arrangements, str) and self.arrangements == "search"
        method = self.method
        if method == "auto" and Y.shape[1] == 1 and not search:
            # Fixed patterns: the exact ReLU program. With the search,
            # Frank-Wolfe grows the patterns as for several outputs.
            method = "scalar"
        self._warned = False
        rng = check_random_state(self.random_state)
        if method == "svd":
            self._set_method(method)
            res = self._fit_svd(X1, Y, beta)
        elif method == "scalar":
            self._set_method(method)
            res = self._fit_scalar(X, X1, Y, beta, rng, search)
        else:
            res = self._fit_copositive(X1, Y, beta, rng, search, method)
        self._gate_source = (self._gate_key(), X1.shape[1])
        self._set_result(X1, Y, beta, res)
        return self

    def _set_method(self, method):
        self.method_ = method
        self._tol = DEFAULT_TOL[method] if self.tol is None else self.tol
        self._max_iter = DEFAULT_MAX_ITER[method] if self.max_iter is None else self.max_iter

    def _auto_method(self, X1, Y, patterns, oracle):
        n = X1.shape[0]
        # Tiny problems of large rank, where the oracle is approximate and
        # its bound loose: the relaxation, polished by at most
        # POLISH_MAX_ITER Frank-Wolfe steps, is bounded in time and proves
        # a bound through its multipliers; its memory (n^2 d^2 per
        # pattern) is checked first. With the exact oracle Frank-Wolfe
        # certifies on its own.
        if oracle is None or oracle.exact or n > AUTO_MAX_SAMPLES_RELAXATION:
            return "frank_wolfe"
        n_bytes = estimate_relaxation_size(n, X1.shape[1], Y.shape[1],
                                           patterns.shape[1])[1]
        return "relaxation" if n_bytes <= AUTO_MAX_RELAXATION_BYTES else "frank_wolfe"

    def _initial_pool(self, X1, Y, beta, rng, search):
        """Patterns, gates and starting atoms (None) of the fit.

        With ``arrangements="search"``: the Gaussian gates plus the hidden
        units of a seed network (``n_arrangements`` units trained by L-BFGS
        for :data:`SEED_ITER` iterations), which are the starting atoms; a
        warm start takes the previous fit's pool and network instead.
        """
        self._n_gaussian = None
        if not search:
            patterns, gates = self._patterns(X1, rng)
            return patterns, gates, None
        d1 = X1.shape[1]
        k = Y.shape[1]
        Yc = Y - Y.mean(axis=0) if self.fit_intercept else Y
        previous = getattr(self, "_search_state", None)
        if self.warm_start and previous is not None and previous[0].shape[1] == d1:
            gates, U, A = previous
        else:
            gates = sample_gates(self.n_arrangements, d1, rng)
            m = self.n_arrangements
            U = rng.standard_normal((m, d1)) / np.sqrt(d1)
            A = rng.standard_normal((m, k)) * (np.linalg.norm(U, axis=1)[:, None]
                                                / np.sqrt(k))
            with threadpool_limits(limits=1, user_api="blas"):
                U, A = train_shared(X1, Yc, beta, U, A, SEED_ITER, self.fit_intercept)
        w = np.linalg.norm(U, axis=1) * np.linalg.norm(A, axis=1)
        live = (w > 1e-10 * w.max(initial=0.0)) & (w > 0)
        norms = np.linalg.norm(U[live], axis=1)
        U, A = U[live] / norms[:, None], A[live] * norms[:, None]
        pool = PatternPool(X1, gates)
        self._n_gaussian = len(pool)
        pats = pool.add(U) if len(U) else np.zeros(0, int)
        ok = pats >= 0  # a unit that is zero on every sample is dropped
        init = (U[ok], A[ok], pats[ok]) if ok.any() else None
        return pool.patterns, pool.gates, init

    def _fit_copositive(self, X1, Y, beta, rng, search, method):
        """The copositive program on the initial pool: zero network,
        Frank-Wolfe or the relaxation."""
        patterns, gates, init = self._initial_pool(X1, Y, beta, rng, search)
        self.gates_ = gates
        oracle = None
        if patterns.shape[1]:
            oracle = ConePCAOracle(X1, patterns, random_state=rng.randint(2**31))
        if method == "auto":
            method = self._auto_method(X1, Y, patterns, oracle)
        self._set_method(method)
        res = zero_network(X1, patterns, Y, beta, self.fit_intercept, oracle)
        if res is not None:
            return res
        if method == "frank_wolfe":
            return self._fit_frank_wolfe(X1, Y, beta, patterns, oracle, rng, init=init,
                                         gates=gates if search else None)
        return self._fit_relaxation(X1, Y, beta, patterns, oracle, rng)

    def _fit_svd(self, X1, Y, beta):
        if self.fit_intercept:
            raise ValueError(
                "method='svd' needs fit_intercept=False: a design matrix with a "
                "column of ones cannot satisfy X X^T = I."
            )
        res = svd_closed_form(X1, Y, beta)
        self.gates_ = res.U.copy()
        return res

    def _pruned(self, X1, res):
        """``res`` with its network pruned (same output and penalty); sets
        the attributes of Frank-Wolfe's run."""
        self.objective_curve_ = np.asarray(res.objective_curve)
        self.oracle_ = "exact" if res.exact else "approximate"
        U, A, _ = prune_network(X1, res.U, res.A)
        return replace(res, U=U, A=A)

    def _fit_frank_wolfe(self, X1, Y, beta, patterns, oracle, rng, init=None,
                         gates=None):
        res = frank_wolfe(X1, patterns, Y, beta, self.fit_intercept, tol=self._tol,
                          max_iter=self._max_iter, random_state=rng.randint(2**31),
                          verbose=self.verbose, init=init, oracle=oracle, gates=gates,
                          search=gates is not None, core=self._n_gaussian)
        res = self._pruned(X1, res)
        if gates is not None:
            # The pool grew: the bound covers the final patterns.
            self.gates_ = res.gates
            self.n_local_moves_ = res.n_local
            self._search_state = (self.gates_, res.U, res.A)
        if not res.converged:
            gap = (res.objective - res.estimated_bound) / max(res.objective, 1e-300)
            warnings.warn(
                f"Frank-Wolfe stopped after max_iter={self._max_iter} iterations "
                f"with relative duality gap {gap:.3g} > tol={self._tol}. "
                "Increase max_iter or tol.",
                ConvergenceWarning,
            )
            self._warned = True
        return res

    def _fit_scalar(self, X, X1, Y, beta, rng, search):
        """One output: the ReLU program of ConvexReLURegressor (see Notes)."""
        if Y.shape[1] != 1:
            raise ValueError(
                f"method='scalar' is for a single output; y has {Y.shape[1]} "
                "columns. Use method='frank_wolfe' or 'relaxation'."
            )
        from ._regression import ConvexReLURegressor

        if search:
            arrangements = "search"
        else:
            arrangements = self._patterns(X1, rng)[1]
        reg = ConvexReLURegressor(
            beta=beta, activation="relu", arrangements=arrangements,
            n_arrangements=self.n_arrangements,
            fit_intercept=self.fit_intercept, solver=self.solver, tol=self._tol,
            max_iter=self._max_iter, random_state=rng.randint(2**31),
            verbose=self.verbose,
        )
        reg._standardize_targets = False  # the bound must be on this Y
        reg.fit(X, Y[:, 0])
        # The bound covers the examined pool of a search, the given gates
        # otherwise.
        self.gates_ = getattr(reg, "examined_gates_", reg.gates_)
        self.objective_curve_ = reg.objective_curve_
        self.solver_ = reg.solver_
        self._warned = True  # ConvexReLURegressor warns on its own gap
        W1, W2 = reg.coefs_
        U = np.column_stack([W1.T, reg.intercepts_[0]]) if self.fit_intercept else W1.T
        return SharedUnitsResult(
            U=U, A=W2, intercept=reg.intercepts_[1], objective=reg.objective_,
            lower_bound=reg.lower_bound_, estimated_bound=reg.lower_bound_,
            n_iter=reg.n_iter_, objective_curve=list(reg.objective_curve_))

    def _fit_relaxation(self, X1, Y, beta, patterns, oracle, rng):
        res = solve_relaxation(X1, patterns, Y, beta, self.fit_intercept,
                               solver=self.solver, tol=self._tol,
                               max_iter=self._max_iter, verbose=self.verbose,
                               oracle=oracle, random_state=rng)
        self.relaxation_value_ = res.relaxation_value
        self.relaxation_status_ = res.relaxation_status
        self.factorization_exact_ = res.factorization_exact
        self._warned = res.relaxation_status != "optimal"  # it warned
        return self._pruned(X1, res)
