"""Spike-free closed form of the shared-unit program (Sahiner et al.,
ICLR 2021, spike-free case; user guide, "Multiple outputs and classification").

When the design matrix is whitened, ``X X^T = I`` (so ``n <= d``), every
``p >= 0`` is ``X u`` with ``u = X^T p`` and ``||u|| = ||p||``, so the
program becomes a nuclear-norm problem over ``F`` restricted to
factorizations with nonnegative left factors:

    min_F  1/(2n) ||F - Y||_F^2 + beta ||F||_*

whose solution soft-thresholds the singular values of ``Y`` at ``n beta``
(multiply the objective by ``n``: the papers' ``beta_paper = n beta``). It
is the optimum of the cone-constrained program when the thresholded left
singular vectors can be taken nonnegative (one-hot targets are the standard
case). Neurons: ``u_j = sqrt(s_j) X^T p_j``, ``a_j = sqrt(s_j) q_j``.
"""

import numpy as np

from .result import SharedUnitsResult, shared_objective

__all__ = ["is_whitened", "svd_closed_form"]


def is_whitened(X, rtol=1e-8):
    """Whether ``X X^T`` is the identity (up to ``rtol``)."""
    n, d = X.shape
    return n <= d and np.allclose(X @ X.T, np.eye(n), atol=rtol * max(1, n))


def svd_closed_form(X, Y, beta, rtol=1e-8):
    """The closed-form optimum (no output intercept).

    Returns
    -------
    SharedUnitsResult
        Its neurons, with ``lower_bound`` equal to ``objective`` (the
        optimum).

    Raises
    ------
    ValueError
        If ``X X^T != I`` or a thresholded left singular vector has entries
        of both signs.
    """
    n = X.shape[0]
    if not is_whitened(X, rtol):
        raise ValueError(
            "method='svd' needs whitened data, X X^T = I (so n_samples <= "
            "n_features, and fit_intercept=False since a column of ones "
            "cannot be whitened with the data). Use method='relaxation' or "
            "method='frank_wolfe'."
        )
    gram = Y.T @ Y
    if np.allclose(gram, np.diag(np.diag(gram)), atol=rtol * max(gram.max(), 1)):
        # Orthogonal columns (one-hot): take the columns themselves, so that
        # repeated singular values do not mix them.
        s = np.sqrt(np.diag(gram))
        left = Y / np.where(s > 0, s, 1.0)
        right_t = np.eye(Y.shape[1])
    else:
        left, s, right_t = np.linalg.svd(Y, full_matrices=False)
    s = np.maximum(s - n * beta, 0.0)
    keep = s > 0
    left, s, right_t = left[:, keep], s[keep], right_t[keep]
    scale = np.abs(left).max(axis=0) if left.size else np.ones(0)
    sign = np.where(left.sum(axis=0) >= 0, 1.0, -1.0)
    left, right_t = left * sign, right_t * sign[:, None]
    if left.size and (left < -1e-8 * scale).any():
        raise ValueError(
            "method='svd' does not apply: a left singular vector of Y kept by "
            "the threshold has entries of both signs (the closed form needs "
            "them nonnegative, as for one-hot targets). Use "
            "method='relaxation' or method='frank_wolfe'."
        )
    root = np.sqrt(s)
    U = (X.T @ np.maximum(left, 0.0) * root).T
    A = right_t * root[:, None]
    c = np.zeros(Y.shape[1])
    objective = float(shared_objective(X, Y, beta, U, A, c))
    return SharedUnitsResult(U=U, A=A, intercept=c, objective=objective,
                             lower_bound=objective, estimated_bound=objective,
                             exact=True, n_iter=0)
