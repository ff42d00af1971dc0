"""The fully corrective step of Frank-Wolfe: a group lasso on the hidden features.

``min_A 1/(2n) ||H A - Y||_F^2 + beta sum_t ||A[t]||`` for the (centred)
hidden features ``H`` of the current units (Sahiner et al., ICLR 2021,
section 5), by an interior-point method (:func:`group_lasso_ipm`) with an
accelerated proximal gradient as its fallback (:func:`group_lasso`).
"""

import warnings

import numpy as np
import scipy.sparse as sp

from ..cvxpy_backend import is_panic

__all__ = ["group_lasso", "group_lasso_ipm"]

#: Rows of the interior-point solution below this fraction of the largest
#: are zero (the barrier keeps them at 1e-9 to 1e-6 of it, while the rows
#: that matter were above 1e-4 on the scikit-learn check's data).
IPM_ZERO_RTOL = 1e-7


def group_lasso(H, Y, beta, A0, rtol=1e-6, max_iter=5000):
    """``min_A 1/(2n) ||H A - Y||_F^2 + beta sum_t ||A[t]||`` by accelerated proximal gradient.

    ``H`` (n x m) and ``Y`` (n x k) are already centred when there is an
    intercept. FISTA on the Gram form (``Q = H^T H / n``, ``B = H^T Y / n``)
    with adaptive restart; it stops when every row meets its optimality
    condition to ``rtol * beta``: ``||g_t + beta a_t / ||a_t|| ||`` for
    nonzero rows and ``||g_t|| - beta`` for zero rows, ``g = Q A - B``, or
    when the duality gap of this problem falls below ``rtol`` times its
    objective. The second test matters with near-duplicate atoms (an
    ill-conditioned Gram matrix): the iterate then converges slowly along
    directions in which the objective is flat. The gap uses the dual point
    ``s R / n`` with ``R = Y - H A`` and ``s = min(1, beta / max_t ||g_t||)``,
    all in Gram form. Frank-Wolfe uses :func:`group_lasso_ipm`, which does
    not suffer from that conditioning; this is its fallback.
    """
    n = H.shape[0]
    return _group_lasso_gram(H.T @ H / n, H.T @ Y / n, beta, A0, rtol, max_iter,
                             yy=np.sum(Y**2) / n)


def _group_lasso_gram(Q, B, beta, A0, rtol=1e-6, max_iter=5000, yy=None):
    """:func:`group_lasso` on its Gram form; without ``yy`` (``||Y||^2 / n``)
    only the optimality test stops it."""
    L = np.linalg.eigvalsh(Q)[-1] if len(Q) else 0.0
    if L <= 0:
        return np.zeros_like(A0)

    def rownorm(W):
        return np.sqrt(np.einsum("ij,ij->i", W, W))

    A, W, t = A0.copy(), A0.copy(), 1.0
    for it in range(max_iter):
        new = W - (Q @ W - B) / L
        new *= np.maximum(1.0 - beta / L / np.maximum(rownorm(new), 1e-300), 0.0)[:, None]
        if it % 20 == 0:
            g0 = Q @ new - B
            g = g0.copy()
            norm = rownorm(new)
            live = norm > 0
            g[live] += beta * new[live] / norm[live, None]
            viol = rownorm(g) - np.where(live, 0.0, beta)
            if viol.max(initial=0.0) <= rtol * beta:
                return new
            if yy is not None:
                ab = np.sum(new * B)
                rr = yy - 2 * ab + np.sum(new * (g0 + B))  # ||R||^2 / n
                primal = 0.5 * rr + beta * norm.sum()
                s = min(1.0, beta / max(rownorm(g0).max(initial=0.0), 1e-300))
                if primal - (s * (yy - ab) - 0.5 * s * s * rr) <= rtol * max(primal, 1e-300):
                    return new
        t_new = (1 + np.sqrt(1 + 4 * t * t)) / 2
        step = new - A
        if np.einsum("ij,ij->", W - new, step) > 0:  # restart when momentum goes uphill
            t_new, W = 1.0, new
        else:
            W = new + (t - 1) / t_new * step
        A, t = new, t_new
    return A


def group_lasso_ipm(Q, B, beta, atol=1e-12, A0=None):
    """``min_A 1/2 <A, Q A> - <B, A> + beta sum_t ||A[t]||`` by an interior-point method.

    The Gram form of the group lasso of the corrective step (``Q = H^T H /
    n``, ``B = H^T Y / n``), as a second-order cone program for Clarabel:
    variables ``A`` and ``t`` with ``||A[t]|| <= t_t``. An interior-point
    method does not care about the conditioning of ``Q`` (near-duplicate
    hidden units), which costs first-order methods thousands of iterations;
    it takes 10 to 20 factorizations of a matrix of size ``m (k + 1)``.
    ``atol`` is the absolute duality gap asked for. Rows that the barrier
    leaves barely above zero (below :data:`IPM_ZERO_RTOL` of the largest)
    are set to zero. If Clarabel fails, :func:`group_lasso`
    (FISTA, from ``A0``) answers instead.
    """
    import clarabel

    m, k = B.shape
    if m == 0:
        return np.zeros((0, k))
    N = m * k
    P = sp.kron(sp.csc_matrix(np.triu(Q)), sp.identity(k), format="csc")
    P = sp.block_diag([P, sp.csc_matrix((m, m))], format="csc")
    q = np.concatenate([-B.ravel(), np.full(m, float(beta))])
    # Cone i holds (t_i, A[i]); Clarabel's form is  A x + s = b,  s in K.
    cols = np.column_stack([N + np.arange(m), np.arange(N).reshape(m, k)]).ravel()
    rows = np.arange(m * (k + 1))
    G = sp.csc_matrix((-np.ones(len(rows)), (rows, cols)), shape=(m * (k + 1), N + m))
    settings = clarabel.DefaultSettings()
    settings.verbose = False
    settings.max_threads = 1
    settings.direct_solve_method = "faer"
    settings.tol_gap_abs = max(float(atol), 1e-300)
    settings.tol_gap_rel = 1e-14
    settings.max_iter = 100
    try:
        solver = clarabel.DefaultSolver(P, q, G, np.zeros(m * (k + 1)),
                                        [clarabel.SecondOrderConeT(k + 1)] * m, settings)
        x = np.asarray(solver.solve().x, dtype=float)
        A = x[:N].reshape(m, k)
        if not np.all(np.isfinite(A)):
            raise ValueError("non-finite solution")
    except BaseException as exc:
        # A failure (or a Rust panic, pyo3's PanicException, a
        # BaseException) must not end the fit.
        if not (isinstance(exc, Exception) or is_panic(exc)):
            raise
        warnings.warn(f"Clarabel failed on the corrective group lasso ({exc}); "
                      "using FISTA instead.", RuntimeWarning)
        return _group_lasso_gram(Q, B, beta, np.zeros((m, k)) if A0 is None else A0)
    w = np.linalg.norm(A, axis=1)
    A[w <= IPM_ZERO_RTOL * w.max(initial=0.0)] = 0.0
    return A
