"""The regularization path in beta: beta_max, the grid and warm-started fits.

As ``lasso_path`` serves ``Lasso`` and ``LassoCV``, :func:`convex_relu_path`
fits a convex ReLU estimator at a decreasing sequence of betas on one set of
activation patterns, each solve warm started from the previous solution;
the CV estimators run the same :func:`skconvexnn.fitting.fit_path` on every
fold (:mod:`skconvexnn.fitting.cv`). The default grid is
geometric from :func:`beta_max` (the smallest beta at which the network
with no neuron is optimal) down to ``beta_max * beta_ratio``.
"""

import copy
from dataclasses import dataclass
from numbers import Integral, Real

import numpy as np
from sklearn.base import clone
from sklearn.utils._param_validation import Interval, validate_params

from ._base import ConvexReLUMixin
from ._copositive_base import CopositiveRegressorBase

__all__ = ["BetaPath", "beta_max", "beta_grid", "convex_relu_path"]

#: Default number of betas of a path.
N_BETAS = 20
#: Default ratio of the smallest beta of a path to ``beta_max``.
BETA_RATIO = 1e-3


@validate_params(
    {
        "largest": [Real],
        "n_betas": [Interval(Integral, 1, None, closed="left")],
        "beta_ratio": [Interval(Real, 0, 1, closed="right")],
    },
    prefer_skip_nested_validation=True,
)
def beta_grid(largest, n_betas=N_BETAS, beta_ratio=BETA_RATIO):
    """Geometric grid from ``largest`` down to ``largest * beta_ratio``.

    Parameters
    ----------
    largest : float
        Usually :func:`beta_max`. When it is not positive (constant
        targets: the network with no neuron is optimal at every beta), the
        grid starts at 1.
    n_betas : int, default=20
        At least 1.
    beta_ratio : float, default=1e-3
        In (0, 1]: the grid decreases.

    Returns
    -------
    betas : ndarray of shape (n_betas,)
        Decreasing.
    """
    top = largest if np.isfinite(largest) and largest > 0 else 1.0
    return np.geomspace(top, top * beta_ratio, n_betas)


def sorted_betas(betas):
    """User betas as a decreasing float array; they must be positive."""
    betas = np.asarray(betas, dtype=float).ravel()
    if not len(betas) or not np.all(np.isfinite(betas)) or np.any(betas <= 0):
        raise ValueError(
            f"betas must be a non-empty sequence of positive numbers; got {betas}."
        )
    return np.sort(betas)[::-1]


def path_estimator(estimator):
    """A fresh copy of ``estimator`` (default: a ConvexReLURegressor)."""
    if estimator is None:
        from ._regression import ConvexReLURegressor

        return ConvexReLURegressor()
    if isinstance(estimator, CopositiveRegressorBase):
        # The shared-unit program has solvers of its own, which fit_path does
        # not run.
        raise ValueError(
            f"{type(estimator).__name__} has no beta path: the path functions "
            "take ConvexReLURegressor, ConvexReLUClassifier, "
            "ConvexConvReLURegressor or ConvexConvReLUClassifier. Tune beta of "
            f"{type(estimator).__name__} with GridSearchCV and warm_start=True."
        )
    est = clone(estimator)
    try:
        est._validate_params()
    except ValueError as exc:
        # A plain ValueError: validate_params would rename the caller.
        raise ValueError(f"Invalid estimator: {exc}") from None
    return est


_COMMON_PARAMS = {
    "X": ["array-like"],
    "y": ["array-like"],
    "estimator": [ConvexReLUMixin, CopositiveRegressorBase, None],
    "sample_weight": ["array-like", None],
}


@validate_params(_COMMON_PARAMS, prefer_skip_nested_validation=True)
def beta_max(X, y, *, estimator=None, sample_weight=None):
    r"""Smallest beta at which the network with no neuron is optimal.

    With no neuron the prediction is the best constant: the output
    intercept fitted alone (zero with ``fit_intercept=False``). The zero
    blocks of the convex program are optimal exactly when the negative
    loss gradient :math:`\lambda` at that prediction satisfies every dual
    constraint (user guide, "Tuning beta: the path and cross-validation"), so

    .. math::

        \beta_{\max} = \max_i \|\tilde X^\top D_i \lambda\|_2
        \quad\text{(gated ReLU)},\qquad
        \beta_{\max} = \max_i \max_{\pm} \max\{\pm\lambda^\top D_i \tilde X u :
        \|u\|_2 \le 1,\ (2D_i - I)\tilde X u \ge 0\}
        \quad\text{(ReLU)},

    computed exactly (the cone-constrained norms by projection onto each
    cone). For the regressors with the squared loss and uniform weights
    :math:`\lambda = z / n` for the standardized targets :math:`z = (y -
    \bar y) / s`, hence :math:`\max_i \|\tilde X^\top D_i z\| / n`: beta is
    scaled as everywhere in skconvexnn (the data term is a mean; the
    papers' regularization is ``n_samples * beta``). For
    classifiers :math:`\lambda` is the gradient at the intercept-only
    classifier. For the CNN estimators the program is the pooled one on
    the patch rows (user guide, "Convolutional networks"): :math:`\tilde X`
    is the patch matrix, the :math:`D_i` are patterns of its rows and
    :math:`\lambda` is spread over each image's patches (times
    ``1 / n_patches`` with the average pooling).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        For the CNN estimators, images of shape (n_samples, height,
        width[, channels]) or flat rows, as in their ``fit``.
    y : array-like of shape (n_samples,) or (n_samples, n_targets)
    estimator : estimator, default=None
        A :class:`ConvexReLURegressor`, :class:`ConvexReLUClassifier`,
        :class:`ConvexConvReLURegressor` or :class:`ConvexConvReLUClassifier`.
        Its settings (loss, activation, arrangements, ``random_state``,
        ``fit_intercept``, and a CNN's filter geometry and pooling) define
        the program; its ``beta`` is not used. Default:
        ``ConvexReLURegressor()``.
    sample_weight : array-like of shape (n_samples,), default=None

    Returns
    -------
    beta_max : float
        Over the patterns of the gates the estimator would use (with
        ``random_state=None``, fresh random gates at every call). For the
        hinge loss, whose gradient at the constant prediction is one
        subgradient among several, a beta above which the zero network is
        optimal, possibly not the smallest.

    Examples
    --------
    >>> import numpy as np
    >>> from skconvexnn import ConvexReLURegressor, beta_max
    >>> X = np.linspace(-1, 1, 20).reshape(-1, 1)
    >>> est = ConvexReLURegressor(arrangements="exhaustive")
    >>> top = beta_max(X, np.abs(X).ravel(), estimator=est)
    >>> est.set_params(beta=1.01 * top).fit(X, np.abs(X).ravel()).n_neurons_
    0
    """
    est = path_estimator(estimator)
    X, Y, loss = est._training_data(X, y, sample_weight)
    return est._beta_max(X, Y, loss, sample_weight)


@dataclass
class BetaPath:
    """Fits of a convex ReLU estimator along a decreasing sequence of betas.

    Attributes
    ----------
    betas : ndarray of shape (n_betas,)
        Decreasing.
    beta_max : float
        :func:`beta_max` of the program (same patterns).
    estimators : list of fitted estimators
        One per beta, with ``beta`` set to it and every fitted attribute of
        a plain fit
        (``coefs_``, ``intercepts_``, ``n_neurons_``, ``objective_``,
        ``duality_gap_``, ``predict``, ...). They share ``gates_``.
    n_neurons, objectives, lower_bounds, duality_gaps, n_iter : ndarray
        Of shape (n_betas,): ``n_neurons_``, ``objective_``,
        ``lower_bound_``, ``duality_gap_`` and ``n_iter_`` of each fit.
    gates : ndarray of shape (n_patterns, n_features + fit_intercept)
        The gate vectors of the patterns, the same at every beta.
    coefs, intercepts : list
        ``coefs_`` and ``intercepts_`` of each fit.
    """

    betas: np.ndarray
    beta_max: float
    estimators: list

    def __post_init__(self):
        for name in ("n_neurons", "objective", "lower_bound", "duality_gap",
                     "n_iter"):
            values = np.array([getattr(est, name + "_") for est in self.estimators])
            setattr(self, name if name.startswith("n_") else name + "s", values)
        self.gates = self.estimators[0].gates_ if self.estimators else None
        self.coefs = [est.coefs_ for est in self.estimators]
        self.intercepts = [est.intercepts_ for est in self.estimators]


@validate_params(
    {
        **_COMMON_PARAMS,
        "betas": ["array-like", None],
        "n_betas": [Interval(Integral, 1, None, closed="left")],
        "beta_ratio": [Interval(Real, 0, 1, closed="right")],
    },
    prefer_skip_nested_validation=True,
)
def convex_relu_path(X, y, betas=None, *, estimator=None, n_betas=N_BETAS,
                     beta_ratio=BETA_RATIO, sample_weight=None):
    """Fit a convex ReLU network at every beta of a decreasing sequence.

    The activation patterns are built once (from the estimator's
    ``arrangements``, ``n_arrangements`` and ``random_state``), then the
    convex program is solved for each beta from the largest to the
    smallest. Betas at or above :func:`beta_max` give the empty network
    without a solve. Below it, each beta is solved first on a working set
    of patterns (those active at the previous beta and those the
    sequential strong rule keeps), then every other pattern's dual
    constraint is checked and violators are added, so the result is the
    optimum over all the patterns. Each solve is warm started from the
    previous solution (the native solvers ``"admm"``, ``"anderson"`` and
    ``"fista"`` use it; cvxpy solvers gain from the smaller working sets
    only). Each fit is
    recovered, pruned and certified over all the patterns exactly as by
    ``estimator.fit``.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        For the CNN estimators, images of shape (n_samples, height,
        width[, channels]) or flat rows, as in their ``fit``.
    y : array-like of shape (n_samples,) or (n_samples, n_targets)
        Targets, or class labels when ``estimator`` is a classifier.
    betas : array-like of shape (n_betas,), default=None
        The betas, sorted here in decreasing order. Default: ``n_betas``
        values spaced geometrically from :func:`beta_max` down to
        ``beta_max * beta_ratio``. Beta is scaled as in the estimators:
        the data term is a mean, the papers' regularization is
        ``n_samples * beta``, and the regressors' targets are standardized.
    estimator : estimator, default=None
        A :class:`ConvexReLURegressor`, :class:`ConvexReLUClassifier`,
        :class:`ConvexConvReLURegressor` or :class:`ConvexConvReLUClassifier`:
        the model to fit (cloned; its ``beta`` and ``warm_start`` are not
        used). ``arrangements="search"`` is refused: it chooses patterns
        for one beta. A CNN estimator's path solves its pooled program
        (user guide, "Convolutional networks") with the patches and gates
        built once. :class:`CopositiveMultiOutputRegressor` has no path.
        Default: ``ConvexReLURegressor()``.
    n_betas : int, default=20
        Length of the default grid.
    beta_ratio : float, default=1e-3
        Smallest beta of the default grid relative to ``beta_max``.
    sample_weight : array-like of shape (n_samples,), default=None
        Weights of the samples in the mean loss.

    Returns
    -------
    path : BetaPath
        ``path.betas``, ``path.n_neurons``, ``path.objectives``,
        ``path.duality_gaps``, ``path.coefs``, and a fitted estimator per
        beta in ``path.estimators``.

    Notes
    -----
    At ``beta >= beta_max`` the fit has no neuron. On the diabetes data
    (100 gates, 30 betas) the path was about 1.6 times faster than
    independent fits on the same gates with ADMM on the gated program, and
    took the same time with Clarabel on the ReLU program
    (``benchmarks/beta_path.py``).

    Examples
    --------
    >>> import numpy as np
    >>> from skconvexnn import ConvexReLURegressor, convex_relu_path
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((40, 2))
    >>> y = np.maximum(X[:, 0], 0) - X[:, 1]
    >>> est = ConvexReLURegressor(activation="gated_relu", n_arrangements=20,
    ...                           random_state=0)
    >>> path = convex_relu_path(X, y, estimator=est, n_betas=5)
    >>> path.n_neurons[0], bool(path.n_neurons[-1] > 0)
    (np.int64(0), True)
    """
    est = path_estimator(estimator)
    X, Y, loss = est._training_data(X, y, sample_weight)
    fits = []
    grid = (sorted_betas(betas) if betas is not None
            else lambda largest: beta_grid(largest, n_betas, beta_ratio))
    grid_used, largest = est._fit_path(X, Y, loss, sample_weight, grid,
                                       lambda fitted: fits.append(_snapshot(fitted)))
    for fitted, beta in zip(fits, grid_used):
        # Each estimator is the fit at its beta: so is its parameter.
        fitted.beta = float(beta)
    return BetaPath(betas=grid_used, beta_max=largest, estimators=fits)


def _snapshot(fitted):
    """A shallow copy of a fitted estimator: its arrays are its own, the gates shared."""
    snapshot = copy.copy(fitted)
    snapshot.__dict__.pop("_solution", None)
    return snapshot
