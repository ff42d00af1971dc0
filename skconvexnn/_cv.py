"""Cross-validated choice of beta: ConvexReLURegressorCV, ConvexReLUClassifierCV.

As ``LassoCV`` and ``LogisticRegressionCV`` do: the grid is set from
``beta_max`` of the whole data, each fold fits the path on its training
part (warm started, as :func:`skconvexnn.convex_relu_path`) and scores
every beta on its held-out part; folds run in parallel through joblib, so
any joblib backend (threads, processes, dask, ray) runs them; the beta of
best mean score is refitted on all the data. The folds need held-out
scores, not certified optima: they are solved to the looser relative gap
``fold_tol``, and each fold's path stops once its held-out score has not
improved for ``n_betas_no_change`` betas (user guide, "Tuning beta: the
path and cross-validation"). Only the refit is solved to ``tol``.

The estimators here validate the data, build each fold's program and apply
the refit; each fold's path, its scores and the choice of beta are
:mod:`skconvexnn.fitting.cv`'s.
"""

from numbers import Integral, Real

import numpy as np
from sklearn.base import _fit_context, is_classifier
from sklearn.metrics import check_scoring, get_scorer_names
from sklearn.model_selection import check_cv
from sklearn.utils import _safe_indexing
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.parallel import Parallel, delayed

from ._base import DRAWN_OR_ENUMERATED, check_weights
from ._classification import ConvexReLUClassifier
from ._path import BETA_RATIO, beta_grid, path_estimator, sorted_betas
from ._regression import ConvexReLURegressor
from .fitting.cv import choose_beta, fold_path

__all__ = ["ConvexReLURegressorCV", "ConvexReLUClassifierCV"]

#: Default length of the CV estimators' grid (3 betas a decade).
CV_N_BETAS = 10
#: Default relative duality gap of the folds' fits.
FOLD_TOL = 1e-3
#: Default number of betas without a better held-out score before a fold stops.
N_BETAS_NO_CHANGE = 3


def _fold_scores(estimator, X, y, sample_weight, train, test, betas, score,
                 greater_is_better, n_no_change):
    """One fold: its training program's path, scored on ``test``.

    The estimator layer's part of :func:`~skconvexnn.fitting.cv.fold_path`:
    validate the fold's training part and build its program (as
    :func:`~skconvexnn.convex_relu_path`), and score a fit by setting it
    on the fold's estimator (scikit-learn scorers take an estimator).
    """
    est = path_estimator(estimator)
    sw = None if sample_weight is None else sample_weight[train]
    X_train, y_train = _safe_indexing(X, train), _safe_indexing(y, train)
    X_test, y_test = _safe_indexing(X, test), _safe_indexing(y, test)
    X_train, Y_train, loss = est._training_data(X_train, y_train, sw)

    def held_out(fit):
        return score(est._set_fit(fit), X_test, y_test)

    with est._blas_limit(X_train):
        program, gates = est._path_program(X_train, Y_train, loss, sw)
        return fold_path(program, betas, est._options(), gates, held_out,
                         greater_is_better, n_no_change)


def _check_fold_classes(y, folds, classes):
    """Raise a clear error when the training part of a fold misses a class."""
    for j, (train, _) in enumerate(folds):
        missing = np.setdiff1d(classes, np.unique(y[train]))
        if len(missing):
            raise ValueError(
                f"The training part of fold {j} has no sample of class(es) "
                f"{missing.tolist()}, which the whole data has. Use fewer folds "
                "(cv), a stratified splitter, or more samples of the rare classes."
            )


def _mean_squared_error(estimator, X, y):
    """Mean over samples and targets of the squared error of ``estimator``."""
    return float(np.mean((estimator.predict(X) - y) ** 2))


class _BetaCVMixin:
    """Grid, fold-wise paths, selection and refit, shared by the CV estimators."""

    @staticmethod
    def _constraints(plain):
        """``_parameter_constraints`` of the CV version of the class ``plain``."""
        kept = {k: v for k, v in plain._parameter_constraints.items()
                if k not in ("beta", "warm_start")}
        return {
            **kept,
            "betas": ["array-like", None],
            "n_betas": [Interval(Integral, 1, None, closed="left")],
            "beta_ratio": [Interval(Real, 0, 1, closed="right")],
            "fold_tol": [Interval(Real, 0, None, closed="neither"), None],
            "n_betas_no_change": [Interval(Integral, 1, None, closed="left"), None],
            "cv": ["cv_object"],
            "n_jobs": [Integral, None],
            "arrangements": [StrOptions(DRAWN_OR_ENUMERATED), "array-like"],
        }

    #: A CV fit never starts from a previous fit (each fold has its own path).
    warm_start = False

    def _plain_estimator(self):
        """The estimator of the refit, with this one's model settings."""
        plain = self._plain_class
        names = plain._get_param_names()
        params = {k: v for k, v in self.get_params(deep=False).items() if k in names}
        return plain(**params)

    def _fold_estimator(self):
        """The estimator fitted on each fold: the refit's, at the folds' tolerance."""
        fold_tol = self.tol if self.fold_tol is None else max(self.tol, self.fold_tol)
        return self._plain_estimator().set_params(tol=fold_tol)

    def _fit_cv(self, X, y, sample_weight, score, greater_is_better):
        """Fit the folds' paths, choose ``beta_`` and refit on all the data.

        ``score(estimator, X, y)`` scores a fitted estimator on held-out
        data. Returns the per-fold scores, shape (n_betas, n_folds).
        """
        X, Y, loss = self._training_data(X, y, sample_weight)
        # The folds see validated targets (numeric strings become floats);
        # a classifier's folds keep the labels, which they encode themselves.
        # Y is standardized: the folds get it back in the user's units.
        y = np.asarray(y) if is_classifier(self) else (
            (Y * self.y_scale_ + self.y_mean_)[:, 0] if self._y_1d
            else Y * self.y_scale_ + self.y_mean_)
        if sample_weight is not None:
            sample_weight = check_weights(sample_weight, X)
        plain = self._plain_estimator()
        if self.betas is None:
            betas = beta_grid(plain._beta_max(X, Y, loss, sample_weight),
                              self.n_betas, self.beta_ratio)
        else:
            betas = sorted_betas(self.betas)
        cv = check_cv(self.cv, y, classifier=is_classifier(self))
        folds = list(cv.split(X, y))
        if is_classifier(self):
            _check_fold_classes(y, folds, self.classes_)
        results = Parallel(n_jobs=self.n_jobs)(
            delayed(_fold_scores)(self._fold_estimator(), X, y, sample_weight, train,
                                  test, betas, score, greater_is_better,
                                  self.n_betas_no_change)
            for train, test in folds
        )
        scores = np.column_stack([r[0] for r in results])
        self.betas_ = betas
        self.n_neurons_path_ = np.column_stack([r[1] for r in results])
        # The candidates: the betas every fold's path reached.
        self.n_betas_fitted_ = np.array([r[2] for r in results])
        best, self.cv_results_ = choose_beta(betas, scores, self.n_neurons_path_,
                                             self.n_betas_fitted_, greater_is_better)
        self.beta_ = float(betas[best])
        self._fit_network(X, Y, loss, sample_weight, beta=self.beta_)
        return scores


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
        Relative duality gap to which the folds' fits are solved (the
        larger of ``tol`` and ``fold_tol``; ``None``: ``tol``). The folds
        need held-out scores, which a gap of 1e-3 hardly moves; only the
        refit on all the data is solved to ``tol``.
    n_betas_no_change : int or None, default=3
        Each fold's path, from the largest beta down, stops once this many
        betas in a row have not improved on its best held-out score, as
        early stopping does (past the best, smaller betas overfit and cost
        the most). Only the betas every fold reached are candidates; the
        scores of the others are NaN. ``None``: every fold fits every beta.
    cv : int, cross-validation generator or iterable, default=None
        As in :func:`~sklearn.model_selection.check_cv`: ``None`` is 5-fold
        ({fold}), an int the number of folds.
    n_jobs : int, default=None
        Folds fitted in parallel through joblib (``None``: 1 unless in a
        :func:`joblib.parallel_backend` context; ``-1``: all processors).
        Inside each fold the path runs sequentially (warm starts).
"""


class ConvexReLURegressorCV(_BetaCVMixin, ConvexReLURegressor):
    __doc__ = r"""Convex ReLU network regressor with beta chosen by cross-validation.

    Each fold fits the path of :func:`~skconvexnn.convex_relu_path` on its
    training part (one set of patterns per fold, warm starts from the
    largest beta down, solved to ``fold_tol``) and computes the mean
    squared error of every beta on its held-out part, until
    ``n_betas_no_change`` betas in a row have not improved on its best;
    the beta of least mean error over the folds is refitted on all the
    data to ``tol``, as in :class:`~sklearn.linear_model.LassoCV`.

    Parameters
    ----------
    {cv_doc}
    loss, activation, n_arrangements, arrangements, max_patterns
        As in :class:`ConvexReLURegressor`, except that
        ``arrangements="search"`` is not available (it chooses patterns for
        one beta).
    fit_intercept, solver, tol, max_iter, random_state, verbose
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
        NaN past the beta where the fold's path stopped.
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
    n_features_in_, feature_names_in_
        As in :class:`ConvexReLURegressor`.

    Notes
    -----
    ``sample_weight`` weighs the training loss of every fit; the held-out
    errors are unweighted. The folds run through
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
    _parameter_constraints = _BetaCVMixin._constraints(ConvexReLURegressor)

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
        arrangements="bisector",
        max_patterns=10_000,
        fit_intercept=True,
        solver="auto",
        tol=1e-6,
        max_iter=10_000,
        random_state=None,
        verbose=0,
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
        self.mse_path_ = self._fit_cv(X, y, sample_weight, _mean_squared_error,
                                      greater_is_better=False)
        return self


class ConvexReLUClassifierCV(_BetaCVMixin, ConvexReLUClassifier):
    __doc__ = r"""Convex ReLU network classifier with beta chosen by cross-validation.

    Each fold fits the path of :func:`~skconvexnn.convex_relu_path` on its
    training part (solved to ``fold_tol``) and scores every beta on its
    held-out part (the log-loss for the logistic loss, else the accuracy,
    unless ``scoring`` says otherwise), until
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
        ``arrangements="search"`` is not available.
    fit_intercept, solver, tol, max_iter, random_state, verbose
        As in :class:`ConvexReLUClassifier`.

    Attributes
    ----------
    beta_ : float
        The chosen beta.
    betas_ : ndarray of shape (n_betas,)
        The betas tried, decreasing.
    scores_ : ndarray of shape (n_betas, n_folds)
        Score of each beta on each held-out fold, NaN past the beta where
        the fold's path stopped. Unlike
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
    n_features_in_, feature_names_in_
        As in :class:`ConvexReLUClassifier`.

    Notes
    -----
    Folds run through :class:`joblib.Parallel` (see
    :class:`ConvexReLURegressorCV` for a dask cluster).

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
        **_BetaCVMixin._constraints(ConvexReLUClassifier),
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
        n_arrangements=100,
        arrangements="bisector",
        max_patterns=10_000,
        fit_intercept=True,
        solver="auto",
        tol=1e-6,
        max_iter=10_000,
        random_state=None,
        verbose=0,
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
        self.scores_ = self._fit_cv(X, y, sample_weight, scorer,
                                    greater_is_better=True)
        return self
