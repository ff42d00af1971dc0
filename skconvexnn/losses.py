"""Data-fit terms of the convex programs.

Every loss is the weighted mean ``F(P) = sum_j s_j l(P_j, Y_j)`` of a convex
per-sample loss ``l`` over the rows ``P_j`` of the prediction matrix, with
``s_j = sample_weight_j / sum(sample_weight)`` (user guide, "The regularization
``beta`` and its scaling": the data term is a mean, as in scikit-learn's
``Lasso``). A loss supplies what the
solvers and certificates need: value, gradient, the concave dual function
``-F*(-Lambda)`` used for lower bounds, a cvxpy expression, and the
proximal operator that the native ADMM solver uses.

Adding a loss means writing one subclass of :class:`Loss`; no solver changes.
"""

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit, xlogy

__all__ = ["Loss", "SquaredLoss", "LogisticLoss", "HingeLoss", "get_loss", "LOSSES"]

# Slack allowed when checking that a dual point lies in a conjugate's domain
# (rescaled gradients sit on its boundary up to rounding).
_DOMAIN_TOL = 1e-9
# Relative distance to a kink of a piecewise-linear loss under which a
# sample counts as on it (solvers stop within about tol / 100 of the optimum).
_MARGIN_TOL = 1e-5


class Loss:
    """Base class of the data-fit terms.

    Attributes
    ----------
    name : str
        Name used in the estimators' ``loss`` parameter.
    cones : frozenset of str
        Cones a conic solver needs for this loss besides the second-order
        cone of the penalty (``"exp"`` for the exponential cone).
    quadratic : bool
        Whether the loss is a quadratic of the prediction (then the
        proximal gradient solvers use a fixed step).
    curvature : float or None
        Upper bound on the second derivative of the per-sample loss, per
        unit of sample weight (1 for the squared loss, 1/2 for the logistic
        loss). The proximal gradient solvers (``"fista"``, ``"anderson"``)
        cap their step with it; None (unknown) leaves the step to their
        backtracking. ``inf`` says that the loss has kinks, so that
        :meth:`gradient` is only a subgradient (the hinge loss): those
        solvers refuse it and ``solver="auto"`` takes ``"admm"``, which
        only uses :meth:`prox`.
    smooth : bool
        Whether :meth:`gradient` is a gradient with a Lipschitz constant:
        ``curvature`` is not ``inf``. Read by the solvers; a loss declares
        its ``curvature`` instead.
    """

    name = None
    cones = frozenset()
    quadratic = False
    curvature = None

    @property
    def smooth(self):
        return self.curvature is None or self.curvature < np.inf

    def value(self, P, Y, s):
        """Weighted mean loss; ``P``, ``Y`` of shape (n, k), ``s`` (n,)."""
        raise NotImplementedError

    def gradient(self, P, Y, s):
        """Gradient of :meth:`value` with respect to ``P``, shape (n, k)."""
        raise NotImplementedError

    def value_and_gradient(self, P, Y, s):
        """``(value(P, Y, s), gradient(P, Y, s))``, for the solvers' loops.

        Optional: a loss whose value and gradient share work (the softmax
        of the logistic loss) computes it once here.
        """
        return self.value(P, Y, s), self.gradient(P, Y, s)

    def dual(self, Lam, Y, s):
        """Dual function ``-F*(-Lam)``; ``-inf`` outside its domain.

        For any ``Lam`` that satisfies the dual constraints of the program,
        this value is a lower bound on the optimum (weak duality).
        """
        raise NotImplementedError

    def cvxpy_expression(self, P, Y, s):
        """The weighted mean loss as a cvxpy expression of the (n, k) ``P``."""
        raise NotImplementedError

    def optimal_intercept(self, P, Y, s):
        """Output intercept ``c`` (k,) minimizing ``value(P + c, Y, s)``."""
        raise NotImplementedError

    def hessian(self, P, Y, s):
        """Second derivatives of :meth:`value` in each row of ``P``: shape
        (n, k, k), or None when the loss does not give them.

        Optional: FISTA's polish takes Newton steps with them after its
        quasi-Newton ones (user guide, "Choosing a solver"); without them
        it stops at the quasi-Newton steps.
        """
        return None

    def prox(self, Z, Y, s, rho):
        """Proximal operator ``argmin_P F(P) + rho/2 ||P - Z||_F^2``.

        The generic version minimizes the (separable, convex) problem with
        L-BFGS; subclasses override it with a closed form or a vectorized
        Newton method when they can.
        """
        shape = Z.shape

        def fun(p):
            P = p.reshape(shape)
            R = P - Z
            value, G = self.value_and_gradient(P, Y, s)
            return value + 0.5 * rho * float(np.sum(R * R)), (G + rho * R).ravel()

        res = minimize(fun, Z.ravel(), jac=True, method="L-BFGS-B",
                       options={"gtol": 1e-12, "ftol": 1e-15, "maxiter": 1000})
        return res.x.reshape(shape)

    def dual_point(self, P, Y, s, fit_intercept):
        """A dual point ``Lam`` for the lower bound at the prediction ``P``.

        The negative gradient, with ``sum_j Lam_j = 0`` enforced when there
        is an output intercept (its dual constraint). Losses whose gradient
        is only a subgradient override this to stay in their dual domain.
        """
        Lam = -self.gradient(P, Y, s)
        if fit_intercept:
            Lam = Lam - s[:, None] * Lam.sum(axis=0) / s.sum()
        return Lam

    def dual_box(self, P, Y, s):
        """Range ``(low, high)`` of the optimal dual point if ``P`` is optimal.

        At an optimal prediction the dual point is minus a subgradient of the
        loss. Where the loss is differentiable that is one value
        (``low == high == -gradient``, the default); at a kink it is an
        interval, which the certificate may search (see
        :func:`skconvexnn.program.dual.lower_bound`).
        """
        Lam = -self.gradient(P, Y, s)
        return Lam, Lam

    def project_dual(self, Lam, Y, s, fit_intercept):
        """A point of the dual domain near ``Lam``, with ``sum_j Lam_j = 0``
        when there is an output intercept.

        The default only enforces the intercept's constraint, by a
        weight-proportional shift; losses whose dual domain is bounded
        override it.
        """
        if fit_intercept:
            Lam = Lam - s[:, None] * Lam.sum(axis=0) / s.sum()
        return Lam


class SquaredLoss(Loss):
    """Half squared error, ``l(p, y) = ||p - y||^2 / 2``."""

    name = "squared"
    quadratic = True
    curvature = 1.0

    def value(self, P, Y, s):
        return 0.5 * float(s @ np.sum((P - Y) ** 2, axis=1))

    def gradient(self, P, Y, s):
        return s[:, None] * (P - Y)

    def dual(self, Lam, Y, s):
        # Row-wise conjugate: sup_p z.p - s/2 ||p - y||^2 = z.y + ||z||^2/(2s);
        # a sample of zero weight forces its dual variable to zero.
        pos = s > 0
        if np.any(Lam[~pos] != 0):
            return -np.inf
        quad = np.sum(Lam[pos] ** 2, axis=1) / s[pos]
        return float(np.sum(Lam * Y) - 0.5 * quad.sum())

    def cvxpy_expression(self, P, Y, s):
        import cvxpy as cp

        return 0.5 * cp.sum(cp.multiply(s[:, None], cp.square(P - Y)))

    def optimal_intercept(self, P, Y, s):
        return s @ (Y - P)

    def prox(self, Z, Y, s, rho):
        return (s[:, None] * Y + rho * Z) / (s[:, None] + rho)

    def hessian(self, P, Y, s):
        return s[:, None, None] * np.eye(P.shape[1])


def _minimize_intercept(loss, P, Y, s):
    """Smooth 1-D (per output) convex minimization of ``value(P + c)`` in ``c``."""
    k = Y.shape[1]

    def fun(c):
        Pc = P + c
        value, G = loss.value_and_gradient(Pc, Y, s)
        return value, G.sum(axis=0)

    res = minimize(fun, np.zeros(k), jac=True, method="L-BFGS-B",
                   options={"gtol": 1e-12, "ftol": 1e-15, "maxiter": 500})
    return res.x


def _softmax_parts(P):
    """Log-softmax and softmax of the rows of ``P``, sharing one exponential
    (scipy's functions cost more in the solvers' loops on small programs,
    in their per-call overhead and in computing the exponential twice)."""
    M = P - P.max(axis=1, keepdims=True)
    E = np.exp(M)
    total = E.sum(axis=1, keepdims=True)
    return M - np.log(total), E / total


class LogisticLoss(Loss):
    r"""Logistic loss: sigmoid for one output, softmax cross-entropy for several.

    One output (binary, ``Y`` in {0, 1}):
    ``l(p, y) = log(1 + exp(p)) - y p``, which is ``log(1 + exp(-y' p))``
    for ``y' = 2 y - 1`` in {-1, +1}. Several outputs (``Y`` one-hot):
    ``l(p, y) = logsumexp(p) - y.p``.

    Its conjugate gives the dual ``-F*(-Lam) = -sum_j s_j sum_t q_jt log q_jt``
    (binary: plus ``(1 - q_j) log(1 - q_j)``) with ``q_j = y_j - Lam_j / s_j``
    a probability vector; outside that domain the dual is ``-inf``.
    """

    name = "logistic"
    cones = frozenset({"exp"})
    # p (1 - p) <= 1/4 for the sigmoid; softmax's Hessian diag(q) - q q^T
    # has norm at most 1/2
    curvature = 0.5

    def value(self, P, Y, s):
        if P.shape[1] == 1:
            per = np.logaddexp(0.0, P[:, 0]) - Y[:, 0] * P[:, 0]
        else:
            per = -np.sum(Y * _softmax_parts(P)[0], axis=1)
        return float(s @ per)

    def probabilities(self, P):
        """``expit(p)`` for one output, ``softmax(p)`` for several."""
        return expit(P) if P.shape[1] == 1 else _softmax_parts(P)[1]

    def gradient(self, P, Y, s):
        return s[:, None] * (self.probabilities(P) - Y)

    def value_and_gradient(self, P, Y, s):
        own = (type(self).value is LogisticLoss.value
               and type(self).gradient is LogisticLoss.gradient
               and type(self).probabilities is LogisticLoss.probabilities)
        if P.shape[1] == 1 or not own:  # (a subclass's value or gradient rules)
            return self.value(P, Y, s), self.gradient(P, Y, s)
        logs, Q = _softmax_parts(P)
        return float(s @ -np.sum(Y * logs, axis=1)), s[:, None] * (Q - Y)

    def hessian(self, P, Y, s):
        Q = self.probabilities(P)
        if P.shape[1] == 1:
            return (s * Q[:, 0] * (1.0 - Q[:, 0]))[:, None, None]
        H = -Q[:, :, None] * Q[:, None, :]
        H[:, np.arange(Q.shape[1]), np.arange(Q.shape[1])] += Q
        return s[:, None, None] * H

    def dual(self, Lam, Y, s):
        pos = s > 0
        if np.any(np.abs(Lam[~pos]) > 0):
            return -np.inf
        Q = Y[pos] - Lam[pos] / s[pos, None]
        if Q.shape[1] == 1:
            Q = np.hstack([Q, 1.0 - Q])  # binary: the pair (q, 1 - q)
        if Q.min() < -_DOMAIN_TOL or np.abs(Q.sum(axis=1) - 1).max() > _DOMAIN_TOL:
            return -np.inf
        Q = np.clip(Q, 0.0, 1.0)
        return float(-s[pos] @ np.sum(xlogy(Q, Q), axis=1))

    def cvxpy_expression(self, P, Y, s):
        import cvxpy as cp

        if Y.shape[1] == 1:
            per = cp.logistic(P[:, 0]) - cp.multiply(Y[:, 0], P[:, 0])
        else:
            per = cp.log_sum_exp(P, axis=1) - cp.sum(cp.multiply(Y, P), axis=1)
        return cp.sum(cp.multiply(s, per))

    def prox(self, Z, Y, s, rho):
        # Row-wise Newton on s_j l(p_j) + rho/2 ||p_j - z_j||^2, strongly
        # convex with a Hessian rho I + s_j (diag(q) - q q^T) (binary: the
        # scalar rho + s_j q (1 - q)), inverted in closed form (Sherman-Morrison).
        # Steps are capped at 1 per row (the loss is nearly linear far from
        # its curvature, where a full Newton step overshoots).
        P = Z.copy()
        w = s[:, None]
        for _ in range(200):
            Q = self.probabilities(P)
            G = w * (Q - Y) + rho * (P - Z)
            if P.shape[1] == 1:
                step = G / (rho + w * Q * (1.0 - Q))
            else:
                a = rho + w * Q  # diagonal part
                Qa = Q / a
                corr = (w[:, 0] * np.sum(Qa * G, axis=1)
                        / (1.0 - w[:, 0] * np.sum(Q * Qa, axis=1)))
                step = G / a + Qa * corr[:, None]
            size = np.sqrt(np.sum(step * step, axis=1, keepdims=True))
            step /= np.maximum(size, 1.0)
            P -= step
            if np.max(np.abs(step), initial=0.0) <= 1e-12 * (1.0 + np.max(np.abs(P))):
                break
        return P

    def optimal_intercept(self, P, Y, s):
        if Y.shape[1] == 1:
            # Start from the weighted log-odds (exact when P is constant).
            prior = np.clip(s @ Y[:, 0], 1e-12, 1 - 1e-12)
            c0 = np.log(prior / (1 - prior)) - s @ P[:, 0]
            return c0 + self._newton_intercept(P + c0, Y, s)
        prior = np.clip(s @ Y, 1e-12, None)
        c0 = np.log(prior) - s @ P
        c = c0 + self._newton_intercept(P + c0, Y, s)
        return c - c.mean()  # softmax is shift invariant

    def _newton_intercept(self, P, Y, s, max_iter=50):
        """Minimizer of ``value(P + c)`` in ``c`` by damped Newton steps.

        The Hessian in ``c`` is the sum over rows of :meth:`hessian`, ``k x
        k``: a few steps, where a quasi-Newton solve took about twelve
        evaluations. Softmax's is singular along the ones vector (a common
        shift), so it is solved in the least-squares sense. Falls back on
        L-BFGS if the steps stall.
        """
        k = Y.shape[1]
        c = np.zeros(k)
        value = self.value(P, Y, s)
        for _ in range(max_iter):
            g = self.gradient(P + c, Y, s).sum(axis=0)
            if np.max(np.abs(g), initial=0.0) <= 1e-13 * max(1.0, float(s.sum())):
                return c
            H = self.hessian(P + c, Y, s).sum(axis=0)
            step = -np.linalg.lstsq(H, g, rcond=1e-12)[0]
            if -(g @ step) <= 1e-15 * max(1.0, abs(value)):
                # the predicted decrease is below the rounding of the value,
                # where no line search can confirm it: the Newton step
                # (quadratic convergence) is the last one
                return c + step
            t = 1.0
            while t > 1e-10:  # backtracking on sufficient decrease
                trial = self.value(P + c + t * step, Y, s)
                if trial <= value + 1e-4 * t * (g @ step):
                    break
                t *= 0.5
            else:
                return c + _minimize_intercept(self, P + c, Y, s)
            c, value = c + t * step, trial
        return c


class HingeLoss(Loss):
    r"""Hinge loss on +/-1 targets, summed over outputs (one-vs-rest).

    ``l(p, y) = sum_t max(0, 1 - y_t p_t)``. Its dual is
    ``-F*(-Lam) = sum_jt Lam_jt y_jt`` on the box ``0 <= Lam_jt y_jt <= s_j``
    (``-inf`` outside).
    """

    name = "hinge"
    curvature = np.inf  # kinks at y p = 1

    def value(self, P, Y, s):
        return float(s @ np.sum(np.maximum(0.0, 1.0 - Y * P), axis=1))

    def gradient(self, P, Y, s):
        # A subgradient: -y s on the samples inside the margin.
        return -s[:, None] * Y * (Y * P < 1.0)

    def dual(self, Lam, Y, s):
        Z = Lam * Y
        tol = _DOMAIN_TOL * max(float(s.max()), 1e-300)
        if Z.min() < -tol or np.any(Z > s[:, None] + tol):
            return -np.inf
        return float(Z.sum())

    def dual_point(self, P, Y, s, fit_intercept):
        # Lam = y s q with q in [0, 1] stays in the dual domain. With an
        # intercept, sum_j Lam_j = 0 is reached by choosing q on the samples
        # on the margin (where q is a free subgradient in [0, 1]), then, if
        # that is not enough, by scaling down the heavier side.
        margin = Y * P
        Q = (margin < 1.0).astype(float)
        W = Y * s[:, None]
        if not fit_intercept:
            return W * Q
        kink = np.abs(margin - 1.0) <= 1e-6 * max(np.abs(P).max(initial=0.0), 1.0)
        for t in range(Y.shape[1]):
            w, q, on = W[:, t], Q[:, t], kink[:, t]
            need = -(w[~on] @ q[~on])  # what the margin samples must add
            up, down = w[on & (w > 0)].sum(), -w[on & (w < 0)].sum()
            q[on] = 0.0
            if need > 0 and up > 0:
                q[on & (w > 0)] = min(need / up, 1.0)
            elif need < 0 and down > 0:
                q[on & (w < 0)] = min(-need / down, 1.0)
            excess = w @ q
            if excess != 0:
                heavy = np.sign(w) == np.sign(excess)
                q[heavy] *= 1.0 - excess / (w[heavy] @ q[heavy])
        return W * Q

    def dual_box(self, P, Y, s):
        # On the margin (y p = 1) the subgradient is -y s q for any q in
        # [0, 1]; elsewhere it is fixed.
        Lam = -self.gradient(P, Y, s)
        on = np.abs(Y * P - 1.0) <= _MARGIN_TOL * max(np.abs(P).max(initial=0.0), 1.0)
        W = Y * s[:, None]
        low = np.where(on, np.minimum(W, 0.0), Lam)
        high = np.where(on, np.maximum(W, 0.0), Lam)
        return low, high

    def project_dual(self, Lam, Y, s, fit_intercept):
        # Euclidean projection onto the box 0 <= Lam y <= s, intersected with
        # sum_j Lam_j = 0 when there is an intercept: Lam = clip(Lam0 - tau)
        # with the shift tau found by bisection (the sum decreases in tau).
        W = Y * s[:, None]
        low, high = np.minimum(W, 0.0), np.maximum(W, 0.0)
        out = np.clip(Lam, low, high)
        if not fit_intercept:
            return out
        for t in range(Y.shape[1]):
            lam, lo, hi = Lam[:, t], low[:, t], high[:, t]
            a, b = float(np.min(lam - hi)), float(np.max(lam - lo))
            for _ in range(200):
                tau = 0.5 * (a + b)
                if np.clip(lam - tau, lo, hi).sum() > 0:
                    a = tau
                else:
                    b = tau
                if b - a <= 1e-15 * max(abs(a), abs(b), 1e-300):
                    break
            col = np.clip(lam - 0.5 * (a + b), lo, hi)
            # Remove the last rounding error where there is room to move.
            excess = col.sum()
            room = (high[:, t] - col) if excess < 0 else (col - low[:, t])
            j = int(np.argmax(room))
            if room[j] >= abs(excess):
                col[j] -= excess
            out[:, t] = col
        return out

    def cvxpy_expression(self, P, Y, s):
        import cvxpy as cp

        return cp.sum(cp.multiply(s[:, None], cp.pos(1.0 - cp.multiply(Y, P))))

    def prox(self, Z, Y, s, rho):
        # Per entry: min_p s max(0, 1 - y p) + rho/2 (p - z)^2 with y = +/-1.
        margin = Y * Z
        step = s[:, None] / rho
        out = np.where(margin >= 1.0, Z, Y)  # on the hinge: p = y
        return np.where(margin <= 1.0 - step, Z + Y * step, out)

    def optimal_intercept(self, P, Y, s):
        # Piecewise linear and convex in each c_t, with breakpoints
        # b_j = y_j - p_j (where 1 - y_j (p_j + c) = 0): its minimum is at a
        # breakpoint, a weighted median. Sorted once, the value at every
        # breakpoint comes from prefix sums, O(n log n) time and O(n) memory:
        # f(c) = sum_{y_j > 0, b_j > c} s_j (b_j - c)
        #      + sum_{y_j < 0, b_j < c} s_j (c - b_j).
        c = np.empty(Y.shape[1])
        for t in range(Y.shape[1]):
            b = Y[:, t] - P[:, t]
            order = np.argsort(b, kind="stable")
            bs, ws, pos = b[order], s[order], Y[order, t] > 0
            wp, wn = np.where(pos, ws, 0.0), np.where(pos, 0.0, ws)
            # positive samples strictly above each breakpoint (ties give 0)
            above_w = np.cumsum(wp[::-1])[::-1] - wp
            above_wb = np.cumsum((wp * bs)[::-1])[::-1] - wp * bs
            # negative samples strictly below it
            below_w = np.cumsum(wn) - wn
            below_wb = np.cumsum(wn * bs) - wn * bs
            vals = (above_wb - bs * above_w) + (bs * below_w - below_wb)
            # the first minimizer in the samples' order, as before
            best = np.flatnonzero(vals <= vals.min() + 1e-12 * max(
                abs(float(vals.min())), 1e-300))
            c[t] = b[order[best]][np.argmin(order[best])]
        return c


LOSSES = {"squared": SquaredLoss, "logistic": LogisticLoss, "hinge": HingeLoss}


def get_loss(name):
    """Loss instance for a name of :data:`LOSSES`."""
    try:
        return LOSSES[name]()
    except KeyError:
        raise ValueError(
            f"Unknown loss {name!r}; expected one of {sorted(LOSSES)}."
        ) from None
