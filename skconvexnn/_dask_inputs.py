"""Validation of the dask inputs of a fit, chunk by chunk.

The checks of scikit-learn's ``check_array`` and ``check_X_y`` for the
chunked fit of :mod:`skconvexnn._dask`, with the same messages: the shape
and dtype of ``X`` and ``y`` in the client, the values (NaN, infinity,
negative weights) from a few numbers per chunk (:func:`raw_stats`).
"""

import warnings

import numpy as np
from sklearn.exceptions import DataConversionWarning

__all__ = ["check_X", "checked_weight_sum", "checked_y", "raw_stats"]


def raw_stats(raw, classifier):
    """Validation numbers of one raw chunk ``(X, y, w)``."""
    X, y, w = raw
    out = {
        "X_nan": bool(np.isnan(X).any()), "X_inf": bool(np.isinf(X).any()),
        "w_bad": bool(not np.all(np.isfinite(w))), "w_neg": int(np.sum(w < 0)),
        "w_min": float(w.min(initial=np.inf)), "w_sum": float(w.sum()),
    }
    if classifier:
        if y.dtype.kind == "f":
            out["y_nan"] = bool(np.isnan(y).any())
            out["y_inf"] = bool(np.isinf(y).any())
            finite = y[np.isfinite(y)]
            out["y_continuous"] = bool(np.any(finite != np.round(finite)))
        if out.get("y_nan") or out.get("y_inf") or out.get("y_continuous"):
            out["classes"] = out["weighted"] = np.empty(0, dtype=y.dtype)
        else:
            out["classes"] = np.unique(y)
            out["weighted"] = np.unique(y[w > 0])
    else:
        Y = y.reshape(len(y), -1).astype(np.float64)
        out["y_nan"] = bool(np.isnan(Y).any())
        out["y_inf"] = bool(np.isinf(Y).any())
        out["wY"] = np.maximum(w, 0.0) @ Y
    return out


def check_X(X):
    """The errors of check_array for a dask X: dimensions, sizes, dtype."""
    if X.ndim != 2:
        raise ValueError(f"Expected a 2D dask array X, got {X.ndim}D.")
    if np.isnan(X.shape[0]) or any(np.isnan(c) for c in X.chunks[0]):
        raise ValueError("X has unknown chunk sizes; call X.compute_chunk_sizes() "
                         "first.")
    n, d = X.shape
    if n < 1:
        raise ValueError(f"Found array with 0 sample(s) (shape={X.shape}) while a "
                         "minimum of 1 is required.")
    if d < 1:
        raise ValueError(f"Found array with 0 feature(s) (shape={X.shape}) while "
                         "a minimum of 1 is required.")
    if X.dtype.kind not in "biuf":
        raise ValueError(f"X must be numeric for a dask fit; got dtype {X.dtype}.")


def checked_y(y, classifier):
    """``y`` with the shape checks of the estimators (a column raveled for a classifier)."""
    if classifier:
        if y.ndim == 2 and y.shape[1] == 1:
            # stacklevel: the caller of fit_dask, as from _prepare before
            warnings.warn("A column-vector y was passed when a 1d array was "
                          "expected.", DataConversionWarning, stacklevel=4)
            y = y[:, 0]
        if y.ndim != 1:
            raise ValueError(f"y should be a 1d array, got an array of shape "
                             f"{y.shape} instead.")
    else:
        if y.ndim not in (1, 2):
            raise ValueError(f"y must be 1D or 2D; got {y.ndim}D.")
        if y.dtype.kind not in "biuf":
            raise ValueError(f"y must be numeric for a regressor; got dtype {y.dtype}.")
    return y


def checked_weight_sum(stats):
    """Total sample weight, after the finiteness and sign checks of the chunks."""
    if any(s["X_nan"] for s in stats):
        raise ValueError("Input X contains NaN.")
    if any(s["X_inf"] for s in stats):
        raise ValueError("Input X contains infinity or a value too large for "
                         "dtype('float64').")
    if any(s.get("y_nan") for s in stats):
        raise ValueError("Input y contains NaN.")
    if any(s.get("y_inf") for s in stats):
        raise ValueError("Input y contains infinity or a value too large for "
                         "dtype('float64').")
    if any(s["w_bad"] for s in stats):
        raise ValueError("Input sample_weight contains NaN or infinity.")
    negative = sum(s["w_neg"] for s in stats)
    if negative:
        raise ValueError(
            f"sample_weight must be non-negative; got {negative} negative "
            f"weight(s), the smallest {min(s['w_min'] for s in stats):.6g}.")
    W = sum(s["w_sum"] for s in stats)
    if not W > 0:
        raise ValueError("sample_weight must have a positive sum.")
    return W
