"""Shared pieces of the native solvers: block products and the certificate.

The native solvers store the variables of a program as blocks ``Z`` of shape
``(n_outputs, n_blocks, n_features)``. For gated ReLU the blocks are the
``v_i``; for ReLU they are the ``v_i`` followed by the ``w_i`` (``2P``
blocks), each with a sign ``+1``/``-1`` in the prediction. The products with
the ``D_i X`` are two matrix products with ``X`` and elementwise products
with the 0/1 pattern matrix: the ``n x d x P`` tensor of the ``D_i X`` is
never formed. With a pooled program (a CNN, whose rows of ``X`` are
patches) the prediction is pooled per sample and the adjoint spreads each
sample's value over its patches (:meth:`ConvexProgram.unpooled`).
"""

import numpy as np

from .._cones import cone_norms, project_many
from .._program import lower_bound
from .base import SolverResult


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
    """Products with the blocks of a :class:`~skconvexnn._program.ConvexProgram`.

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
        k, B, d = Z.shape
        Zt = np.ascontiguousarray(Z.reshape(k * B, d).T)
        return (self.X @ Zt).reshape(self.X.shape[0], k, B)

    def predict(self, XZ):
        """``Pool sum_b sigma_b D_b X z_tb`` from :meth:`products`: shape (n, k)."""
        return self.program.pooled(np.einsum("nkb,nb->nk", XZ, self.signed))

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


def block_norms(Z):
    """Euclidean norm of every block: shape (k, B)."""
    return np.sqrt(np.einsum("kbd,kbd->kb", Z, Z))


def group_soft_threshold(Z, thresh):
    """Prox of ``thresh * sum ||z_tb||``: every block shrunk towards zero."""
    norms = block_norms(Z)
    scale = np.maximum(1.0 - thresh / np.maximum(norms, 1e-300), 0.0)
    return Z * scale[:, :, None]


#: Largest memory, in bytes, of the projections' Cholesky factors that
#: :class:`ConeProx` keeps between calls.
FACTOR_MEMORY = 2**28


class ConeProx:
    """Prox of ``thresh * ||z_b||`` plus the indicator of each block's cone.

    For a convex cone the prox of a norm plus the cone's indicator is the
    projection onto the cone, then block soft-thresholding. The projections
    (:func:`skconvexnn._cones.project_many`) start from each block's active
    constraints at its last projection, kept in :attr:`active`; for gated
    ReLU (no cones) this is plain block soft-thresholding.
    """

    def __init__(self, op):
        self.op = op
        #: Active constraints of every block's last projection (ReLU).
        self.active = np.full(op.shape, -1, dtype=np.intp)
        #: Cholesky factors of their Gram matrices (NaN: not computed),
        #: kept when they fit in FACTOR_MEMORY bytes, else None.
        d = op.shape[-1]
        self.factors = (np.full((*op.shape, d), np.nan)
                        if op.cone_signs is not None and self.active.size * d * 8 <= FACTOR_MEMORY
                        else None)
        self._row_norms = np.maximum(np.linalg.norm(op.X, axis=1), 1e-300)

    def project(self, B, thresh, mask=None):
        """Project onto its cone every block of ``B`` above ``thresh``, in place.

        Blocks of norm at most ``thresh`` are left alone: their projection
        is no longer, so the shrinkage that follows zeroes them anyway.
        ``mask`` (boolean, shape (k, B)), if given, is a working set: the
        blocks outside it are set to zero, with no projection.
        """
        op = self.op
        norms = block_norms(B)
        big = norms > thresh
        if mask is not None:
            B[~mask] = 0.0
            big &= mask
        ts, bs = np.nonzero(big)
        if not len(ts):
            return B
        KB = op.cone_signs[:, bs] * (op.X @ B[ts, bs].T)  # (n, m)
        worst = KB.min(axis=0)
        slack = 1e-12 * np.abs(KB).max(axis=0)
        if thresh > 0:
            # The projection onto the half-space of the most violated
            # constraint (relative to its row's length) is no shorter than
            # the projection onto the cone: where it is at most thresh, the
            # shrinkage zeroes the block, no projection needed.
            cut = np.min(np.minimum(KB, 0.0) / self._row_norms[:, None], axis=0)
            zero = norms[ts, bs] ** 2 - cut ** 2 <= thresh ** 2
            B[ts[zero], bs[zero]] = 0.0
            worst[zero] = 0.0
        todo = worst < -slack
        ts, bs = ts[todo], bs[todo]
        if len(ts):
            # blocks the shrinkage will zero stop as soon as that is known
            cached = self.factors is not None
            U, act, L = project_many(op.X, op.cone_signs[:, bs], B[ts, bs],
                                     self.active[ts, bs], stop_below=thresh,
                                     factors=self.factors[ts, bs] if cached else None)
            B[ts, bs] = U
            self.active[ts, bs] = act
            if cached:
                self.factors[ts, bs] = L
        return B

    def __call__(self, B, thresh, mask=None):
        """The prox at ``B``; ``B`` (a temporary in the solvers) is overwritten.

        With ``mask``, the prox of the program restricted to the working
        set of blocks ``mask`` (the others are zero).
        """
        if self.op.cone_signs is not None:
            B = self.project(B, thresh, mask)
        elif mask is not None:
            B[~mask] = 0.0
        return group_soft_threshold(B, thresh)

    def max_dual_norm(self, Lam):
        """Largest dual norm of ``Lam`` over the blocks (exact).

        Cone-constrained norms for ReLU, started from the active sets of
        the blocks' last projections.
        """
        op = self.op
        G = op.adjoint(Lam)
        if op.cone_signs is not None:
            return float(cone_norms(op.X, op.cone_signs, G, guesses=self.active,
                                    factors=self.factors).max())
        return float(block_norms(G).max(initial=0.0))


def screen_estimate(op, Z, Lam):
    """``max_b g_b . z_b / ||z_b||`` over the nonzero (cone-feasible) blocks.

    A lower estimate of the largest cone-constrained dual norm of ``Lam``,
    exact at the optimum (see :class:`Certificate`); ``g_b`` are the blocks
    of ``op.adjoint(Lam)``.
    """
    norms = block_norms(Z)
    live = norms > 0
    if not live.any():
        return 0.0
    G = op.adjoint(Lam)
    return float(np.max(np.einsum("kbd,kbd->kb", G, Z)[live] / norms[live]))


class Certificate:
    """Objective, lower bound and relative gap of the network of a point.

    Every call evaluates the network of the blocks (:meth:`BlockOperator.network`)
    with its best output intercept, and the lower bound of
    :func:`skconvexnn._program.lower_bound` at its prediction; the best bound
    seen is kept. The stopping rule is ``objective - bound <= tol *
    |objective|``, the rule the estimators state.

    The exact bound needs the largest dual norm, which for the ReLU program
    means projections onto every block's cone. A caller that passes
    ``screen``, a cheap lower estimate of that norm, has each dual point
    scored first with it: the score is at least the exact bound, so a point
    whose score cannot beat the best bound so far is skipped, and while no
    score could meet the stopping rule the exact bound is not computed at
    all (unless ``final``). Far from the optimum that skips most
    projections; at the optimum the estimate from the nonzero blocks is
    exact.
    """

    def __init__(self, program, tol):
        self.program = program
        self.tol = tol
        self.bound = -np.inf
        self.gap = np.inf
        self.objective = np.inf
        self.intercept = np.zeros(program.n_outputs)
        #: Whether the last call computed the exact bound.
        self.exact = False

    def __call__(self, prediction, Z, max_dual_norm=None, extra=(), duals=(),
                 screen=None, final=False):
        """Certify the network of ``Z`` whose output is ``prediction``.

        ``max_dual_norm`` is passed to :func:`~skconvexnn._program.lower_bound`;
        ``extra`` are further predictions and ``duals`` further dual points
        that may give a better bound (the bound is valid from any of them).
        ``screen(Lam)`` returns a lower estimate of the largest dual norm
        (see above); with ``final`` the exact bound is computed whatever the
        screening says.
        """
        p = self.program
        if p.fit_intercept:
            c = p.loss.optimal_intercept(prediction, p.Y, p.sample_weight)
        else:
            c = np.zeros(p.n_outputs)
        obj = (p.loss.value(prediction + c, p.Y, p.sample_weight)
               + p.beta * float(block_norms(Z).sum()))
        self.objective, self.intercept = obj, c
        points = ([dict(prediction=pred) for pred in (prediction, *extra)]
                  + [dict(dual=Lam) for Lam in duals])
        if screen is None:
            scores = [np.inf] * len(points)
        else:
            scores = [lower_bound(p, max_dual_norm=screen, **point) for point in points]
        goal = obj - self.tol * max(abs(obj), np.finfo(float).tiny)
        self.exact = final or max(scores) >= goal
        if self.exact:
            for i in np.argsort(scores)[::-1]:
                if scores[i] <= self.bound:
                    break
                bound = lower_bound(p, max_dual_norm=max_dual_norm, **points[i])
                if np.isfinite(bound):
                    self.bound = max(self.bound, bound)
        self.gap = obj - self.bound
        # a diverged iterate (overflow) never passes
        return bool(np.isfinite(self.gap)) and (
            abs(self.gap) <= self.tol * max(abs(obj), np.finfo(float).tiny))


def trivial_result(program):
    """Solution of a program without patterns: the intercept alone."""
    V, W = program.zeros()
    zero = np.zeros(program.Y.shape)
    c = (program.loss.optimal_intercept(zero, program.Y, program.sample_weight)
         if program.fit_intercept else np.zeros(program.n_outputs))
    return SolverResult(V=V, W=W, intercept=c, n_iter=0,
                        objective_curve=[program.objective(V, W, c)])
