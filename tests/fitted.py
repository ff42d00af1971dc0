"""What the tests check of a fitted estimator, written once.

``fitted_program`` rebuilds the convex program that an estimator solved
from its parameters and ``gates_``; ``assert_objective_is_the_networks``
recomputes the weight-decay objective of the returned network from its
weights and compares it with ``objective_``.
"""

import numpy as np
import pytest
from nonconvex import standardized
from sklearn.base import clone
from sklearn.model_selection import cross_val_score

from skconvexnn._base import add_ones
from skconvexnn.program import ConvexProgram
from skconvexnn.arrangements import patterns_from_gates
from skconvexnn.losses import Loss, get_loss


def assert_search_chose_the_best(search, X, y):
    """The fitted one-parameter ``search`` chose the best mean score.

    Each value of the grid is cross-validated here, on the same folds, and
    the chosen one must have the highest mean, equal to ``best_score_``.
    """
    [(name, values)] = search.param_grid.items()
    means = [cross_val_score(clone(search.estimator).set_params(**{name: v}), X, y,
                             cv=search.cv).mean() for v in values]
    assert search.best_params_[name] == values[int(np.argmax(means))]
    assert search.best_score_ == pytest.approx(max(means), rel=1e-12)


def loss_of(est):
    """The loss instance of ``est`` (squared when it has no ``loss``)."""
    loss = getattr(est, "loss", "squared")
    return loss if isinstance(loss, Loss) else get_loss(loss)


def fitted_program(est, X, Y, gates=None):
    """The convex program that the fitted ``est`` solved.

    ``X`` are the features (the images for a convolutional estimator, whose
    patches and pooling come from the estimator), ``Y`` the (n, k) targets
    as the solver saw them: ``standardized(est, y)`` as a column for a
    regressor, encoded for a classifier. ``gates`` defaults to ``gates_``.
    """
    X = np.asarray(X, dtype=float)
    if hasattr(est, "kernel_size"):
        X1, pool = est._design(X.reshape(len(X), -1))
    else:
        X1, pool = add_ones(X, est.fit_intercept), None
    gates = est.gates_ if gates is None else gates
    return ConvexProgram(X1, patterns_from_gates(X1, gates), Y, est.beta, loss_of(est),
                         est.activation, est.fit_intercept, pool=pool)


def network_outputs(est, X):
    """Outputs (n, k) of the dense network ``coefs_``, ``intercepts_`` by numpy.

    ReLU hidden units, or for gated ReLU the units switched by
    ``neuron_gates_`` (a column of ones appended to ``X`` when they have one
    more column).
    """
    W1, W2 = est.coefs_
    b1, b2 = est.intercepts_
    H = X @ W1 + b1
    if getattr(est, "activation", "relu") == "gated_relu":
        G = est.neuron_gates_
        H = H * (add_ones(X, G.shape[1] == X.shape[1] + 1) @ G.T >= 0)
    else:
        H = np.maximum(H, 0.0)
    return H @ W2.reshape(len(W2), -1) + b2


def assert_objective_is_the_networks(est, X, y, outputs=None, Y=None, rel=1e-10):
    """``est.objective_`` is the weight-decay objective of its network.

    The mean loss of the network's outputs plus ``beta / 2`` times the
    squared weights (hidden biases included, the output intercept not),
    recomputed from ``coefs_`` and ``intercepts_``. ``outputs`` are those of
    the dense network (:func:`network_outputs`, which must also be what
    ``decision_function`` or ``predict`` returns) unless given (the
    convolutional tests pass their own). ``Y``: the targets as the loss
    takes them (encoded for a classifier), ``y`` as a column by default. A
    regressor's objective is of its standardized targets: outputs, targets
    and output layer mapped by ``y_mean_`` and ``y_scale_``.
    """
    X = np.asarray(X, dtype=float)
    if outputs is None:
        outputs = network_outputs(est, X)
        method = getattr(est, "decision_function", est.predict)
        np.testing.assert_allclose(np.reshape(method(X), outputs.shape), outputs,
                                   rtol=1e-10, atol=1e-12)
    out = np.reshape(outputs, (len(outputs), -1))
    Y = np.reshape(np.asarray(y, dtype=float), out.shape) if Y is None else Y
    W2 = est.coefs_[1]
    if hasattr(est, "y_scale_"):
        out, Y, W2 = standardized(est, out), standardized(est, Y), W2 / est.y_scale_
    s = np.full(len(out), 1.0 / len(out))
    penalty = (np.sum(est.coefs_[0] ** 2) + np.sum(est.intercepts_[0] ** 2)
               + np.sum(W2**2))
    value = loss_of(est).value(out, Y, s) + 0.5 * est.beta * penalty
    assert est.objective_ == pytest.approx(value, rel=rel)
