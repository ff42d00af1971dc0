"""``arrangements="trained"``: the patterns of one trained network."""

import warnings

import numpy as np
import pytest
from fitted import assert_objective_is_the_networks
from nonconvex import standardized
from sklearn.exceptions import ConvergenceWarning

from skconvexnn import (ConvexReLUClassifier, ConvexReLURegressor,
                        ConvexReLURegressorCV, convex_relu_path)
from skconvexnn._base import add_ones
from skconvexnn._nonconvex import train_networks
from skconvexnn.fitting.trained import TRAINED_MAX_ITER
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
    # The same training run, made here: the network whose patterns were used.
    Y = standardized(est, y)[:, None]
    weights = np.full(len(X), 1 / len(X))
    [net] = train_networks(add_ones(X, True), Y, SquaredLoss(), weights, 1e-3, 12, 1,
                           np.random.RandomState(0), max_iter=TRAINED_MAX_ITER)
    assert est.trained_objective_ == pytest.approx(net.objective, rel=1e-9)
    assert est.objective_ <= net.objective * (1 + 1e-9)
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


def test_paths_refuse_trained_patterns(kinked):
    X, y = kinked
    with pytest.raises(ValueError, match="chooses them for one beta"):
        convex_relu_path(X, y, estimator=ConvexReLURegressor(arrangements="trained"))
    with pytest.raises(ValueError, match="arrangements"):
        ConvexReLURegressorCV(arrangements="trained").fit(X, y)


def test_auto_trains_for_one_output_above_a_thousand_samples():
    rng = np.random.default_rng(2)
    X = rng.uniform(-1, 1, (1100, 2))
    y = np.maximum(X @ [1.0, -1.0], 0) + 0.1 * rng.standard_normal(1100)
    small = ConvexReLURegressor(n_arrangements=6, random_state=0)
    small.fit(X[:1000], y[:1000])
    assert not hasattr(small, "trained_objective_")  # the bisectors
    large = ConvexReLURegressor(n_arrangements=6, random_state=0).fit(X, y)
    trained = ConvexReLURegressor(n_arrangements=6, arrangements="trained",
                                  random_state=0).fit(X, y)
    assert large.trained_objective_ == trained.trained_objective_
    assert large.objective_ == pytest.approx(trained.objective_, rel=1e-12)
    # several outputs (a softmax): the bisectors; a path: the bisectors
    labels = np.digitize(y, np.quantile(y, [1 / 3, 2 / 3]))
    clf = ConvexReLUClassifier(n_arrangements=6, random_state=0).fit(X, labels)
    assert not hasattr(clf, "trained_objective_")
    path = convex_relu_path(X, y, estimator=ConvexReLURegressor(n_arrangements=6),
                            n_betas=2)
    assert len(path.betas) == 2
