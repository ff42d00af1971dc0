"""Accelerated proximal gradient (FISTA) for the gated ReLU program.

The gated ReLU program is a group lasso,

    min_{Z, c}  F(sum_i D_i X z_i + c) + beta * sum_i ||z_i||,

with ``F`` a smooth mean loss. FISTA takes a gradient step on ``F`` in the
blocks and the (unpenalized) output intercept together, then
block soft-thresholding. The step is ``1 / L``. A global bound on the
gradient's Lipschitz constant is ``curvature * ||[A, 1]||_2^2``, where
``curvature`` bounds the loss's second derivative per unit weight (1 for the
squared loss, 1/2 for the logistic and softmax losses) and the spectral norm
of the weighted operator is estimated by power iteration. For the logistic
and softmax losses that bound is pessimistic by orders of magnitude near a
(nearly) separating solution, where the probabilities are close to 0 or 1
and the loss's actual curvature ``p (1 - p)`` is tiny: with the global step
a digits fit (10 classes, 20 gates, beta=1e-4) was still 2 % above its
optimum after 20,000 steps. So ``L`` is a local estimate, lowered a little
before every step and doubled (never above the global bound) until the
sufficient-decrease condition of Beck and Teboulle's backtracking holds,
with the momentum rule of Scheinberg, Goldfarb and Bai for a varying step.
The squared loss has a constant curvature, but the global bound is
pessimistic there too: it is the norm of the operator over every block,
while the steps move few blocks, within their cones. With the local
estimate the default regressor took 130 steps instead of 610 on the star98
table and 140 instead of 500 on diabetes, to the same optimum (the
benchmarks page, "Backtracking for the squared loss"). The momentum
restarts when the step goes against the last progress (O'Donoghue and
Candes's gradient restart), which recovers linear convergence on the
strongly convex pieces.

Once the face of the cones that the iterate lies on (its nonzero blocks and
their tight constraints) has not changed between two checks, a
quasi-Newton step on that face (:class:`._polish.FacePolish`) replaces the
iterate when it lowers the objective: the last digits of the optimum,
which the proximal steps approach slowly, come in a few quasi-Newton and
Newton steps.

Memory and time grow linearly in ``n``: every iteration is two products
with ``X`` and elementwise products with the pattern matrix, so this is the
solver for data too large for :class:`~skconvexnn.solvers.admm.ADMMSolver`'s
``n x n`` factorization. It needs a differentiable loss (not hinge).
"""

import numpy as np

from .._progress import Progress
from ..program.dual import Certificate
from ..program.operator import BlockOperator
from ..program.penalties import block_norms
from ._polish import FacePolish
from .base import BaseSolver
from .projection_state import ProjectionState, seed_projections

__all__ = ["FISTASolver"]


def _lipschitz(op, sw, curvature, n_iter=30, seed=0):
    """Upper estimate of ``curvature * ||S^{1/2} [A, 1]||_2^2`` (power iteration)."""
    rng = np.random.default_rng(seed)
    root = np.sqrt(sw)[:, None]
    Z = rng.standard_normal(op.shape)
    c = rng.standard_normal(op.shape[0])
    value = 1.0
    for _ in range(n_iter):
        size = np.sqrt(np.vdot(Z, Z) + c @ c)
        Z, c = Z / size, c / size
        M = root * (op.prediction(Z) + c)
        M = root * M
        Z, c = op.adjoint(M), M.sum(axis=0)
        value = np.sqrt(np.vdot(Z, Z) + c @ c)
    return 1.1 * curvature * value  # margin over the power-iteration estimate


class _Sweeps:
    """Working set of blocks for the proximal steps of the ReLU program.

    The prox of a block is a projection onto its cone, the bulk of a step;
    most blocks are zero at the optimum, and most of those need a
    projection to show it. So only some steps, the sweeps, take the prox
    beyond the working set (the blocks nonzero after the last sweep); the
    steps between keep the other blocks at zero. A sweep takes in at most
    ``size`` blocks outside the working set, those of largest norm before
    the prox (an upper bound of their length after it), and ``size``
    doubles each time that leaves blocks out: from zero, a first step over
    every block projects hundreds that later steps drop again (1,212 of
    2,000 on digits, 105 left at the optimum). A complete sweep (no block
    left out) that brings no new block in doubles the number of steps to
    the next one (up to ``8 * every``); any other resets it to ``every``.
    The iteration is plain FISTA once the working set holds the support,
    and the stopping rule is the certificate over every block, so the
    solution is that of the whole program either way.
    """

    def __init__(self, every, size, Z):
        self.every, self.size = every, size
        self.gap = every
        self.next = 1
        self.work = block_norms(Z) > 0
        self.complete = False

    def mask(self, it, V, thresh):
        """Blocks to take the prox of at step ``it``, whose prox input is ``V``."""
        if it < self.next:
            return self.work
        norms = np.where(self.work, 0.0, block_norms(V))
        out = norms > thresh
        self.complete = int(out.sum()) <= self.size
        if not self.complete:
            top = np.argpartition(norms, -self.size, axis=None)[-self.size:]
            out = np.zeros_like(out)
            out.flat[top] = True
            self.size *= 2
        return self.work | out

    def sweeping(self, it):
        """Whether step ``it`` is a sweep."""
        return it >= self.next

    def swept(self, it, Z):
        """Record the sweep at step ``it`` that gave the blocks ``Z``."""
        work = block_norms(Z) > 0
        grew = bool(np.any(work & ~self.work))
        quiet = self.complete and not grew
        self.gap = min(2 * self.gap, 8 * self.every) if quiet else self.every
        self.next = it + self.gap
        self.work = work


def _columns(sweeps, it):
    """Blocks whose gradient step ``it`` needs: those of the working set's
    columns between sweeps (when they are at most half), else all (None)."""
    if sweeps is None or sweeps.sweeping(it):
        return None
    columns = np.flatnonzero(sweeps.work.any(axis=0))
    return columns if 2 * len(columns) < sweeps.work.shape[1] else None


class FISTASolver(BaseSolver):
    """Accelerated proximal gradient for the gated ReLU program.

    Parameters
    ----------
    tol : float
        Relative duality gap at which to stop.
    max_iter : int
        Maximum number of proximal gradient steps.
    verbose : int
        Show the objective and the gap while it runs (see
        "Progress" in the user guide); every check when ``verbose > 1``.

    Notes
    -----
    The gap is checked every ``check_every`` steps on the current blocks
    (for gated ReLU the dual norms are the plain ``||X^T D_i Lam||``, one
    product with ``X``).
    """

    name = "fista"
    activations = frozenset({"relu", "gated_relu"})
    check_every = 10
    #: Fewest steps between two proximal steps over every block of the ReLU
    #: program (see :class:`_Sweeps`).
    sweep_every = 10
    #: Blocks per output that the first sweep may take in (see :class:`_Sweeps`).
    sweep_size = 8
    #: Factor applied to the local Lipschitz estimate before every step.
    step_decrease = 0.9
    #: Quasi-Newton steps on the face of the nonzero blocks once it settles
    #: (:class:`._polish.FacePolish`).
    polish = True

    def check_program(self, program):
        super().check_program(program)
        if not getattr(program.loss, "smooth", True):
            raise ValueError(
                f"Solver {self.name!r} needs a differentiable loss; loss "
                f"{program.loss.name!r} is not. Use solver='admm', which only "
                "needs the loss's proximal operator."
            )

    def _start(self, program, init):
        """What a proximal gradient solve starts from.

        Returns the operator, the penalty whose prox the steps take
        (:meth:`~skconvexnn.program.ConvexProgram.group_norm`),
        the step constant ``L`` and its cap, the first point ``(Z, c)``
        (``init``, a warm start, or zeros; for ReLU the ``v`` and ``w``
        blocks stacked), the certificate, ``certify(Z, prediction, it,
        final=False)`` and the objective curve it appends to.

        ``L`` is ``loss.curvature`` times the squared norm of the operator;
        a loss that declares no curvature (None) starts from curvature 1 and
        has no cap, so its step comes from the backtracking alone.
        """
        op = BlockOperator(program)
        prox = program.group_norm(op)
        seed_projections(prox, init)  # the last solve's active sets (a path)
        curvature = getattr(program.loss, "curvature", None)
        L = _lipschitz(op, program.sample_weight,
                       1.0 if curvature is None else curvature)
        L_max = np.inf if curvature is None else L
        if init is None:
            Z, c = np.zeros(op.shape), np.zeros(program.n_outputs)
        else:  # (float copies: BaseSolver.solve)
            c = init.intercept
            Z = prox.project(op.stack(init.V, init.W), 0.0)  # it may leave the cones
        cert = Certificate(program, self.tol)
        curve = []
        progress = self._progress = Progress(self.name, self.verbose, self.max_iter)

        def certify(blocks, prediction, it, final=False):
            if prox.cones:  # the network of the (cone-feasible) blocks
                prediction = op.network(op.products(blocks))
            final = final or (self.verbose and len(curve) % 10 == 0)
            done = cert(prediction, blocks, prox.max_dual_norm,
                        screen=prox.screen(blocks), final=final)
            curve.append(cert.objective)
            progress.update(it, cert.objective, cert.gap)
            return done

        return op, prox, (L, L_max), Z, c, cert, certify, curve

    def _result(self, certify, op, Z, P, n_iter, ok, cert, curve, prox=None):
        """The final certificate of the blocks ``Z`` (prediction ``P``) and the
        result; its state is the active sets of ``prox``'s projections."""
        active = getattr(prox, "active", None)
        state = (None if active is None else
                 ProjectionState(active.copy(), op.n_blocks // op.n_patterns))
        result = self._certified(lambda: certify(Z, P, n_iter, final=True),
                                 op.split(Z), n_iter, ok, cert, curve, state=state)
        self._progress.close()
        return result

    def _solve(self, program, init):
        loss, Y, sw, beta = program.loss, program.Y, program.sample_weight, program.beta
        fit_c = program.fit_intercept
        op, prox, (L, L_max), Z, c, cert, certify, curve = self._start(program, init)
        # predictions are linear in the blocks: the extrapolated point's
        # prediction is combined from the iterates', no product needed
        P = op.prediction(Z)
        ok = init is not None and certify(Z, P, 0)
        L_min = 1e-12 * L
        Zy, cy, Py, t = Z, c, P, 1.0
        sweeps = (_Sweeps(self.sweep_every, self.sweep_size * program.n_outputs, Z)
                  if prox.cones else None)
        polish = FacePolish(op) if self.polish else None
        n_iter = 0
        while not ok and n_iter < self.max_iter:
            n_iter += 1
            F_y, G = loss.value_and_gradient(Py + cy, Y, sw)
            grad_Z, grad_c = op.adjoint(G, columns=_columns(sweeps, n_iter)), G.sum(axis=0)
            L_old, L = L, max(L * self.step_decrease, L_min)
            mask = (None if sweeps is None
                    else sweeps.mask(n_iter, Zy - grad_Z / L, beta / L))
            while True:
                Z_new = prox(Zy - grad_Z / L, beta / L, mask)
                c_new = cy - grad_c / L if fit_c else cy
                P_new = op.prediction(Z_new)
                if L >= L_max:
                    break
                dZ, dc = Z_new - Zy, c_new - cy
                model = (F_y + np.vdot(grad_Z, dZ) + np.dot(grad_c, dc)
                         + 0.5 * L * (np.vdot(dZ, dZ) + dc @ dc))
                if loss.value(P_new + c_new, Y, sw) <= model:
                    break
                L = min(2.0 * L, L_max)
            if sweeps is not None and sweeps.sweeping(n_iter):
                sweeps.swept(n_iter, Z_new)
            step_Z, step_c = Z_new - Z, c_new - c
            # restart when the step opposes the generalized gradient
            if np.vdot(Zy - Z_new, step_Z) + (cy - c_new) @ step_c > 0:
                t = 1.0
            t_new = 0.5 * (1.0 + np.sqrt(1.0 + 4.0 * t * t * L / L_old))
            w = (t - 1.0) / t_new
            Zy, cy = Z_new + w * step_Z, c_new + w * step_c
            Py = P_new + w * (P_new - P)
            Z, c, P, t = Z_new, c_new, P_new, t_new
            if n_iter % self.check_every == 0:
                ok = certify(Z, P, n_iter)
                if not ok and polish is not None and polish.ready(Z, n_iter):
                    found = polish(Z, cert.intercept)
                    if found is not None:
                        Z, c = found
                        P = op.prediction(Z)
                        Zy, cy, Py, t = Z, c, P, 1.0
                        ok = certify(Z, P, n_iter)
        return self._result(certify, op, Z, P, n_iter, ok, cert, curve, prox)

