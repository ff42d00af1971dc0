"""The convex program of a two-layer ReLU network and its dual certificate.

For patterns ``D_1..D_P`` (columns of ``patterns``), design matrix ``X``
(with its column of ones when the hidden layer has biases) and ``k``
independent outputs, the program is (Pilanci and Ergen, ICML 2020;
user guide, "The convex program")

    min  F(sum_i D_i X (v_ti - w_ti) + c_t) + beta * sum_ti (||v_ti|| + ||w_ti||)
    s.t. (2 D_i - I) X v_ti >= 0,  (2 D_i - I) X w_ti >= 0     (ReLU only)

with ``F`` a mean loss of :mod:`skconvexnn.losses` and ``c`` the unpenalized
output intercept. The gated ReLU program keeps only ``v`` and drops the cone
constraints. Blocks are stored as arrays ``V``, ``W`` of shape
``(n_outputs, n_patterns, n_features)``; ``W`` is ``None`` for gated ReLU.

For a convolutional network (user guide, "Convolutional networks") the rows
of ``X`` are the
patches of the samples and the patterns are patterns of the patch rows; an
optional ``pool`` matrix (n_samples x n_rows) sums or averages the rows of
each sample, so that the prediction is ``Pool sum_i D_i X (v_i - w_i) + c``
and the dual point ``Lam`` of the samples acts on the rows as ``Pool^T Lam``.

The dual of the program is ``max_Lam -F*(-Lam)`` subject to
``max {Lam_t^T D_i X u : ||u|| <= 1, u in cone_i} <= beta`` for every block
and ``sum_j Lam_j = 0`` when there is an output intercept. Any prediction
gives such a point (its rescaled negative loss gradient), hence a lower
bound; :func:`lower_bound` computes it.
"""

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize_scalar

from ._cones import cone_norms

ACTIVATIONS = ("relu", "gated_relu")


@dataclass
class ConvexProgram:
    """Data of one convex program.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Design matrix, with a column of ones for hidden biases.
    patterns : ndarray of shape (n_samples, n_patterns)
        0/1 diagonals of the ``D_i``.
    Y : ndarray of shape (n_samples, n_outputs)
        Targets (encoded for classification).
    beta : float
        Regularization; the data term is a mean (user guide, "The
        regularization ``beta`` and its scaling").
    loss : Loss
    activation : {"relu", "gated_relu"}
    fit_intercept : bool
        Whether the output layer has an unpenalized intercept.
    sample_weight : ndarray of shape (n_samples,)
        Nonnegative weights summing to one (the ``s_j`` of the mean loss).
    pool : sparse matrix of shape (n_samples, n_rows) or None
        Pooling of the rows of ``X`` (patches) into samples; None when the
        rows are the samples.
    """

    X: np.ndarray
    patterns: np.ndarray
    Y: np.ndarray
    beta: float
    loss: object
    activation: str = "relu"
    fit_intercept: bool = True
    sample_weight: np.ndarray = None
    pool: object = None

    def __post_init__(self):
        if self.sample_weight is None:
            n = self.n_samples
            self.sample_weight = np.full(n, 1.0 / n)

    @property
    def n_samples(self):
        return self.X.shape[0] if self.pool is None else self.pool.shape[0]

    @property
    def n_rows(self):
        """Rows of ``X``: the samples, or their patches when pooled."""
        return self.X.shape[0]

    def pooled(self, M):
        """``Pool M``: row values summed (or averaged) per sample."""
        return M if self.pool is None else self.pool @ M

    def unpooled(self, M):
        """``Pool^T M``: sample values spread over their rows (the adjoint)."""
        return M if self.pool is None else self.pool.T @ M

    @property
    def n_features(self):
        return self.X.shape[1]

    @property
    def n_patterns(self):
        return self.patterns.shape[1]

    @property
    def n_outputs(self):
        return self.Y.shape[1]

    @property
    def cone_constrained(self):
        return self.activation == "relu"

    def zeros(self):
        """All-zero blocks ``(V, W)`` of the right shapes."""
        shape = (self.n_outputs, self.n_patterns, self.n_features)
        return np.zeros(shape), (np.zeros(shape) if self.cone_constrained else None)

    def combined(self, V, W):
        """``V - W`` (or ``V`` for gated ReLU): the linear model per pattern."""
        return V if W is None else V - W

    def predict(self, V, W, intercept=None):
        """Predictions ``sum_i D_i X z_ti + c_t``, shape (n_samples, n_outputs)."""
        Z = self.combined(V, W)
        k, P, d = Z.shape
        XZ = (self.X @ Z.reshape(k * P, d).T).reshape(self.n_rows, k, P)
        out = self.pooled(np.einsum("nkp,np->nk", XZ, self.patterns))
        if intercept is not None:
            out += intercept
        return out

    def penalty(self, V, W):
        """``beta * sum of the block norms``."""
        total = np.linalg.norm(V, axis=2).sum()
        if W is not None:
            total += np.linalg.norm(W, axis=2).sum()
        return self.beta * total

    def dual_point(self, prediction):
        """Dual point ``Lam`` (n_samples, n_outputs) at ``prediction``.

        The output intercept is refitted to ``prediction`` (a prediction
        without intercept) when there is one, then the loss gives its
        :meth:`~skconvexnn.losses.Loss.dual_point` there, unscaled:
        :func:`lower_bound` scales it into the dual constraints.
        """
        loss, Y, s = self.loss, self.Y, self.sample_weight
        P = prediction
        if self.fit_intercept:
            P = P + loss.optimal_intercept(P, Y, s)
        return loss.dual_point(P, Y, s, self.fit_intercept)

    def objective(self, V, W, intercept=None):
        """Value of the convex program at ``(V, W, intercept)``."""
        P = self.predict(V, W, intercept)
        return self.loss.value(P, self.Y, self.sample_weight) + self.penalty(V, W)

    def max_cone_violation(self, V, W):
        """Largest violation of the cone constraints, relative to ``||X v||``."""
        if W is None:
            return 0.0
        S = 2.0 * self.patterns - 1.0
        worst = 0.0
        for B in (V, W):
            k, P, d = B.shape
            XB = (self.X @ B.reshape(k * P, d).T).reshape(self.n_rows, k, P)
            scale = np.abs(XB).max() if XB.size else 0.0
            if scale > 0:
                worst = max(worst, float(np.max(-S[:, None, :] * XB)) / scale)
        return max(worst, 0.0)


def dual_norms(program, Lam, threshold=None, chunk=32):
    """Dual norm of ``Lam`` for every block: the left side of the dual constraint.

    Parameters
    ----------
    program : ConvexProgram
    Lam : ndarray of shape (n_samples, n_outputs)
    threshold : float or None
        For the ReLU program, cone-constrained norms ``max {g.u : ||u|| <= 1,
        K u >= 0} = ||P_K(g)||`` (the length of the projection of ``g`` onto
        the cone, :mod:`skconvexnn._cones`) are computed exactly only for
        blocks whose unconstrained norm exceeds this value (default beta)
        and the largest exact norm found so far, by decreasing unconstrained
        norm; the others are reported by an upper bound (their unconstrained
        norm, or, for a projection stopped early, a bound below that
        threshold). The maximum is exact when it is above the threshold.
    chunk : int
        Blocks projected together.

    Returns
    -------
    norms : ndarray of shape (n_outputs, n_patterns) or (2, n_outputs, n_patterns)
        For the ReLU program, the first axis is (``v`` blocks, ``w`` blocks).
    """
    X, D = program.X, program.patterns
    Lam = program.unpooled(Lam)
    # G[t, i] = X^T D_i Pool^T Lam_t
    G = np.stack([(D * Lam[:, t, None]).T @ X for t in range(Lam.shape[1])])
    if not program.cone_constrained:
        return np.linalg.norm(G, axis=2)
    floor = program.beta if threshold is None else threshold
    signs = 2.0 * D - 1.0
    # v blocks see +g, w blocks -g, under the same cone
    both = cone_norms(X, np.hstack([signs, signs]), np.concatenate([G, -G], axis=1),
                      floor, chunk=chunk)
    P = D.shape[1]
    return np.stack([both[:, :P], both[:, P:]])


def program_beta_max(program):
    """Smallest beta at which the all-zero network is optimal for ``program``.

    With no neuron the prediction is the best constant (the output intercept
    fitted alone, zero without one), and the zero blocks are optimal exactly
    when the negative loss gradient ``Lam`` there satisfies every dual
    constraint: ``beta >= max_i ||X^T D_i Lam_t||`` for gated ReLU, the
    cone-constrained norms (exact, :func:`dual_norms`) for ReLU. For the
    squared loss with uniform weights ``Lam = r / n``, ``r`` the centred
    targets. For a loss with a kink at the constant prediction (the hinge),
    ``Lam`` is one subgradient among several and the value is a beta above
    which the zero network is optimal, not necessarily the smallest.
    ``program.beta`` is not used.
    """
    Lam = program.dual_point(np.zeros_like(program.Y, dtype=float))
    return float(np.max(dual_norms(program, Lam, threshold=0.0), initial=0.0))


def zero_network_beta(program, all_patterns=False):
    """A beta from which the network with no neuron is optimal, found cheaply.

    The dual point of the intercept-only prediction, ``Lam``, is feasible
    for every beta at or above its unconstrained dual norms
    ``max_i ||X^T D_i Lam_t||``, which are at least the cone-constrained
    ones of the ReLU program: at such a beta the zero blocks are optimal
    for both programs, with no solve and no projection. With
    ``all_patterns=True`` the value holds for every pattern, not only those
    of ``program``: ``||X^T D Lam_t|| <= sum_j |Lam_jt| ||x_j||``.
    :func:`program_beta_max` is the exact (smaller) value for ReLU.
    """
    Lam = program.unpooled(program.dual_point(np.zeros_like(program.Y, dtype=float)))
    if all_patterns:
        rows = np.linalg.norm(program.X, axis=1)
        return float(np.max(rows @ np.abs(Lam), initial=0.0))
    D = program.patterns
    norms = [np.linalg.norm((D * Lam[:, t, None]).T @ program.X, axis=1)
             for t in range(Lam.shape[1])]
    return float(np.max(np.concatenate(norms), initial=0.0))


def shrink_to_zero_sum(Lam):
    """Scale down, per output, the heavier sign of ``Lam`` so that it sums to zero.

    The dual constraint of the output intercept is ``sum_j Lam_j = 0``.
    Shrinking entries towards zero keeps a point in the dual domain of the
    squared, logistic and hinge losses (their domains are convex and
    contain the segment to zero), so this repairs a dual point that misses
    the constraint slightly, such as the multipliers of a solver.
    """
    Lam = np.array(Lam, dtype=float)
    for t in range(Lam.shape[1]):
        col = Lam[:, t]
        up, down = col[col > 0].sum(), -col[col < 0].sum()
        if up > down:
            col[col > 0] *= down / up
        elif down > up:
            col[col < 0] *= up / down
    return Lam


def _stationary_dual_point(program, V, W, P):
    """Dual point fitted to the stationarity conditions of the blocks ``(V, W)``.

    At an optimum, every nonzero block ``b`` (sign ``+1`` for ``v``, ``-1``
    for ``w``) satisfies ``beta b / ||b|| = sign X^T D_i Lam_t + K_i^T mu``
    with ``mu >= 0`` on the rows where ``K_i b = 0`` (no ``mu`` for gated
    ReLU), and ``sum_j Lam_j = 0`` with an intercept (for a pooled program
    ``D_i X`` reads ``Pool D_i X``; the cone rows stay patches). Where the
    loss has a kink at ``P``, ``Lam`` is only known to lie in the interval of
    :meth:`Loss.dual_box`; those entries (and ``mu``) are chosen by bounded
    least squares on these equations. Returns None when there is nothing
    to choose.
    """
    from scipy.optimize import lsq_linear

    loss, Y, s = program.loss, program.Y, program.sample_weight
    low, high = loss.dual_box(P, Y, s)
    free = high > low
    if not free.any():
        return None
    X, D, beta = program.X, program.patterns, program.beta
    Lam = np.where(free, 0.0, low)
    blocks = [(V, 1.0)] + ([] if W is None else [(W, -1.0)])
    # Blocks below this norm are zero up to the solver's accuracy; their
    # directions are noise, so they give no stationarity equation.
    cutoff = 1e-6 * max(float(np.linalg.norm(B, axis=2).max(initial=0.0))
                        for B, _ in blocks)
    for t in range(program.n_outputs):
        f = np.flatnonzero(free[:, t])
        if f.size == 0:
            continue
        rows, rhs, mus = [], [], []
        for B, sign in blocks:
            norms = np.linalg.norm(B[t], axis=1)
            for i in np.flatnonzero(norms > max(cutoff, 1e-300)):
                b = B[t, i]
                XD = program.pooled(X * D[:, i, None])  # Pool D_i X
                rows.append(sign * XD[f].T)
                rhs.append(beta * b / norms[i] - sign * XD.T @ Lam[:, t])
                if W is not None:
                    K = (2.0 * D[:, i, None] - 1.0) * X
                    Kb = K @ b
                    tight = np.abs(Kb) <= 1e-6 * np.abs(Kb).max()
                    mus.append(K[tight].T)
        if not rows:
            continue
        n_eq, n_mu = sum(len(r) for r in rhs), sum(m.shape[1] for m in mus)
        if n_eq * (f.size + n_mu) > 5e7:  # keep the dense system small
            return None
        A = np.zeros((n_eq + program.fit_intercept, f.size + n_mu))
        A[:n_eq, : f.size] = np.vstack(rows)
        r0, c0 = 0, f.size
        for m in mus:  # block-diagonal multiplier columns, one block each
            A[r0: r0 + m.shape[0], c0: c0 + m.shape[1]] = m
            r0, c0 = r0 + m.shape[0], c0 + m.shape[1]
        b = np.concatenate(rhs)
        if program.fit_intercept:
            # sum_j Lam_jt = 0, weighted to dominate; project_dual makes it exact.
            weight = 1e3 * max(np.abs(A).max(), 1.0)
            A[-1, : f.size] = weight
            b = np.append(b, -weight * Lam[:, t].sum())
        lb = np.r_[low[f, t], np.zeros(n_mu)]
        ub = np.r_[high[f, t], np.full(n_mu, np.inf)]
        x = lsq_linear(A, b, bounds=(lb, ub), method="bvls").x
        Lam[f, t] = _feasible_in_stationary_set(program, Lam, t, f, A, x, lb, ub)
    return loss.project_dual(Lam, Y, s, program.fit_intercept)


def _feasible_in_stationary_set(program, Lam, t, f, A, x0, lb, ub, rounds=5):
    """Move ``x0`` within ``{x : A x = A x0, lb <= x <= ub}`` to satisfy the
    dual constraints of the zero blocks (cutting planes, a few rounds).

    ``x[:len(f)]`` are the free entries ``f`` of ``Lam[:, t]``. The least
    squares solution fits the nonzero blocks; when it is not unique it may
    break the constraint ``||X^T D_i Lam_t||_{cone} <= beta`` of a zero
    block, which is then added to a small second-order cone program that
    minimizes the largest violation among the added blocks.
    """
    import cvxpy as cp

    X, D, beta = program.X, program.patterns, program.beta
    relu = program.cone_constrained
    chosen, x = set(), x0

    def column(x):
        col = Lam[:, t].copy()
        col[f] = x[: f.size]
        return col

    for _ in range(rounds):
        L = Lam.copy()
        L[:, t] = column(x)
        norms = dual_norms(program, L)
        norms = norms[:, t] if relu else norms[None, t]
        new = {(side, i) for side, i in zip(*np.nonzero(norms > beta * (1 + 1e-9)))}
        if not new - chosen:
            break
        chosen |= new
        z, slack = cp.Variable(x.size), cp.Variable(nonneg=True)
        cons = [A @ z == A @ x0, z >= lb, z[: f.size] <= ub[: f.size]]
        for side, i in sorted(chosen):
            sign = 1.0 if side == 0 else -1.0
            XD = program.pooled(X * D[:, i, None])  # Pool D_i X
            g = sign * (XD.T @ Lam[:, t] - XD[f].T @ Lam[f, t] + XD[f].T @ z[: f.size])
            if relu:
                nu = cp.Variable(X.shape[0], nonneg=True)
                g = g + ((2.0 * D[:, i, None] - 1.0) * X).T @ nu
            cons.append(cp.norm(g, 2) <= beta + slack)
        problem = cp.Problem(cp.Minimize(slack), cons)
        try:
            problem.solve(solver="CLARABEL")
        except cp.error.SolverError:
            break
        if z.value is None:
            break
        x = np.clip(z.value, lb, ub)
    return x[: f.size]


def _scaled_bound(program, Lam, max_dual_norm=None):
    """``max_alpha dual(alpha Lam)`` over the dual-feasible ``alpha`` in [0, 1].

    ``max_dual_norm(Lam)``, if given, returns the largest dual norm over the
    blocks or an upper bound of it; default: the exact maximum of
    :func:`dual_norms`.
    """
    Y, s, loss = program.Y, program.sample_weight, program.loss
    if max_dual_norm is None:
        biggest = float(np.max(dual_norms(program, Lam), initial=0.0))
    else:
        biggest = float(max_dual_norm(Lam))
    alpha_max = 1.0 if biggest <= program.beta else program.beta / biggest
    best = max(loss.dual(0.0 * Lam, Y, s), loss.dual(alpha_max * Lam, Y, s))
    if loss.quadratic:
        # the dual of a quadratic loss is a concave quadratic in alpha:
        # three values give it, and its maximizer on [0, alpha_max] is
        # evaluated exactly (any alpha there gives a valid bound)
        d0, d1, d2 = (loss.dual(a * Lam, Y, s) for a in (0.0, 0.5 * alpha_max, alpha_max))
        curv = d2 - 2.0 * d1 + d0
        if curv < 0:
            # vertex of the parabola through the three equally spaced values
            a = float(np.clip(0.5 * alpha_max + 0.25 * alpha_max * (d0 - d2) / curv,
                              0.0, alpha_max))
            best = max(best, d1, loss.dual(a * Lam, Y, s))
            return float(best)
    # the dual is -inf outside its domain: no warnings from the search there
    with np.errstate(invalid="ignore", over="ignore"):
        res = minimize_scalar(
            lambda a: -loss.dual(a * Lam, Y, s),
            bounds=(0.0, alpha_max),
            method="bounded",
            options={"xatol": 1e-10 * max(alpha_max, 1e-300)},
        )
    if np.isfinite(res.fun):
        best = max(best, -res.fun)
    return float(best)


def lower_bound(program, prediction=None, blocks=None, max_dual_norm=None, dual=None):
    """Lower bound on the program's optimum from a prediction (weak duality).

    The dual point is the negative loss gradient at ``prediction``, after
    the output intercept is refitted (see
    :meth:`~skconvexnn.losses.Loss.dual_point`), or a given point ``dual``.
    It is scaled by the largest ``alpha <= 1`` that keeps it dual feasible,
    then by the best ``alpha`` below that.

    For a loss with kinks (the hinge), the gradient leaves the dual point
    undetermined on the samples at a kink. When the solution ``blocks`` is
    given, a second dual point takes those entries from the stationarity
    conditions of the blocks (:func:`_stationary_dual_point`), projected
    onto the dual domain; the better of the two bounds is returned. Both
    are valid: feasibility is checked exactly either way.

    Parameters
    ----------
    program : ConvexProgram
    prediction : ndarray of shape (n_samples, n_outputs) or None
        Without the output intercept.
    blocks : tuple (V, W, intercept) or None
        The solution that gave ``prediction``.
    max_dual_norm : callable or None
        ``max_dual_norm(Lam)`` returns the largest dual norm over the blocks
        or an upper bound of it (any upper bound keeps the bound valid).
    dual : ndarray of shape (n_samples, n_outputs) or None
        A dual point to use instead of the prediction's (for example a
        solver's multipliers of the loss); with an output intercept it is
        first made to sum to zero by :func:`shrink_to_zero_sum`.

    Returns
    -------
    bound : float
    """
    if dual is not None:
        Lam = shrink_to_zero_sum(dual) if program.fit_intercept else dual
        return _scaled_bound(program, Lam, max_dual_norm)
    # With an intercept, sum_j Lam_j = 0 (its dual constraint) holds exactly.
    Lam = program.dual_point(prediction)
    best = _scaled_bound(program, Lam, max_dual_norm)
    if blocks is not None:
        V, W, intercept = blocks
        refined = _stationary_dual_point(program, V, W, prediction + intercept)
        if refined is not None:
            best = max(best, _scaled_bound(program, refined, max_dual_norm))
    return best
