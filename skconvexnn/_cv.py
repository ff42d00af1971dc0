"""Cross-validated choice of beta: ConvexReLURegressorCV, ConvexReLUClassifierCV.

The grid is set from ``beta_max`` of the whole data. By default
(``cv=None``) one path on all the data is fitted and each beta is scored
by approximate leave-one-out outputs, read off its fit, as ``RidgeCV``
does; otherwise, as ``LassoCV`` and ``LogisticRegressionCV`` do, each fold
fits the path on its training part and scores every beta on its held-out
part, the folds in parallel through joblib. The best beta is refitted on
all the data to ``tol``; the path and the folds are solved to the looser
``fold_tol`` and stop once their score has not improved for
``n_betas_no_change`` betas (user guide, "Tuning beta: the path and
cross-validation"). The paths, their scores and the choice of beta are
:mod:`skconvexnn.fitting.cv`'s."""

from sklearn.base import _fit_context
from sklearn.metrics import check_scoring, get_scorer_names
from sklearn.utils._param_validation import StrOptions

from ._classification import ConvexReLUClassifier
from ._cv_base import (CV_N_BETAS, FOLD_TOL, N_BETAS_NO_CHANGE, BetaCVMixin,
                       mean_squared_error)
from ._path import BETA_RATIO
from ._regression import ConvexReLURegressor
from .fitting.cv import loo_accuracy, loo_log_loss

__all__ = ["ConvexReLURegressorCV", "ConvexReLUClassifierCV"]

_CV_DOC = """
    betas : array-like of shape (n_betas,), default=None
        The betas to try (sorted in decreasing order). Default: ``n_betas``
        values spaced geometrically from :func:`~skconvexnn.beta_max` of
        the whole data down to ``beta_max * beta_ratio``. Beta is scaled as
        in the estimators: the data term is a mean, the papers'
        regularization is ``n_samples * beta``, and the regressors' targets
        are standardized.
    n_betas : int, default=10
        Length of the default grid (3 betas a decade at the default
        ``beta_ratio``; the held-out score changes little between
        neighbours, user guide, "Tuning beta").
    beta_ratio : float, default=1e-3
        Smallest beta of the default grid relative to ``beta_max``.
    fold_tol : float or None, default=1e-3
        Relative duality gap to which the folds' fits, or the path scored
        by leave-one-out outputs, are solved (the larger of ``tol`` and
        ``fold_tol``; ``None``: ``tol``). Scores need no certified optima,
        and a gap of 1e-3 hardly moves them; only the refit on all the data
        is solved to ``tol`` (warm started from the path's fit with
        ``cv=None``).
    n_betas_no_change : int or None, default=3
        Each fold's path, from the largest beta down, stops once this many
        betas in a row have not improved on its best held-out score, as
        early stopping does (past the best, smaller betas overfit and cost
        the most), or after two when the score has turned down (user
        guide, "Tuning beta"). Only the betas every fold reached are
        candidates; the scores of the others are NaN. ``None``: every fold
        fits every beta.
    cv : int, cross-validation generator or iterable, default=None
        ``None``: approximate leave-one-out (one path on all the data, each
        fit scored by the outputs of a Newton step without each sample,
        see Notes) where it applies (a loss with second derivatives, the
        default scoring, a native solver), else 5-fold ({fold}). Otherwise
        as in :func:`~sklearn.model_selection.check_cv`, an int the number
        of folds.
    n_jobs : int, default=None
        Folds fitted in parallel through joblib (``None``: 1 unless in a
        :func:`joblib.parallel_backend` context; ``-1``: all processors).
        Inside each fold the path runs sequentially (warm starts).
"""


class ConvexReLURegressorCV(BetaCVMixin, ConvexReLURegressor):
    __doc__ = r"""Convex ReLU network regressor with beta chosen by cross-validation.

    By default (``cv=None``) one path of :func:`~skconvexnn.convex_relu_path`
    on all the data (warm starts from the largest beta down, solved to
    ``fold_tol``) is scored by the mean squared error of approximate
    leave-one-out outputs (see Notes), as
    :class:`~sklearn.linear_model.RidgeCV` does; with ``cv`` given, each
    fold fits that path on its training part and computes the mean squared
    error of every beta on its held-out part. A path stops once
    ``n_betas_no_change`` betas in a row have not improved on its best; the
    beta of least (mean) error is refitted on all the data to ``tol``, as
    in :class:`~sklearn.linear_model.LassoCV`.

    Parameters
    ----------
    {cv_doc}
    loss, activation, n_arrangements, arrangements, max_patterns
        As in :class:`ConvexReLURegressor`, except that
        ``arrangements="search"`` is not available (it chooses patterns for
        one beta). The trained patterns (``"trained"``, and ``"auto"``'s
        choice) are those of one network
        trained at ``ConvexReLURegressor``'s default beta (after its noise
        scaling, from a first fit on all the data), kept at every
        beta of the path; each fold trains its own. The refit is
        ``ConvexReLURegressor(beta=beta_)`` on all the data, its network
        trained at ``beta_``.
    fit_intercept, solver, tol, max_iter, random_state, verbose, extrapolation
        As in :class:`ConvexReLURegressor`. With an int ``random_state``
        every fold and the refit draw the same gate vectors. Warm starts
        along each path help the native solvers (``"admm"``, ``"anderson"``,
        ``"fista"``, the ``"auto"`` choices for gated ReLU).

    Attributes
    ----------
    beta_ : float
        The chosen beta.
    betas_ : ndarray of shape (n_betas,)
        The betas tried, decreasing.
    mse_path_ : ndarray of shape (n_betas, n_folds)
        Mean squared error on each held-out fold (averaged over targets);
        NaN past the beta where the fold's path stopped. With approximate
        leave-one-out, one column: the mean squared leave-one-out error.
    n_neurons_path_ : ndarray of shape (n_betas, n_folds)
        Neurons of each fold's fit (float, NaN where not fitted).
    n_betas_fitted_ : ndarray of shape (n_folds,)
        Betas each fold's path fitted before it stopped; the candidates are
        the first ``n_betas_fitted_.min()`` betas.
    cv_results_ : dict of ndarrays
        In the layout of :class:`~sklearn.model_selection.GridSearchCV`:
        ``param_beta``, ``split{{j}}_test_score``, ``mean_test_score``,
        ``std_test_score``, ``rank_test_score`` (scores are minus the mean
        squared error, as ``scoring="neg_mean_squared_error"``), and
        ``mean_n_neurons``. The mean and standard deviation are NaN, and
        the rank last, for the betas some fold did not reach.
    coefs_, intercepts_, n_neurons_, objective_, lower_bound_, duality_gap_
        Of the network refitted on all the data at ``beta_``, as in
        :class:`ConvexReLURegressor` (the objective and bound of the
        standardized targets).
    gates_, neuron_gates_, n_iter_, objective_curve_, solver_, n_outputs_
        As in :class:`ConvexReLURegressor`, for the refit.
    y_mean_, y_scale_
        As in :class:`ConvexReLURegressor`: the refit's targets are
        standardized with them (each fold's path standardizes its own
        training part).
    n_features_in_, feature_names_in_, data_min_, data_max_
        As in :class:`ConvexReLURegressor` (the range of all the data, the refit's).

    Notes
    -----
    ``sample_weight`` weighs the training loss of every fit; the held-out
    errors are unweighted, the leave-one-out errors weighted as the loss.

    Approximate leave-one-out (Rad and Maleki, 2020): on the face of a fit
    (its nonzero blocks, in the null space of their tight cone rows) the
    program is smooth; one Newton step without sample ``i`` gives its
    output ``f_i + A_i (I - W_i A_i)^{{-1}} g_i`` (``A_i = J_i H^{{-1}}
    J_i^T``, ``g_i`` and ``W_i`` the loss's gradient and second
    derivatives in sample ``i``), for the squared loss the classical
    ``(y_i - f_i) / (1 - h_i)``. It keeps the face, so it is an
    approximation; on the data of the defaults table it chose as well as
    5-fold cross-validation, in a fraction of the time (user guide,
    "Tuning beta"). The folds run through
    :class:`joblib.Parallel`, so a cluster runs them without code changes::

        from dask.distributed import Client
        client = Client()  # or Client("scheduler-address:8786")
        with joblib.parallel_backend("dask"):
            est.fit(X, y)

    Examples
    --------
    >>> import numpy as np
    >>> from skconvexnn import ConvexReLURegressorCV
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((60, 2))
    >>> y = np.abs(X[:, 0]) + 0.1 * rng.standard_normal(60)
    >>> reg = ConvexReLURegressorCV(activation="gated_relu", n_betas=5, cv=3,
    ...                             n_arrangements=20, random_state=0).fit(X, y)
    >>> reg.mse_path_.shape
    (5, 3)
    >>> bool(reg.beta_ in reg.betas_)
    True
    """.format(cv_doc=_CV_DOC.format(fold="KFold").strip())

    _plain_class = ConvexReLURegressor
    _parameter_constraints = BetaCVMixin._constraints(ConvexReLURegressor)

    def __init__(
        self,
        *,
        betas=None,
        n_betas=CV_N_BETAS,
        beta_ratio=BETA_RATIO,
        fold_tol=FOLD_TOL,
        n_betas_no_change=N_BETAS_NO_CHANGE,
        cv=None,
        n_jobs=None,
        loss="squared",
        activation="relu",
        n_arrangements=100,
        arrangements="auto",
        max_patterns=10_000,
        fit_intercept=True,
        solver="auto",
        tol=1e-6,
        max_iter=10_000,
        random_state=None,
        verbose=0,
        extrapolation="clip",
    ):
        self.betas = betas
        self.n_betas = n_betas
        self.beta_ratio = beta_ratio
        self.fold_tol = fold_tol
        self.n_betas_no_change = n_betas_no_change
        self.cv = cv
        self.n_jobs = n_jobs
        self.loss = loss
        self.activation = activation
        self.n_arrangements = n_arrangements
        self.arrangements = arrangements
        self.max_patterns = max_patterns
        self.fit_intercept = fit_intercept
        self.solver = solver
        self.tol = tol
        self.max_iter = max_iter
        self.random_state = random_state
        self.verbose = verbose
        self.extrapolation = extrapolation

    def _loo_squared_error(self, outputs, program):
        """Mean squared error of approximate leave-one-out outputs, in the
        user's units (the program's targets are standardized)."""
        err = ((outputs - program.Y) * self.y_scale_) ** 2
        return float(program.sample_weight @ err.mean(axis=1))

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Choose beta by cross-validation, then fit on all the data.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the samples in the training loss.

        Returns
        -------
        self : ConvexReLURegressorCV
        """
        self.mse_path_ = self._fit_cv(X, y, sample_weight, mean_squared_error,
                                      greater_is_better=False,
                                      loo_score=self._loo_squared_error)
        return self


class ConvexReLUClassifierCV(BetaCVMixin, ConvexReLUClassifier):
    __doc__ = r"""Convex ReLU network classifier with beta chosen by cross-validation.

    Each fold fits the path of :func:`~skconvexnn.convex_relu_path` on its
    training part (solved to ``fold_tol``) and scores every beta on its
    held-out part (the log-loss for the logistic loss, else the accuracy,
    unless ``scoring`` says otherwise; by default, one path on all the data
    scored by approximate leave-one-out outputs instead), until
    ``n_betas_no_change`` betas in a row have not improved on its best; the
    beta of best mean score is refitted on all the data to ``tol``, as in
    :class:`~sklearn.linear_model.LogisticRegressionCV`.

    Parameters
    ----------
    {cv_doc}
    scoring : str or callable, default=None
        A scikit-learn scorer (see :func:`~sklearn.metrics.get_scorer`).
        ``None``: ``"neg_log_loss"`` for ``loss="logistic"`` (the held-out
        value of the training loss), the accuracy for the other losses.
        The accuracy of a small held-out part moves by whole samples, so
        betas often tie and the first best is the largest: on iris (three
        splits) choosing by accuracy gave a mean test accuracy of 0.930
        (one split chose a beta near ``beta_max``: 0.816), by log-loss 0.991
        (user guide, "Tuning beta: the path and cross-validation").
    loss, activation, n_arrangements, arrangements, max_patterns
        As in :class:`ConvexReLUClassifier`, except that
        ``arrangements="search"`` is not available. The trained patterns
        are those of one network trained at ``ConvexReLUClassifier``'s
        default beta, kept at every beta of the path; the refit's network
        is trained at ``beta_`` (as in :class:`ConvexReLURegressorCV`).
    fit_intercept, solver, tol, max_iter, random_state, verbose, extrapolation
        As in :class:`ConvexReLUClassifier`.

    Attributes
    ----------
    beta_ : float
        The chosen beta.
    betas_ : ndarray of shape (n_betas,)
        The betas tried, decreasing.
    scores_ : ndarray of shape (n_betas, n_folds)
        Score of each beta on each held-out fold, NaN past the beta where
        the fold's path stopped; one column with approximate
        leave-one-out outputs (``cv=None``, the log-loss or the accuracy
        of those outputs: a ``scoring`` given goes through folds). Unlike
        :class:`~sklearn.linear_model.LogisticRegressionCV`, one array, not
        one per class: the network of every class is fitted together.
    n_neurons_path_ : ndarray of shape (n_betas, n_folds)
        Neurons of each fold's fit (float, NaN where not fitted).
    n_betas_fitted_ : ndarray of shape (n_folds,)
        As in :class:`ConvexReLURegressorCV`.
    cv_results_ : dict of ndarrays
        As in :class:`ConvexReLURegressorCV`, with the scores of
        ``scoring``.
    classes_ : ndarray of shape (n_classes,)
    coefs_, intercepts_, n_neurons_, objective_, lower_bound_, duality_gap_
        Of the network refitted on all the data at ``beta_``, as in
        :class:`ConvexReLUClassifier`.
    gates_, neuron_gates_, n_iter_, objective_curve_, solver_, n_outputs_
        As in :class:`ConvexReLUClassifier`, for the refit.
    n_features_in_, feature_names_in_, data_min_, data_max_
        As in :class:`ConvexReLUClassifier` (the range of all the data, the refit's).

    Notes
    -----
    Folds run through :class:`joblib.Parallel` (see
    :class:`ConvexReLURegressorCV` for a dask cluster). The approximate
    leave-one-out outputs of ``cv=None`` are those of
    :class:`ConvexReLURegressorCV`, with the loss's second derivatives (the
    softmax couples the classes); the hinge has none, and goes through
    folds.

    Examples
    --------
    >>> import numpy as np
    >>> from skconvexnn import ConvexReLUClassifierCV
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((60, 2))
    >>> y = (X[:, 0] * X[:, 1] > 0).astype(int)
    >>> clf = ConvexReLUClassifierCV(loss="squared", activation="gated_relu",
    ...                              n_betas=4, cv=3, n_arrangements=20,
    ...                              random_state=0).fit(X, y)
    >>> clf.scores_.shape
    (4, 3)
    """.format(cv_doc=_CV_DOC.format(fold="StratifiedKFold").strip())

    _plain_class = ConvexReLUClassifier
    _parameter_constraints = {
        **BetaCVMixin._constraints(ConvexReLUClassifier),
        "scoring": [StrOptions(set(get_scorer_names())), callable, None],
    }

    def __init__(
        self,
        *,
        betas=None,
        n_betas=CV_N_BETAS,
        beta_ratio=BETA_RATIO,
        fold_tol=FOLD_TOL,
        n_betas_no_change=N_BETAS_NO_CHANGE,
        cv=None,
        n_jobs=None,
        scoring=None,
        loss="logistic",
        activation="relu",
        n_arrangements=50,
        arrangements="auto",
        max_patterns=10_000,
        fit_intercept=True,
        solver="auto",
        tol=1e-6,
        max_iter=10_000,
        random_state=None,
        verbose=0,
        extrapolation="clip",
    ):
        self.betas = betas
        self.n_betas = n_betas
        self.beta_ratio = beta_ratio
        self.fold_tol = fold_tol
        self.n_betas_no_change = n_betas_no_change
        self.cv = cv
        self.n_jobs = n_jobs
        self.scoring = scoring
        self.loss = loss
        self.activation = activation
        self.n_arrangements = n_arrangements
        self.arrangements = arrangements
        self.max_patterns = max_patterns
        self.fit_intercept = fit_intercept
        self.solver = solver
        self.tol = tol
        self.max_iter = max_iter
        self.random_state = random_state
        self.verbose = verbose
        self.extrapolation = extrapolation

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Choose beta by cross-validation, then fit on all the data.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            Class labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the samples in the training loss.

        Returns
        -------
        self : ConvexReLUClassifierCV
        """
        scoring = self.scoring
        if scoring is None and self.loss == "logistic":
            # accuracy ties on small data (one held-out sample is a step),
            # and the first best of a tie is the largest beta
            scoring = "neg_log_loss"
        scorer = check_scoring(self._plain_estimator(), scoring=scoring)
        loo_score = None if self.scoring is not None else (
            loo_log_loss if scoring == "neg_log_loss" else loo_accuracy)
        self.scores_ = self._fit_cv(X, y, sample_weight, scorer,
                                    greater_is_better=True, loo_score=loo_score)
        return self
