"""The least-squares steps of ADMM: ``(A^T C A + I) z = r``.

``A`` is the operator of the program's blocks, ``z -> sum_b sigma_b D_b X
z_b`` (:class:`~skconvexnn.program.BlockOperator`), and ``C`` the centering
that eliminates the output intercept (see
:mod:`skconvexnn.solvers.admm`). Three ways to solve it, chosen by
:meth:`~skconvexnn.solvers.admm.ADMMSolver.least_squares`: the ``n x n``
factor of the Woodbury identity, the ``B d x B d`` factor of the matrix
itself, and preconditioned conjugate gradients for data too large for both.
"""

import numpy as np
from scipy.linalg import cho_factor, cho_solve

from .cvxpy_backend import available_memory_bytes

__all__ = ["IterativeLeastSquares", "PrimalLeastSquares", "WoodburyLeastSquares"]


class WoodburyLeastSquares:
    """Solves ``(A^T C A + I) z = r`` by the Woodbury identity."""

    def __init__(self, op, fit_intercept):
        self.op = op
        self.centered = fit_intercept
        X, pool = op.X, op.program.pool
        if pool is None:
            G = (X @ X.T) * (op.signed @ op.signed.T)
        else:
            # Pool ((X X^T) o (S S^T)) Pool^T = sum_b M_b M_b^T with
            # M_b = Pool (s_b o X): n x n although X has a row per patch (a
            # CNN); blocks are taken a chunk at a time to bound the memory.
            G = np.zeros((pool.shape[0],) * 2)
            n_rows, d = X.shape
            chunk = max(1, int(2e7 // (n_rows * d)))
            for start in range(0, op.n_blocks, chunk):
                S = op.signed[:, start:start + chunk]
                M = pool @ (S[:, :, None] * X[:, None, :]).reshape(n_rows, -1)
                G += M @ M.T
        if fit_intercept:
            G = self.center(self.center(G).T)
        G[np.diag_indices(len(G))] += 1.0
        self.factor = cho_factor(G, lower=True, check_finite=False)

    def center(self, M):
        """``C M``: columns centred when there is an output intercept."""
        return M - M.mean(axis=0) if self.centered else M

    def solve(self, R):
        """``z`` and its products ``X z_b`` for the right side ``R`` (k, B, d)."""
        op = self.op
        Aa = op.prediction(R)
        w = self.center(cho_solve(self.factor, self.center(Aa), check_finite=False))
        z = R - op.adjoint(w)
        return z, op.products(z)


class PrimalLeastSquares(WoodburyLeastSquares):
    """Solves ``(A^T C A + I) z = r`` with a Cholesky factor of that matrix.

    ``A^T C A + I`` has the size ``m = B d`` of the blocks (every output
    has the same), against the ``n x n`` of the Woodbury form: the cheaper
    one when the samples outnumber the block coordinates, and the only
    factorization left beyond ``ADMMSolver.max_samples`` samples (the ReLU
    program of 50,000 samples in 20 dimensions with 100 gates: ``m =
    4,200``). ``A^T A`` is accumulated over chunks of rows of ``A =
    [sigma_b D_b X]_b``; with an output intercept, ``C`` subtracts the
    rank-one ``A^T 1 1^T A / n``. Not for a pooled program (a CNN).
    """

    def __init__(self, op, fit_intercept):
        self.op = op
        self.centered = fit_intercept
        X, S = op.X, op.signed
        n, d = X.shape
        m = op.n_blocks * d
        H = np.zeros((m, m))
        ones = np.zeros(m)  # A^T 1
        chunk = max(1, int(2e7 // m))
        for start in range(0, n, chunk):
            rows = slice(start, start + chunk)
            A = (S[rows, :, None] * X[rows, None, :]).reshape(-1, m)
            H += A.T @ A
            ones += A.sum(axis=0)
        if fit_intercept:
            H -= np.outer(ones, ones) / n
        H[np.diag_indices(m)] += 1.0
        self.factor = cho_factor(H, lower=True, check_finite=False)

    @staticmethod
    def suits(program, n_blocks, max_samples):
        """Whether this factorization is the one for ``program``.

        Unpooled, ``m = B d`` at most ``MAX_PRIMAL``, and either beyond
        ``max_samples`` samples or with fewer setup flops (``n m^2 +
        m^3 / 3``) than the ``n x n`` form's (``n^2 (d + B) + n^3 / 3``).
        """
        if program.pool is not None:
            return False
        n, d = program.X.shape
        m = n_blocks * d
        if m > MAX_PRIMAL or 8 * m * m > available_memory_bytes() // 4:
            return False
        return n > max_samples or n * m * m + m ** 3 / 3 < n * n * (d + n_blocks) + n ** 3 / 3

    def solve(self, R):
        k, B, d = R.shape
        z = cho_solve(self.factor, R.reshape(k, B * d).T, check_finite=False)
        z = np.ascontiguousarray(z.T).reshape(R.shape)
        return z, self.op.products(z)


#: Largest size ``B d`` of the blocks for :class:`PrimalLeastSquares`
#: (its factor takes ``8 (B d)^2`` bytes: 512 MiB).
MAX_PRIMAL = 8000


class IterativeLeastSquares(WoodburyLeastSquares):
    """Solves ``(A^T C A + I) z = r`` by conjugate gradients, Nystrom-preconditioned.

    For data too large for the ``n x n`` factor. ``H = A^T C A`` acts on
    each output's blocks alike, so one randomized Nystrom approximation
    ``H ~ U diag(lam) U^T`` of rank ``rank`` (Tropp, Yurtsever, Udell and
    Cevher's stable construction, from ``rank`` products with ``H``)
    serves every output. The preconditioner inverts it exactly on the span
    of ``U`` and scales the rest by ``lam_min + 1``, so the eigenvalues CG
    sees are clustered near 1 apart from the tail of ``H`` (Frangella,
    Tropp and Udell's Nystrom PCG). Each CG iteration is one prediction and
    one adjoint; every solve starts from the previous solution, since
    consecutive ADMM right sides differ little. Memory grows linearly in
    ``n``.
    """

    #: Relative residual at which a solve stops, and its iteration cap.
    rtol = 1e-9
    max_cg = 100

    def __init__(self, op, fit_intercept, rank=100, seed=0):
        self.op = op
        self.centered = fit_intercept
        k, B, d = op.shape
        m = B * d
        r = min(rank, m)
        rng = np.random.default_rng(seed)
        Omega, _ = np.linalg.qr(rng.standard_normal((m, r)))
        Y = self.gram(Omega.T.reshape(r, B, d)).reshape(r, m).T
        nu = np.sqrt(m) * np.finfo(float).eps * np.linalg.norm(Y, 2)
        Y = Y + nu * Omega
        C = np.linalg.cholesky(Omega.T @ Y)
        F = np.linalg.solve(C, Y.T).T  # Y C^{-T}
        U, sv, _ = np.linalg.svd(F, full_matrices=False)
        self.U = U
        self.lam = np.maximum(sv ** 2 - nu, 0.0)
        self.last = None

    def gram(self, Z):
        """``A^T C A Z`` for blocks of shape (k, B, d)."""
        return self.op.adjoint(self.center(self.op.prediction(Z)))

    def precondition(self, R):
        k, B, d = R.shape
        flat = R.reshape(k, B * d)
        coef = flat @ self.U
        scale = (self.lam[-1] + 1.0) / (self.lam + 1.0)
        out = flat + (coef * (scale - 1.0)) @ self.U.T
        return out.reshape(R.shape)

    def solve(self, R):
        z = np.zeros_like(R) if self.last is None or self.last.shape != R.shape \
            else self.last.copy()
        res = R - (self.gram(z) + z)
        y = self.precondition(res)
        p = y.copy()
        ry = np.einsum("kbd,kbd->k", res, y)
        goal = self.rtol ** 2 * np.maximum(np.einsum("kbd,kbd->k", R, R), 1e-300)
        for _ in range(self.max_cg):
            if np.all(np.einsum("kbd,kbd->k", res, res) <= goal):
                break
            Hp = self.gram(p) + p
            curv = np.einsum("kbd,kbd->k", p, Hp)
            alpha = np.where(curv > 0, ry / np.where(curv > 0, curv, 1.0), 0.0)
            z = z + alpha[:, None, None] * p
            res = res - alpha[:, None, None] * Hp
            y = self.precondition(res)
            ry_new = np.einsum("kbd,kbd->k", res, y)
            p = y + (ry_new / np.where(ry > 0, ry, 1.0))[:, None, None] * p
            ry = ry_new
        self.last = z
        return z, self.op.products(z)
