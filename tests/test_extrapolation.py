"""Predictions beyond the training data: ``extrapolation="clip"`` and ``"linear"``."""

import copy
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import make_classification, make_friedman1
from sklearn.utils._param_validation import InvalidParameterError

from skconvexnn import (ConvexConvReLUClassifier, ConvexReLUClassifier,
                        ConvexReLUClassifierCV, ConvexReLURegressor,
                        ConvexReLURegressorCV)


def _network(est, X):
    """The recovered network written out: ``relu(X W1 + b1) A + c``."""
    (W1, A), (b1, c) = est.coefs_, est.intercepts_
    return np.maximum(X @ W1 + b1, 0.0) @ A + c


def _far(X, rng):
    """Rows of ``X`` pushed outside its range (every feature of some)."""
    span = X.max(axis=0) - X.min(axis=0)
    return X[:10] + rng.choice([-3.0, 3.0], size=(10, X.shape[1])) * span


@pytest.fixture(scope="module")
def regression():
    X, y = make_friedman1(120, n_features=5, noise=0.5, random_state=0)
    return X, y, ConvexReLURegressor(n_arrangements=20, random_state=0).fit(X, y)


def test_the_range_is_the_training_datas(regression):
    X, y, est = regression
    np.testing.assert_array_equal(est.data_min_, X.min(axis=0))
    np.testing.assert_array_equal(est.data_max_, X.max(axis=0))
    # a refit records the new data's range
    refit = clone(est).fit(X[:60], y[:60])
    np.testing.assert_array_equal(refit.data_max_, X[:60].max(axis=0))


def test_clip_predicts_the_network_at_the_clipped_point(regression):
    X, _, est = regression
    far = _far(X, np.random.default_rng(0))
    clipped = np.clip(far, X.min(axis=0), X.max(axis=0))
    np.testing.assert_allclose(est.predict(far), _network(est, clipped)[:, 0],
                               rtol=1e-10, atol=1e-10)
    # (read at predict time: the fitted network, predicted without clipping)
    linear = copy.deepcopy(est).set_params(extrapolation="linear")
    np.testing.assert_allclose(linear.predict(far), _network(est, far)[:, 0],
                               rtol=1e-10, atol=1e-10)
    # the far rows are where the two differ; on the training data they agree
    assert np.abs(linear.predict(far) - est.predict(far)).max() > 1e-3
    np.testing.assert_array_equal(linear.predict(X), est.predict(X))


def test_clip_bounds_the_far_predictions(regression):
    """Beyond the range, a clipped prediction is one of the network on the
    training box: it no longer grows with the distance."""
    X, _, est = regression
    far = _far(X, np.random.default_rng(1))
    np.testing.assert_array_equal(est.predict(far), est.predict(10 * far))


@pytest.mark.parametrize("Est", [ConvexReLUClassifier, ConvexReLUClassifierCV])
def test_classifier_clips(Est):
    X, y = make_classification(150, 4, n_informative=3, n_redundant=0,
                               n_classes=3, random_state=0)
    est = Est(n_arrangements=10, random_state=0).fit(X, y)
    far = _far(X, np.random.default_rng(2))
    clipped = np.clip(far, est.data_min_, est.data_max_)
    np.testing.assert_array_equal(est.decision_function(far),
                                  est.decision_function(clipped))
    np.testing.assert_array_equal(est.predict_proba(far), est.predict_proba(clipped))


def test_cv_regressor_records_the_range():
    X, y = make_friedman1(80, n_features=5, random_state=0)
    est = ConvexReLURegressorCV(n_betas=3, n_arrangements=10, random_state=0).fit(X, y)
    np.testing.assert_array_equal(est.data_min_, X.min(axis=0))
    far = _far(X, np.random.default_rng(3))
    np.testing.assert_array_equal(est.predict(far), est.predict(10 * far))


def test_cnn_clips_each_pixel():
    rng = np.random.default_rng(0)
    images = rng.uniform(0, 1, (40, 6, 6))
    labels = (images[:, 2:4, 2:4].mean(axis=(1, 2)) > 0.5).astype(int)
    est = ConvexConvReLUClassifier(kernel_size=3, n_arrangements=5,
                                   random_state=0).fit(images, labels)
    assert est.data_min_.shape == (36,)
    bright = images[:5] + 5.0
    np.testing.assert_array_equal(
        est.decision_function(bright),
        est.decision_function(np.clip(bright, 0, images.max(axis=0))))


def test_unknown_extrapolation_is_an_error():
    X, y = make_friedman1(30, n_features=5, random_state=0)
    with pytest.raises(InvalidParameterError, match="extrapolation"):
        ConvexReLURegressor(extrapolation="nearest").fit(X, y)


def test_dask_fit_records_the_range():
    da = pytest.importorskip("dask.array")
    X, y = make_friedman1(200, n_features=5, random_state=0)
    est = ConvexReLURegressor(activation="gated_relu", n_arrangements=10,
                              random_state=0)
    est.fit(da.from_array(X, chunks=50), da.from_array(y, chunks=50))
    np.testing.assert_allclose(est.data_min_, X.min(axis=0))
    np.testing.assert_allclose(est.data_max_, X.max(axis=0))
    far = _far(X, np.random.default_rng(4))
    np.testing.assert_array_equal(est.predict(far), est.predict(10 * far))
    # samples of zero weight do not count, as in memory
    w = np.ones(len(X))
    w[np.argmax(X[:, 0])] = 0.0
    est.fit(da.from_array(X, chunks=50), da.from_array(y, chunks=50),
            sample_weight=da.from_array(w, chunks=50))
    assert est.data_max_[0] == X[w > 0, 0].max() < X[:, 0].max()


def test_copositive_clips():
    from skconvexnn import CopositiveMultiOutputRegressor

    X, y = make_friedman1(60, n_features=5, random_state=0)
    Y = np.column_stack([y, np.sin(X[:, 0] * 3)])
    est = CopositiveMultiOutputRegressor(beta=1e-2, n_arrangements=10,
                                         random_state=0).fit(X, Y)
    np.testing.assert_array_equal(est.data_max_, X.max(axis=0))
    far = _far(X, np.random.default_rng(5))
    np.testing.assert_array_equal(est.predict(far), est.predict(10 * far))
    linear = copy.deepcopy(est).set_params(extrapolation="linear")
    np.testing.assert_array_equal(linear.predict(X), est.predict(X))
    assert np.abs(linear.predict(far) - est.predict(far)).max() > 1e-6


def test_samples_of_zero_weight_do_not_set_the_range(regression):
    X, y, _ = regression
    far = X.copy()
    far[0] = 100.0
    weights = np.ones(len(X))
    weights[0] = 0.0
    est = ConvexReLURegressor(n_arrangements=10, random_state=0).fit(far, y, weights)
    np.testing.assert_array_equal(est.data_max_, X[1:].max(axis=0))
