"""Steps of :class:`._polish.FacePolish` between the faces of the cones.

:func:`bent_step` takes the polish from a feasible point towards the
optimum of its face; :func:`entering_blocks` adds zero blocks at the
face's optimum; :func:`leaving_block` finds the block that a Newton step
takes to zero, :func:`released_rows` the tight rows that leave the face.
They only propose points: the polish keeps the best and the solver
certifies it.
"""

import numpy as np

from ..program.cones import project_many
from ..program.penalties import block_norms

__all__ = ["bent_step", "entering_blocks", "output_spans", "add_norm_curvature",
           "leaving_block", "released_rows"]


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


def leaving_block(y, step, widths, vanish):
    """The block of the face point ``y`` (blocks of ``widths`` columns) that
    the segment along ``step`` takes first within ``vanish`` of its length
    of zero, or None.

    One block at a time, the first on the segment: a tiny block's huge
    curvature across it can make the step of another block overshoot zero
    too (a ReLU face, a block with one free direction), and that block
    belongs to the optimum. The polish asks it on faces without cones only
    (see :meth:`._polish.FacePolish._newton`).
    """
    starts = np.concatenate([[0], np.cumsum(widths)[:-1]])
    yy, ys, ss = (np.add.reduceat(u * v, starts)
                  for u, v in ((y, y), (y, step), (step, step)))
    t = np.clip(-ys / np.maximum(ss, 1e-300), 0.0, 1.0)
    near = np.maximum(yy + 2 * t * ys + t * t * ss, 0.0) < vanish ** 2 * yy
    if not near.any():
        return None
    return int(np.argmin(np.where(near, t, np.inf)))


def released_rows(op, Z, c, ts, bs, tight):
    """The tight row of most negative multiplier of each block (n_rows,
    m), or None when no multiplier is negative.

    At the optimum of the face the gradient of the objective in a block,
    ``g_b``, is ``(K_b)_A^T mu`` with ``mu >= 0`` at the optimum of the
    program; a negative ``mu_i`` (least squares) says the objective
    decreases by leaving row ``i``'s hyperplane, and an active-set
    method releases one such constraint at a time. Releasing them all
    let the next step cross many rows, which joined together (the rows
    then joined by doubling counts) and collapsed the face: on the first
    program of the search on ``make_friedman1(1000)`` (600 patterns) a
    face of 181 columns grew to 667 with a release, then fell to 49, and
    no polish of the ADMM solve reached a face's optimum (6,170
    iterations); releasing one row a block, the seventh polish did
    (3,740 iterations).

    Copies of a row (tied rows, one hyperplane) have one multiplier and
    leave together, and a row leaves only if the face changes without
    it (the rank of the rows drops): else the rounds released row after
    row with the face unchanged (the default estimator's program on
    ``computers``: 40 rounds of releases, no polish certified, 450
    FISTA iterations, 4.5 s; a polish certified, 390, 3.0 s).
    """
    if tight is None:
        return None
    p = op.program
    G = p.loss.gradient(op.prediction(Z) + c, p.Y, p.sample_weight)
    grads = op.adjoint(G)[ts, bs]
    norms = block_norms(Z)[ts, bs]
    grads += p.beta * Z[ts, bs] / np.maximum(norms, 1e-300)[:, None]
    released = np.zeros_like(tight)
    for j, b in enumerate(bs):
        rows = np.flatnonzero(tight[:, j])
        if not len(rows):
            continue
        # tied rows are one hyperplane: one multiplier, and they leave
        # together
        A, copy = np.unique(op.X[rows] * op.cone_signs[rows, b, None], axis=0,
                            return_inverse=True)
        mu = np.linalg.lstsq(A.T, grads[j], rcond=None)[0]
        scale = max(np.abs(mu).max(initial=0.0), 1e-300)
        mu[~_essential(A)] = np.inf
        i = int(np.argmin(mu))
        if mu[i] < -1e-6 * scale:
            released[rows[copy.reshape(-1) == i], j] = True
    return released if released.any() else None


def _essential(A):
    """Whether each row of ``A`` is outside the span of the others (without
    it the rank drops, at the threshold of :meth:`._polish.FacePolish._bases`): its
    leverage, the squared norm of its row of the left singular vectors, is 1.
    """
    U, s, _ = np.linalg.svd(A, full_matrices=False)
    rank = int(np.sum(s > 1e-9 * max(s[0], 1.0)))
    return np.einsum("ij,ij->i", U[:, :rank], U[:, :rank]) > 1.0 - 1e-8
