"""ConvexReLUClassifier: a two-layer ReLU classifier fitted to its global optimum."""

import numpy as np
from scipy.special import expit, softmax
from sklearn.base import ClassifierMixin, _fit_context
from sklearn.preprocessing import LabelEncoder
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import validate_data

from ._base import ConvexReLUMixin, check_weights
from ._dask import dask_rows, fit_dask, is_dask_array, reject_dask
from .losses import get_loss

__all__ = ["ConvexReLUClassifier"]

#: Losses of the classifier.
CLASSIFIER_LOSSES = ("logistic", "squared", "hinge")


def encode_targets(codes, n_classes, loss):
    """Targets of the convex program for integer class codes.

    As in the user guide, "Multiple outputs and classification".

    Binary: one output, 0/1 for ``"logistic"`` and -1/+1 otherwise.
    Multiclass: one output per class, one-hot (0/1) for ``"logistic"`` and
    ``"squared"``, -1/+1 (one-vs-rest) for ``"hinge"``.
    """
    if n_classes == 2:
        Y = codes.reshape(-1, 1).astype(np.float64)
    else:
        Y = np.eye(n_classes)[codes]
    if loss == "hinge" or (loss == "squared" and n_classes == 2):
        Y = 2.0 * Y - 1.0
    return Y


class ConvexReLUClassifier(ClassifierMixin, ConvexReLUMixin):
    r"""Two-layer ReLU network classifier trained by convex optimization.

    The network is :math:`f(x) = \sum_j (x^\top u_j + b_j)_+ a_j + c` with
    one output for two classes and one output per class otherwise. Its
    weight-decay training problem

    .. math::

        \min \frac{1}{n} \sum_{i=1}^n \ell(f(x_i), y_i)
        + \frac{\beta}{2} \sum_j \left(\|u_j\|^2 + b_j^2 + \|a_j\|^2\right)

    is solved through an equivalent convex program over the hyperplane
    arrangements of the data, as in :class:`ConvexReLURegressor`; each output
    has its own hidden neurons.

    Parameters
    ----------
    loss : {"logistic", "squared", "hinge"}, default="logistic"
        ``"logistic"``: :math:`\log(1 + e^{-\tilde y f})` with
        :math:`\tilde y = \pm 1` for two classes, softmax cross-entropy for
        more. ``"squared"``: half squared error on -1/+1 targets for two
        classes, on one-hot targets for more. ``"hinge"``:
        :math:`\max(0, 1 - \tilde y f)`; for more than two classes the sum
        of the one-vs-rest binary hinges of the outputs (each class against
        the others, -1/+1 targets). The logistic loss needs a solver with the
        exponential cone (Clarabel, SCS, MOSEK).
    beta : float or "auto", default="auto"
        Weight-decay strength, > 0. The data term is a mean (weighted by
        ``sample_weight``): the papers' regularization is ``n_samples * beta``.
        ``"auto"`` is 3e-3 up to 1,000 samples per output (one output for
        two classes, one a class for more), then ``3e-3 * 1000`` divided
        by the samples per output, down to 3e-4 from 10,000 on; the value
        used is ``beta_``. It was chosen by measuring test accuracy on
        standardized features, with the default trained patterns (user
        guide, "Default parameters").
    n_arrangements : int, default=50
        As in :class:`ConvexReLURegressor`: with the default trained
        patterns, the hidden units of the network trained, shared among the
        outputs. Half the regressor's default: on the classification tables
        of the benchmarks, 100 units scored the same within 0.01 (0.02 on
        one table) in up to three times the time (user guide, "Default
        parameters").
    activation, arrangements, max_patterns, fit_intercept
        As in :class:`ConvexReLURegressor`, including
        ``arrangements="search"`` (dual-guided cutting planes, for every
        loss) and ``"trained"`` (the patterns of one training run of the
        classifier's loss, ``n_arrangements`` units shared among the
        outputs); ``"auto"`` is ``"trained"`` at every size and number of
        classes (user guide, "Default parameters").
    solver, tol, max_iter, warm_start, random_state, verbose, extrapolation
        As in :class:`ConvexReLURegressor`. With ``solver="auto"``, a failed
        solve is retried once with SCS, with a warning.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    beta_, coefs_, intercepts_, n_neurons_, objective_, lower_bound_, duality_gap_
        As in :class:`ConvexReLURegressor`.
    gates_, neuron_gates_, examined_gates_, n_iter_, objective_curve_, solver_
        As in :class:`ConvexReLURegressor`.
    trained_objective_
        As in :class:`ConvexReLURegressor` (``arrangements="trained"``).
    search_seed_objective_, search_report_
        As in :class:`ConvexReLURegressor` (``arrangements="search"``; the
        seed networks train the classifier's loss, with the hinge's
        subgradient).
    n_outputs_ : int
        1 for two classes, ``n_classes`` otherwise.
    n_features_in_, feature_names_in_, data_min_, data_max_
        As in :class:`ConvexReLURegressor`.

    Notes
    -----
    The lower bound is the dual function of the loss (its conjugate) at the
    rescaled negative loss gradient, as for the regressor (user guide,
    "Certificates: lower bound and duality gap"). The hinge loss has a kink
    on the margin, where its gradient leaves the dual point undetermined;
    those entries are taken from the stationarity conditions of the solver's
    solution (bounded least squares, then a few cutting-plane rounds for the
    dual constraints of the zero blocks) and projected onto the dual domain.
    That closes the gap of most hinge fits, but not all: when the samples
    are separable and beta is small, an interior-point solution is too
    inaccurate for it (relative gaps near 0.9 were seen at ``beta=1e-6``).

    The certificate, not the solver's status, decides convergence: when a
    cvxpy solve leaves a relative gap above ``tol``, the program is solved
    again by a native solver warm started from it, the better network and
    the better bound are kept, and a gap still above ``tol`` raises a
    :class:`~sklearn.exceptions.ConvergenceWarning`.

    Examples
    --------
    >>> import numpy as np
    >>> from skconvexnn import ConvexReLUClassifier
    >>> X = np.array([[-2.0], [-1.0], [1.0], [2.0]])
    >>> clf = ConvexReLUClassifier(arrangements="exhaustive").fit(X, ["a", "a", "b", "b"])
    >>> clf.predict([[-3.0], [3.0]]).tolist()
    ['a', 'b']
    """

    _parameter_constraints = {
        **ConvexReLUMixin._parameter_constraints,
        "loss": [StrOptions(set(CLASSIFIER_LOSSES))],
    }

    #: ``beta="auto"`` up to AUTO_BETA_SAMPLES samples per output (see ``beta``).
    _auto_beta = 3e-3

    def __init__(
        self,
        *,
        loss="logistic",
        beta="auto",
        activation="relu",
        n_arrangements=50,
        arrangements="auto",
        max_patterns=10_000,
        fit_intercept=True,
        solver="auto",
        tol=1e-6,
        max_iter=10_000,
        warm_start=False,
        random_state=None,
        verbose=0,
        extrapolation="clip",
    ):
        self.loss = loss
        self.beta = beta
        self.activation = activation
        self.n_arrangements = n_arrangements
        self.arrangements = arrangements
        self.max_patterns = max_patterns
        self.fit_intercept = fit_intercept
        self.solver = solver
        self.tol = tol
        self.max_iter = max_iter
        self.warm_start = warm_start
        self.random_state = random_state
        self.verbose = verbose
        self.extrapolation = extrapolation

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the network to its convex program's optimum.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Or a dask array chunked by rows (user guide, "Running on
            dask"): the fit then runs chunk by chunk on the workers.
        y : array-like of shape (n_samples,)
            Class labels (ints, strings, booleans, ...).
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the samples in the mean loss.

        Returns
        -------
        self : ConvexReLUClassifier
        """
        if is_dask_array(X):  # chunked fit on the workers (user guide, dask)
            return fit_dask(self, X, y, sample_weight)
        return self._fit_network(*self._training_data(X, y, sample_weight),
                                 sample_weight)

    def _training_data(self, X, y, sample_weight=None):
        """Validated ``X``, encoded targets (sets ``classes_``), loss."""
        reject_dask(self, X)
        X, y = validate_data(self, X, y, dtype=np.float64)
        self._record_range(X, sample_weight)
        check_classification_targets(y)
        encoder = LabelEncoder().fit(y)
        self.classes_ = encoder.classes_
        if len(self.classes_) < 2:
            raise ValueError(
                "The classifier needs samples of at least two classes; the "
                f"data contains only one class: {self.classes_[0].item()!r}."
            )
        codes = encoder.transform(y)
        if sample_weight is not None:
            sw = check_weights(sample_weight, X)
            weighted = np.unique(codes[sw > 0])
            if len(weighted) == 1:
                # the logistic loss would push the intercept to infinity
                raise ValueError(
                    "The classifier needs samples of at least two classes "
                    "with positive sample_weight; only class "
                    f"{self.classes_[weighted[0]].item()!r} has any."
                )
        Y = encode_targets(codes, len(self.classes_), self.loss)
        return X, Y, get_loss(self.loss)

    @dask_rows
    def decision_function(self, X):
        """Output of the recovered network (each feature of ``X`` clipped to
        its training range first, with ``extrapolation="clip"``).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)
            For two classes, positive scores favour ``classes_[1]``.
        """
        out = self._forward(X)
        return out.ravel() if out.shape[1] == 1 else out

    @dask_rows
    def predict(self, X):
        """Class labels of the samples in ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        y : ndarray of shape (n_samples,)
        """
        scores = self.decision_function(X)
        codes = (scores > 0).astype(int) if scores.ndim == 1 else scores.argmax(axis=1)
        return self.classes_[codes]

    def _has_probabilities(self):
        if self.loss != "logistic":
            raise AttributeError(
                f"predict_proba is available only for loss='logistic', not "
                f"loss={self.loss!r}."
            )
        return True

    @available_if(_has_probabilities)
    @dask_rows
    def predict_proba(self, X):
        """Class probabilities: sigmoid (two classes) or softmax of the outputs.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        scores = self.decision_function(X)
        if scores.ndim == 1:
            p = expit(scores)
            return np.column_stack([1.0 - p, p])
        return softmax(scores, axis=1)

    @available_if(_has_probabilities)
    @dask_rows
    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`."""
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))
