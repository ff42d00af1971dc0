"""Second-order steps on the face of the cones that an iterate lies on.

A first-order solver of the ReLU program finds early which blocks are
nonzero at the optimum and which of their cone constraints are tight, then
spends most of its iterations on the last digits. On that face the program
is smooth: with ``N_b`` an orthonormal basis of the null space of block
``b``'s tight rows ``(K_b)_A``, the blocks are ``z_b = N_b y_b`` and the
program becomes

    min_{y, c}  F(sum_b sigma_b D_b X N_b y_b + c) + beta * sum_b ||y_b||,

unconstrained and differentiable while no ``y_b`` is zero: a small problem
(the columns ``D_b X N_b`` of the nonzero blocks only) that quasi-Newton
steps (L-BFGS) solve to high accuracy in a fraction of the first-order
solver's time. The gated program has no cones: its face is the span of the
nonzero blocks, and under a quadratic loss proximal gradient steps, whose
group soft-thresholding zeroes the blocks outside the support, lead its
Newton steps.

The polished point is kept only when it is feasible and lowers the
objective. A cone row that it violates (a constraint the face left out)
stops its block's step; the blocks move along the bent path of these stops
to its best point, no worse than the iterate, and the row that stopped
each block joins the face (:func:`._face.bent_step`); the step is repeated.
The caller certifies the result (the duality gap over every block), so a
wrong face costs time, never correctness.
"""

import numpy as np
from scipy.linalg import cho_factor, cho_solve
from scipy.optimize import minimize

from ..losses import Loss
from ..program.penalties import block_norms
from ._face import (add_norm_curvature, bent_step, entering_blocks,
                    leaving_block, output_spans, released_rows)

__all__ = ["FacePolish"]


class FacePolish:
    """Polishes the iterates of a native solver on their face (see module).

    Call :meth:`ready` at every check with the current blocks; once their
    face has not changed between two checks, :meth:`__call__` returns the
    polished blocks and intercept, or None when nothing was gained.

    The rounds are an active-set method: rows join the face where a step
    crosses them, a tight row of negative multiplier is released, a block
    the steps shrink to zero leaves, and at the face's optimum every block
    whose dual constraint is violated enters, all of them together. One
    block at a time, the polishes of the search's first ADMM solve on
    ``make_friedman1(1000)`` (600 patterns, ``beta = 1e-3``; 229 blocks at
    the first attempt, 252 at the optimum) entered a block every 12 rounds
    or so, and none of the six attempts from 1,150 to 1,850 iterations
    certified in its 150 rounds (the seventh did, at 3,740); all together,
    and without re-releasing the rows a Newton step crossed, each of the
    six certifies, in 84 to 141 rounds.

    Parameters
    ----------
    op : BlockOperator
        The program's block operator.
    max_entries : float
        Largest ``n_rows x (columns of the face)`` matrix a polish forms.
    max_attempts : int
        Polishes per solve.
    """

    #: Rows whose cone value is within this of zero, relative to
    #: ``||x_i|| ||z_b||``, are tight.
    tight_tol = 1e-9
    #: L-BFGS iterations per round, and rounds of rows added or released
    #: (or blocks dropped). The polishes of ADMM and FISTA on ``computers``
    #: (100 trained patterns, see :func:`._face.bent_step`) reached the
    #: optimum in 25 to 114 rounds: with 150 ADMM took 440 iterations (9.4 s)
    #: and FISTA 560 (7.9 s), with 40 510 (13.6 s) and 690 (8.0 s); on
    #: diabetes (100 gates, 0.1 beta_max) ADMM took 230 against 780.
    max_iter = 100
    rounds = 150
    #: Largest work of the SVDs of a round's tight rows (about ``r^2 d``
    #: for a block of ``r`` tight rows); a costlier face is not polished.
    max_flops = 1e9
    #: Newton steps after the quasi-Newton ones, the most columns of a face
    #: for them and the most work of forming its Hessian (``n_rows`` times
    #: the squared columns), and the relative Newton decrement at which they
    #: stop (the next step would gain less than rounding). Without the
    #: Newton steps the certificate stays at the quasi-Newton point's
    #: accuracy: on the trained program of digits (ten classes, faces of
    #: about 2,700 columns for 1,347 rows) the polish left a gap of 1.3e-6
    #: at 330 FISTA iterations with at most 2,000 columns, and FISTA ran to
    #: max_iter (10,000 iterations, 175 s) without closing it; with the
    #: work rule it certified at 330.
    newton_steps = 8
    newton_max = 4000
    newton_flops = 4e10
    newton_decrement = np.finfo(float).eps
    #: L-BFGS iterations of a round on a face without cones under a quadratic
    #: loss, when Newton steps follow: there the face's program is a smooth
    #: group lasso whose Hessian is formed once, and the Newton steps take a
    #: first-order point to its optimum; more quasi-Newton steps cost more
    #: than the Newton steps they save (diabetes gated path, 100 gates: the
    #: polishes of the path 1.65 s with 100, 1.0 s with 10, 1.1 s with 5 or
    #: 20; of the 30 fits 2.2, 1.5, 1.55 and 1.43 s).
    newton_lead = 10
    #: On such a face, the round after blocks entered, and the rounds after
    #: it while they drop blocks, take proximal gradient steps instead
    #: (:meth:`_prox_gradient`): at most ``prox_steps``, stopping once the
    #: support has stayed the same for ``prox_patience`` steps.
    prox_steps = 200
    prox_patience = 10
    #: A block that a round shrinks below this fraction of its length and of
    #: the longest block's leaves the support. With 1e-2 the blocks of
    #: breast_cancer's trained program (the default classifier) left one a
    #: round, the last eight rounds of its polish each an L-BFGS run; with
    #: 0.1 its three fits took 1.54, 0.95 and 1.47 s of CPU against 2.29,
    #: 1.04 and 1.70, and the diabetes, star98, anes96, iris, statecrime and
    #: digits fits, ``benchmarks/face_polish.py``, the gated and ReLU beta
    #: paths and the search on ``make_friedman1(1000)`` kept their
    #: iterations and objectives.
    vanish = 0.1
    #: From this many rows on, a face counts as settled (:meth:`ready`)
    #: when its nonzero blocks are the last check's and at most
    #: ``settled_rows`` of its tight rows changed: there some row nearly
    #: on its hyperplane flips at almost every check. The default
    #: regressor on 20,000 rows of ``make_friedman1`` (20 features): the
    #: same 94 blocks from iteration 420 on, 2 to 14 of their 1,820 tight
    #: rows changing between checks, and the first polish waited for an
    #: exact repeat until iteration 1,050; with the tolerance it came at
    #: 400 (a longer polish from the earlier point: the fit 42 s instead
    #: of 47 s), on 50,000 rows at 690 iterations instead of 1,220 (77 s
    #: instead of 105 s). On tables of a few hundred rows the earlier,
    #: longer polishes gained nothing (diabetes, star98, boston), hence
    #: exact repeats below this size.
    settled_min_rows = 5000
    settled_rows = 0.01
    #: A round on a face of at most this many columns takes Newton steps
    #: instead of L-BFGS (when the loss gives its Hessian): forming the
    #: Hessian costs ``n m^2``, the quasi-Newton run up to ``max_iter``
    #: iterations of about ``2 n m`` each. The second polish of the default
    #: regressor took 0.07 s instead of 0.18 s on diabetes, 0.46 s instead
    #: of 0.99 s on make_friedman1 (700 samples), 0.25 s instead of 0.72 s
    #: on computers, 11.0 s instead of 20.8 s on 20,000 rows of
    #: make_friedman1 (20 features; faces of about 150 columns), with the
    #: same iterations and objectives; star98 and breast_cancer (wider
    #: faces or the logistic loss) kept their times.
    newton_round_columns = 200

    def __init__(self, op, max_entries=2e7, max_attempts=6):
        self.op = op
        self.max_entries = max_entries
        self.attempts_left = max_attempts
        self._last_face = None
        self._tried = set()
        self._last_attempt = 0
        self._row_norms = np.maximum(np.linalg.norm(op.X, axis=1), 1e-300)

    def _face(self, Z):
        """Nonzero blocks ``(ts, bs)`` and their tight rows, boolean of shape
        (n_rows, m) (None for gated ReLU, which has no cones)."""
        norms = block_norms(Z)
        ts, bs = np.nonzero(norms > 0)
        if self.op.cone_signs is None:
            return ts, bs, None
        KZ = self.op.cone_signs[:, bs] * (self.op.X @ Z[ts, bs].T)
        tight = KZ <= self.tight_tol * self._row_norms[:, None] * norms[ts, bs]
        return ts, bs, tight

    def ready(self, Z, n_iter=0):
        """Whether to polish ``Z`` at iteration ``n_iter`` of the solver.

        Its face must be the one of the last call (:meth:`_settled`). The first
        ``max_attempts`` polishes go to faces not tried before. After them,
        one more attempt is allowed each time the iteration count doubles,
        on a face tried before too: the early attempts often meet the right
        face while the iterate is still too far from the face's optimum for
        the rounds to converge; a later iterate on it is closer (diabetes,
        279 patterns: ADMM's gap stalled at 3e-6 for 8,000 iterations after
        six early attempts; a polish of the last iterate closed it).
        """
        if self.attempts_left <= 0 and n_iter < 2 * self._last_attempt:
            self._last_face = None  # the face must be seen at two checks in a row
            return False
        ts, bs, tight = self._face(Z)
        if not len(ts):
            self._last_face = None
            return False
        same = self._settled(ts, bs, tight)
        self._last_face = (ts, bs, tight)
        if not same:
            return False
        key = (ts.tobytes(), bs.tobytes(),
               b"" if tight is None else np.packbits(tight).tobytes())
        if self.attempts_left > 0 and key in self._tried:
            return False
        self._tried.add(key)
        self._last_attempt = max(n_iter, 1)
        return True

    def _settled(self, ts, bs, tight):
        """Whether the face ``(ts, bs, tight)`` is the last check's: the same
        nonzero blocks and tight rows, or, from ``settled_min_rows`` rows
        on, at most ``settled_rows`` of its tight rows changed."""
        if self._last_face is None:
            return False
        last_ts, last_bs, last_tight = self._last_face
        if not (np.array_equal(ts, last_ts) and np.array_equal(bs, last_bs)):
            return False
        if tight is None:
            return True
        changed = int(np.count_nonzero(tight != last_tight))
        if len(tight) < self.settled_min_rows:
            return changed == 0
        return changed <= self.settled_rows * int(np.count_nonzero(tight))

    def __call__(self, Z, c):
        """Polished ``(Z, c)`` with a lower objective than ``(Z, c)``, or None."""
        self.attempts_left = max(self.attempts_left - 1, 0)
        op = self.op
        ts, bs, tight = self._face(Z)
        if not len(ts):
            return None
        best, best_value = None, self._value(Z, c)
        crossed = set()  # (row, output, block) the last Newton steps crossed
        # proximal steps: after blocks entered, while they drop blocks
        proximal = False
        for _ in range(self.rounds):
            bases = self._bases(ts, bs, tight)
            if bases is None:
                break
            widths = np.array([N.shape[1] for N in bases])
            if op.X.shape[0] * widths.sum() > self.max_entries:
                break
            # a block whose face is {0} leaves the support, and so does one
            # the last round shrank almost to zero (``vanish``: the norm has
            # no gradient at zero, where the quasi-Newton steps crawl)
            Z, (ts, bs, tight, bases) = self._dropped(Z, ts, bs, tight, bases, widths > 0)
            if not len(ts):
                break
            start = block_norms(Z)[ts, bs]
            Z_new, c_new = self._minimize(Z, c, ts, bs, bases, proximal=proximal)
            if Z_new is None:
                break
            Z, c, reached = self._feasible(Z, c, Z_new, c_new, ts, bs)
            if reached is not None:
                tight = tight | reached  # rows left out of the face
            norms = block_norms(Z)[ts, bs]
            keep = (norms >= self.vanish * start) | (norms >= self.vanish * norms.max())
            proximal = proximal and not keep.all()
            Z, (ts, bs, tight) = self._dropped(Z, ts, bs, tight, None, keep)
            value = self._value(Z, c)
            if value < best_value:
                best, best_value = (Z, c), value
            if reached is not None or not keep.all():
                continue
            released = self._released(Z, c, ts, bs, tight)
            if released is not None and _triples(released, ts, bs) <= crossed:
                # rows the Newton steps crossed lie on the face's optimum: the
                # sign of their multipliers is rounding's, and releasing them
                # let the next Newton steps cross them again, round after
                # round (the sixth polish of make_friedman1's search: 25
                # times, its last 75 of 187 minimizations)
                released = None
            if released is None:
                # the face's optimum satisfies its multipliers' signs: Newton
                # steps take it to the last digits
                Z_new, c_new = self._minimize(Z, c, ts, bs, bases, newton=True)
                if Z_new is None:
                    break
                Z_new, c_new, reached = self._feasible(Z, c, Z_new, c_new, ts, bs)
                value = self._value(Z_new, c_new)
                if value < best_value:
                    best, best_value = (Z_new, c_new), value
                # A block the Newton steps drive to zero belongs to the face's
                # optimum only at zero, where its norm has no gradient: it
                # leaves and the rounds go on (diabetes: a block at 1e-7 of its
                # start kept the dual norms 1e-5 off beta, the gap at 9e-6).
                start = block_norms(Z)[ts, bs]
                norms = block_norms(Z_new)[ts, bs]
                keep = norms >= self.vanish * start
                if not keep.any():
                    break
                Z, c = Z_new, c_new
                if reached is not None:  # a row the Newton steps crossed
                    tight = tight | reached
                    crossed = _triples(reached, ts, bs)
                if reached is not None or not keep.all():
                    Z, (ts, bs, tight) = self._dropped(Z, ts, bs, tight, None, keep)
                    continue
                # the face's optimum: a block outside the support whose dual
                # constraint it violates enters, as in an active-set method
                entered = self._entering(Z, c, ts, bs)
                if entered is None:
                    break
                proximal = True
                Z, value = entered
                if value < best_value:
                    best, best_value = (Z, c), value
                ts, bs, tight = self._face(Z)
                continue
            tight = tight & ~released
        return best

    @staticmethod
    def _dropped(Z, ts, bs, tight, bases, keep):
        """``Z`` with the blocks not in ``keep`` zeroed, and the kept
        ``(ts, bs, tight[, bases])``."""
        parts = [ts[keep], bs[keep], None if tight is None else tight[:, keep]]
        if bases is not None:
            parts.append([N for N, k in zip(bases, keep) if k])
        if keep.all():
            return Z, parts
        Z = Z.copy()
        Z[ts[~keep], bs[~keep]] = 0.0
        return Z, parts

    def _bases(self, ts, bs, tight):
        """Orthonormal bases ``N_b`` (d, r_b) of the face of every block.

        None when their SVDs would cost more than ``max_flops``.
        """
        X = self.op.X
        d = X.shape[1]
        if tight is None:
            return [np.eye(d)] * len(ts)
        rows = tight.sum(axis=0).astype(float)
        if np.sum(np.minimum(rows, d) ** 2 * np.maximum(rows, d)) > self.max_flops:
            return None
        bases = []
        for j, b in enumerate(bs):
            rows = tight[:, j]
            if not rows.any():
                bases.append(np.eye(d))
                continue
            A = X[rows] * self.op.cone_signs[rows, b, None]
            # the whole V (d x d) but not the whole U: with many tight rows
            # (ties in discrete features) U would be rows x rows
            _, s, Vt = np.linalg.svd(A, full_matrices=len(A) < d)
            rank = int(np.sum(s > 1e-9 * max(s[0], 1.0)))
            bases.append(Vt[rank:].T)
        return bases

    def _value(self, Z, c):
        """The program's objective at ``(Z, c)``."""
        p = self.op.program
        P = self.op.prediction(Z) + c
        return p.loss.value(P, p.Y, p.sample_weight) + p.beta * float(block_norms(Z).sum())

    def _minimize(self, Z, c, ts, bs, bases, newton=False, proximal=False):
        """L-BFGS on the face (Newton steps with ``newton``; with
        ``proximal``, proximal gradient steps where :meth:`_proximal`); the
        new blocks and intercept, or None."""
        op = self.op
        p = op.program
        k = p.n_outputs
        J = np.hstack([op.signed[:, [b]] * (op.X @ N) for b, N in zip(bs, bases)])
        J = p.pooled(J)
        widths = np.array([N.shape[1] for N in bases])
        starts = np.concatenate([[0], np.cumsum(widths)[:-1]])
        m = int(widths.sum())
        y0 = np.concatenate([N.T @ Z[t, b] for t, b, N in zip(ts, bs, bases)])
        fit_c = p.fit_intercept
        loss, Y, sw, beta = p.loss, p.Y, p.sample_weight, p.beta

        # the columns of each output are contiguous (``ts`` is sorted), so
        # each output's prediction is one product with its own columns
        # (not ``J`` times a block-sparse (m, k) matrix: k times the work)
        spans = output_spans(ts, widths, k)

        def predict(x):
            """The prediction (intercept included) at the face point ``x``."""
            y = x[:m]
            P = np.empty((J.shape[0], k))
            for t, span in enumerate(spans):
                P[:, t] = J[:, span] @ y[span]
            return P + (x[m:] if fit_c else c)

        def smooth(x):
            """The loss and its gradient at the face point ``x``."""
            value, G = loss.value_and_gradient(predict(x), Y, sw)
            grad = np.empty(len(x))
            for t, span in enumerate(spans):
                grad[span] = J[:, span].T @ G[:, t]
            if fit_c:
                grad[m:] = G.sum(axis=0)
            return value, grad

        def fun(x):
            y = x[:m]
            norms = np.sqrt(np.add.reduceat(y * y, starts))
            value, grad = smooth(x)
            grad[:m] += beta * y / np.repeat(np.maximum(norms, 1e-300), widths)
            return value + beta * float(norms.sum()), grad

        x0 = np.concatenate([y0, c]) if fit_c else y0
        with np.errstate(all="ignore"):
            def quasi_newton():
                return minimize(fun, x0, jac=True, method="L-BFGS-B",
                                options=dict(maxiter=self._lbfgs_iterations(m),
                                             maxcor=30, ftol=1e-15, gtol=1e-12)).x

            if newton:
                x = self._newton(fun, predict, x0, J, spans, widths, fit_c)
            elif proximal and self._proximal(m):
                x = self._prox_gradient(smooth, lambda x: loss.value(predict(x), Y, sw),
                                        x0, starts, widths)
            elif m <= self.newton_round_columns and self._newton_fits(m):
                # a small face: its Hessian costs less than the quasi-Newton
                # run (n m^2 against some 2 n m per iteration)
                x = self._newton(fun, predict, x0, J, spans, widths, fit_c)
                if x is x0:  # (no Hessian, or no descent from x0)
                    x = quasi_newton()
            else:
                x = quasi_newton()
        if not np.all(np.isfinite(x)):
            return None, None
        y = x[:m]
        Z_new = np.zeros_like(Z)
        for t, b, N, s0, w in zip(ts, bs, bases, starts, widths):
            Z_new[t, b] = N @ y[s0:s0 + w]
        c_new = x[m:] if fit_c else c
        return Z_new, c_new

    def _proximal(self, m):
        """Whether a face of ``m`` columns has no cones, a quadratic loss and
        Newton steps to follow (a loss that gives its :meth:`Loss.hessian`):
        its rounds then take ``newton_lead`` L-BFGS iterations, or proximal
        gradient steps (:meth:`_prox_gradient`)."""
        loss = self.op.program.loss
        return bool(self.op.cone_signs is None and loss.quadratic and self.newton_steps
                    and self._newton_fits(m) and type(loss).hessian is not Loss.hessian)

    def _lbfgs_iterations(self, m):
        """L-BFGS iterations of a round on a face of ``m`` columns: fewer
        (``newton_lead``) where :meth:`_proximal`."""
        if self._proximal(m):
            return min(self.newton_lead, self.max_iter)
        return self.max_iter

    def _prox_gradient(self, smooth, loss_value, x, starts, widths):
        """Accelerated proximal gradient steps (FISTA with adaptive restarts
        and backtracking) on ``smooth(x) + beta sum_b ||y_b||``, the blocks
        ``y_b`` of ``widths`` columns from ``starts`` (intercepts after
        them, unpenalized); ``smooth(x)`` is the loss and its gradient,
        ``loss_value(x)`` the loss alone (the backtracking's trial points
        need no gradient).

        The group soft-thresholding sets blocks exactly to zero, so the
        steps find the support that the Newton steps then take to the last
        digits. The blocks that the entering step lets in together mostly
        leave again; the L-BFGS rounds shrank them one or two a round, and
        the Newton steps then stopped at each block they drove to zero:
        the gated first fit of the regressor on star98 (227 samples)
        entered 84 blocks of which 31 stayed, in 32 Newton phases and
        about 1 s. Stops once the support has not changed for
        ``prox_patience`` steps, or after ``prox_steps``: the rounds that
        follow, and their Newton steps, take the support's blocks to its
        optimum.
        """
        beta = self.op.program.beta
        m = int(widths.sum())

        def prox(v, step):
            y = v[:m]
            norms = np.sqrt(np.add.reduceat(y * y, starts))
            scale = np.maximum(1.0 - step * beta / np.maximum(norms, 1e-300), 0.0)
            out = v.copy()
            out[:m] = y * np.repeat(scale, widths)
            return out, scale > 0

        def objective(v, value):
            y = v[:m]
            return value + beta * float(np.sqrt(np.add.reduceat(y * y, starts)).sum())

        value, grad = smooth(x)
        current = objective(x, value)
        z, z_value, z_grad = x, value, grad  # grad: at x, or None
        # (the backtracking doubles the constant until the steps descend)
        momentum, lipschitz = 1.0, 1.0
        support, unchanged = None, 0
        for _ in range(self.prox_steps):
            while True:
                new, live = prox(z - z_grad / lipschitz, 1.0 / lipschitz)
                new_value = loss_value(new)
                diff = new - z
                bound = (z_value + float(z_grad @ diff)
                         + 0.5 * lipschitz * float(diff @ diff))
                if new_value <= bound + 1e-12 * abs(bound) or lipschitz > 1e300:
                    break
                lipschitz *= 2.0
            new_objective = objective(new, new_value)
            if new_objective > current:
                if momentum == 1.0:
                    break  # a plain step from x gains nothing: rounding
                if grad is None:
                    grad = smooth(x)[1]
                momentum, z, z_value, z_grad = 1.0, x, value, grad  # restart
                continue
            following = 0.5 * (1.0 + np.sqrt(1.0 + 4.0 * momentum ** 2))
            z = new + (momentum - 1.0) / following * (new - x)
            momentum = following
            x, value, grad, current = new, new_value, None, new_objective
            z_value, z_grad = smooth(z)
            unchanged = unchanged + 1 if support is not None and np.array_equal(
                live, support) else 0
            support = live
            if unchanged >= self.prox_patience:
                break
        return x

    def _newton(self, fun, predict, x, J, spans, widths, fit_c):
        """Newton steps on the face after the quasi-Newton ones.

        L-BFGS leaves the face's optimum a little off, and the certificate
        is only as good as the gradient there (diabetes ReLU program, 100
        gates, ``beta = 1e-3``: a gap of 4.8e-6 after L-BFGS, 7e-14 after
        two Newton steps). The Hessian is ``J^T W J`` (``W`` the loss's
        :meth:`Loss.hessian` per row, coupling outputs) plus the block
        norms' ``beta (I - u u^T) / ||y_b||``; each step is damped by
        backtracking, so it never raises the objective. Skipped when the
        loss gives no Hessian or the face is too wide (:meth:`_newton_fits`).
        ``predict(x)`` is the prediction at ``x`` and ``spans[t]`` the
        columns of output ``t`` (the intercept of output ``t`` is ``m + t``).
        """
        p = self.op.program
        m = int(widths.sum())
        if not self._newton_fits(m):
            return x
        k = p.n_outputs
        size = m + (k if fit_c else 0)
        value, grad = fun(x)
        loss_part = factor = None
        for _ in range(self.newton_steps):
            y = x[:m]
            if factor is not None and self._converged(factor, grad, value):
                break  # (the last Hessian's decrement, after a full step)
            if loss_part is None or not p.loss.quadratic:
                # (a quadratic loss has the same second derivatives
                # everywhere: its part of the Hessian is formed once)
                loss_part = self._loss_hessian(predict(x), J, spans, m, size, fit_c)
                if loss_part is None:
                    return x
            H = loss_part.copy()
            add_norm_curvature(H, y, widths, p.beta)
            H[np.diag_indices(size)] += 1e-12 * max(np.trace(H) / size, 1e-300)
            try:  # H is symmetric and, with the shift, positive definite
                factor = cho_factor(H, overwrite_a=True, check_finite=False)
            except (np.linalg.LinAlgError, ValueError):
                return x
            step = -cho_solve(factor, grad, check_finite=False)
            slope = float(grad @ step)
            if not slope < 0:
                return x
            if -slope <= self.newton_decrement * max(abs(value), 1e-300):
                break  # converged
            t = 1.0
            while t > 1e-10:
                trial = x + t * step
                trial_value, trial_grad = fun(trial)
                if trial_value <= value + 1e-4 * t * slope:
                    break
                j = (leaving_block(y, step[:m], widths, self.vanish)
                     if t == 1.0 and self.op.cone_signs is None else None)
                if j is not None:
                    # the block's norm has no curvature along it, so the step
                    # overshoots zero and backtracking crawls (diabetes gated
                    # path: 8 steps, 187 evaluations, 0.3 s): the block leaves,
                    # zeroed here and dropped by the caller, and the rounds go
                    # on. Not on cone faces, where rows stop such steps: there
                    # it undid the blocks the polish had let in together
                    # (make_friedman1's search, 3,740 ADMM iterations and
                    # 153.1 s of CPU against 1,150 and 44.0 s without it)
                    x = x.copy()
                    start = int(widths[:j].sum())
                    x[start:start + widths[j]] = 0.0
                    return x
                t *= 0.5
            else:
                return x
            # the accepted point's value and gradient serve the next step
            x, value, grad = trial, trial_value, trial_grad
            if t < 1.0:
                factor = None
            if t == 1.0 and np.abs(t * step).max() <= 1e-13 * max(np.abs(x).max(), 1.0):
                break
        return x

    def _newton_fits(self, m):
        """Whether a face of ``m`` columns gets Newton steps (``newton_max``,
        ``newton_flops``)."""
        rows = self.op.program.Y.shape[0]  # (J has a row per sample)
        return m <= self.newton_max and rows * m * m <= self.newton_flops

    def _converged(self, factor, grad, value):
        """Whether the Newton decrement ``grad^T H^-1 grad`` with the last
        Hessian's Cholesky ``factor`` is below rounding of ``value``.

        After a full step the last Hessian is close to the new one, and one
        factorization less (at 900 columns, 20 ms of a 100 ms polish) is
        the cost of the convergence test: the certificate decides anyway.
        """
        decrement = float(grad @ cho_solve(factor, grad, check_finite=False))
        return decrement <= self.newton_decrement * max(abs(value), 1e-300)

    def _entering(self, Z, c, ts, bs):
        """Zero blocks entered (:func:`._face.entering_blocks`), or None."""
        return entering_blocks(self.op, Z, c, ts, bs)

    def _loss_hessian(self, P, J, spans, m, size, fit_c):
        """``J^T W J`` with the intercept's rows and columns (``W`` the
        loss's :meth:`Loss.hessian` at ``P``), or None without one."""
        p = self.op.program
        W = p.loss.hessian(P, p.Y, p.sample_weight)
        if W is None:
            return None
        H = np.zeros((size, size))
        # W is symmetric in its outputs: the blocks below the diagonal are
        # the transposes of those above (half the products; on digits' ten
        # classes the Hessians took most of the Newton steps' time)
        for t, rows in enumerate(spans):
            for u, cols in enumerate(spans[t:], start=t):
                w = W[:, t, u]
                H[rows, cols] = J[:, rows].T @ (w[:, None] * J[:, cols])
                if fit_c:
                    H[m + t, cols] = w @ J[:, cols]
                    H[rows, m + u] = J[:, rows].T @ w
                    H[m + t, m + u] = w.sum()
                if u > t:
                    H[cols, rows] = H[rows, cols].T
                    if fit_c:
                        H[m + u, rows] = H[rows, m + u]
                        H[cols, m + t] = H[m + t, cols]
                        H[m + u, m + t] = H[m + t, m + u]
        return H

    def _released(self, Z, c, ts, bs, tight):
        """Rows to release (:func:`._face.released_rows`), or None."""
        return released_rows(self.op, Z, c, ts, bs, tight)

    def _feasible(self, Z, c, Z_new, c_new, ts, bs):
        """A feasible point towards the new one and the rows joining the face
        (:func:`._face.bent_step`; None when the new point is feasible)."""
        if self.op.cone_signs is None:
            return Z_new, c_new, None
        return bent_step(self.op, Z, c, Z_new, c_new, ts, bs, self._row_norms)


def _triples(rows, ts, bs):
    """The set of ``(row, output, block)`` of the boolean ``rows`` (n_rows,
    m) of the blocks ``(ts, bs)``."""
    i, j = np.nonzero(rows)
    return set(zip(i.tolist(), ts[j].tolist(), bs[j].tolist()))
