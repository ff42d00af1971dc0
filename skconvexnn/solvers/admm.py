"""ADMM with a cached factorization, for the ReLU and gated ReLU programs.

The program (user guide, "The convex program") is split as

    min  F(q) + sum_b g_b(p_b)
    s.t. q = sum_b sigma_b D_b X z_b + 1 c,   p = z,

with ``g_b(p) = beta ||p||`` plus, for ReLU, the indicator of the cone
``C_b = {u : (2 D_b - I) X u >= 0}``. ADMM (scaled form, over-relaxed,
Anderson-accelerated) alternates:

* a least-squares step in ``(z, c)`` whose matrix ``A^T C A + I`` (``A`` the
  blocks ``sigma_b D_b X``, ``C`` the centering that eliminates the output
  intercept) never changes: by the Woodbury identity it is solved with
  products with ``X`` and one Cholesky factor of the ``n x n`` matrix
  ``I + C ((X X^T) o (S S^T)) C``, ``S`` the signed patterns, computed once
  per fit (for a pooled program, a CNN whose rows of ``X`` are patches, the
  matrix is ``I + C Pool ((X X^T) o (S S^T)) Pool^T C``, still ``n x n``);
  when the samples outnumber the ``B d`` block coordinates, or beyond
  ``max_samples`` samples, the ``B d x B d`` matrix is factored instead
  (:mod:`.admm_linear`), and conjugate gradients are left for data too
  large for both;
* the proximal operator of the loss (:meth:`skconvexnn.losses.Loss.prox`,
  separable over samples) for ``q``;
* for ``p``, block soft-thresholding, after the projection onto ``C_b`` for
  ReLU (for a convex cone, the prox of ``beta ||.||`` plus its indicator is
  the shrunk projection). Projections are warm-started from the previous
  active sets (:func:`skconvexnn.program.cones.project_many`), so the blocks are
  always cone-feasible and their network is exactly the program's
  prediction.

Why this and not the alternatives (measured on the diabetes data, 100
gates, ``benchmarks/bench_solvers.py``): keeping the cone constraints as a
third split ``s_b = K_b z_b >= 0`` makes every step cheap but took thousands
of iterations to approach the optimum from infeasible points; an augmented
Lagrangian with an inner FISTA has the same slow tail. With exact
projections ADMM behaves as on the gated program (tens to a few hundred
iterations).

The penalty parameter is rebalanced from the primal and dual residuals (as
OSQP does); one parameter weighs both splits, so the factorization stays
valid. Every ``check_every`` iterations the network of the blocks ``p`` is
certified (:class:`~skconvexnn.program.dual.Certificate`) and the solver stops when the
relative duality gap is at most ``tol``.
"""

from dataclasses import replace

import numpy as np

from .._progress import Progress
from ._anderson_core import Anderson
from ..program.dual import Certificate
from ..program.operator import BlockOperator
from ._polish import FacePolish
from .admm_state import ADMMState
from .projection_state import seed_projections
from .base import BaseSolver
from .admm_linear import (IterativeLeastSquares, PrimalLeastSquares,
                          WoodburyLeastSquares)
from .cvxpy_backend import available_memory_bytes

__all__ = ["ADMMSolver", "ADMMState"]

#: Over-relaxation parameter (OSQP's default).
RELAXATION = 1.6


class ADMMSolver(BaseSolver):
    """ADMM for the ReLU and gated ReLU programs, any loss with a prox.

    Parameters
    ----------
    tol : float
        Relative duality gap at which to stop.
    max_iter : int
        Maximum number of ADMM iterations.
    verbose : int
        Show the objective and the gap while it runs (see
        "Progress" in the user guide); every check when ``verbose > 1``.

    Notes
    -----
    The certificate is evaluated every ``check_every`` iterations on the
    ReLU network of the current blocks (a valid network even where the
    Anderson extrapolation leaves a cone slightly): its objective is what
    the estimator reports, and the lower bound is the best of the dual
    points at its prediction, at the loss split ``q`` and from the
    multipliers ``-rho u_q``. Memory: the ``n x n`` factor and a few
    ``n x n_blocks`` arrays per output.
    """

    name = "admm"
    #: Largest number of samples for the n x n factorization (it costs
    #: n^2 B); beyond, the least-squares steps use Nystrom-preconditioned
    #: conjugate gradients.
    max_samples = 5000
    cones = frozenset({"exp"})
    activations = frozenset({"relu", "gated_relu"})
    check_every = 10
    memory = 5
    rebalance_every = 20
    #: Checks without progress of the objective after which the Anderson
    #: acceleration is switched off.
    stall_checks = 5
    #: Try the quasi-Newton and Newton steps on the face of the blocks once it
    #: settles (:class:`._polish.FacePolish`), kept only when certified.
    polish = True

    @classmethod
    def woodbury(cls, program):
        """Whether the ``n x n`` factorization fits (samples and memory)."""
        n = program.n_samples
        return n <= cls.max_samples and 8 * 4 * n * n <= available_memory_bytes() // 4

    @classmethod
    def least_squares(cls, program, n_blocks):
        """The class that solves the least-squares steps of ``program``:
        the ``B d`` factorization where it suits
        (:class:`~.admm_linear.PrimalLeastSquares`), else the ``n x n`` one,
        else conjugate gradients."""
        if PrimalLeastSquares.suits(program, n_blocks, cls.max_samples):
            return PrimalLeastSquares
        return WoodburyLeastSquares if cls.woodbury(program) else IterativeLeastSquares

    @classmethod
    def direct(cls, program):
        """Whether the least-squares steps use a factorization (not CG)."""
        blocks = program.n_blocks
        return cls.least_squares(program, blocks) is not IterativeLeastSquares

    def check_program(self, program):
        super().check_program(program)
        n, k = program.n_samples, program.n_outputs
        blocks = program.n_blocks
        # a few n x B products and patterns (per row: per patch for a CNN),
        # and the factor of the least-squares steps (n x n or B d x B d)
        kind = self.least_squares(program, blocks)
        factor = {WoodburyLeastSquares: 4 * n * n,
                  PrimalLeastSquares: 2 * (blocks * program.n_features) ** 2}
        need = 8 * (6 * program.n_rows * k * blocks + factor.get(kind, 0))
        limit = available_memory_bytes() // 2
        if need > limit:
            raise MemoryError(
                f"The admm solver needs about {need / 2**30:.1f} GiB for {n} "
                f"samples ({program.n_rows} rows) and {blocks} blocks "
                f"(allowed: {limit / 2**30:.1f} GiB). Reduce n_arrangements, "
                "or subsample the data."
            )

    def _solve(self, program, init):
        # ADMM's steps are not invariant to the scale of X (its penalty
        # parameter weighs a loss of predictions against a norm of
        # weights): it runs on X / sigma with beta / sigma, the same
        # program in weights sigma * z, sigma the RMS entry of X. Objective,
        # bound and predictions are unchanged; the blocks are mapped back.
        sigma = float(np.sqrt(np.mean(program.X ** 2)))
        if not np.isfinite(sigma) or sigma <= 0:
            sigma = 1.0
        scaled = replace(program, X=program.X / sigma, beta=program.beta / sigma)
        if init is not None:  # (float copies: BaseSolver.solve)
            init = replace(init, V=init.V * sigma,
                           W=None if init.W is None else init.W * sigma)
        result = self._solve_scaled(scaled, init)
        result.V = result.V / sigma
        if result.W is not None:
            result.W = result.W / sigma
        return result

    def _solve_scaled(self, program, init):
        it = _Iteration(program, init)
        op = it.op
        cert = Certificate(program, self.tol)
        curve = []

        def certify(n_iter, final=False, duals=()):
            # q (the loss split) and the multipliers give further dual
            # points, often better before convergence; -rho uq is minus a
            # (sub)gradient of the loss at q, so it lies in the loss's dual
            # domain: the one that makes the bound tight for the hinge loss
            # with verbose, an exact bound every tenth check, so that the
            # gap shown is a proven one
            final = final or (self.verbose and len(curve) % 10 == 0)
            done = cert(op.network(op.products(it.p)), it.p, it.penalty.max_dual_norm,
                        extra=(it.q,), duals=(-it.rho * it.uq, *duals),
                        screen=it.penalty.screen(it.p), final=final)
            curve.append(cert.objective)
            progress.update(n_iter, cert.objective, cert.gap, rho=it.rho)
            return done

        progress = Progress(self.name, self.verbose, self.max_iter)
        # the warm start's own multipliers may certify it where the
        # fixed-point ones (of its blocks) do not: the same beta again
        ok = init is not None and certify(0, duals=it.warm_duals)
        accel = Anderson(self.memory)
        polish = FacePolish(op) if self.polish and program.loss.smooth else None
        n_iter = 0
        while not ok and n_iter < self.max_iter:
            n_iter += 1
            x = it.get()
            it.step()
            fx = it.get()
            x_new = accel.update(x, fx)
            if x_new is not fx:
                it.set(x_new)
            if n_iter % self.rebalance_every == 0 and it.rebalance():
                accel.reset()
            if n_iter % self.check_every == 0:
                ok = certify(n_iter)
                if not ok and polish is not None and polish.ready(it.p, n_iter):
                    ok = self._polished(it, polish, cert, certify, n_iter, curve)
                if not ok and accel.memory and _stalled(curve, self.stall_checks):
                    # The extrapolation can settle on a point that is not a
                    # fixed point of ADMM (seen with over-relaxation on
                    # repeated rows: stuck 250 times above the optimum).
                    # Plain ADMM converges for any convex program.
                    accel = Anderson(0)
        # copies: the state keeps it.p
        blocks = tuple(None if B is None else B.copy() for B in op.split(it.p))
        result = self._certified(lambda: certify(n_iter, final=True), blocks, n_iter,
                                 ok, cert, curve, state=it.save())
        progress.close()
        return result

    @staticmethod
    def _polished(it, polish, cert, certify, n_iter, curve):
        """Whether the polish of the blocks ``it.p`` is certified; it then
        replaces them. Otherwise the iteration goes on as it was (its split
        variables and multipliers belong to ``it.p``), and the objective
        curve keeps only the iterates' values."""
        found = polish(it.p, cert.intercept)
        if found is None:
            return False
        p, state = it.p, (cert.objective, cert.gap, cert.intercept, cert.exact)
        it.p = found[0]
        if certify(n_iter):
            return True
        it.p = p
        cert.objective, cert.gap, cert.intercept, cert.exact = state
        curve.pop()
        return False


class _Iteration:
    """State of the ADMM iteration and one step of it."""

    def __init__(self, program, init):
        self.program = program
        op = self.op = BlockOperator(program)
        k = program.n_outputs
        state = None if init is None else init.state
        state = state if isinstance(state, ADMMState) else None
        smooth = program.loss.smooth
        if state is not None and state.p.shape == op.shape and not smooth:
            self.q, self.p, self.uq, self.up = (
                np.array(a) for a in (state.q, state.p, state.uq, state.up))
            self.rho = state.rho
            # At a fixed point rho * up is beta times a subgradient of the
            # block norms: rescaled, it stays one for a new beta (a path).
            self.up *= program.beta / state.beta
        else:
            self.p = np.zeros(op.shape) if init is None else op.stack(init.V, init.W)
            c = np.zeros(k) if init is None else init.intercept
            self.q = op.prediction(self.p) + c
            self.uq, self.up = np.zeros_like(self.q), np.zeros_like(self.p)
            self.rho = (float(np.mean(program.sample_weight)) if state is None
                        else state.rho)
        self.ls = ADMMSolver.least_squares(program, op.n_blocks)(op, program.fit_intercept)
        self.warm_duals = ()
        if init is not None and smooth:
            self.warm_duals = () if state is None else tuple(state.dual_points()[1])
            self._fixed_point_multipliers()
        # Imbalance of the residuals that changes rho: OSQP's 5. Smaller
        # values saved a third of the iterations on the diabetes ReLU
        # program but made rho oscillate (on the hinge loss, and on the
        # squared loss with features scaled by 100, where it diverged).
        self.threshold = 5.0
        # rho stays within these factors of its start
        self.rho_range = (self.rho * 1e-6, self.rho * 1e6)
        self.penalty = program.group_norm(op)
        # The cones' active sets at the last solve's projections: guesses
        # for this one's (the same cones along a path). Saved 10 to 15 %
        # of the time of the diabetes path's ADMM solves.
        seed_projections(self.penalty, init)

    def _fixed_point_multipliers(self):
        """The multipliers that make the warm start's blocks a fixed point.

        At a fixed point ``rho uq`` is the loss gradient at ``q`` (the
        prox step) and ``up = -A^T C uq`` (the least-squares step). From
        the blocks of a neighbouring beta (a path) these consistent
        multipliers saved 27 % of the iterations of the diabetes path's
        ADMM solves (1,920 against 2,640) over the last solve's multipliers
        rescaled by the ratio of the betas, and a third at the first ADMM
        solve after FISTA's (250 against 360, which started from zero
        multipliers), keeping the last solve's ``rho``. A smooth loss only:
        at a kink the gradient is one subgradient among several.
        """
        prog = self.program
        self.uq = prog.loss.gradient(self.q, prog.Y, prog.sample_weight) / self.rho
        self.up = -self.op.adjoint(self.ls.center(self.uq))

    def save(self):
        """The :class:`ADMMState` of this point, a warm start for a later solve."""
        active = getattr(self.penalty, "active", None)
        return ADMMState(self.q, self.p, self.uq, self.up, self.rho,
                         self.program.beta, self.op.n_blocks // self.op.n_patterns,
                         None if active is None else active.copy())

    def get(self):
        """The state as one vector (for the acceleration)."""
        return np.concatenate([self.q.ravel(), self.p.ravel(), self.uq.ravel(),
                               self.up.ravel()])

    def set(self, x):
        start = 0
        for name in ("q", "p", "uq", "up"):
            arr = getattr(self, name)
            setattr(self, name, x[start:start + arr.size].reshape(arr.shape))
            start += arr.size

    def step(self):
        """One over-relaxed ADMM iteration."""
        prog, op, ls, alpha = self.program, self.op, self.ls, RELAXATION
        target = self.q - self.uq
        R = op.adjoint(ls.center(target)) + (self.p - self.up)
        z, XZ = ls.solve(R)
        Az = op.predict(XZ)
        c = (target - Az).mean(axis=0) if prog.fit_intercept else 0.0
        self.Azc = Az + c
        qh = alpha * self.Azc + (1 - alpha) * self.q
        ph = alpha * z + (1 - alpha) * self.p
        self.q_old, self.p_old, self.z = self.q, self.p, z
        self.q = prog.loss.prox(qh + self.uq, prog.Y, prog.sample_weight, self.rho)
        self.p = self.penalty.prox(ph + self.up, prog.beta / self.rho)
        self.uq = self.uq + qh - self.q
        self.up = self.up + ph - self.p

    def rebalance(self):
        """Rescale rho from the last residuals (OSQP's rule).

        Returns True when the state was rescaled.
        """
        r_p = _norm(self.Azc - self.q, self.z - self.p) / max(
            _norm(self.Azc, self.z), _norm(self.q, self.p), 1e-300)
        r_d = _norm(self.q - self.q_old, self.p - self.p_old) / max(
            _norm(self.uq, self.up), 1e-300)
        if r_p > 0 or r_d > 0:
            # A residual of exactly zero is a stall, not convergence: the
            # blocks stuck at zero (beta / rho above every block) leave the
            # dual residual at 0 while the primal one stays large, and rho
            # must grow (by the largest factor) for them to move.
            low, high = self.rho_range
            f = float(np.clip(np.sqrt(r_p / max(r_d, 1e-300)), 0.1, 10.0))
            f = float(np.clip(f, low / self.rho, high / self.rho))
            if f > self.threshold or f < 1 / self.threshold:
                self.rho *= f
                self.uq, self.up = self.uq / f, self.up / f
                return True
        return False


def _stalled(curve, checks):
    """Whether the last ``checks`` objectives have not moved (relative 1e-10)."""
    if len(curve) <= checks:
        return False
    last = np.asarray(curve[-checks - 1:])
    return bool(np.ptp(last) <= 1e-10 * max(abs(last[-1]), 1e-300))


def _norm(*arrays):
    return float(np.sqrt(sum(np.vdot(a, a) for a in arrays if a is not None)))
