"""Approximate leave-one-out outputs of a fit, from the fit alone.

The CV estimators' default (``cv=None``) scores each beta of one path on
all the data by these outputs, as :class:`~sklearn.linear_model.RidgeCV`
does with its efficient leave-one-out, instead of fitting a path per fold
(user guide, "Tuning beta: the path and cross-validation").

On the face of the fit (its nonzero blocks ``z_b = N_b y_b``, ``N_b`` a
basis of the null space of the block's tight cone rows) the program is
smooth in ``x = (y, c)``: ``F(J x) + beta sum_b ||y_b||``. Leaving sample
``i`` out removes ``s_i l(j_i x, y_i)`` from it; one Newton step from the
fit ``x`` on the rest, with the Sherman-Morrison formula, gives the
output of sample ``i`` (Rad and Maleki, 2020)::

    f_{-i} = f_i + A_i (I - W_i A_i)^{-1} g_i,   A_i = J_i H^{-1} J_i^T,

``g_i`` and ``W_i`` the loss's gradient and second derivatives in sample
``i`` (its weight included) and ``H`` the Hessian of the program on the
face. For the squared loss this is the classical ``(y_i - f_i) / (1 -
s_i h_i)`` of a linear smoother. The face is kept: a sample whose removal
would free a tight row or zero a block moves it a little differently.
A row of the program is a sample, or the repeats of one that the
estimators merged (the same features and target, their weights summed):
one repeat leaves, the row's weight times its ``share`` (``1/c`` of a row
of ``c`` repeats), and ``g_i``, ``W_i`` are scaled by it. A test sample
equal to a training sample is as likely as a repeat in the training data,
and five folds split the repeats too; with whole rows leaving, the scores
of tables of many repeats were pessimistic where the fit follows them
(user guide, "Approximate leave-one-out").
"""

import numpy as np
from scipy.linalg import cho_factor, cho_solve, pinvh

from ..program.operator import BlockOperator
from ..solvers._face import add_norm_curvature, output_spans
from ..solvers._polish import FacePolish

__all__ = ["loo_outputs", "LOO_MAX_COLUMNS", "LOO_MIN_SAMPLES"]

#: Largest face (columns of ``J``, intercepts included) whose Hessian is
#: inverted; a larger one has no approximate leave-one-out outputs.
LOO_MAX_COLUMNS = 4000

#: Fewest samples of a program whose path is scored by approximate
#: leave-one-out outputs (``loo_applies``); below it, by folds.
LOO_MIN_SAMPLES = 50


def loo_outputs(program, result, max_columns=LOO_MAX_COLUMNS, share=None):
    """Approximate leave-one-out outputs of ``result``, a solution of ``program``.

    Parameters
    ----------
    program : ConvexProgram
    result : SolverResult
        Its blocks and intercept (the face is read off the blocks).
    max_columns : int
        Faces with more columns give None.
    share : ndarray of shape (n_samples,), optional
        The part of each row's weight that leaves: one sample's share of the
        row, ``1/c`` where the row merges ``c`` repeats. None: whole rows.

    Returns
    -------
    outputs : ndarray of shape (n_samples, n_outputs) or None
        Row ``i``: the network's output at sample ``i`` fitted without it
        (``inf`` where the formula breaks down: a sample the fit
        interpolates). None when the loss gives no second derivatives
        (:meth:`~skconvexnn.losses.Loss.hessian`), the program is pooled
        (a CNN), the face is larger than ``max_columns`` or its tight rows
        too many for the SVDs of its bases (the polish's ``max_flops``).
    """
    p = program
    if p.pool is not None:
        return None
    op = BlockOperator(p)
    face = FacePolish(op)
    Z = op.stack(result.V, result.W)
    c = np.asarray(result.intercept, dtype=float).reshape(-1)
    P = op.prediction(Z) + c
    W = p.loss.hessian(P, p.Y, p.sample_weight)
    if W is None:
        return None
    ts, bs, tight = face._face(Z)
    bases = face._bases(ts, bs, tight) if len(ts) else []
    if bases is None:
        return None
    widths = np.array([N.shape[1] for N in bases], dtype=int)
    k = p.n_outputs
    if widths.sum() + k > max_columns:
        return None
    if widths.sum() == 0 and not p.fit_intercept:
        return P  # nothing is fitted: no sample moves the outputs
    J = (np.hstack([op.signed[:, [b]] * (op.X @ N) for b, N in zip(bs, bases)])
         if len(bases) else np.zeros((len(P), 0)))
    spans = output_spans(ts, widths, k)
    y = (np.concatenate([N.T @ z for z, N in zip(Z[ts, bs], bases)])
         if len(bases) else np.zeros(0))
    m = len(y)
    H = face._loss_hessian(P, J, spans, m, m + (k if p.fit_intercept else 0),
                           p.fit_intercept)
    add_norm_curvature(H, y, widths, p.beta)
    A = _leverages(J, spans, _inverse(H, p.loss.quadratic), p.fit_intercept)
    G = p.loss.gradient(P, p.Y, p.sample_weight)
    if share is not None:  # one repeat of the row leaves, not all of them
        share = np.asarray(share, dtype=float)
        G, W = G * share[:, None], W * share[:, None, None]
    M = np.eye(k)[None] - W @ A
    # a sample whose removal the face cannot absorb (the fit interpolates
    # it): its output is inf, and its system is not solved, so that one
    # singular system does not fail the others'
    broken = ~(np.linalg.det(M) > 1e-10)
    M[broken] = np.eye(k)
    with np.errstate(all="ignore"):
        step = np.linalg.solve(M, G[:, :, None])[:, :, 0]
        out = P + np.einsum("nkl,nl->nk", A, step)
    out[broken] = np.inf
    return out


def _inverse(H, quadratic):
    """The inverse of the face's Hessian ``H``: by its Cholesky factor under
    a quadratic loss (an eighth of the time of an eigendecomposition: on
    star98's gated first fit, 651 columns, 0.2 s of the regressor's 2 s),
    else, or where it is singular, the pseudo-inverse (the softmax with
    intercepts is flat along adding the same constant to every output, a
    direction no gradient has)."""
    if quadratic:
        try:
            factor = cho_factor(H, check_finite=False)
        except (np.linalg.LinAlgError, ValueError):
            pass
        else:
            return cho_solve(factor, np.eye(len(H)), check_finite=False)
    return pinvh(H)


def _leverages(J, spans, inverse, fit_intercept):
    """``A_i = J_i H^{-1} J_i^T`` of every sample, shape (n, k, k).

    Output ``t`` depends on the columns of its own blocks and its intercept
    only, so ``A_i[t, u]`` is a product of those columns with one block of
    the inverse.
    """
    n, m = J.shape
    k = len(spans)
    cols, rows = [], []
    for t, span in enumerate(spans):
        idx = np.arange(span.start, span.stop)
        Jt = J[:, idx]
        if fit_intercept:
            idx = np.append(idx, m + t)
            Jt = np.column_stack([Jt, np.ones(n)])
        cols.append(idx)
        rows.append(Jt)
    A = np.empty((n, k, k))
    for t in range(k):
        for u in range(t, k):
            block = inverse[np.ix_(cols[t], cols[u])]
            A[:, t, u] = np.einsum("nj,nj->n", rows[t] @ block, rows[u])
            A[:, u, t] = A[:, t, u]
    return A
