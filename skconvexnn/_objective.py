"""The training objective of a two-layer network, at any network's weights.

So that a network trained elsewhere (an ``MLPRegressor``, an
``MLPClassifier``, a hand-written loop) can be compared with the convex
optimum without writing the formula again.
"""

from numbers import Real

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions, validate_params
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_array, check_consistent_length

from ._base import check_weights
from ._classification import encode_targets
from .losses import LOSSES, Loss, get_loss

__all__ = ["training_objective"]


@validate_params(
    {
        "X": ["array-like"],
        "y": ["array-like"],
        "coefs": [list, tuple],
        "intercepts": [list, tuple],
        "beta": [Interval(Real, 0, None, closed="left")],
        "loss": [StrOptions(set(LOSSES)), Loss],
        "penalize_hidden_biases": ["boolean"],
        "sample_weight": ["array-like", None],
        "classes": ["array-like", None],
        "neuron_gates": ["array-like", None],
    },
    prefer_skip_nested_validation=True,
)
def training_objective(X, y, coefs, intercepts, beta, *, loss="squared",
                       penalize_hidden_biases=True, sample_weight=None,
                       classes=None, neuron_gates=None):
    r"""Training objective of a one-hidden-layer ReLU network at given weights.

    The network is :math:`f(x) = (x^\top W_1 + b_1)_+ W_2 + b_2`, with the
    weights in the layout of scikit-learn's
    :class:`~sklearn.neural_network.MLPRegressor` (``coefs_ = [W1, W2]``,
    ``intercepts_ = [b1, b2]``), which is also that of skconvexnn's
    estimators. The objective is skconvexnn's (user guide, "The nonconvex
    training problem"):

    .. math::

        \sum_j s_j\, \ell(f(x_j), y_j)
        + \frac{\beta}{2}\left(\|W_1\|_F^2 + \|b_1\|^2 + \|W_2\|_F^2\right),

    with :math:`s` the sample weights normalized to sum to one (uniform:
    the mean loss) and :math:`\|b_1\|^2` left out when
    ``penalize_hidden_biases=False``. For the fitted estimators
    :class:`ConvexReLURegressor` and :class:`ConvexReLUClassifier` (dense,
    ``fit_intercept=True`` or not) it equals ``objective_``.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        Targets for ``loss="squared"``; class labels for ``"logistic"`` and
        ``"hinge"`` (or with ``classes`` given), encoded as
        :class:`ConvexReLUClassifier` encodes them: one output 0/1
        (logistic) or -1/+1 (hinge, squared) for two classes, one output
        per class otherwise.
    coefs : list of two arrays
        ``[W1, W2]`` of shapes (n_features, n_neurons) and (n_neurons,
        n_outputs) (or (n_neurons,) for one output).
    intercepts : list of two arrays
        ``[b1, b2]`` of shapes (n_neurons,) and (n_outputs,).
    beta : float
        Weight decay, >= 0, scaled as in the estimators: the data term is a
        mean. ``MLPRegressor(alpha=alpha, solver="lbfgs")`` with one output,
        and ``MLPClassifier(alpha=alpha, solver="lbfgs")``, minimize this
        objective with ``beta = alpha / n_samples`` and
        ``penalize_hidden_biases=False`` (scikit-learn penalizes no bias).
    loss : {"squared", "logistic", "hinge"} or Loss, default="squared"
        The squared loss is :math:`\frac12 (f - y)^2`, summed over outputs.
    penalize_hidden_biases : bool, default=True
        Whether :math:`b_1` is in the weight decay, as in the papers and in
        skconvexnn's estimators.
    sample_weight : array-like of shape (n_samples,), default=None
        Non-negative weights of the samples.
    classes : array-like of shape (n_classes,), default=None
        The labels in the order of the network's outputs (a classifier's
        ``classes_``). Given, ``y`` holds labels whatever the loss. Default
        for ``"logistic"`` and ``"hinge"``: the sorted labels of ``y``.
    neuron_gates : array-like of shape (n_neurons, n_features + 1), default=None
        For a gated ReLU network (``activation="gated_relu"``: the
        ``neuron_gates_`` of the fit): neuron ``j`` outputs
        :math:`1[[x, 1]^\top g_j \ge 0]\,(x^\top W_{1,j} + b_{1,j})` instead
        of the ReLU. Gates of length n_features mean no ones column.

    Returns
    -------
    objective : float

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.neural_network import MLPRegressor
    >>> from skconvexnn import training_objective
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((50, 2))
    >>> y = np.abs(X[:, 0])
    >>> mlp = MLPRegressor(hidden_layer_sizes=(8,), alpha=0.05, solver="lbfgs",
    ...                    max_iter=500, random_state=0).fit(X, y)
    >>> value = training_objective(X, y, mlp.coefs_, mlp.intercepts_,
    ...                            beta=0.05 / 50, penalize_hidden_biases=False)
    >>> bool(np.isclose(value, mlp.loss_))
    True
    """
    X = check_array(X, dtype=np.float64)
    y = np.asarray(y)
    check_consistent_length(X, y)
    if len(coefs) != 2 or len(intercepts) != 2:
        raise ValueError(
            "coefs and intercepts must each hold two arrays (one hidden "
            f"layer): got {len(coefs)} and {len(intercepts)}."
        )
    W1 = check_array(coefs[0], dtype=np.float64, ensure_min_features=0,
                     ensure_min_samples=0)
    W2 = np.asarray(coefs[1], dtype=np.float64)
    W2 = W2.reshape(-1, 1) if W2.ndim == 1 else W2
    b1 = np.asarray(intercepts[0], dtype=np.float64).ravel()
    b2 = np.asarray(intercepts[1], dtype=np.float64).ravel()
    d, m = X.shape[1], W2.shape[0]
    if W1.shape != (d, m) or b1.shape != (m,) or b2.shape != (W2.shape[1],):
        raise ValueError(
            f"The weights do not fit one hidden layer of {m} neurons on "
            f"{d} features: coefs shapes {W1.shape} and {W2.shape}, "
            f"intercepts shapes {b1.shape} and {b2.shape}; expected "
            f"({d}, {m}), ({m}, k), ({m},) and (k,)."
        )
    loss_ = get_loss(loss) if isinstance(loss, str) else loss
    Y = _targets(y, loss_.name, classes)
    if Y.shape[1] != W2.shape[1]:
        raise ValueError(
            f"The network has {W2.shape[1]} output(s) but the targets need "
            f"{Y.shape[1]}."
        )
    s = check_weights(sample_weight, X)
    if s.sum() <= 0:
        raise ValueError("sample_weight must have a positive sum.")
    s = s / s.sum()
    H = X @ W1 + b1
    if neuron_gates is None:
        H = np.maximum(H, 0.0)
    else:
        G = check_array(neuron_gates, dtype=np.float64, ensure_min_samples=0)
        if G.shape not in ((m, d + 1), (m, d)):
            raise ValueError(
                f"neuron_gates must have shape ({m}, {d + 1}) (or ({m}, {d}) "
                f"without a ones column); got {G.shape}."
            )
        Xg = np.hstack([X, np.ones((len(X), 1))]) if G.shape[1] == d + 1 else X
        H = H * (Xg @ G.T >= 0)
    P = H @ W2 + b2
    penalty = np.sum(W1**2) + np.sum(W2**2)
    if penalize_hidden_biases:
        penalty += np.sum(b1**2)
    return float(loss_.value(P, Y, s) + 0.5 * beta * penalty)


def _targets(y, loss, classes):
    """Targets as an (n_samples, n_outputs) float array, labels encoded."""
    if classes is None and loss not in ("logistic", "hinge"):
        Y = np.asarray(y, dtype=np.float64)
        return Y.reshape(-1, 1) if Y.ndim == 1 else Y
    check_classification_targets(y)
    classes = np.unique(y) if classes is None else np.asarray(classes).ravel()
    if len(classes) < 2:
        raise ValueError("Class labels need at least two classes; got one.")
    match = y.ravel()[:, None] == classes[None, :]
    if not np.all(match.any(axis=1)):
        unknown = np.unique(y.ravel()[~match.any(axis=1)])
        raise ValueError(f"y has labels that are not in classes: {unknown.tolist()}.")
    return encode_targets(np.argmax(match, axis=1), len(classes), loss)
