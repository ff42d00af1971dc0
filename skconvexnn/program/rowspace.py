"""The program of wide data, solved in the row space of its design matrix.

With more design features than rows (``d > n``), a block ``z`` enters the
program only through ``X z``: its predictions, its cone constraints
``(2 D - I) X z >= 0`` and the dual norms all see ``z`` through the rows
of ``X``, while its component in the null space of ``X`` only adds to its
norm, so that every optimal block lies in the row space. With ``Q`` (d, r)
an orthonormal basis of that space (``r <= n``), the program on ``X Q``
with blocks ``a`` is the same program, ``z = Q a`` and ``||z|| = ||a||``:
the same objective, certificate and network, on ``r`` columns instead of
``d``. On a table of 150 samples and 400 features the ReLU program's cone
projections and face polish then work on at most 112 columns instead of
401 (user guide, "Choosing a solver").
"""

from dataclasses import replace

import numpy as np

__all__ = ["row_space", "to_row_space", "from_row_space"]


def row_space(program):
    """``(program on X Q, Q)`` for wide data, else ``(program, None)``.

    Only dense design matrices with more columns than rows, unpooled (a
    CNN's rows are patches pooled into samples, never wide here).
    """
    X = program.X
    if (program.pool is not None or not isinstance(X, np.ndarray)
            or X.ndim != 2 or X.shape[1] <= X.shape[0]):
        return program, None
    _, s, Vt = np.linalg.svd(X, full_matrices=False)
    tol = (s[0] if len(s) else 0.0) * max(X.shape) * np.finfo(float).eps
    rank = max(int(np.sum(s > tol)), 1)
    Q = Vt[:rank].T
    return replace(program, X=X @ Q), Q


def to_row_space(result, Q):
    """``result`` (blocks in design space) with its blocks in the basis ``Q``."""
    if result is None or Q is None:
        return result
    return replace(result, V=result.V @ Q, W=None if result.W is None else result.W @ Q)


def from_row_space(result, Q):
    """``result`` (blocks in the basis ``Q``) with its blocks in design space."""
    if Q is None:
        return result
    return replace(result, V=result.V @ Q.T,
                   W=None if result.W is None else result.W @ Q.T)
