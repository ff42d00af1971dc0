"""Patches and pooling of image stacks: the rows of a CNN's convex program.

The ``n K`` patches of ``n`` images are the rows of the patch matrix, and a
sparse ``n x nK`` matrix sums (or averages) each image's rows (Ergen and
Pilanci, ICLR 2021; user guide, "Convolutional networks").
"""

from numbers import Integral

import numpy as np
from scipy import sparse

__all__ = ["POOLINGS", "filter_geometry", "image_patches", "pooling_matrix"]

#: Pooling of the second layer: the weight of each patch in its sample's sum.
POOLINGS = ("sum", "average")


def image_patches(images, kernel_size, stride=(1, 1), padding=(0, 0, 0, 0)):
    """Patch matrix of a stack of images.

    Parameters
    ----------
    images : ndarray of shape (n_samples, height, width, channels)
    kernel_size : tuple of two ints
        Filter height and width ``(kh, kw)``.
    stride : tuple of two ints, default=(1, 1)
    padding : tuple of four ints, default=(0, 0, 0, 0)
        Zeros added at the top, bottom, left and right.

    Returns
    -------
    patches : ndarray of shape (n_samples * n_patches, kh * kw * channels)
        The patches of sample ``i`` are rows ``i * n_patches`` to
        ``(i + 1) * n_patches - 1``, in row-major order of their positions;
        each row is the patch flattened in ``(kh, kw, channels)`` order, the
        order of the filters in ``coefs_[0]``.
    n_patches : int
        Patches per image.

    Examples
    --------
    >>> import numpy as np
    >>> from skconvexnn._patches import image_patches
    >>> images = np.arange(9.0).reshape(1, 3, 3, 1)
    >>> patches, K = image_patches(images, (2, 2))
    >>> K, patches[0].tolist()
    (4, [0.0, 1.0, 3.0, 4.0])
    """
    (kh, kw), (sh, sw) = kernel_size, stride
    top, bottom, left, right = padding
    if any(padding):
        images = np.pad(images, ((0, 0), (top, bottom), (left, right), (0, 0)))
    n, _, _, channels = images.shape
    windows = np.lib.stride_tricks.sliding_window_view(images, (kh, kw), axis=(1, 2))
    # (n, rows, cols, channels, kh, kw) -> (n, rows, cols, kh, kw, channels)
    windows = windows[:, ::sh, ::sw].transpose(0, 1, 2, 4, 5, 3)
    n_patches = windows.shape[1] * windows.shape[2]
    return windows.reshape(n * n_patches, kh * kw * channels), n_patches


def pooling_matrix(n_samples, n_patches, pooling="average"):
    """Sparse ``(n_samples, n_samples * n_patches)`` matrix pooling the patches.

    Row ``i`` has ``1`` (``"sum"``) or ``1 / n_patches`` (``"average"``) on
    the patches of sample ``i``.
    """
    weight = 1.0 if pooling == "sum" else 1.0 / n_patches
    rows = np.repeat(np.arange(n_samples), n_patches)
    values = np.full(n_samples * n_patches, weight)
    return sparse.csr_matrix(
        (values, (rows, np.arange(n_samples * n_patches))),
        shape=(n_samples, n_samples * n_patches),
    )


def _pair(value, name):
    """Two positive ints from an int or a sequence of two."""
    if isinstance(value, Integral):
        return int(value), int(value)
    pair = tuple(value)
    if len(pair) != 2 or not all(isinstance(v, Integral) and v > 0 for v in pair):
        raise ValueError(
            f"{name} must be an int or a pair of positive ints; got {value!r}."
        )
    return int(pair[0]), int(pair[1])


def _same_padding(size, kernel, stride):
    """Zeros before and after so that ``ceil(size / stride)`` windows fit."""
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def filter_geometry(shape, kernel_size, stride, padding):
    """Filter, stride, padding and patches per image of a CNN's parameters.

    ``shape`` is ``(height, width, channels)``; ``kernel_size``, ``stride``
    and ``padding`` are the estimators' parameters. Returns ``(kernel,
    stride, padding, n_patches)`` with ``padding`` as (top, bottom, left,
    right).
    """
    height, width, _ = shape
    kernel = _pair(kernel_size, "kernel_size")
    if height == 1 and isinstance(kernel_size, Integral):
        kernel = (1, kernel[1])  # a 1-D filter on one-row images
    stride = _pair(stride, "stride")
    if padding == "valid":
        padding = (0, 0, 0, 0)
    elif padding == "same":
        padding = (*_same_padding(height, kernel[0], stride[0]),
                   *_same_padding(width, kernel[1], stride[1]))
    else:
        padding = (padding,) * 4
    padded = (height + padding[0] + padding[1], width + padding[2] + padding[3])
    # A filter larger than the (padded) images is clipped to them, so that
    # the defaults work on any input (one or two features too);
    # kernel_size_ says which filter was used.
    kernel = (min(kernel[0], padded[0]), min(kernel[1], padded[1]))
    n_patches = ((padded[0] - kernel[0]) // stride[0] + 1) * (
        (padded[1] - kernel[1]) // stride[1] + 1)
    return kernel, stride, padding, n_patches
