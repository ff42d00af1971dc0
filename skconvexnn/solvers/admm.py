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
  (:class:`_PrimalLeastSquares`), and conjugate gradients are left for data
  too large for both;
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
from scipy.linalg import cho_factor, cho_solve

from .._progress import Progress
from ._anderson_core import Anderson
from ..program.dual import Certificate, screen_estimate
from ..program.operator import BlockOperator
from ..program.penalties import ConeProx, group_soft_threshold
from ._polish import FacePolish
from .admm_state import ADMMState
from .base import BaseSolver, SolverResult, trivial_result
from .cvxpy_backend import available_memory_bytes

__all__ = ["ADMMSolver", "ADMMState"]

#: Over-relaxation parameter (OSQP's default).
RELAXATION = 1.6


class _LeastSquares:
    """Solves ``(A^T C A + I) z = r`` by the Woodbury identity."""

    def __init__(self, op, fit_intercept):
        self.op = op
        self.centered = fit_intercept
        X, pool = op.X, op.program.pool
        if pool is None:
            G = (X @ X.T) * (op.signed @ op.signed.T)
        else:
            # Pool ((X X^T) o (S S^T)) Pool^T = sum_b M_b M_b^T with
            # M_b = Pool (s_b o X): n x n although X has a row per patch (a
            # CNN); blocks are taken a chunk at a time to bound the memory.
            G = np.zeros((pool.shape[0],) * 2)
            n_rows, d = X.shape
            chunk = max(1, int(2e7 // (n_rows * d)))
            for start in range(0, op.n_blocks, chunk):
                S = op.signed[:, start:start + chunk]
                M = pool @ (S[:, :, None] * X[:, None, :]).reshape(n_rows, -1)
                G += M @ M.T
        if fit_intercept:
            G = self.center(self.center(G).T)
        G[np.diag_indices(len(G))] += 1.0
        self.factor = cho_factor(G, lower=True, check_finite=False)

    def center(self, M):
        """``C M``: columns centred when there is an output intercept."""
        return M - M.mean(axis=0) if self.centered else M

    def solve(self, R):
        """``z`` and its products ``X z_b`` for the right side ``R`` (k, B, d)."""
        op = self.op
        Aa = op.prediction(R)
        w = self.center(cho_solve(self.factor, self.center(Aa), check_finite=False))
        z = R - op.adjoint(w)
        return z, op.products(z)


class _PrimalLeastSquares(_LeastSquares):
    """Solves ``(A^T C A + I) z = r`` with a Cholesky factor of that matrix.

    ``A^T C A + I`` has the size ``m = B d`` of the blocks (every output
    has the same), against the ``n x n`` of the Woodbury form: the cheaper
    one when the samples outnumber the block coordinates, and the only
    factorization left beyond ``ADMMSolver.max_samples`` samples (the ReLU
    program of 50,000 samples in 20 dimensions with 100 gates: ``m =
    4,200``). ``A^T A`` is accumulated over chunks of rows of ``A =
    [sigma_b D_b X]_b``; with an output intercept, ``C`` subtracts the
    rank-one ``A^T 1 1^T A / n``. Not for a pooled program (a CNN).
    """

    def __init__(self, op, fit_intercept):
        self.op = op
        self.centered = fit_intercept
        X, S = op.X, op.signed
        n, d = X.shape
        m = op.n_blocks * d
        H = np.zeros((m, m))
        ones = np.zeros(m)  # A^T 1
        chunk = max(1, int(2e7 // m))
        for start in range(0, n, chunk):
            rows = slice(start, start + chunk)
            A = (S[rows, :, None] * X[rows, None, :]).reshape(-1, m)
            H += A.T @ A
            ones += A.sum(axis=0)
        if fit_intercept:
            H -= np.outer(ones, ones) / n
        H[np.diag_indices(m)] += 1.0
        self.factor = cho_factor(H, lower=True, check_finite=False)

    @staticmethod
    def suits(program, n_blocks, max_samples):
        """Whether this factorization is the one for ``program``.

        Unpooled, ``m = B d`` at most ``MAX_PRIMAL``, and either beyond
        ``max_samples`` samples or with fewer setup flops (``n m^2 +
        m^3 / 3``) than the ``n x n`` form's (``n^2 (d + B) + n^3 / 3``).
        """
        if program.pool is not None:
            return False
        n, d = program.X.shape
        m = n_blocks * d
        if m > MAX_PRIMAL or 8 * m * m > available_memory_bytes() // 4:
            return False
        return n > max_samples or n * m * m + m ** 3 / 3 < n * n * (d + n_blocks) + n ** 3 / 3

    def solve(self, R):
        k, B, d = R.shape
        z = cho_solve(self.factor, R.reshape(k, B * d).T, check_finite=False)
        z = np.ascontiguousarray(z.T).reshape(R.shape)
        return z, self.op.products(z)


#: Largest size ``B d`` of the blocks for :class:`_PrimalLeastSquares`
#: (its factor takes ``8 (B d)^2`` bytes: 512 MiB).
MAX_PRIMAL = 8000


class _IterativeLeastSquares(_LeastSquares):
    """Solves ``(A^T C A + I) z = r`` by conjugate gradients, Nystrom-preconditioned.

    For data too large for the ``n x n`` factor. ``H = A^T C A`` acts on
    each output's blocks alike, so one randomized Nystrom approximation
    ``H ~ U diag(lam) U^T`` of rank ``rank`` (Tropp, Yurtsever, Udell and
    Cevher's stable construction, from ``rank`` products with ``H``)
    serves every output. The preconditioner inverts it exactly on the span
    of ``U`` and scales the rest by ``lam_min + 1``, so the eigenvalues CG
    sees are clustered near 1 apart from the tail of ``H`` (Frangella,
    Tropp and Udell's Nystrom PCG). Each CG iteration is one prediction and
    one adjoint; every solve starts from the previous solution, since
    consecutive ADMM right sides differ little. Memory grows linearly in
    ``n``.
    """

    #: Relative residual at which a solve stops, and its iteration cap.
    rtol = 1e-9
    max_cg = 100

    def __init__(self, op, fit_intercept, rank=100, seed=0):
        self.op = op
        self.centered = fit_intercept
        k, B, d = op.shape
        m = B * d
        r = min(rank, m)
        rng = np.random.default_rng(seed)
        Omega, _ = np.linalg.qr(rng.standard_normal((m, r)))
        Y = self.gram(Omega.T.reshape(r, B, d)).reshape(r, m).T
        nu = np.sqrt(m) * np.finfo(float).eps * np.linalg.norm(Y, 2)
        Y = Y + nu * Omega
        C = np.linalg.cholesky(Omega.T @ Y)
        F = np.linalg.solve(C, Y.T).T  # Y C^{-T}
        U, sv, _ = np.linalg.svd(F, full_matrices=False)
        self.U = U
        self.lam = np.maximum(sv ** 2 - nu, 0.0)
        self.last = None

    def gram(self, Z):
        """``A^T C A Z`` for blocks of shape (k, B, d)."""
        return self.op.adjoint(self.center(self.op.prediction(Z)))

    def precondition(self, R):
        k, B, d = R.shape
        flat = R.reshape(k, B * d)
        coef = flat @ self.U
        scale = (self.lam[-1] + 1.0) / (self.lam + 1.0)
        out = flat + (coef * (scale - 1.0)) @ self.U.T
        return out.reshape(R.shape)

    def solve(self, R):
        z = np.zeros_like(R) if self.last is None or self.last.shape != R.shape \
            else self.last.copy()
        res = R - (self.gram(z) + z)
        y = self.precondition(res)
        p = y.copy()
        ry = np.einsum("kbd,kbd->k", res, y)
        goal = self.rtol ** 2 * np.maximum(np.einsum("kbd,kbd->k", R, R), 1e-300)
        for _ in range(self.max_cg):
            if np.all(np.einsum("kbd,kbd->k", res, res) <= goal):
                break
            Hp = self.gram(p) + p
            curv = np.einsum("kbd,kbd->k", p, Hp)
            alpha = np.where(curv > 0, ry / np.where(curv > 0, curv, 1.0), 0.0)
            z = z + alpha[:, None, None] * p
            res = res - alpha[:, None, None] * Hp
            y = self.precondition(res)
            ry_new = np.einsum("kbd,kbd->k", res, y)
            p = y + (ry_new / np.where(ry > 0, ry, 1.0))[:, None, None] * p
            ry = ry_new
        self.last = z
        return z, self.op.products(z)


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
        the ``B d`` factorization where it suits (:class:`_PrimalLeastSquares`),
        else the ``n x n`` one, else conjugate gradients."""
        if _PrimalLeastSquares.suits(program, n_blocks, cls.max_samples):
            return _PrimalLeastSquares
        return _LeastSquares if cls.woodbury(program) else _IterativeLeastSquares

    @classmethod
    def direct(cls, program):
        """Whether the least-squares steps use a factorization (not CG)."""
        blocks = program.n_patterns * (2 if program.cone_constrained else 1)
        return cls.least_squares(program, blocks) is not _IterativeLeastSquares

    def check_program(self, program):
        super().check_program(program)
        n, k = program.n_samples, program.n_outputs
        blocks = program.n_patterns * (2 if program.cone_constrained else 1)
        # a few n x B products and patterns (per row: per patch for a CNN),
        # and the factor of the least-squares steps (n x n or B d x B d)
        kind = self.least_squares(program, blocks)
        factor = {_LeastSquares: 4 * n * n,
                  _PrimalLeastSquares: 2 * (blocks * program.n_features) ** 2}
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
        if program.n_patterns == 0:
            return trivial_result(program)
        # ADMM's steps are not invariant to the scale of X (its penalty
        # parameter weighs a loss of predictions against a norm of
        # weights): it runs on X / sigma with beta / sigma, the same
        # program in weights sigma * z, sigma the RMS entry of X. Objective,
        # bound and predictions are unchanged; the blocks are mapped back.
        sigma = float(np.sqrt(np.mean(program.X ** 2)))
        if not np.isfinite(sigma) or sigma <= 0:
            sigma = 1.0
        scaled = replace(program, X=program.X / sigma, beta=program.beta / sigma)
        if init is not None:
            init = replace(init, V=np.asarray(init.V, float) * sigma,
                           W=None if init.W is None else np.asarray(init.W, float) * sigma)
        result = self._solve_scaled(scaled, init)
        result.V = result.V / sigma
        if result.W is not None:
            result.W = result.W / sigma
        return result

    def _solve_scaled(self, program, init):
        it = _Iteration(program, init)
        op, relu = it.op, it.relu
        cert = Certificate(program, self.tol)
        curve = []

        def screen(Lam):
            return screen_estimate(op, it.p, Lam)

        def certify(n_iter, final=False):
            # q (the loss split) and the multipliers give further dual
            # points, often better before convergence; -rho uq is minus a
            # (sub)gradient of the loss at q, so it lies in the loss's dual
            # domain: the one that makes the bound tight for the hinge loss
            # with verbose, an exact bound every tenth check, so that the
            # gap shown is a proven one
            final = final or (self.verbose and len(curve) % 10 == 0)
            done = cert(op.network(op.products(it.p)), it.p, it.cone.max_dual_norm,
                        extra=(it.q,), duals=(-it.rho * it.uq,),
                        screen=screen if relu else None, final=final)
            curve.append(cert.objective)
            progress.update(n_iter, cert.objective, cert.gap, rho=it.rho)
            return done

        progress = Progress(self.name, self.verbose, self.max_iter)
        ok = init is not None and certify(0)
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
                if not ok and polish is not None and polish.ready(it.p):
                    ok = self._polished(it, polish, cert, certify, n_iter, curve)
                if not ok and accel.memory and _stalled(curve, self.stall_checks):
                    # The extrapolation can settle on a point that is not a
                    # fixed point of ADMM (seen with over-relaxation on
                    # repeated rows: stuck 250 times above the optimum).
                    # Plain ADMM converges for any convex program.
                    accel = Anderson(0)
        if not curve or n_iter % self.check_every or not cert.exact:
            ok = certify(n_iter, final=True) or ok
        progress.close()
        V, W = op.split(it.p)
        result = SolverResult(
            V=V.copy(), W=None if W is None else W.copy(), intercept=cert.intercept,
            n_iter=n_iter, converged=bool(ok), status="optimal" if ok else "max_iter",
            objective_curve=curve, lower_bound=cert.bound, state=it.save(),
        )
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
        self.relu = op.cone_signs is not None
        k = program.n_outputs
        state = None if init is None else init.state
        if isinstance(state, ADMMState) and state.p.shape == op.shape:
            self.q, self.p, self.uq, self.up = (
                np.array(a) for a in (state.q, state.p, state.uq, state.up))
            self.rho = state.rho
            # At a fixed point rho * up is beta times a subgradient of the
            # block norms: rescaled, it stays one for a new beta (a path).
            self.up *= program.beta / state.beta
        else:
            self.p = (np.zeros(op.shape) if init is None
                      else op.stack(np.asarray(init.V, float), init.W))
            c = np.zeros(k) if init is None else np.asarray(init.intercept, float)
            self.q = op.prediction(self.p) + c
            self.uq, self.up = np.zeros_like(self.q), np.zeros_like(self.p)
            self.rho = float(np.mean(program.sample_weight))
        self.ls = ADMMSolver.least_squares(program, op.n_blocks)(op, program.fit_intercept)
        # Imbalance of the residuals that changes rho: OSQP's 5. Smaller
        # values saved a third of the iterations on the diabetes ReLU
        # program but made rho oscillate (on the hinge loss, and on the
        # squared loss with features scaled by 100, where it diverged).
        self.threshold = 5.0
        # rho stays within these factors of its start
        self.rho_range = (self.rho * 1e-6, self.rho * 1e6)
        self.cone = ConeProx(op)

    def save(self):
        """The :class:`ADMMState` of this point, a warm start for a later solve."""
        return ADMMState(self.q, self.p, self.uq, self.up, self.rho,
                         self.program.beta, 2 if self.relu else 1)

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
        w = ph + self.up
        if self.relu:
            # prox of beta ||.|| + indicator of the cone: shrink the projection
            w = self.cone.project(w.copy(), prog.beta / self.rho)
        self.p = group_soft_threshold(w, prog.beta / self.rho)
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
