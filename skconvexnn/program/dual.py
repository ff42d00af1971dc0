"""The dual of the convex program: lower bounds, ``beta_max``, certificates.

The dual of the program of :mod:`skconvexnn.program.program` is
``max_Lam -F*(-Lam)`` subject to ``max {Lam_t^T D_i X u : ||u|| <= 1,
u in cone_i} <= beta`` for every block and ``sum_j Lam_j = 0`` when there
is an output intercept (Pilanci and Ergen, ICML 2020; user guide, "The
convex program"). Any prediction gives such a point (its rescaled negative
loss gradient), hence a lower bound: :func:`lower_bound` computes it, and
:class:`Certificate` keeps the best one a solver has seen.
"""

import numpy as np
from scipy.optimize import minimize_scalar


def dual_norms(program, Lam, threshold=None, chunk=32):
    """Dual norm of ``Lam`` for every block: the left side of the dual constraint.

    Parameters
    ----------
    program : ConvexProgram
    Lam : ndarray of shape (n_samples, n_outputs)
    threshold : float or None
        For the ReLU program, cone-constrained norms ``max {g.u : ||u|| <= 1,
        K u >= 0} = ||P_K(g)||`` (the length of the projection of ``g`` onto
        the cone, :mod:`skconvexnn.program.cones`) are computed exactly only for
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
    floor = program.beta if threshold is None else threshold
    return program.group_norm.pattern_dual_norms(X, D, G, floor, chunk)


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


#: Relative step below ``alpha_max`` at which :func:`_scaled_bound` checks that
#: the dual still rises at ``alpha_max`` (then no search is needed).
RISING_STEP = 1e-6


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
    at_max = loss.dual(alpha_max * Lam, Y, s)
    best = max(loss.dual(0.0 * Lam, Y, s), at_max)
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
        near = loss.dual((1.0 - RISING_STEP) * alpha_max * Lam, Y, s)
        if near <= at_max:
            # concave and still rising at alpha_max (the usual case near the
            # optimum): alpha_max is the maximizer up to a step of
            # RISING_STEP, and any alpha gives a valid bound
            return float(best)
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


class Certificate:
    """Objective, lower bound and relative gap of the network of a point.

    Every call evaluates the network of the blocks
    (:meth:`~.operator.BlockOperator.network`) with its best output
    intercept, and the lower bound of :func:`lower_bound` at its prediction;
    the best bound seen is kept. The stopping rule is ``objective - bound <= tol *
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

        ``max_dual_norm`` is passed to :func:`~skconvexnn.program.dual.lower_bound`;
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
               + p.beta * p.group_norm.value(Z))
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
