"""Convex two-layer CNNs: the CNN estimators (patches and pooling: ``_patches``).

A two-layer CNN with ``m`` filters ``u_j`` (with biases) of size
``kh x kw x channels`` computes

    f(x) = sum_j a_j pool_k (patch_k(x) . u_j + b_j)_+ + c,

with ``pool`` the sum or the average over the ``K`` patches of the image.
Stacking the ``n K`` patches of the samples as the rows of a patch matrix
``Xp`` (with a column of ones for the biases) and writing ``Pool`` for the
``n x nK`` matrix that sums (or averages) the rows of each sample, this is a
dense two-layer network on the patch rows followed by ``Pool``. Patterns
are arrangements of ``Xp``, so their number is exponential only in the
filter size, and the convex program of the dense network applies with
``Pool sum_i D_i Xp (v_i - w_i)`` as prediction (Ergen and Pilanci,
ICLR 2021; user guide, "Convolutional networks"): a pooled
:class:`~skconvexnn.program.ConvexProgram`.
"""

from numbers import Integral

import numpy as np
from sklearn.base import _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_array, check_is_fitted

from ._base import DRAWN_OR_ENUMERATED, add_ones
from ._classification import ConvexReLUClassifier
from ._patches import POOLINGS, filter_geometry, image_patches, pooling_matrix
from ._regression import ConvexReLURegressor

__all__ = [
    "ConvexConvReLUClassifier",
    "ConvexConvReLURegressor",
    "image_patches",
    "pooling_matrix",
]


class ConvexConvMixin:
    """Images, patches and pooling for the convex CNN estimators.

    The dense estimators (:class:`skconvexnn._base.ConvexReLUMixin`) build
    their program from :meth:`_training_rows` and :meth:`_design` (the design
    matrix and its pooling) and set the weights by :meth:`_set_weights`; this
    mixin supplies the image geometry, the patch matrix with its pooling, and
    filters shaped as images. Images become rows in :meth:`_training_data`,
    which ``fit``, :func:`~skconvexnn.convex_relu_path` and
    :func:`~skconvexnn.beta_max` call alike.
    """

    _conv_constraints = {
        "image_shape": [None, tuple, list],
        "kernel_size": [Interval(Integral, 1, None, closed="left"), tuple, list],
        "stride": [Interval(Integral, 1, None, closed="left"), tuple, list],
        "padding": [StrOptions({"valid", "same"}),
                    Interval(Integral, 0, None, closed="left")],
        "pooling": [StrOptions(set(POOLINGS))],
        # The arrangement search is written for dense programs.
        "arrangements": [StrOptions(DRAWN_OR_ENUMERATED), "array-like"],
    }

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the CNN to its convex program's optimum.

        Parameters
        ----------
        X : array-like of shape (n_samples, height, width[, channels])
            Images (3-D: one channel), or flat rows of shape
            (n_samples, n_features): images flattened row-major, channels
            last, whose shape is given by ``image_shape``.
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Class labels (classifier) or targets (regressor).
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the samples in the mean loss.

        Returns
        -------
        self : object
        """
        return super().fit(X, y, sample_weight)

    def _training_data(self, X, y, sample_weight=None):
        # Here rather than in fit, so that the path functions take images.
        X, self._input_shape = self._flatten_images(X)
        return super()._training_data(X, y, sample_weight)

    def _flatten_images(self, X):
        """``X`` as rows, and the image shape of 3-D/4-D input (else None)."""
        ndim = getattr(X, "ndim", None)
        if ndim is None and isinstance(X, (list, tuple)):
            try:
                ndim = np.asarray(X).ndim
            except ValueError:  # ragged: left to validate_data's message
                ndim = None
        if ndim not in (3, 4):
            return X, None
        # Validated before flattening, so that 0 images or NaN get
        # scikit-learn's messages rather than a reshape error.
        X = check_array(X, allow_nd=True, dtype=np.float64)
        shape = X.shape[1:] + ((1,) if ndim == 3 else ())
        return X.reshape(X.shape[0], -1), shape

    def _training_rows(self, X, Y, sample_weight):
        # The geometry is part of the program the rows build (so that a
        # path or a CV fit builds it too).
        self._set_geometry(X.shape[1])
        return super()._training_rows(X, Y, sample_weight)

    def _set_geometry(self, n_features):
        """Image shape, filter size, stride and padding of this fit."""
        given = self._input_shape
        if self.image_shape is not None:
            shape = tuple(self.image_shape)
            if len(shape) == 2:
                shape += (1,)
            if len(shape) != 3 or not all(
                isinstance(v, Integral) and v > 0 for v in shape
            ):
                raise ValueError(
                    "image_shape must be (height, width) or (height, width, "
                    f"channels) of positive ints; got {self.image_shape!r}."
                )
            if given is not None and given != shape:
                raise ValueError(
                    f"X has images of shape {given}, but image_shape={shape}."
                )
            if int(np.prod(shape)) != n_features:
                raise ValueError(
                    f"image_shape={self.image_shape!r} has {int(np.prod(shape))} "
                    f"values per image, but X has n_features={n_features}."
                )
        elif given is not None:
            shape = given
        else:
            # Flat rows without image_shape: one-row images (1-D signals).
            shape = (1, n_features, 1)
        kernel, stride, padding, self.n_patches_ = filter_geometry(
            shape, self.kernel_size, self.stride, self.padding)
        self.image_shape_ = shape
        self.kernel_size_ = kernel
        self._stride, self._padding = stride, padding

    def _design(self, X):
        """Patch matrix (with ones) of the rows of ``X`` and its pooling."""
        images = X.reshape(X.shape[0], *self.image_shape_)
        patches, n_patches = image_patches(images, self.kernel_size_,
                                           self._stride, self._padding)
        pool = pooling_matrix(X.shape[0], n_patches, self.pooling)
        return add_ones(patches, self.fit_intercept), pool

    def _set_weights(self, U, A, c):
        super()._set_weights(U, A, c)
        self.coefs_[0] = self.coefs_[0].T.reshape(
            len(U), *self.kernel_size_, self.image_shape_[2]
        )

    def _hidden_weights(self):
        filters = self.coefs_[0]
        return filters.reshape(len(filters), int(np.prod(filters.shape[1:])))

    def _forward(self, X):
        check_is_fitted(self)
        X, shape = self._flatten_images(X)
        if shape is not None and shape != self.image_shape_:
            raise ValueError(
                f"X has images of shape {shape}; the estimator was fitted on "
                f"images of shape {self.image_shape_}."
            )
        return super()._forward(X)


_CONV_PARAMETERS_DOC = r"""image_shape : tuple of ints or None, default=None
        ``(height, width)`` or ``(height, width, channels)`` of the images
        when ``X`` is given as flat rows (row-major, channels last). None:
        taken from ``X`` when it is 3-D (one channel) or 4-D; 2-D ``X`` is
        then read as one-row images ``(1, n_features, 1)``, 1-D signals.
    kernel_size : int or tuple of two ints, default=%(kernel_default)s
        Filter height and width. An int ``k`` is a ``k x k`` filter, or
        ``1 x k`` on one-row images. A filter larger than the images (after
        padding) is clipped to their size; ``kernel_size_`` is the one used.
        The number of patches, hence the size of the program (one row per
        patch of every image) and the time of a fit, falls as the filter
        grows.
    stride : int or tuple of two ints, default=1
        Step between patches.
    padding : {"valid", "same"} or int, default="valid"
        ``"valid"``: no padding; ``"same"``: zeros around the images so that
        there are ``ceil(size / stride)`` patches along each axis; an int:
        that many zeros on every side.
    pooling : {"average", "sum"}, default=%(pooling_default)s
        Second-layer pooling over the patches of an image: their mean or
        their sum. The mean divides the prediction, hence the largest useful
        ``beta`` (``beta_max``, above which the fit is the network with no
        neuron), by ``n_patches``: with the same ``beta``, the average is
        ``n_patches`` times more regularized than the sum."""

_CONV_ATTRIBUTES_DOC = r"""coefs_ : list of two ndarrays
        Filters of shape (`n_neurons_`, kh, kw, channels) and output weights
        of shape (`n_neurons_`, `n_outputs_`).
    intercepts_ : list of two ndarrays
        Filter biases (`n_neurons_`,) and output intercept (`n_outputs_`,).
    image_shape_ : tuple of three ints
        ``(height, width, channels)`` of the images.
    kernel_size_ : tuple of two ints
        ``(kh, kw)``.
    n_patches_ : int
        Patches per image (the ``K`` of the pooling)."""

_CONV_NOTES_DOC = r"""The CNN is

    .. math::

        f(x) = \sum_j a_j \, \mathrm{pool}_k \left(p_k(x)^\top u_j + b_j\right)_+ + c

    with :math:`p_k(x)` the :math:`K` patches of the image and pool the
    sum or the mean over them. Its weight-decay training problem (mean
    loss plus :math:`\frac{\beta}{2} \sum_j (\|u_j\|^2 + b_j^2 + \|a_j\|^2)`,
    the penalty of the dense estimators) is the convex program of the dense
    network with the patch matrix (the :math:`nK` patches as rows) in place
    of :math:`X` and the prediction pooled per sample:

    .. math::

        \min \; F\Big(\mathrm{Pool} \sum_i D_i X_p (v_i - w_i) + c\Big)
        + \beta \sum_i (\|v_i\| + \|w_i\|)
        \quad \text{s.t.} \quad (2 D_i - I) X_p v_i \ge 0,\;
        (2 D_i - I) X_p w_i \ge 0,

    with :math:`D_i` the activation patterns of the patch rows. Their
    number is exponential only in the filter size ``kh * kw * channels``,
    so ``arrangements="exhaustive"`` (every pattern, the global optimum) is
    possible for tiny filters; repeated patches are counted once. Recovery
    is that of the dense network (:math:`u = v / \sqrt{\|v\|}`,
    :math:`a = \sqrt{\|v\|}`): the recovered CNN's training objective equals
    the convex objective. ``activation="gated_relu"`` drops the cone
    constraints (a group lasso); ``solver="auto"`` then uses the native
    ADMM solver, whose products are sums over each sample's patches and
    whose cached factor is the ``n x n`` matrix
    ``I + Pool ((X_p X_p^T) o (S S^T)) Pool^T`` (``S`` the signed patterns),
    or Anderson-accelerated proximal gradient when that is too large. The
    ReLU program goes to the native solvers as for dense networks (FISTA
    with the logistic loss on well-conditioned patches, ADMM otherwise;
    Clarabel below 50 images, where its ``2 n K`` cone constraints per
    pattern are few). ``arrangements="search"`` is
    for dense networks only. With the hinge loss and ``activation="relu"``,
    the lower bound after a cvxpy solve can be weak for a CNN (measured: a
    gap near the objective itself on a small problem, while the gated
    program's bound is tight), so ``duality_gap_`` may overstate the
    distance to the optimum; ADMM certifies hinge fits from its
    multipliers."""


def _conv_doc(cls):
    """Fill the shared parameter, attribute and notes sections of ``cls``."""
    defaults = cls.__init__.__kwdefaults__
    parameters = (_CONV_PARAMETERS_DOC
                  .replace("%(kernel_default)s", repr(defaults["kernel_size"]))
                  .replace("%(pooling_default)s", f'"{defaults["pooling"]}"'))
    cls.__doc__ = (cls.__doc__.replace("%(conv_parameters)s", parameters)
                   .replace("%(conv_attributes)s", _CONV_ATTRIBUTES_DOC)
                   .replace("%(conv_notes)s", _CONV_NOTES_DOC))
    return cls


@_conv_doc
class ConvexConvReLUClassifier(ConvexConvMixin, ConvexReLUClassifier):
    r"""Two-layer ReLU CNN classifier trained by convex optimization.

    One convolutional layer of (gated) ReLU filters, a global (sum or
    average) pooling, and a linear output per class (one output for two classes),
    each output with its own filters, fitted to the optimum of the convex
    program over the activation patterns of the image patches (see Notes).

    Parameters
    ----------
    %(conv_parameters)s
    loss : {"logistic", "squared", "hinge"}, default="logistic"
        As in :class:`ConvexReLUClassifier`.
    beta : float or "auto", default="auto"
        Weight-decay strength, > 0. The data term is a mean (weighted by
        ``sample_weight``): the papers' regularization is ``n_samples * beta``.
        ``"auto"`` is 1e-2 up to 1,000 images per output, then smaller as
        in :class:`ConvexReLUClassifier` (whose own base is 3e-3); the value
        used is ``beta_``.
        Its effect depends on the pooling (see ``pooling``): on the
        standardized 8 x 8 digits with the default filters the network with
        no neuron is optimal from ``beta_max`` = 1.30 with the sum, 0.33
        with the average; with 3 x 3 filters and the average over their 36
        patches, from 0.026 (user guide, "Convolutional networks").
    activation : {"relu", "gated_relu"}, default="gated_relu"
        ``"gated_relu"``: each filter's gate is fixed to its pattern on the
        patch rows, a group lasso with no cone constraint; the exact
        ``"relu"`` program projects every block onto a cone of
        ``n_samples * n_patches`` constraints at each step: 3 to 11 times
        slower per step on the digits, with far more steps (user guide,
        "Convolutional networks").
    n_arrangements : int, default=20
        Number of Gaussian gate vectors, as in :class:`ConvexReLURegressor`;
        each class has its own filters, so a fit has up to
        ``n_arrangements * n_classes`` blocks.
    max_patterns, fit_intercept
        As in :class:`ConvexReLURegressor`; gate vectors have
        ``kh * kw * channels + fit_intercept`` entries, and their patterns are
        patterns of the patch rows.
    arrangements : str or array-like, default="gaussian"
        ``"gaussian"``: random Gaussian gates; ``"bisector"``: bisectors of
        random pairs of patch rows (as in :class:`ConvexReLURegressor`; on
        the digits they did not beat the Gaussian gates); ``"exhaustive"``:
        every pattern of the patch matrix (for tiny filters); or gate
        vectors of shape
        (n_gates, kh * kw * channels + fit_intercept).
    solver, max_iter, warm_start, random_state, verbose, extrapolation
        As in :class:`ConvexReLURegressor` (``extrapolation="clip"``: each
        pixel is clipped to its range in the training images).
    tol : float, default=1e-4
        Relative duality gap at which the fit stops, as in
        :class:`ConvexReLURegressor` (whose default is ``1e-6``). On the
        digits at the other defaults, ``1e-4`` took 910 steps against 2,410
        for ``1e-6``, for the same objective to nine digits and the same
        test accuracy (user guide, "Convolutional networks").

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    %(conv_attributes)s
    beta_, n_neurons_, objective_, lower_bound_, duality_gap_, gates_, neuron_gates_
        As in :class:`ConvexReLURegressor` (gates on the patch rows).
    n_iter_, objective_curve_, solver_, n_outputs_
        As in :class:`ConvexReLUClassifier`.
    n_features_in_ : int
        Values per image (``height * width * channels``).
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when ``X`` is a DataFrame.
    data_min_, data_max_ : ndarray of shape (`n_features_in_`,)
        Each pixel's (flattened) range over the training images, which
        ``extrapolation="clip"`` clips the images of ``predict`` to.

    Notes
    -----
    %(conv_notes)s

    References
    ----------
    T. Ergen and M. Pilanci, "Implicit Convex Regularizers of CNN
    Architectures: Convex Optimization of Two- and Three-Layer Networks in
    Polynomial Time", ICLR 2021.

    Examples
    --------
    >>> import numpy as np
    >>> from skconvexnn import ConvexConvReLUClassifier
    >>> rng = np.random.default_rng(0)
    >>> images = rng.random((20, 4, 4))
    >>> labels = images[:, :2].mean(axis=(1, 2)) > images[:, 2:].mean(axis=(1, 2))
    >>> clf = ConvexConvReLUClassifier(kernel_size=2,
    ...                                random_state=0).fit(images, labels)
    >>> clf.coefs_[0].shape[1:]
    (2, 2, 1)
    """

    _parameter_constraints = {
        **ConvexReLUClassifier._parameter_constraints,
        **ConvexConvMixin._conv_constraints,
    }

    #: ``beta="auto"`` up to AUTO_BETA_SAMPLES images per output: 1e-2, not
    #: the plain classifier's 3e-3 (see ``beta``; measured on the digits).
    _auto_beta = 1e-2

    def __init__(
        self,
        *,
        image_shape=None,
        kernel_size=7,
        stride=1,
        padding="valid",
        pooling="sum",
        loss="logistic",
        beta="auto",
        activation="gated_relu",
        n_arrangements=20,
        arrangements="gaussian",
        max_patterns=10_000,
        fit_intercept=True,
        solver="auto",
        tol=1e-4,
        max_iter=10_000,
        warm_start=False,
        random_state=None,
        verbose=0,
        extrapolation="clip",
    ):
        self.image_shape = image_shape
        self.kernel_size = kernel_size
        self.stride = stride
        self.padding = padding
        self.pooling = pooling
        super().__init__(
            loss=loss, beta=beta, activation=activation,
            n_arrangements=n_arrangements, arrangements=arrangements,
            max_patterns=max_patterns, fit_intercept=fit_intercept, solver=solver,
            tol=tol, max_iter=max_iter, warm_start=warm_start,
            random_state=random_state, verbose=verbose,
            extrapolation=extrapolation,
        )


@_conv_doc
class ConvexConvReLURegressor(ConvexConvMixin, ConvexReLURegressor):
    r"""Two-layer ReLU CNN regressor trained by convex optimization.

    One convolutional layer of (gated) ReLU filters, a global (sum or
    average) pooling and a linear output per target, each target with its own
    filters, fitted to the optimum of the convex program over the
    activation patterns of the image patches (see Notes).

    Parameters
    ----------
    %(conv_parameters)s
    loss : "squared" or Loss instance, default="squared"
        As in :class:`ConvexReLURegressor`.
    beta : float or "auto", default="auto"
        Weight-decay strength, > 0, as in :class:`ConvexReLURegressor`
        (``"auto"``: 3e-2 up to 1,000 images per output, then smaller); its
        effect depends on the pooling (see ``pooling`` and
        :class:`ConvexConvReLUClassifier`).
    activation : {"relu", "gated_relu"}, default="gated_relu"
        As in :class:`ConvexConvReLUClassifier`.
    n_arrangements : int, default=100
        Number of Gaussian gate vectors, as in :class:`ConvexReLURegressor`.
    arrangements, max_patterns, fit_intercept
        As in :class:`ConvexConvReLUClassifier`.
    solver, tol, max_iter, warm_start, random_state, verbose, extrapolation
        As in :class:`ConvexReLURegressor`.

    Attributes
    ----------
    %(conv_attributes)s
    beta_, n_neurons_, objective_, lower_bound_, duality_gap_, gates_, neuron_gates_
        As in :class:`ConvexReLURegressor` (gates on the patch rows; the
        objective and bound of the standardized targets).
    y_mean_, y_scale_
        As in :class:`ConvexReLURegressor`: the targets are standardized.
    n_iter_, objective_curve_, solver_, n_outputs_
        As in :class:`ConvexReLURegressor`.
    n_features_in_ : int
        Values per image (``height * width * channels``).
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when ``X`` is a DataFrame.
    data_min_, data_max_ : ndarray of shape (`n_features_in_`,)
        Each pixel's (flattened) range over the training images, which
        ``extrapolation="clip"`` clips the images of ``predict`` to.

    Notes
    -----
    %(conv_notes)s

    Examples
    --------
    >>> import numpy as np
    >>> from skconvexnn import ConvexConvReLURegressor
    >>> rng = np.random.default_rng(0)
    >>> images = rng.random((20, 3, 3))
    >>> y = np.maximum(images[:, :2, :2] - 0.5, 0).sum(axis=(1, 2))
    >>> reg = ConvexConvReLURegressor(kernel_size=2, beta=1e-4,
    ...                               random_state=0).fit(images, y)
    >>> reg.coefs_[0].shape[1:], reg.n_patches_
    ((2, 2, 1), 4)
    """

    _parameter_constraints = {
        **ConvexReLURegressor._parameter_constraints,
        **ConvexConvMixin._conv_constraints,
    }

    def __init__(
        self,
        *,
        image_shape=None,
        kernel_size=3,
        stride=1,
        padding="valid",
        pooling="sum",
        loss="squared",
        beta="auto",
        activation="gated_relu",
        n_arrangements=100,
        arrangements="gaussian",
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
        self.image_shape = image_shape
        self.kernel_size = kernel_size
        self.stride = stride
        self.padding = padding
        self.pooling = pooling
        super().__init__(
            loss=loss, beta=beta, activation=activation,
            n_arrangements=n_arrangements, arrangements=arrangements,
            max_patterns=max_patterns, fit_intercept=fit_intercept, solver=solver,
            tol=tol, max_iter=max_iter, warm_start=warm_start,
            random_state=random_state, verbose=verbose,
            extrapolation=extrapolation,
        )
