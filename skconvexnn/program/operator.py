"""The linear operator of the convex program: ``sum_b sigma_b D_b X z_b``.

The native solvers store the variables of a program as blocks ``Z`` of shape
``(n_outputs, n_blocks, n_features)``. For gated ReLU the blocks are the
``v_i``; for ReLU they are the ``v_i`` followed by the ``w_i`` (``2P``
blocks), each with a sign ``+1``/``-1`` in the prediction (user guide, "The
convex program"). The products with the ``D_i X`` are two matrix products
with ``X`` and elementwise products with the 0/1 pattern matrix: the
``n x d x P`` tensor of the ``D_i X`` is never formed. With a pooled
program (a CNN, whose rows of ``X`` are patches) the prediction is pooled
per sample and the adjoint spreads each sample's value over its patches
(:meth:`~skconvexnn.program.ConvexProgram.unpooled`).
"""

import numpy as np


def block_products(X, Z):
    """``X z_tb`` for every output and block of ``Z`` (k, B, d): shape (n, k, B)."""
    k, B, d = Z.shape
    Zt = np.ascontiguousarray(Z.reshape(k * B, d).T)
    return (X @ Zt).reshape(X.shape[0], k, B)


def signed_sum(XZ, signed):
    """``sum_b signed_jb (X z_tb)_j`` from :func:`block_products`: shape (n, k)."""
    return np.einsum("nkb,nb->nk", XZ, signed)


def signed_prediction(X, signed, Z):
    """Row ``j``: ``x_j . (sum_b signed_jb z_tb)``, shape (n, k).

    The products ``sum_b sigma_b D_b X z_tb`` (``signed`` holds ``sigma_b
    D_b`` as columns) with one product of the signed patterns with the
    blocks: no ``n x k B`` array in between.
    """
    k, B, d = Z.shape
    live = np.flatnonzero(np.any(Z != 0, axis=(0, 2)))
    if 2 * len(live) < B:  # mostly zero blocks (a sparse iterate): skip them
        signed, Z, B = signed[:, live], Z[:, live], len(live)
    S = signed @ Z.transpose(1, 0, 2).reshape(B, k * d)
    return np.einsum("nkd,nd->nk", S.reshape(len(S), k, d), X)


def signed_adjoint(X, signed, M, columns=None):
    """Blocks ``X^T (signed_b o m_t)``, shape (k, B, d): the adjoint of
    :func:`signed_prediction`, as ``(X o m_t)^T S`` (no ``n x k B`` array).

    ``columns`` (indices of blocks), if given, restricts the products to
    those blocks; the others are zero in the output.
    """
    n, k = M.shape
    XM = (X[:, None, :] * M[:, :, None]).reshape(n, -1)
    if columns is None:
        out = (XM.T @ signed).reshape(k, X.shape[1], signed.shape[1])
        return out.transpose(0, 2, 1)
    out = np.zeros((k, signed.shape[1], X.shape[1]))
    part = (XM.T @ signed[:, columns]).reshape(k, X.shape[1], len(columns))
    out[:, columns] = part.transpose(0, 2, 1)
    return out


class BlockOperator:
    """Products with the blocks of a :class:`~skconvexnn.program.ConvexProgram`.

    Attributes
    ----------
    signed : ndarray of shape (n_samples, n_blocks)
        ``sigma_b D_b``: pattern of each block times its sign in the
        prediction.
    cone_signs : ndarray of shape (n_samples, n_blocks) or None
        ``2 D_b - 1``, the rows of the cone constraint ``K_b z_b >= 0``
        (``None`` for gated ReLU).
    """

    def __init__(self, program):
        self.program = program
        self.X = program.X
        D = program.patterns.astype(float)
        self.n_patterns = D.shape[1]
        if program.cone_constrained:
            self.signed = np.hstack([D, -D])
            self.cone_signs = 2.0 * np.hstack([D, D]) - 1.0
        else:
            self.signed = D
            self.cone_signs = None
        self.n_blocks = self.signed.shape[1]
        self.shape = (program.n_outputs, self.n_blocks, program.n_features)

    def split(self, Z):
        """``(V, W)`` blocks of the program from the stacked ``Z``."""
        if self.cone_signs is None:
            return Z, None
        P = self.n_patterns
        return Z[:, :P], Z[:, P:]

    def stack(self, V, W):
        """Stacked blocks ``Z`` from the program's ``(V, W)``."""
        return V if W is None else np.concatenate([V, W], axis=1)

    def products(self, Z):
        """``X z_tb`` for every output and block: shape (n, k, B)."""
        return block_products(self.X, Z)

    def predict(self, XZ):
        """``Pool sum_b sigma_b D_b X z_tb`` from :meth:`products`: shape (n, k)."""
        return self.program.pooled(signed_sum(XZ, self.signed))

    def prediction(self, Z):
        """``predict(products(Z))`` without the ``(n, k, B)`` products.

        Row ``j`` is ``x_j . (sum_b sigma_b D_jb z_tb)``: one product of the
        signed patterns with the blocks (output ``n x k d``), about 1.7 times
        faster than :meth:`products` at ``n = 50,000``, ``B = 500`` (fewer
        passes over ``n x B`` arrays).
        """
        return self.program.pooled(signed_prediction(self.X, self.signed, Z))

    def network(self, XZ):
        """Output of the ReLU network of the blocks, ``sum_b sigma_b (X z_b)_+``.

        For gated ReLU this is :meth:`predict`. For ReLU it differs from the
        program's prediction only where a block violates its cone
        constraint, and it is always the output of an actual network.
        """
        if self.cone_signs is None:
            return self.predict(XZ)
        P = self.n_patterns
        relu = np.maximum(XZ, 0.0)
        return self.program.pooled(relu[:, :, :P].sum(axis=2)
                                   - relu[:, :, P:].sum(axis=2))

    def adjoint(self, M, R=None, columns=None):
        """Blocks ``X^T (sigma_b D_b m_t + S_b r_tb)``: shape (k, B, d).

        ``M`` (n_samples, k) multiplies the prediction rows (``Pool^T M``
        when pooled); ``R`` (n_rows, k, B), if given, multiplies the cone
        constraints' rows. ``columns`` (without ``R``): only those blocks
        are computed, the others are zero.
        """
        M = self.program.unpooled(M)
        n, k = M.shape
        if R is None:
            return signed_adjoint(self.X, self.signed, M, columns)
        T = self.signed[:, None, :] * M[:, :, None]
        T = T + self.cone_signs[:, None, :] * R
        out = self.X.T @ T.reshape(n, k * self.n_blocks)
        return out.T.reshape(self.shape)
