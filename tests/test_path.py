"""The beta path, beta_max and the cross-validated estimators."""

import joblib
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, KFold, StratifiedKFold

from skconvexnn import (
    ConvexConvReLURegressor,
    ConvexReLUClassifier,
    ConvexReLUClassifierCV,
    ConvexReLURegressor,
    ConvexReLURegressorCV,
    beta_grid,
    beta_max,
    convex_relu_path,
)
from skconvexnn._base import add_ones
from skconvexnn.arrangements import patterns_from_gates
from skconvexnn.fitting.cv import PAST_BEST_DROP, fold_path, stalled


@pytest.fixture
def data(small_regression):
    return small_regression


def _regressor(activation, **kw):
    """(fixed gates: trained patterns depend on the beta they are trained at,
    and a path keeps those of its estimator's beta)"""
    kw = {"arrangements": "bisector", **kw}
    return ConvexReLURegressor(activation=activation, n_arrangements=15,
                               random_state=0, tol=1e-7, **kw)


@pytest.mark.parametrize("activation", ["relu", "gated_relu"])
def test_beta_max_is_where_neurons_appear(data, activation):
    X, y = data
    est = _regressor(activation)
    top = beta_max(X, y, estimator=est)
    above = est.set_params(beta=1.001 * top).fit(X, y)
    assert above.n_neurons_ == 0
    below = _regressor(activation, beta=0.99 * top).fit(X, y)
    assert below.n_neurons_ > 0
    assert np.array_equal(above.gates_, below.gates_)


def test_beta_max_gated_formula(data):
    # Squared loss, uniform weights: max_i ||X1^T D_i (y - mean y)|| / (n std y)
    # (the regressor fits standardized targets).
    X, y = data
    est = _regressor("gated_relu").fit(X, y)
    X1 = add_ones(X, True)
    D = patterns_from_gates(X1, est.gates_)
    z = (y - y.mean()) / y.std()
    expected = np.linalg.norm((D * z[:, None]).T @ X1, axis=1).max()
    assert beta_max(X, y, estimator=est) == pytest.approx(expected / len(X), rel=1e-12)


def test_beta_max_of_classifier_and_weights(data):
    X, y = data
    labels = (y > np.median(y)).astype(int)
    # (fixed gates: trained patterns depend on the beta they are trained at)
    clf = ConvexReLUClassifier(activation="gated_relu", n_arrangements=15,
                               arrangements="bisector", random_state=0, tol=1e-7)
    weights = np.linspace(0.5, 2.0, len(X))
    top = beta_max(X, labels, estimator=clf, sample_weight=weights)
    assert clf.set_params(beta=1.001 * top).fit(X, labels, weights).n_neurons_ == 0
    assert clf.set_params(beta=0.99 * top).fit(X, labels, weights).n_neurons_ > 0


@pytest.mark.parametrize("activation,solver", [("relu", "clarabel"),
                                               ("gated_relu", "admm")])
def test_path_matches_independent_fits(data, activation, solver):
    X, y = data
    est = _regressor(activation, solver=solver)
    path = convex_relu_path(X, y, estimator=est, n_betas=6, beta_ratio=1e-2)
    assert np.all(np.diff(path.betas) < 0)
    assert path.betas[0] == pytest.approx(path.beta_max)
    assert path.betas[-1] == pytest.approx(1e-2 * path.beta_max)
    assert path.n_neurons[0] == 0 and path.n_neurons[-1] > 0
    assert len(path.coefs) == len(path.intercepts) == 6
    for beta, fitted, objective in zip(path.betas, path.estimators, path.objectives):
        alone = _regressor(activation, solver=solver, beta=beta).fit(X, y)
        np.testing.assert_array_equal(alone.gates_, path.gates)
        assert fitted.beta == beta
        assert objective == pytest.approx(alone.objective_, rel=1e-5)
        assert fitted.duality_gap_ <= 1e-6 * fitted.objective_
        np.testing.assert_allclose(fitted.predict(X), alone.predict(X), atol=1e-3)


def test_path_given_betas_and_search_refused(data):
    X, y = data
    est = _regressor("gated_relu")
    path = convex_relu_path(X, y, [1e-3, 1e-1, 1e-2], estimator=est)
    np.testing.assert_array_equal(path.betas, [1e-1, 1e-2, 1e-3])
    with pytest.raises(ValueError, match="positive"):
        convex_relu_path(X, y, [1e-3, -1.0], estimator=est)
    with pytest.raises(ValueError, match="search"):
        convex_relu_path(X, y, estimator=_regressor("relu", arrangements="search"))
    # The CNN estimators, once refused, have a path (tests/test_cnn.py); flat
    # rows are one-row images there as in their fit.
    cnn = ConvexConvReLURegressor(kernel_size=2, n_arrangements=5, random_state=0)
    path = convex_relu_path(X, y, estimator=cnn, n_betas=2)
    assert path.estimators[-1].image_shape_ == (1, X.shape[1], 1)
    assert path.objectives[-1] == pytest.approx(
        clone(cnn).set_params(beta=path.betas[-1]).fit(X, y).objective_, rel=1e-6)


def test_beta_grid_without_signal():
    np.testing.assert_allclose(beta_grid(0.0, 3, 1e-2), [1.0, 0.1, 0.01])


def _cv_kwargs():
    # (the bisectors: a path keeps trained patterns at every beta, which a
    # grid search of plain fits would train again at each)
    return dict(activation="gated_relu", n_arrangements=15, arrangements="bisector",
                random_state=0, tol=1e-7)


def test_regressor_cv_chooses_as_grid_search(data):
    X, y = data
    folds = KFold(3)
    # The whole path of every fold, each fit to tol: GridSearchCV's fits.
    cv = ConvexReLURegressorCV(n_betas=6, beta_ratio=1e-3, cv=folds, fold_tol=None,
                               n_betas_no_change=None, **_cv_kwargs()).fit(X, y)
    # warm_start=True still works in GridSearchCV (which clones per beta).
    search = GridSearchCV(ConvexReLURegressor(warm_start=True, **_cv_kwargs()),
                          {"beta": list(cv.betas_)}, cv=folds,
                          scoring="neg_mean_squared_error").fit(X, y)
    assert cv.beta_ == search.best_params_["beta"]
    assert cv.mse_path_.shape == (6, 3)
    # Fits certified to a relative gap of 1e-7 agree in their predictions
    # only to about its square root where the objective is flat (near
    # beta_max).
    for key in ("mean_test_score", "split0_test_score", "split2_test_score"):
        np.testing.assert_allclose(cv.cv_results_[key], search.cv_results_[key],
                                   rtol=1e-3)
    np.testing.assert_array_equal(cv.cv_results_["rank_test_score"],
                                  search.cv_results_["rank_test_score"])
    # The refit is the plain estimator at beta_ on all the data.
    refit = ConvexReLURegressor(beta=cv.beta_, **_cv_kwargs()).fit(X, y)
    assert cv.objective_ == pytest.approx(refit.objective_, rel=1e-5)
    np.testing.assert_allclose(cv.predict(X), refit.predict(X), atol=1e-3)


def test_classifier_cv_chooses_as_grid_search(data):
    X, y = data
    labels = (y > np.median(y)).astype(int)
    folds = StratifiedKFold(3)
    # The squared loss and a continuous score (no ties between betas).
    kw = dict(_cv_kwargs(), loss="squared", tol=1e-6)
    cv = ConvexReLUClassifierCV(n_betas=4, cv=folds, scoring="roc_auc",
                                fold_tol=None, n_betas_no_change=None,
                                **kw).fit(X, labels)
    search = GridSearchCV(ConvexReLUClassifier(**kw), {"beta": list(cv.betas_)},
                          cv=folds, scoring="roc_auc").fit(X, labels)
    assert cv.beta_ == search.best_params_["beta"]
    assert cv.scores_.shape == (4, 3)
    np.testing.assert_allclose(cv.scores_.mean(axis=1),
                               search.cv_results_["mean_test_score"], rtol=1e-3)
    np.testing.assert_array_equal(cv.classes_, [0, 1])


def test_classifier_cv_logistic_multiclass(data):
    X, y = data
    labels = np.digitize(y, np.quantile(y, [1 / 3, 2 / 3]))
    clf = ConvexReLUClassifierCV(n_betas=2, beta_ratio=0.1, cv=2,
                                 scoring="neg_log_loss", **_cv_kwargs())
    clf.set_params(tol=1e-5).fit(X, labels)
    assert clf.beta_ in clf.betas_
    assert clf.predict_proba(X).shape == (len(X), 3)
    assert np.all(clf.cv_results_["mean_test_score"] < 0)


def test_classifier_cv_default_scoring_follows_the_loss(data):
    # the logistic loss is scored by its held-out log-loss (accuracy ties on
    # small data), the hinge loss by the accuracy
    X, y = data
    labels = (y > np.median(y)).astype(int)
    kw = dict(n_betas=3, beta_ratio=0.1, cv=StratifiedKFold(2), **_cv_kwargs())
    logistic = ConvexReLUClassifierCV(**kw).fit(X, labels)
    explicit = ConvexReLUClassifierCV(scoring="neg_log_loss", **kw).fit(X, labels)
    np.testing.assert_allclose(logistic.scores_, explicit.scores_)
    assert np.all(logistic.scores_[~np.isnan(logistic.scores_)] < 0)
    hinge = ConvexReLUClassifierCV(loss="hinge", **kw).fit(X, labels)
    accuracy = ConvexReLUClassifierCV(loss="hinge", scoring="accuracy", **kw).fit(
        X, labels)
    np.testing.assert_allclose(hinge.scores_, accuracy.scores_)
    assert np.nanmin(hinge.scores_) >= 0


def test_cv_threading_backend(data):
    X, y = data
    est = ConvexReLURegressorCV(n_betas=4, cv=3, **_cv_kwargs())
    sequential = est.fit(X, y).mse_path_
    with joblib.parallel_backend("threading", n_jobs=2):
        threaded = est.set_params(n_jobs=2).fit(X, y)
    np.testing.assert_allclose(threaded.mse_path_, sequential, rtol=1e-10)


def test_classifier_cv_one_weighted_class(data):
    X, y = data
    labels = (y > np.median(y)).astype(int)
    with pytest.raises(ValueError, match="two classes"):
        ConvexReLUClassifierCV(n_betas=2, cv=2, **_cv_kwargs()).fit(
            X, labels, sample_weight=labels)


def test_verbose_path_reports_every_beta(capsys):
    from skconvexnn import ConvexReLURegressor, convex_relu_path

    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 3))
    y = np.maximum(X[:, 0], 0) + 0.1 * rng.standard_normal(60)
    est = ConvexReLURegressor(activation="gated_relu", n_arrangements=10,
                              random_state=0, verbose=2)
    convex_relu_path(X, y, estimator=est, n_betas=4)
    lines = [ln for ln in capsys.readouterr().out.splitlines()
             if ln.startswith("[path]")]
    assert len(lines) == 4
    assert all("beta=" in ln and "gap=" in ln for ln in lines)


def _noisy_regression():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((80, 3))
    y = np.maximum(X @ [1.0, -2.0, 0.5], 0) + 0.5 * rng.standard_normal(80)
    return X, y


@pytest.mark.parametrize("task", [
    "regression", "classification",
    # The logistic program to 1e-6 takes 10,000 FISTA iterations on some betas.
    pytest.param("logistic", marks=pytest.mark.slow),
])
def test_loose_fold_tol_chooses_as_tight(task):
    # The ReLU program (the default): folds at the default fold_tol=1e-3
    # against folds fitted to tol, every beta of every fold.
    X, y = _noisy_regression()
    kw = dict(n_arrangements=15, random_state=0, tol=1e-7, n_betas=8, cv=3,
              n_betas_no_change=None)
    if task == "regression":
        cls, target, key = ConvexReLURegressorCV, y, "mse_path_"
    else:
        cls, target, key = ConvexReLUClassifierCV, (y > np.median(y)).astype(int), \
            "scores_"
        # Continuous scores (no ties between betas).
        if task == "classification":
            kw.update(loss="squared", scoring="roc_auc")
        else:
            kw.update(scoring="neg_log_loss", tol=1e-6)
    loose = cls(**kw).fit(X, target)
    tight = cls(**kw, fold_tol=None).fit(X, target)
    assert loose._fold_estimator().tol == 1e-3
    assert tight._fold_estimator().tol == kw["tol"]
    assert loose.beta_ == tight.beta_
    # The mean held-out scores move by far less than their differences
    # between betas (one fold's score near beta_max moves by up to 0.02).
    mean_loose = loose.cv_results_["mean_test_score"]
    mean_tight = tight.cv_results_["mean_test_score"]
    np.testing.assert_allclose(mean_loose, mean_tight, rtol=1e-2)
    assert np.abs(mean_loose - mean_tight).max() < 0.1 * np.ptp(mean_tight)
    # (one fold's score at one beta: 3.3 % apart with the regression's
    # trained patterns)
    np.testing.assert_allclose(getattr(loose, key), getattr(tight, key), rtol=4e-2)
    # The refit is at tol in both.
    assert loose.objective_ == pytest.approx(tight.objective_, rel=1e-5)
    assert loose.duality_gap_ <= kw["tol"] * loose.objective_


def test_fold_tol_never_below_tol(data):
    X, y = data
    est = ConvexReLURegressorCV(tol=1e-2, fold_tol=1e-4)
    assert est._fold_estimator().tol == 1e-2
    assert ConvexReLURegressorCV(tol=1e-5)._fold_estimator().tol == 1e-3
    assert ConvexReLURegressorCV(tol=1e-5, fold_tol=None)._fold_estimator().tol == 1e-5


def _stops_at(errors, patience):
    """Betas a fold fits before it stops: ``patience`` past its best, or two
    past it with the last error above the best by more than PAST_BEST_DROP
    of the fall from the first beta's error to the best."""
    for k in range(len(errors)):
        best = int(np.argmin(errors[:k + 1]))
        past = k - best
        fall = errors[0] - errors[best]
        if past >= patience or (past >= 2 and errors[k] > errors[best]
                                + PAST_BEST_DROP * fall):
            return k + 1
    return len(errors)


def test_paths_stop_where_the_scores_turn_down_not_where_they_flatten():
    # greater is better; the first score is the largest beta's
    rising = [-10.0, -5.0, -4.0]
    assert not stalled(rising + [-4.01, -4.02], 3)  # flat: 0.3 % of the rise
    assert stalled(rising + [-4.5, -5.0], 3)  # down by 17 % of the rise
    assert not stalled(rising + [-5.0], 3)  # one past the best: never
    assert stalled(rising + [-5.0], 1)
    assert stalled(rising + [-4.01, -4.02, -4.03], 3)  # patience reached
    assert stalled(rising + [np.nan, np.nan], 3)  # failed fits count as down
    assert not stalled(rising + [-4.5, -5.0], None)


@pytest.mark.parametrize("patience", [1, 2, 3])
def test_early_stopped_folds_are_prefixes_of_whole_paths(patience):
    X, y = _noisy_regression()
    # (the bisectors: each fold's path then overfits the small betas)
    kw = dict(activation="gated_relu", n_arrangements=15, random_state=0,
              tol=1e-7, n_betas=12, beta_ratio=1e-4, cv=3, arrangements="bisector")
    full = ConvexReLURegressorCV(**kw, n_betas_no_change=None).fit(X, y)
    stopped = ConvexReLURegressorCV(**kw, n_betas_no_change=patience).fit(X, y)
    assert np.all(full.n_betas_fitted_ == 12)
    # The small betas overfit this noisy target: the paths stop early.
    assert stopped.n_betas_fitted_.max() < 12
    for j, reached in enumerate(stopped.n_betas_fitted_):
        errors = full.mse_path_[:, j]
        # Each fold stops at the first beta `patience` betas past its best,
        # or two past it where its error has turned up.
        assert reached == _stops_at(errors, patience)
        np.testing.assert_allclose(stopped.mse_path_[:reached, j],
                                   errors[:reached], rtol=1e-6)
        assert np.all(np.isnan(stopped.mse_path_[reached:, j]))
        assert np.all(np.isnan(stopped.n_neurons_path_[reached:, j]))
    # The choice: the best mean among the betas every fold reached.
    common = stopped.n_betas_fitted_.min()
    mean = stopped.cv_results_["mean_test_score"]
    assert np.all(np.isnan(mean[common:])) and np.all(np.isfinite(mean[:common]))
    best = np.argmax(-full.mse_path_[:common].mean(axis=1))
    assert stopped.beta_ == full.betas_[best]
    ranks = stopped.cv_results_["rank_test_score"]
    assert np.all(ranks[common:] == common + 1) and ranks[best] == 1


@pytest.mark.parametrize("activation", ["relu", "gated_relu"])
def test_fold_paths_skip_only_the_bounds(data, activation):
    # The folds' paths (fold_path: no bounds) fit the same networks as
    # convex_relu_path; only the lower bounds beyond the solver's are skipped.
    X, y = data
    est = _regressor(activation)
    path = convex_relu_path(X, y, estimator=est, n_betas=5, beta_ratio=1e-2)
    fold = clone(est)
    Xv, Yv, loss = fold._training_data(X, y, None)
    seen = []

    def score(fit):
        fitted = fold._set_fit(fit)
        seen.append((fitted.objective_, fitted.lower_bound_, fitted.predict(X)))
        return 0.0

    with fold._blas_limit(Xv):
        program, gates, _ = fold._path_program(Xv, Yv, loss, None)
        fold_path(program, path.betas, fold._options(), gates, score)
    assert len(seen) == 5
    for (objective, bound, prediction), fitted in zip(seen, path.estimators):
        assert objective == pytest.approx(fitted.objective_, rel=1e-12)
        np.testing.assert_allclose(prediction, fitted.predict(X), rtol=1e-12)
        assert bound <= fitted.lower_bound_
    assert seen[0][1] == seen[0][0]  # beta_max: the zero network is exact


@pytest.mark.parametrize("activation, loss", [("gated_relu", "squared"),
                                              ("relu", "squared"),
                                              ("gated_relu", "logistic")])
def test_gated_squared_polish_goes_to_newton_after_few_lbfgs_steps(
        monkeypatch, activation, loss):
    # A face without cones under a quadratic loss: the Newton steps (Hessian
    # formed once) take the polish to the face's optimum, the L-BFGS rounds
    # stop at newton_lead iterations (the gated path's polishes: 1.65 s with
    # 100, 1.0 s with 10). The ReLU program and the logistic loss keep
    # max_iter. The fit along a short path stays certified.
    import skconvexnn.solvers._polish as module
    from skconvexnn.solvers._polish import FacePolish
    # (the quasi-Newton rounds: faces of any size, as before Newton rounds)
    monkeypatch.setattr(FacePolish, "newton_round_columns", 0)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((200, 4))
    y = np.maximum(X @ rng.standard_normal((4, 6)), 0) @ rng.standard_normal(6)
    y = y + 0.1 * rng.standard_normal(200)
    cls, kw = ConvexReLURegressor, {}
    if loss == "logistic":
        cls, kw, y = ConvexReLUClassifier, {"loss": "logistic"}, y > np.median(y)
    est = cls(activation=activation, solver="admm", n_arrangements=20,
              random_state=0, **kw)
    limits, minimize = [], module.minimize

    def recorded(*args, options, **kwargs):
        limits.append(options["maxiter"])
        return minimize(*args, options=options, **kwargs)

    monkeypatch.setattr(module, "minimize", recorded)
    path = convex_relu_path(X, y, estimator=est, n_betas=6)
    assert limits  # the polish ran
    short = activation == "gated_relu" and loss == "squared"
    expected = FacePolish.newton_lead if short else FacePolish.max_iter
    assert set(limits) == {expected}
    assert np.all(path.duality_gaps <= 1e-6 * path.objectives)


def test_a_quadratic_loss_without_hessian_keeps_the_lbfgs_rounds(data):
    # without Newton steps to follow, the L-BFGS rounds stay at max_iter
    from skconvexnn.losses import Loss, SquaredLoss
    from skconvexnn.program import BlockOperator, ConvexProgram
    from skconvexnn.solvers._polish import FacePolish

    class NoHessian(SquaredLoss):
        hessian = Loss.hessian  # the base's: no second derivatives

    X, y = data
    X1 = add_ones(X, True)
    gates = np.random.default_rng(0).standard_normal((8, X1.shape[1]))
    for loss, expected in ((SquaredLoss(), FacePolish.newton_lead),
                           (NoHessian(), FacePolish.max_iter)):
        program = ConvexProgram(X=X1, patterns=patterns_from_gates(X1, gates),
                                Y=y[:, None], beta=0.1, loss=loss,
                                activation="gated_relu",
                                sample_weight=np.full(len(y), 1 / len(y)))
        assert FacePolish(BlockOperator(program))._lbfgs_iterations(10) == expected
