"""``arrangements="trained"``: the patterns of one trained network."""

import dataclasses
import warnings

import numpy as np
import pytest
from fitted import assert_objective_is_the_networks
from nonconvex import standardized
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning

from skconvexnn import (ConvexReLUClassifier, ConvexReLURegressor,
                        ConvexReLURegressorCV, convex_relu_path)
from skconvexnn._base import add_ones
from skconvexnn._defaults import auto_beta
from skconvexnn._program import ConvexProgram
from skconvexnn.arrangements import patterns_from_gates
from skconvexnn._nonconvex import train_networks, weight_decay_objective
from skconvexnn.fitting.trained import (TRAINED_MAX_ITER, _on_grid, trained_program,
                                        units_per_output)
from skconvexnn.losses import SquaredLoss


@pytest.fixture
def kinked():
    """2-D data from three ReLUs."""
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, (60, 2))
    y = (4 * np.maximum(X @ [1.0, 1.0] - 1.2, 0) + 2 * np.maximum(0.7 - X[:, 0], 0)
         - 3 * np.maximum(X[:, 1] - 0.6, 0) + 0.1 * rng.standard_normal(60))
    return X, y


@pytest.mark.parametrize("activation", ["relu", "gated_relu"])
@pytest.mark.parametrize("max_iter", [1, 10_000])
def test_fit_is_never_worse_than_the_trained_network(kinked, activation, max_iter):
    X, y = kinked
    est = ConvexReLURegressor(beta=1e-3, arrangements="trained", n_arrangements=12,
                              activation=activation, solver="admm",
                              max_iter=max_iter, random_state=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est.fit(X, y)
    stopped = any(issubclass(w.category, ConvergenceWarning) for w in caught)
    assert stopped == (max_iter == 1)
    # The same training run, made here: the network whose patterns were used
    # (trained on the targets on their grid; its objective on the targets).
    Y = standardized(est, y)[:, None]
    weights = np.full(len(X), 1 / len(X))
    X1 = add_ones(X, True)
    [net] = train_networks(X1, _on_grid(Y), SquaredLoss(), weights, 1e-3, 12, 1,
                           np.random.RandomState(0), max_iter=TRAINED_MAX_ITER)
    value = weight_decay_objective(X1, Y, SquaredLoss(), weights, 1e-3, net.U, net.A,
                                   net.c)
    assert est.trained_objective_ == pytest.approx(value, rel=1e-9)
    assert est.objective_ <= value * (1 + 1e-9)
    assert_objective_is_the_networks(est, X, y)
    assert est.lower_bound_ <= est.objective_ * (1 + 1e-12)
    if max_iter > 1:
        # Certified over the network's patterns, and better than the network.
        assert est.duality_gap_ <= est.tol * abs(est.objective_)
        assert est.objective_ < net.objective * (1 - 1e-4)


@pytest.mark.parametrize("n_classes", [2, 3])
def test_classifier(n_classes):
    rng = np.random.default_rng(1)
    X = rng.standard_normal((90, 3))
    y = np.digitize(X[:, 0] * X[:, 1] + 0.3 * X[:, 2], [-0.3, 0.3][:n_classes - 1])
    est = ConvexReLUClassifier(beta=1e-2, arrangements="trained", n_arrangements=8,
                               random_state=0).fit(X, y)
    assert est.objective_ <= est.trained_objective_ * (1 + 1e-9)
    assert est.duality_gap_ <= est.tol * abs(est.objective_)
    # at most 8 units per output, so at most that many distinct patterns each
    assert len(est.gates_) <= 8 * (1 if n_classes == 2 else n_classes)
    assert est.score(X, y) > 0.8


def test_warm_start_keeps_the_gates_and_refits_clear(kinked):
    X, y = kinked
    est = ConvexReLURegressor(beta=1e-2, arrangements="trained", n_arrangements=10,
                              warm_start=True, random_state=0).fit(X, y)
    gates = est.gates_
    est.set_params(beta=3e-3).fit(X, y)
    # no new training run: the same patterns, warm started
    assert not hasattr(est, "trained_objective_")
    assert np.array_equal(np.unique(est.gates_, axis=0), np.unique(gates, axis=0))
    est.set_params(warm_start=False).fit(X, y)
    assert hasattr(est, "trained_objective_")
    est.set_params(arrangements="bisector").fit(X, y)
    assert not hasattr(est, "trained_objective_")


def test_paths_keep_the_patterns_trained_at_the_estimators_beta(kinked):
    X, y = kinked
    est = ConvexReLURegressor(beta=1e-2, arrangements="trained", n_arrangements=10,
                              random_state=0)
    plain = clone(est).fit(X, y)
    path = convex_relu_path(X, y, [3e-2, 1e-2, 3e-3], estimator=est)
    for fitted in path.estimators:
        # the network of the plain fit's training run, so its patterns
        assert np.array_equal(fitted.gates_, plain.gates_)
        assert fitted.duality_gap_ <= fitted.tol * abs(fitted.objective_)
    # at the estimator's beta, the optimum over the same patterns
    assert path.objectives[1] == pytest.approx(plain.objective_, rel=1e-5)
    assert path.objectives[1] <= plain.trained_objective_ * (1 + 1e-9)
    # "search" chooses its patterns for one beta
    with pytest.raises(ValueError, match="chooses them for one beta"):
        convex_relu_path(X, y, estimator=ConvexReLURegressor(arrangements="search"))


@pytest.mark.parametrize("cv", [None, 3])
def test_cv_estimators_refit_is_the_plain_fit_at_the_chosen_beta(kinked, cv):
    X, y = kinked
    cv_est = ConvexReLURegressorCV(arrangements="trained", n_arrangements=10,
                                   n_betas=4, cv=cv, random_state=0).fit(X, y)
    # The paths (cv=None: the patterns of a network trained on half of the
    # samples, the other half scored; folds: each fold trains its own), over
    # the patterns of networks trained at the default beta, chose beta_.
    # The refit is the plain estimator at beta_ on all the data: its
    # network trained at beta_, not at the default beta
    default = ConvexReLURegressor(arrangements="trained", n_arrangements=10,
                                  random_state=0).fit(X, y)
    assert cv_est.beta_ < 0.5 * default.beta_
    assert not np.array_equal(cv_est.gates_, default.gates_)
    plain = clone(default).set_params(beta=cv_est.beta_).fit(X, y)
    assert np.array_equal(cv_est.gates_, plain.gates_)
    assert cv_est.objective_ == pytest.approx(plain.objective_, rel=1e-5)
    assert cv_est.objective_ <= cv_est.trained_objective_ * (1 + 1e-9)
    assert cv_est.duality_gap_ <= cv_est.tol * abs(cv_est.objective_)
    assert cv_est.score(X, y) > 0.8


def test_patterns_trained_on_some_rows_hold_for_every_row(kinked):
    X, y = kinked
    X1, Y = add_ones(X, True), (y - y.mean())[:, None] / y.std()
    template = ConvexProgram(X=X1, patterns=np.empty((60, 0)), Y=Y, beta=1e-2,
                             loss=SquaredLoss())
    rows = np.arange(0, 60, 2)
    program, gates = trained_program(template, 8, np.random.RandomState(0),
                                     rows=rows)
    # the network of the rows alone (their weights summing to one)...
    half = dataclasses.replace(template, X=X1[rows], Y=Y[rows],
                               patterns=template.patterns[rows], sample_weight=None)
    _, half_gates = trained_program(half, 8, np.random.RandomState(0))
    assert np.array_equal(gates, half_gates)
    # ... with its patterns on every sample
    assert program.n_samples == 60
    assert np.array_equal(program.patterns, patterns_from_gates(X1, gates))


def test_auto_trains_at_every_size_and_number_of_outputs():
    rng = np.random.default_rng(2)
    X = rng.uniform(-1, 1, (300, 2))
    y = np.maximum(X @ [1.0, -1.0], 0) + 0.1 * rng.standard_normal(300)
    Y = np.column_stack([y, np.abs(X[:, 0])])
    labels = np.digitize(y, np.quantile(y, [1 / 3, 2 / 3]))
    # the regressors (one target and two) and the classifiers (a softmax of
    # three): the same fit as asking for the trained patterns, 100 samples
    # and 300
    for make, target in ((ConvexReLURegressor, y), (ConvexReLURegressor, Y),
                         (ConvexReLUClassifier, labels)):
        for rows in (slice(100), slice(None)):
            auto = make(n_arrangements=6, random_state=0).fit(X[rows], target[rows])
            asked = make(n_arrangements=6, arrangements="trained",
                         random_state=0).fit(X[rows], target[rows])
            assert auto.trained_objective_ == asked.trained_objective_
            assert np.array_equal(auto.gates_, asked.gates_)
            assert auto.objective_ == pytest.approx(asked.objective_, rel=1e-12)
    assert ConvexReLUClassifier(random_state=0).fit(X[:100], y[:100] > 0).beta_ == 3e-3
    # a path: the patterns of the network trained at the plain estimator's
    # beta (of the size rule, before a plain fit scales it by its noise)
    trained = ConvexReLURegressor(n_arrangements=6, arrangements="trained",
                                  random_state=0, beta=auto_beta(3e-2, 300)).fit(X, y)
    path = convex_relu_path(X, y, estimator=ConvexReLURegressor(n_arrangements=6,
                                                                random_state=0),
                            n_betas=2)
    assert np.array_equal(path.estimators[-1].gates_, trained.gates_)


def test_several_outputs_share_the_trained_units():
    # n_arrangements units in all, shared among the four classes (two
    # each): at most that many patterns, not n_arrangements per class
    rng = np.random.default_rng(3)
    X = rng.standard_normal((120, 3))
    labels = np.argmax(X @ rng.standard_normal((3, 4)), axis=1)
    clf = ConvexReLUClassifier(arrangements="trained", n_arrangements=8,
                               random_state=0).fit(X, labels)
    assert clf.n_outputs_ == 4
    assert 1 <= len(clf.gates_) <= 8
    # five units for three classes: two each
    three = np.minimum(labels, 2)
    clf = ConvexReLUClassifier(arrangements="trained", n_arrangements=5,
                               random_state=0).fit(X, three)
    assert len(clf.gates_) <= 6


def test_units_are_shared_among_at_most_ten_outputs():
    # beyond ten outputs each keeps a tenth of the units (two a class
    # left 26 classes far below the MLP)
    assert units_per_output(50, 1) == 50
    assert units_per_output(50, 4) == 13
    assert units_per_output(50, 10) == 5
    assert units_per_output(50, 26) == 5
    assert units_per_output(3, 26) == 1
