"""Steps of :class:`._polish.FacePolish` between the faces of the cones.

:func:`bent_step` takes the polish from a feasible point towards the
optimum of its face; :func:`entering_blocks` adds zero blocks at the face's
optimum. Both only propose points: the polish keeps the best and the solver
certifies it.
"""

import numpy as np

from ..program.cones import project_many
from ..program.penalties import block_norms

__all__ = ["bent_step", "entering_blocks", "output_spans", "add_norm_curvature"]


def output_spans(ts, widths, k):
    """The columns of each of the ``k`` outputs on a face: block ``j`` (of
    output ``ts[j]``, ``ts`` sorted) has ``widths[j]`` columns, in order."""
    bounds = np.searchsorted(np.repeat(ts, widths), np.arange(k + 1))
    return [slice(bounds[t], bounds[t + 1]) for t in range(k)]


def add_norm_curvature(H, y, widths, beta):
    """Add the Hessian of ``beta sum_b ||y_b||`` at the face point ``y``
    (blocks of ``widths`` columns, first in ``H``) to ``H``, in place: each
    block's ``beta (I - u u^T) / ||y_b||``, ``u = y_b / ||y_b||``."""
    start = 0
    for w in widths:
        yb = y[start:start + w]
        nb = max(float(np.sqrt(yb @ yb)), 1e-300)
        ub = yb / nb
        H[start:start + w, start:start + w] += (beta / nb
                                                * (np.eye(w) - np.outer(ub, ub)))
        start += w


def bent_step(op, Z, c, Z_new, c_new, ts, bs, row_norms):
    """The best feasible point of the bent path from ``(Z, c)`` towards the
    new point, and the rows joining the face (n_rows, m): None when the new
    point is feasible.

    Block ``j`` of the blocks ``(ts, bs)`` stops at ``t_j``, where its step
    crosses its first cone row (1 if none), so that the point at ``s``,
    ``z_j + min(t_j, s) dz_j`` with the intercept ``c + s dc``, is feasible
    for every ``s`` in [0, 1]; the path is searched at the ``t_j``. Its first
    piece is the segment to the first crossing of all, no worse than ``Z``
    since the objective is convex; the best ``s`` is at least as good. The
    first row (ties included) of every block that stops at or before ``s``
    joins: the point lies on it.

    The step that stopped at the first crossing of all blocks joined one
    row (and its ties) a round, too few where dozens of blocks each cross a
    row: on ``computers`` (4,700 rows, 100 patterns of a trained network,
    squared loss, ``beta = 6.4e-3``) no polish of ADMM reached a face's
    optimum in 40 rounds (1,350 iterations, 28 s); the rounds joined the
    ``2, 4, 8, ...`` rows crossed first, but the point lay on only the
    first, and faces that excluded the point collapsed (42 blocks to 5).
    Along the bent path dozens of rows join a round, each on the point: the
    third polish certified (510 iterations, 13.6 s).
    """
    K = op.cone_signs[:, bs]
    old = K * (op.X @ Z[ts, bs].T)
    new = K * (op.X @ Z_new[ts, bs].T)
    slack = 1e-12 * row_norms[:, None] * np.maximum(
        block_norms(Z_new)[ts, bs], block_norms(Z)[ts, bs])
    bad = new < -slack
    if not bad.any():
        return Z_new, c_new, None
    old = np.maximum(old, 0.0)
    T = np.ones(bad.shape)
    T[bad] = old[bad] / (old[bad] - new[bad])
    stops = T.min(axis=0)  # t_j of every block
    p = op.program
    z, dz, dc = Z[ts, bs], Z_new[ts, bs] - Z[ts, bs], c_new - c
    Q = p.pooled(op.signed[:, bs] * (op.X @ dz.T))  # prediction of each dz_j
    # the prediction at s: P0 + sum_{t_j <= s} t_j q_j + s (sum_{t_j > s} q_j + dc)
    # (output ts[j] of column j), its terms updated block by block
    fixed = op.prediction(Z) + c
    moving = np.zeros_like(fixed)
    np.add.at(moving.T, ts, Q.T)
    moving += dc
    # norms of z_j + a dz_j from three inner products a block
    zz, zd, dd = (np.einsum("ij,ij->i", u, v) for u, v in ((z, z), (z, dz), (dz, dz)))
    other = float(block_norms(Z).sum()) - float(np.sqrt(zz).sum())
    order = np.argsort(stops, kind="stable")
    best, best_s, i = np.inf, 0.0, 0
    for s in np.unique(stops):
        while i < len(order) and stops[order[i]] <= s:
            j = order[i]
            fixed[:, ts[j]] += stops[j] * Q[:, j]
            moving[:, ts[j]] -= Q[:, j]
            i += 1
        a = np.minimum(stops, s)
        norms = np.sqrt(np.maximum(zz + 2 * a * zd + a * a * dd, 0.0))
        value = (p.loss.value(fixed + s * moving, p.Y, p.sample_weight)
                 + p.beta * (other + float(norms.sum())))
        if value < best:
            best, best_s = value, s
    a = np.minimum(stops, best_s)
    Z_s = Z.copy()
    Z_s[ts, bs] = z + a[:, None] * dz
    reached = bad & (T <= stops * (1 + 1e-9) + 1e-15) & (stops <= best_s)
    return Z_s, c + best_s * dc, reached


def entering_blocks(op, Z, c, ts, bs):
    """``(Z', value)``: ``Z`` with every block outside the support ``(ts,
    bs)`` whose dual constraint is violated entered along its steepest
    feasible direction, or None when there is none.

    A zero block ``b`` lowers the objective along ``u`` in its cone at
    the rate ``beta ||u|| - g_b . u`` (``-g_b`` the loss's gradient
    through the block); the steepest unit ``u_b`` is the projection of
    ``g_b`` onto the cone, normalized, and the rate is negative exactly
    when the projection is longer than beta: when the dual constraint
    of ``b`` is violated. Each block's step ``s_b`` is Newton's on the loss
    along its ``u_b`` alone; the blocks move together along ``sum_b s_b
    u_b``, a descent direction (the rates add), by Newton's step of the
    objective along it (exact for the squared loss), halved until it
    lowers the objective. On diabetes (600 patterns) ADMM's face optimum
    left one out, the gap at 3.6e-4. On ``make_friedman1(1000)`` (600
    patterns) the optimum has 252 blocks and ADMM's first face 229: one
    block at a time, the polish entered six in its 150 rounds; all of
    them together, its attempts certify (see :class:`._polish.FacePolish`).
    """
    p = op.program
    P = op.prediction(Z) + c
    A = -op.adjoint(p.loss.gradient(P, p.Y, p.sample_weight))
    A[ts, bs] = 0.0
    limit = p.beta * (1.0 + 1e-9)
    # the free norms bound the cone's: only the blocks above are projected,
    # exactly where the projection is longer than the limit
    t, b = np.nonzero(np.einsum("kbd,kbd->kb", A, A) > limit * limit)
    U = A[t, b]
    if op.cone_signs is not None and len(t):
        U = project_many(op.X, op.cone_signs[:, b], U, None, stop_below=limit)[0]
    length = np.linalg.norm(U, axis=1)
    violated = length > limit
    if not violated.any():
        return None
    t, b, length = t[violated], b[violated], length[violated]
    U = U[violated] / length[:, None]
    Q = p.pooled(op.signed[:, b] * (op.X @ U.T))  # prediction of each u_b
    H = p.loss.hessian(P, p.Y, p.sample_weight)
    norms = block_norms(Z)
    curv = (np.einsum("ij,ij->j", H[:, t, t], Q * Q) if H is not None
            else np.zeros(len(t)))
    steps = np.where(curv > 0, (length - p.beta) / np.where(curv > 0, curv, 1.0),
                     norms.max())
    D = np.zeros_like(P)  # the prediction of the joint step
    np.add.at(D.T, t, (steps * Q).T)
    penalty = float(norms.sum())
    base = p.loss.value(P, p.Y, p.sample_weight) + p.beta * penalty

    def value(scale):
        return (p.loss.value(P + scale * D, p.Y, p.sample_weight)
                + p.beta * (penalty + scale * float(steps.sum())))

    scale = 1.0
    curv = float(np.einsum("itu,it,iu->", H, D, D)) if H is not None else 0.0
    if len(t) > 1 and curv > 0:
        scale = float(steps @ (length - p.beta)) / curv  # the slope is minus this
    for _ in range(60):
        new = value(scale)
        if new < base:
            break
        scale *= 0.5
    else:
        return None
    Z = Z.copy()
    Z[t, b] = (scale * steps)[:, None] * U
    return Z, new
