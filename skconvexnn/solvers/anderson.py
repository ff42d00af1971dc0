"""Anderson-accelerated proximal gradient for the gated ReLU program.

The program is the group lasso of :mod:`.fista`,

    min_{Z, c}  F(sum_i D_i X z_i + c) + beta * sum_i ||z_i||.

The proximal gradient map ``T(x) = prox(x - grad F(x) / L)`` (step ``1 / L``
as in FISTA, blocks soft-thresholded, intercept unpenalized) is iterated
with type-II Anderson acceleration (:mod:`._anderson_core`, shared with
ADMM): the next point is the combination of the last ``memory + 1``
values ``g_j = T(x_j)`` whose residuals ``g_j - x_j`` combine to the
smallest norm. Near the optimum the support is fixed and
``T`` is smooth, so Anderson acts like a Krylov method (GMRES) on its
linearization and uses the spread of the spectrum, which FISTA's single
step ``1 / L`` cannot.

Why (measured, ``benchmarks/large_n.py``): the blocks share about half
their samples, so ``A^T A`` (``A = [D_1 X, ..., D_P X]``) has a few hundred
times more curvature along its top directions than one block has on its
own (at n = 10,000: ``L`` about 207 against 0.8 to 1.0 per block; removing
the ``d`` directions ``z_i = u`` for all ``i`` only brings it to 81), and
at ``beta = 1e-3`` almost every block is nonzero (497 of 500), so working
sets do not shrink the problem. Anderson reached the certificate in less
than half of FISTA's iterations there.

Safeguard: every ``g_j`` is a proximal gradient step, so its objective is
at most that of the point it came from. An extrapolated point whose
objective exceeds that of the last ``g`` is dropped for that ``g`` and the
memory is cleared; the objectives of the ``g`` thus never increase.

Every iteration is one adjoint and one prediction, as in FISTA: the
prediction is linear in the blocks, so that of an extrapolated point is
the same combination of the ``g``'s predictions, which are computed anyway
(for their objective).
"""

import numpy as np

from ._anderson_core import Anderson
from .fista import FISTASolver

__all__ = ["AndersonSolver"]


class AndersonSolver(FISTASolver):
    """Proximal gradient with Anderson acceleration for the gated ReLU program.

    Same parameters, programs and certificate as :class:`.FISTASolver`
    (``max_iter`` counts proximal gradient steps); the certificate is
    evaluated every ``check_every`` steps at the last proximal gradient
    point ``g``.
    """

    name = "anderson"
    # On the ReLU program the extrapolated points leave the cones and the
    # safeguard rejects most of them: on the diabetes program with 100
    # gates it stalled 4e-3 above the optimum after 20,000 steps, where
    # FISTA reached it.
    activations = frozenset({"gated_relu"})
    #: Past points combined by the extrapolation. Measured on the program of
    #: benchmarks/large_n.py at n = 10,000, tol 1e-4: memory 5, 10, 20, 30,
    #: 50, 80 took 670, 700, 550, 450, 460, 460 iterations.
    memory = 30

    def _solve(self, program, init):
        loss, Y, sw, beta = program.loss, program.Y, program.sample_weight, program.beta
        fit_c = program.fit_intercept
        op, prox, (L, _), Z, c, cert, certify, curve = self._start(program, init)
        pred = op.prediction(Z)

        def objective(pred, Z, c):
            return loss.value(pred + c, Y, sw) + beta * prox.value(Z)

        ok = init is not None and certify(Z, pred, 0)
        # safe point (last g), its prediction and objective
        safe = (Z, c, pred, objective(pred, Z, c))
        accel = Anderson(self.memory)
        n_iter = 0
        while not ok and n_iter < self.max_iter:
            n_iter += 1
            if n_iter > 1 and objective(pred, Z, c) > safe[3]:
                Z, c, pred = safe[:3]
                accel.reset()
            G = loss.gradient(pred + c, Y, sw)
            gZ = prox(Z - op.adjoint(G) / L, beta / L)
            gc = c - G.sum(axis=0) / L if fit_c else c
            g_pred = op.prediction(gZ)
            safe = (gZ, gc, g_pred, objective(g_pred, gZ, gc))
            point = np.concatenate([gZ.ravel(), gc])
            theta = accel.push(point, point - np.concatenate([Z.ravel(), c]), g_pred)
            if theta is None:
                Z, c, pred = gZ, gc, g_pred
            else:
                x = accel.extrapolate(theta, accel.values)
                Z, c = x[:-len(gc)].reshape(op.shape), x[-len(gc):]
                pred = accel.extrapolate(theta, accel.extras)
            if n_iter % self.check_every == 0:
                ok = certify(gZ, g_pred, n_iter)
        Z, c, pred = safe[:3]
        return self._result(certify, op, Z, pred, n_iter, ok, cert, curve)

