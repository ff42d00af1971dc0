"""What the CV estimators share: the grid, the scored paths, the choice, the refit.

By default (``cv=None``) one path on all the data, scored by approximate
leave-one-out outputs (:func:`~skconvexnn.fitting.cv.loo_path`); otherwise
each fold's path scored on its held-out part (:func:`fold_scores`, the
estimator layer's side of :func:`~skconvexnn.fitting.cv.fold_path`, since
scikit-learn scorers take an estimator).
"""

from dataclasses import replace
from numbers import Integral, Real

import numpy as np
from sklearn.base import is_classifier
from sklearn.model_selection import check_cv
from sklearn.utils import _safe_indexing
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.parallel import Parallel, delayed

from ._base import ARRANGEMENT_STRATEGIES, check_weights
from ._path import beta_grid, path_estimator, sorted_betas
from ._program import program_beta_max
from .fitting import fit_beta
from .fitting.cv import choose_beta, fold_path, loo_applies, loo_path

__all__ = ["BetaCVMixin", "fold_scores", "check_fold_classes", "mean_squared_error",
           "CV_N_BETAS", "FOLD_TOL", "N_BETAS_NO_CHANGE"]

#: Default length of the CV estimators' grid (3 betas a decade).
CV_N_BETAS = 10
#: Default relative duality gap of the folds' fits.
FOLD_TOL = 1e-3
#: Default number of betas without a better held-out score before a fold stops.
N_BETAS_NO_CHANGE = 3


class BetaCVMixin:
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
            "arrangements": [StrOptions(ARRANGEMENT_STRATEGIES - {"search"}),
                             "array-like"],
        }

    #: A CV fit never starts from a previous fit (each fold has its own path).
    warm_start = False

    def _plain_estimator(self):
        """The estimator of the refit, with this one's model settings."""
        plain = self._plain_class
        names = plain._get_param_names()
        params = {k: v for k, v in self.get_params(deep=False).items() if k in names}
        pattern_beta = getattr(self, "_pattern_beta", None)
        if pattern_beta is not None:
            params["beta"] = pattern_beta
        return plain(**params)

    def _scaled_pattern_beta(self, X, y, sample_weight):
        """The beta the trained patterns are trained at: a plain regressor's
        ``beta="auto"`` after its noise scaling (a first fit on all the
        data), or None for the size rule's (user guide, "Patterns from a
        training run")."""
        self._pattern_beta = None
        plain = self._plain_estimator()
        strategy = plain._strategy(len(X))
        if (is_classifier(self) or not plain._scales_beta()
                or not (isinstance(strategy, str) and strategy == "trained")):
            return None
        _, Y, _ = plain._training_data(X, y, sample_weight)
        return float(plain._noise_scaled_beta(X, y, Y, sample_weight))

    def _fold_estimator(self):
        """The estimator fitted on each fold: the refit's, at the folds' tolerance."""
        fold_tol = self.tol if self.fold_tol is None else max(self.tol, self.fold_tol)
        return self._plain_estimator().set_params(tol=fold_tol)

    def _fit_cv(self, X, y, sample_weight, score, greater_is_better, loo_score=None):
        """Fit the folds' paths, choose ``beta_`` and refit on all the data.

        ``score(estimator, X, y)`` scores a fitted estimator on held-out
        data. Returns the per-fold scores, shape (n_betas, n_folds). With
        ``cv=None`` and ``loo_score`` (``loo_score(outputs, program)``, the
        score of approximate leave-one-out outputs), one path on all the
        data is scored instead when :func:`loo_applies`: one column.
        """
        X, Y, loss = self._training_data(X, y, sample_weight)
        self._pattern_beta = self._scaled_pattern_beta(X, y, sample_weight)
        if self.cv is None and loo_score is not None:
            scores = self._fit_loo(X, Y, loss, sample_weight, loo_score,
                                   greater_is_better)
            if scores is not None:
                return scores
        # The folds see validated targets (numeric strings become floats);
        # a classifier's folds keep the labels, which they encode themselves.
        # Y is standardized: the folds get it back in the user's units.
        y = np.asarray(y) if is_classifier(self) else (
            (Y * self.y_scale_ + self.y_mean_)[:, 0] if self._y_1d
            else Y * self.y_scale_ + self.y_mean_)
        if sample_weight is not None:
            sample_weight = check_weights(sample_weight, X)
        plain = self._plain_estimator()
        betas = self._grid(lambda: plain._beta_max(X, Y, loss, sample_weight))
        cv = check_cv(self.cv, y, classifier=is_classifier(self))
        folds = list(cv.split(X, y))
        if is_classifier(self):
            check_fold_classes(y, folds, self.classes_)
        results = Parallel(n_jobs=self.n_jobs)(
            delayed(fold_scores)(self._fold_estimator(), X, y, sample_weight, train,
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
        self._refit(X, Y, loss, sample_weight)
        return scores

    def _refit(self, X, Y, loss, sample_weight):
        """The fit at ``beta_`` on all the data: the plain estimator's at
        that beta (trained patterns: those of a network trained on all the
        data at ``beta_``). The paths' patterns, trained at the plain
        estimator's beta, suit the betas near it; at a much smaller chosen
        beta they held the refit back (Cigar, ``beta_`` at 0.015 of it: a
        test R^2 of 0.48 against 0.68; user guide, "Tuning beta")."""
        self._fit_network(X, Y, loss, sample_weight, beta=self.beta_)

    def _grid(self, largest):
        """The betas to try, decreasing; ``largest()`` is the whole data's
        ``beta_max``, asked for by the default grid only."""
        if self.betas is None:
            return beta_grid(largest(), self.n_betas, self.beta_ratio)
        return sorted_betas(self.betas)

    def _fit_loo(self, X, Y, loss, sample_weight, loo_score, greater_is_better):
        """``cv=None``: one path on all the data, scored by approximate
        leave-one-out outputs (:func:`~skconvexnn.fitting.cv.loo_path`); the
        chosen beta refitted to ``tol`` from the path's fit (trained
        patterns: trained on half of the samples, the other half scored, and
        the refit's network trained on all at the chosen beta,
        :meth:`_refit`). Returns the
        scores, shape (n_betas, 1), or None when they do not apply (then
        the folds decide)."""
        plain, folds = self._plain_estimator(), self._fold_estimator()
        with plain._blas_limit(X):
            # (trained patterns: trained on half of the samples, the other
            # half scored, so that no score sees a choice made on its sample)
            program, gates, scored = plain._path_program(X, Y, loss, sample_weight,
                                                         hold_out=True)
            if not loo_applies(program, folds._options()):
                return None
            # (the program in hand: not built again for beta_max, nor
            # beta_max computed again by the path)
            largest = program_beta_max(program)
            betas = self._grid(lambda: largest)
            scores, neurons, n_fitted, fits = loo_path(
                program, betas, folds._options(), gates,
                _scored_samples(loo_score, program, scored), greater_is_better,
                self.n_betas_no_change, beta_max=largest,
                share=plain._row_shares(X, Y, sample_weight))
            self.betas_, self.n_neurons_path_ = betas, neurons[:, None]
            self.n_betas_fitted_ = np.array([n_fitted])
            best, self.cv_results_ = choose_beta(
                betas, scores[:, None], self.n_neurons_path_, self.n_betas_fitted_,
                greater_is_better)
            self.beta_ = float(betas[best])
            if scored is None:
                self._set_fit(fit_beta(replace(program, beta=self.beta_),
                                       self._options(), gates,
                                       init=fits[best].solution))
        if scored is not None:
            # as after folds: the network trained on all the data
            self._refit(X, Y, loss, sample_weight)
        return scores[:, None]


def _scored_samples(loo_score, program, rows):
    """``outputs -> loo_score(outputs, program)`` on the samples ``rows``
    only (their weights rescaled to sum to one; None: every sample)."""
    if rows is None:
        return lambda outputs: loo_score(outputs, program)
    s = program.sample_weight[rows]
    part = replace(program, X=program.X[rows], Y=program.Y[rows],
                   patterns=program.patterns[rows], sample_weight=s / s.sum())
    return lambda outputs: loo_score(outputs[rows], part)


def fold_scores(estimator, X, y, sample_weight, train, test, betas, score,
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
        program, gates, _ = est._path_program(X_train, Y_train, loss, sw)
        return fold_path(program, betas, est._options(), gates, held_out,
                         greater_is_better, n_no_change)


def check_fold_classes(y, folds, classes):
    """Raise a clear error when the training part of a fold misses a class."""
    for j, (train, _) in enumerate(folds):
        missing = np.setdiff1d(classes, np.unique(y[train]))
        if len(missing):
            raise ValueError(
                f"The training part of fold {j} has no sample of class(es) "
                f"{missing.tolist()}, which the whole data has. Use fewer folds "
                "(cv), a stratified splitter, or more samples of the rare classes."
            )


def mean_squared_error(estimator, X, y):
    """Mean over samples and targets of the squared error of ``estimator``."""
    return float(np.mean((estimator.predict(X) - y) ** 2))
