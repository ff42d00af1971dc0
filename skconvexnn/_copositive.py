"""CopositiveMultiOutputRegressor: shared hidden units for several outputs."""

import warnings
from numbers import Integral, Real

import numpy as np
from scipy.optimize import minimize
from sklearn.base import RegressorMixin, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from threadpoolctl import threadpool_limits
from sklearn.utils.validation import validate_data

from ._base import (
    ARRANGEMENT_STRATEGIES,
    ConvexReLUMixin,
    MultiOutputRegressorMixin,
    add_ones,
)
from .arrangements import patterns_from_gates, unique_patterns
from .recovery import prune_network
from .solvers.closed_form import svd_closed_form
from .solvers.frank_wolfe import frank_wolfe
from .solvers.copositive_relaxation import (
    estimate_relaxation_size,
    factor_lifted_block,
    solve_relaxation,
)

__all__ = ["CopositiveMultiOutputRegressor"]

#: ``method="auto"`` uses the relaxation up to this many samples, Frank-Wolfe
#: beyond. Measured by ``benchmarks/copositive_methods.py --sweep`` (d = 2,
#: k = 3, 10 gates): the relaxation is faster at n = 20 (0.4 s against 1.0 s),
#: Frank-Wolfe from n = 30 on (0.4 s against 0.4 s, 0.5 s against 1.5 s at 60).
AUTO_MAX_SAMPLES_RELAXATION = 20
#: The relaxation under ``method="auto"`` keeps at most this many
#: nonnegativity constraints (a subsample of the patterns).
AUTO_MAX_CONSTRAINTS = 50_000
#: Defaults of ``tol`` and ``max_iter`` per method when they are None.
DEFAULT_TOL = {"relaxation": 1e-6, "frank_wolfe": 1e-4, "svd": 1e-6, "scalar": 1e-6}
DEFAULT_MAX_ITER = {"relaxation": 10_000, "frank_wolfe": 1000, "svd": 1,
                    "scalar": 10_000}


def shared_objective(X1, Y, beta, U, A, c):
    """Training objective of DESIGN.md section 1 for the shared-unit network."""
    P = np.maximum(X1 @ U.T, 0.0) @ A + c
    n = X1.shape[0]
    return np.sum((P - Y) ** 2) / (2 * n) + 0.5 * beta * (np.sum(U**2) + np.sum(A**2))


def polish(X1, Y, beta, U, A, c, fit_intercept, max_iter=300):
    """L-BFGS descent on the nonconvex objective from the network ``(U, A, c)``."""
    n, d = X1.shape
    m, k = A.shape

    def fun(z):
        U, A = z[: m * d].reshape(m, d), z[m * d: m * (d + k)].reshape(m, k)
        c = z[m * (d + k):]
        pre = X1 @ U.T
        H = np.maximum(pre, 0.0)
        G = (H @ A + c - Y) / n
        value = 0.5 * n * np.sum(G**2) + 0.5 * beta * (np.sum(U**2) + np.sum(A**2))
        dU = ((G @ A.T) * (pre > 0)).T @ X1 + beta * U
        dc = G.sum(axis=0) if fit_intercept else np.zeros(k)
        return value, np.concatenate([dU.ravel(), (H.T @ G + beta * A).ravel(), dc])

    z0 = np.concatenate([U.ravel(), A.ravel(), c])
    res = minimize(fun, z0, jac=True, method="L-BFGS-B",
                   options={"maxiter": max_iter, "maxcor": 20, "gtol": 1e-12, "ftol": 1e-15})
    z = res.x
    return (z[: m * d].reshape(m, d), z[m * d: m * (d + k)].reshape(m, k),
            z[m * (d + k):], int(res.nit))


def balance(U, A):
    """Rescale each neuron so that ``||u_j|| = ||a_j||`` (same output, least penalty)."""
    nu, na = np.linalg.norm(U, axis=1), np.linalg.norm(A, axis=1)
    keep = (nu > 0) & (na > 0)
    scale = np.sqrt(na[keep] / nu[keep])[:, None]
    return U[keep] * scale, A[keep] / scale


class CopositiveMultiOutputRegressor(
    MultiOutputRegressorMixin, RegressorMixin, ConvexReLUMixin
):
    r"""Vector-output two-layer ReLU network with shared hidden units.

    The network is :math:`F(x) = \sum_j (x^\top u_j + b_j)_+ a_j^\top + c`
    with :math:`a_j \in \mathbb{R}^k`: every hidden unit feeds all outputs.
    Its training problem

    .. math::

        \min \frac{1}{2n} \|F(X) - Y\|_F^2
        + \frac{\beta}{2} \sum_j \left(\|u_j\|^2 + b_j^2 + \|a_j\|^2\right)

    is a copositive program (Sahiner et al., 2021); this estimator solves it
    by a semidefinite relaxation with a certificate, by Frank-Wolfe with
    cone-constrained PCA steps (the paper's polynomial-time algorithm), or in
    closed form for whitened data.

    Parameters
    ----------
    beta : float, default=1e-3
        Weight-decay strength, > 0. The data term is a mean: the papers'
        regularization is ``n_samples * beta``.
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
        output, otherwise the relaxation for at most 20 samples (on a
        subsample of the patterns when it would have more than 50,000
        nonnegativity constraints), Frank-Wolfe beyond.
    n_arrangements : int, default=50
        Gaussian gate vectors drawn when ``arrangements="gaussian"``.
    arrangements : {"gaussian", "exhaustive"} or array-like, default="gaussian"
        Where the patterns come from (see :class:`ConvexReLURegressor`). With
        ``"exhaustive"`` the lower bound holds over every network.
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

    Attributes
    ----------
    coefs_, intercepts_ : lists of two ndarrays
        Weights and biases, as in :class:`~sklearn.neural_network.MLPRegressor`.
    n_neurons_ : int
        Hidden units after pruning.
    objective_ : float
        Training objective of the returned network.
    lower_bound_ : float
        Relaxation value (a lower bound over networks with the patterns in
        ``gates_``); for Frank-Wolfe the best dual bound (a lower bound only
        when ``oracle_ == "exact"``); for ``"svd"`` the closed-form optimum.
    duality_gap_ : float
        ``max(objective_ - lower_bound_, 0)``.
    certified_ : bool
        Relaxation: ``|objective_ - lower_bound_| <= tol * max(1,
        |lower_bound_|)``, the network attains the relaxation's value, so it
        is globally optimal over the patterns used (over all networks when
        the patterns are exhaustive). Frank-Wolfe: the exact oracle was used
        and the relative gap reached ``tol``, so the network is within that
        gap of the optimum over the patterns used. ``"scalar"``: the
        relative duality gap of the exact program reached ``tol``.
    oracle_ : {"exact", "approximate"}
        Frank-Wolfe only: which cone-constrained PCA was used.
    objective_curve_ : ndarray
        Frank-Wolfe only: objective at each iteration.
    method_ : str
        The method used.
    solver_ : str
        ``"scalar"`` only: the solver of the ReLU program.
    gates_ : ndarray of shape (n_patterns, `n_features_in_` + fit_intercept)
    n_iter_ : int
    n_outputs_, n_features_in_, feature_names_in_

    Notes
    -----
    Recovery factors each lifted block into rank-one terms ``[u; a]`` whose
    hidden parts satisfy the cone constraint ``K_i u >= 0``: scaled
    eigenvectors first, rotations of them next. Such a factorization turns
    the relaxation into a network of the same value. When none is found, the
    eigen-factorization is polished by L-BFGS on the nonconvex objective and
    ``certified_`` reports honestly whether the bound is met. The bound
    covers the patterns in ``gates_``; with sampled patterns polishing may
    move neurons to other patterns and end below it. Such a network beats
    every network with the sampled patterns, but it is not certified.

    **Frank-Wolfe.** The program is regularized by an atomic norm whose
    atoms are single neurons ``(X u)_+ a^T`` with ``||u|| = ||a|| = 1`` and
    ``u`` in the cone of a pattern of ``gates_``. Each iteration asks the
    oracle ``lambda = max_i max {||G^T D_i X u|| : ||u|| <= 1, K_i u >= 0}``
    at the gradient ``G`` of the data term, adds its best maximizers as
    hidden units and re-fits all output weights (a group lasso). The oracle
    is exact (enumeration of the active constraint sets, each an
    eigenproblem) while ``n_patterns * sum_{j < r - 1} C(n, j)`` stays below
    200,000 and the ray test below ``5e7`` (``r`` the rank of the design
    matrix, with the column of ones), and approximate (alternating power
    iterations projected on the cone) otherwise. It stops when
    ``objective_ - lower_bound_ <= tol * objective_``, where the bound comes
    from the residual ``R`` scaled into a dual point:
    ``s <R, Y> / n - s^2 ||R||^2 / (2 n)`` with
    ``s = clip(<R, Y> / ||R||^2, 0, beta / lambda)``. The atoms are the
    neurons of the returned network, pruned without changing its output or
    penalty, so ``objective_`` is the Frank-Wolfe objective.

    **One output.** With ``k = 1`` the cone-constrained nuclear norm of a
    pattern's block ``v`` is ``min {||p|| + ||q|| : v = p - q, K p >= 0,
    K q >= 0}`` (group the atoms by the sign of their output weight; the
    triangle inequality makes one atom per sign optimal), so the copositive
    program is exactly the ReLU program of DESIGN.md section 2 on the same
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

    _parameter_constraints = {
        **{key: value for key, value in ConvexReLUMixin._parameter_constraints.items()
           if key != "activation"},
        "method": [StrOptions({"auto", "relaxation", "frank_wolfe", "svd", "scalar"})],
        "tol": [Interval(Real, 0, None, closed="neither"), None],
        "max_iter": [Interval(Integral, 1, None, closed="left"), None],
    }

    def __init__(self, *, beta=1e-3, method="auto", n_arrangements=50,
                 arrangements="gaussian", max_patterns=10_000, fit_intercept=True,
                 solver="auto", tol=None, max_iter=None, warm_start=False,
                 random_state=None, verbose=0):
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
        X1 = add_ones(X, self.fit_intercept)
        beta = float(self.beta)
        method = self.method
        if method == "auto":
            if Y.shape[1] == 1:
                method = "scalar"
            elif X1.shape[0] <= AUTO_MAX_SAMPLES_RELAXATION:
                method = "relaxation"
            else:
                method = "frank_wolfe"
        self._tol = DEFAULT_TOL[method] if self.tol is None else self.tol
        self._max_iter = DEFAULT_MAX_ITER[method] if self.max_iter is None else self.max_iter
        self.certified_ = None
        if method == "svd":
            U, A, c = self._fit_svd(X1, Y, beta)
            bound = None
        elif method == "frank_wolfe":
            U, A, c, bound = self._fit_frank_wolfe(X1, Y, beta)
        elif method == "scalar":
            U, A, c, bound = self._fit_scalar(X, X1, Y, beta)
        else:
            U, A, c, bound = self._fit_relaxation(X1, Y, beta)
        d = X.shape[1]
        self.coefs_ = [U[:, :d].T.copy(), A]
        self.intercepts_ = [U[:, d].copy() if self.fit_intercept else np.zeros(len(U)),
                            np.asarray(c, dtype=float)]
        self.n_neurons_ = len(U)
        self.n_outputs_ = Y.shape[1]
        self.objective_ = float(shared_objective(X1, Y, beta, U, A, c))
        self.lower_bound_ = self.objective_ if bound is None else float(bound)
        self.duality_gap_ = max(self.objective_ - self.lower_bound_, 0.0)
        # Certified means the network attains the bound. A network below the
        # bound has left the sampled patterns: better than any network on
        # them, but nothing proves it globally optimal.
        if self.certified_ is None:
            self.certified_ = bool(abs(self.objective_ - self.lower_bound_) <= self._tol * max(
                1.0, abs(self.lower_bound_)))
        self._check_finite()
        if self.verbose:
            print(f"[{type(self).__name__}] method={self.method_} neurons="
                  f"{self.n_neurons_} objective={self.objective_:.6g} "
                  f"bound={self.lower_bound_:.6g} certified={self.certified_}")
        return self

    def _fit_svd(self, X1, Y, beta):
        if self.fit_intercept:
            raise ValueError(
                "method='svd' needs fit_intercept=False: a design matrix with a "
                "column of ones cannot satisfy X X^T = I."
            )
        U, A = svd_closed_form(X1, Y, beta)
        self.method_ = "svd"
        self.gates_ = U.copy()
        self.n_iter_ = 0
        return U, A, np.zeros(Y.shape[1])

    def _patterns(self, X1, rng):
        gates = self._make_gates(X1, rng)
        return unique_patterns(patterns_from_gates(X1, gates), gates)

    def _fit_frank_wolfe(self, X1, Y, beta):
        rng = check_random_state(self.random_state)
        patterns, gates = self._patterns(X1, rng)
        self.method_ = "frank_wolfe"
        self.gates_ = gates
        k = Y.shape[1]
        if patterns.shape[1] == 0:
            return self._empty_network(X1, Y, beta)
        # Small dense products: BLAS threads cost more than they save.
        with threadpool_limits(limits=1, user_api="blas"):
            res = frank_wolfe(X1, patterns, Y, beta, self.fit_intercept, tol=self._tol,
                              max_iter=self._max_iter, random_state=rng.randint(2**31),
                              verbose=self.verbose)
        self.n_iter_ = res.n_iter
        self.objective_curve_ = np.asarray(res.objective_curve)
        self.oracle_ = "exact" if res.exact else "approximate"
        # Atom t is the neuron (sqrt(w) u_t, a_t / sqrt(w)), w = ||a_t||: same
        # output, and its weight decay equals the atomic norm beta * w.
        w = np.sqrt(np.linalg.norm(res.A, axis=1))[:, None]
        U, A, _ = prune_network(X1, res.U * w, res.A / w)
        self.certified_ = bool(res.converged and res.exact)
        if not res.converged:
            warnings.warn(
                f"Frank-Wolfe stopped after max_iter={self._max_iter} iterations "
                f"with relative duality gap {(res.objective - res.lower_bound) / max(res.objective, 1e-300):.3g} "
                f"> tol={self._tol}. Increase max_iter or tol.",
                ConvergenceWarning,
            )
        return U, A, res.c, res.lower_bound

    def _fit_scalar(self, X, X1, Y, beta):
        """One output: the ReLU program of ConvexReLURegressor (see Notes)."""
        if Y.shape[1] != 1:
            raise ValueError(
                f"method='scalar' is for a single output; y has {Y.shape[1]} "
                "columns. Use method='frank_wolfe' or 'relaxation'."
            )
        from ._regression import ConvexReLURegressor

        rng = check_random_state(self.random_state)
        _, gates = self._patterns(X1, rng)
        self.method_ = "scalar"
        self.gates_ = gates
        if len(gates) == 0:
            return self._empty_network(X1, Y, beta)
        reg = ConvexReLURegressor(
            beta=beta, activation="relu", arrangements=gates,
            fit_intercept=self.fit_intercept, solver=self.solver, tol=self._tol,
            max_iter=self._max_iter, random_state=rng.randint(2**31),
            verbose=self.verbose,
        )
        reg._standardize_targets = False  # the bound must be on this Y
        reg.fit(X, Y[:, 0])
        self.n_iter_ = reg.n_iter_
        self.objective_curve_ = reg.objective_curve_
        self.solver_ = reg.solver_
        W1, W2 = reg.coefs_
        U = np.column_stack([W1.T, reg.intercepts_[0]]) if self.fit_intercept else W1.T
        self.certified_ = bool(reg.duality_gap_ <= self._tol * max(
            abs(reg.objective_), np.finfo(float).tiny))
        return U, W2, reg.intercepts_[1], reg.lower_bound_

    def _empty_network(self, X1, Y, beta):
        k = Y.shape[1]
        c = Y.mean(axis=0) if self.fit_intercept else np.zeros(k)
        self.n_iter_ = 0
        U, A = np.zeros((0, X1.shape[1])), np.zeros((0, k))
        return U, A, c, shared_objective(X1, Y, beta, U, A, c)

    def _fit_relaxation(self, X1, Y, beta):
        rng = check_random_state(self.random_state)
        patterns, gates = self._patterns(X1, rng)
        n, d1 = X1.shape
        k = Y.shape[1]
        if self.method == "auto":
            per_pattern = estimate_relaxation_size(n, d1, k, 1)[0]
            budget = max(AUTO_MAX_CONSTRAINTS // per_pattern, 1)
            patterns, gates = patterns[:, :budget], gates[:budget]
        self.method_ = "relaxation"
        self.gates_ = gates
        if patterns.shape[1] == 0:
            return self._empty_network(X1, Y, beta)
        Z, c, value, status, n_iter = solve_relaxation(
            X1, patterns, Y, beta, self.fit_intercept,
            solver=self.solver, tol=self._tol, max_iter=self._max_iter,
            verbose=self.verbose)
        self.relaxation_status_ = status
        Ws, exact = [], True
        for i in range(patterns.shape[1]):
            K = (2.0 * patterns[:, i] - 1.0)[:, None] * X1
            W, ok = factor_lifted_block(Z[i], K, d1, random_state=rng.randint(2**31))
            Ws.append(W)
            exact &= ok
        W = np.hstack(Ws).T
        U, A = balance(W[:, :d1], W[:, d1:])
        # Terms carrying a negligible share of the penalty are solver noise.
        w = np.linalg.norm(U, axis=1) * np.linalg.norm(A, axis=1)
        big = w > 1e-6 * max(w.sum(), 1e-300)
        U, A, _ = prune_network(X1, U[big], A[big])
        self.factorization_exact_ = bool(exact)
        obj = shared_objective(X1, Y, beta, U, A, c)
        if obj > value + self._tol * max(1.0, abs(value)) and len(U):
            U2, A2, c2, it = polish(X1, Y, beta, U, A, c, self.fit_intercept)
            if shared_objective(X1, Y, beta, U2, A2, c2) < obj:
                U, A, c = U2, A2, c2
                n_iter += it
                U, A, _ = prune_network(X1, *balance(U, A))
        self.n_iter_ = n_iter
        return U, A, c, value
