"""Hyperplane arrangements of the data: gate vectors and activation patterns.

A gate vector ``g`` induces the activation pattern ``D = diag(1[X g >= 0])``
(user guide, "Activation patterns and hyperplane arrangements"). Every
estimator of skconvexnn works on a finite set of
such patterns, stored as an ``(n_samples, n_patterns)`` 0/1 matrix whose
columns are the diagonals of the ``D_i``, together with one gate vector per
pattern that produces it.

This module draws gate vectors at random (Gaussian, or the bisecting
hyperplanes of random pairs of samples), accepts user-given ones, removes
duplicate and empty patterns, and enumerates *all* patterns of data of low
rank.
"""

from itertools import combinations, islice
from math import comb

import numpy as np
from sklearn.utils import check_random_state

__all__ = [
    "sample_gates",
    "bisector_gates",
    "patterns_from_gates",
    "unique_patterns",
    "max_pattern_count",
    "enumerate_gates",
]


def sample_gates(n_gates, n_features, random_state=None):
    """Draw gate vectors from the standard Gaussian distribution.

    Parameters
    ----------
    n_gates : int
        Number of gate vectors.
    n_features : int
        Length of each gate vector (columns of the design matrix, including
        the column of ones when the hidden layer has biases).
    random_state : int, RandomState instance or None
        Seed or generator.

    Returns
    -------
    gates : ndarray of shape (n_gates, n_features)
    """
    rng = check_random_state(random_state)
    return rng.standard_normal((n_gates, n_features))


def bisector_gates(X, n_gates, random_state=None, intercept=True):
    """Gate vectors of the hyperplanes that bisect random pairs of samples.

    For two distinct rows ``x_a`` and ``x_b`` drawn at random, the gate is
    the hyperplane of the points equidistant from them: its pattern holds
    the samples closer to ``x_a``. Unlike a Gaussian direction, it follows
    the data's spread (in many dimensions a Gaussian direction is nearly
    orthogonal to where the data vary) and passes through the data, so the
    cone of its pattern holds weights that separate actual groups of
    samples (user guide, "Activation patterns and hyperplane
    arrangements").

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Design matrix, with its column of ones last when ``intercept``.
    n_gates : int
    random_state : int, RandomState instance or None
    intercept : bool, default=True
        Whether the last column of ``X`` is the column of ones. Without it
        the hyperplanes pass through the origin: the gate is ``x_a - x_b``.

    Returns
    -------
    gates : ndarray of shape (n_gates, n_features)
        A pair of equal rows (or data with fewer than two rows) gives a
        Gaussian gate instead.
    """
    rng = check_random_state(random_state)
    X = np.asarray(X, dtype=float)
    n, d1 = X.shape
    gates = rng.standard_normal((n_gates, d1))
    if n < 2 or n_gates == 0:
        return gates
    F = X[:, :-1] if intercept else X
    a = rng.randint(n, size=n_gates)
    b = (a + 1 + rng.randint(n - 1, size=n_gates)) % n  # b != a
    diff = F[a] - F[b]
    scale = np.max(np.abs(F), initial=0.0)
    ok = np.max(np.abs(diff), axis=1) > 1e-12 * scale
    if intercept:
        offset = -np.einsum("ij,ij->i", diff, (F[a] + F[b]) / 2)
        diff = np.column_stack([diff, offset])
    gates[ok] = diff[ok]
    return gates


def patterns_from_gates(X, gates):
    """Activation patterns ``1[X g >= 0]`` of each gate vector.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    gates : ndarray of shape (n_gates, n_features)

    Returns
    -------
    patterns : ndarray of shape (n_samples, n_gates), dtype float
        Column ``i`` is the diagonal of ``D_i``.
    """
    return (X @ gates.T >= 0).astype(np.float64)


def unique_patterns(patterns, gates):
    """Drop repeated patterns and the all-zero pattern.

    The first gate vector producing each pattern is kept, in the original
    order, so that a fit is reproducible for a given set of gates.

    Parameters
    ----------
    patterns : ndarray of shape (n_samples, n_gates)
    gates : ndarray of shape (n_gates, n_features)

    Returns
    -------
    patterns : ndarray of shape (n_samples, n_patterns)
    gates : ndarray of shape (n_patterns, n_features)
    """
    if patterns.shape[1] == 0:
        return patterns, gates
    keys = np.packbits(patterns.T.astype(bool), axis=1)
    _, first = np.unique(keys, axis=0, return_index=True)
    first = np.sort(first)
    first = first[patterns[:, first].any(axis=0)]
    return patterns[:, first], gates[first]


def max_pattern_count(n_samples, rank):
    """Upper bound on the number of distinct patterns of rank-``rank`` data.

    A central arrangement of ``n`` hyperplanes in dimension ``r`` has at most
    ``2 * sum_{k < r} C(n - 1, k)`` regions (Cover, 1965), which is
    ``O(n^(r-1))`` for fixed ``r``.
    """
    if rank == 0:
        return 1
    return 2 * sum(comb(n_samples - 1, k) for k in range(rank))


def _row_space(X, tol):
    """Coordinates of the rows of X in an orthonormal basis of its row space."""
    _, s, Vt = np.linalg.svd(X, full_matrices=False)
    if s.size == 0 or s[0] == 0:
        return X[:, :0], Vt[:0]
    rank = int(np.sum(s > tol * s[0]))
    return X @ Vt[:rank].T, Vt[:rank]


def _cell_directions(Z, tol, chunk=4096):
    """One direction in every full-dimensional cell of the arrangement of Z.

    ``Z`` has shape (m, r) and rank ``r``. Every cell of the central
    arrangement ``{u : z_j . u = 0}`` is a pointed cone, so it has an extreme
    ray; an extreme ray lies on ``r - 1`` linearly independent hyperplanes.
    For each such ray ``h`` (and ``-h``) the cells around it are reached by
    ``h + eps * w``, where ``w`` takes every realizable sign pattern on the
    hyperplanes through ``h``. In general position exactly ``r - 1`` rows lie
    on ``h`` and all ``2^(r-1)`` sign patterns are realizable (``w`` solves
    ``Z_S w = s``); when more rows lie on ``h``, the realizable patterns are
    the cells of the lower-dimensional arrangement of those rows, found by
    recursion.

    Returns
    -------
    directions : ndarray of shape (n_directions, r)
        May contain several directions of the same cell.
    """
    m, r = Z.shape
    if r == 1:
        return np.array([[1.0], [-1.0]])
    scale = np.abs(Z).max()
    row_norms = np.linalg.norm(Z, axis=1)
    signs = np.array(
        np.meshgrid(*[[1.0, -1.0]] * (r - 1), indexing="ij")
    ).reshape(r - 1, -1)  # (r-1, 2^(r-1)) every sign vector
    out = []
    subsets = combinations(range(m), r - 1)
    while True:
        idx = np.array(list(islice(subsets, chunk)), dtype=np.intp)
        if idx.size == 0:
            break
        S = Z[idx]  # (c, r-1, r)
        _, s, Vt = np.linalg.svd(S)
        keep = s[:, -1] > tol * scale
        idx, S, Vt = idx[keep], S[keep], Vt[keep]
        h = Vt[:, -1]  # (c, r) null vector of each subset
        proj = h @ Z.T  # (c, m)
        on_ray = np.abs(proj) <= tol * scale * row_norms
        n_on = on_ray.sum(axis=1)
        general = n_on == r - 1
        # General position: w = pinv(Z_S) s for every sign vector s.
        if general.any():
            W = np.linalg.pinv(S[general]) @ signs  # (c, r, 2^(r-1))
            pr = proj[general]
            off = ~on_ray[general]
            margin = np.where(off, np.abs(pr), np.inf).min(axis=1)
            spread = np.abs(np.einsum("mr,crk->cmk", Z, W))
            spread = np.where(off[:, :, None], spread, 0).max(axis=1)
            margin = np.where(np.isfinite(margin), margin, 1.0)
            eps = 0.5 * margin[:, None] / np.maximum(spread, margin[:, None])
            for sign in (1.0, -1.0):
                dirs = sign * h[general][:, :, None] + eps[:, None, :] * W
                out.append(dirs.transpose(0, 2, 1).reshape(-1, r))
        for c in np.flatnonzero(~general):
            out.append(_degenerate_ray(Z, h[c], Vt[c, :-1], on_ray[c], proj[c], tol))
    if not out:
        return np.empty((0, r))
    return np.vstack(out)


def _degenerate_ray(Z, h, basis, on_ray, proj, tol):
    """Directions around a ray lying on more than ``r - 1`` hyperplanes."""
    sub_dirs = _cell_directions(Z[on_ray] @ basis.T, tol) @ basis
    off = ~on_ray
    if off.any():
        margin = np.abs(proj[off]).min()
        spread = np.abs(Z[off] @ sub_dirs.T).max(axis=0)
        eps = 0.5 * margin / np.maximum(spread, margin)
    else:
        eps = np.ones(len(sub_dirs))
    return np.vstack([sign * h + eps[:, None] * sub_dirs for sign in (1.0, -1.0)])


def enumerate_gates(X, max_patterns=10_000, tol=1e-10):
    """Gate vectors for every activation pattern of ``X`` (exhaustive search).

    The data are first projected onto their row space, of dimension
    ``r = rank(X)``; the cells of the hyperplane arrangement ``{u : x_j . u
    = 0}`` are listed through their extreme rays, each orthogonal to ``r - 1``
    data points, in ``O(n^(r-1) 2^r)`` candidate directions. The result is
    every pattern ``1[X g > 0]`` of a full-dimensional cell; patterns of
    lower-dimensional faces are not needed, since a neuron whose weight lies
    on a face fits the pattern of any adjacent cell (user guide,
    "Activation patterns and hyperplane arrangements").

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Design matrix (with its column of ones when the hidden layer has
        biases).
    max_patterns : int, default=10_000
        Refuse the enumeration, before any work, when the bound
        :func:`max_pattern_count` exceeds this number.
    tol : float, default=1e-10
        Relative tolerance for rank and for points lying on a hyperplane.

    Returns
    -------
    gates : ndarray of shape (n_patterns, n_features)
        One gate vector per distinct nonempty pattern.

    Raises
    ------
    ValueError
        If the number of patterns may exceed ``max_patterns``.
    """
    X = np.asarray(X, dtype=np.float64)
    n, d = X.shape
    # Equal rows give the same hyperplane (patches of images repeat often).
    distinct = np.unique(X[np.linalg.norm(X, axis=1) > 0], axis=0)
    Z, basis = _row_space(distinct, tol)
    rank = Z.shape[1]
    bound = max_pattern_count(len(distinct), rank)
    if bound > max_patterns:
        raise ValueError(
            f"Exhaustive enumeration of the arrangement of {len(distinct)} "
            f"distinct nonzero samples (of {n}) of rank "
            f"{rank} may give up to {bound} patterns, more than "
            f"max_patterns={max_patterns}. Raise max_patterns, reduce the "
            "number of samples or features, or use arrangements='gaussian'."
        )
    if rank == 0:
        # All samples are zero: the single pattern is all ones.
        gates = np.zeros((1, d))
    else:
        gates = _cell_directions(Z, tol) @ basis
    patterns = patterns_from_gates(X, gates)
    _, gates = unique_patterns(patterns, gates)
    return gates
