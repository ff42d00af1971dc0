"""training_objective: skconvexnn's objective at any network's weights."""

import numpy as np
import pytest
from sklearn.neural_network import MLPClassifier, MLPRegressor

from skconvexnn import ConvexReLUClassifier, ConvexReLURegressor, training_objective


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 3))
    return X, np.maximum(X @ [1.0, -1.0, 0.5], 0) - 0.3 * X[:, 2]


@pytest.mark.parametrize("activation", ["relu", "gated_relu"])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_equals_the_regressor_objective(data, activation, fit_intercept):
    X, y = data
    sw = np.linspace(0.5, 2.0, len(y))
    reg = ConvexReLURegressor(beta=1e-2, n_arrangements=10, activation=activation,
                              fit_intercept=fit_intercept, random_state=0)
    reg.fit(X, y, sample_weight=sw)
    assert reg.n_neurons_ > 0
    gates = reg.neuron_gates_ if activation == "gated_relu" else None
    # objective_ is of the standardized targets, whose network has the
    # output layer and intercept mapped by y_mean_ and y_scale_.
    s, m = reg.y_scale_, reg.y_mean_
    coefs = [reg.coefs_[0], reg.coefs_[1] / s]
    intercepts = [reg.intercepts_[0], (reg.intercepts_[1] - m) / s]
    value = training_objective(X, (y - m[0]) / s[0], coefs, intercepts, 1e-2,
                               sample_weight=sw, neuron_gates=gates)
    assert np.isclose(value, reg.objective_, rtol=1e-10)


@pytest.mark.parametrize("loss", ["squared", "logistic", "hinge"])
@pytest.mark.parametrize("n_classes", [2, 3])
def test_equals_the_classifier_objective(data, loss, n_classes):
    X, y = data
    labels = np.array(["a", "b", "c"])[np.digitize(y, np.quantile(
        y, np.linspace(0, 1, n_classes + 1)[1:-1]))]
    clf = ConvexReLUClassifier(beta=1e-2, loss=loss, n_arrangements=10,
                               activation="gated_relu", random_state=0).fit(X, labels)
    value = training_objective(X, labels, clf.coefs_, clf.intercepts_, 1e-2,
                               loss=loss, classes=clf.classes_,
                               neuron_gates=clf.neuron_gates_)
    assert np.isclose(value, clf.objective_, rtol=1e-10)
    if loss != "squared":  # the default classes are the sorted labels
        assert np.isclose(training_objective(
            X, labels, clf.coefs_, clf.intercepts_, 1e-2, loss=loss,
            neuron_gates=clf.neuron_gates_), value)


def test_relu_classifier_objective(data):
    X, y = data
    clf = ConvexReLUClassifier(beta=1e-2, n_arrangements=8, random_state=0)
    clf.fit(X, y > 0)
    value = training_objective(X, y > 0, clf.coefs_, clf.intercepts_, 1e-2,
                               loss="logistic")
    assert np.isclose(value, clf.objective_, rtol=1e-10)


def test_hand_computed_mlp_value():
    # Two samples, one feature, two neurons: every term by hand.
    X = np.array([[1.0], [-2.0]])
    y = np.array([1.0, 0.0])
    W1, b1 = np.array([[2.0, -1.0]]), np.array([0.5, 0.0])
    W2, b2 = np.array([[1.0], [3.0]]), np.array([-1.0])
    # hidden: x=1 -> (2.5, 0), x=-2 -> (0, 2); outputs 1.5 and 5.0
    data_term = ((1.5 - 1.0) ** 2 + (5.0 - 0.0) ** 2) / 4
    weights = 4.0 + 1.0 + 1.0 + 9.0
    beta = 0.1
    value = training_objective(X, y, [W1, W2], [b1, b2], beta,
                               penalize_hidden_biases=False)
    assert np.isclose(value, data_term + beta / 2 * weights)
    with_biases = training_objective(X, y, [W1, W2], [b1, b2], beta)
    assert np.isclose(with_biases, value + beta / 2 * 0.25)


def test_equals_the_losses_of_lbfgs_mlps(data):
    X, y = data
    n, alpha = len(y), 0.3
    mlp = MLPRegressor(hidden_layer_sizes=(6,), alpha=alpha, solver="lbfgs", max_iter=300,
                       random_state=0).fit(X, y)
    value = training_objective(X, y, mlp.coefs_, mlp.intercepts_, alpha / n,
                               penalize_hidden_biases=False)
    assert np.isclose(value, mlp.loss_, rtol=1e-8)
    for labels in (y > 0, np.digitize(y, [-0.2, 0.5])):
        clf = MLPClassifier(hidden_layer_sizes=(6,), alpha=alpha, solver="lbfgs", max_iter=300,
                            random_state=0).fit(X, labels)
        value = training_objective(X, labels, clf.coefs_, clf.intercepts_,
                                   alpha / n, loss="logistic",
                                   penalize_hidden_biases=False)
        assert np.isclose(value, clf.loss_, rtol=1e-8)


def test_bad_weights_are_explained(data):
    X, y = data
    W1, W2 = np.ones((3, 4)), np.ones((4, 1))
    with pytest.raises(ValueError, match="two arrays"):
        training_objective(X, y, [W1], [np.zeros(4)], 0.1)
    with pytest.raises(ValueError, match="one hidden layer of 4 neurons on 3"):
        training_objective(X, y, [W1.T, W2], [np.zeros(4), np.zeros(1)], 0.1)
    with pytest.raises(ValueError, match="2 output"):
        training_objective(X, np.c_[y, y, y], [W1, np.ones((4, 2))],
                           [np.zeros(4), np.zeros(2)], 0.1)
    with pytest.raises(ValueError, match="non-negative"):
        training_objective(X, y, [W1, W2], [np.zeros(4), np.zeros(1)], 0.1,
                           sample_weight=-np.ones(len(y)))
    with pytest.raises(ValueError, match="not in classes"):
        training_objective(X, y > 0, [W1, W2], [np.zeros(4), np.zeros(1)], 0.1,
                           loss="logistic", classes=[True, "x"])
