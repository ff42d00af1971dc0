"""FISTA for the gated ReLU program on row chunks (dask).

The in-memory :class:`~skconvexnn.solvers.fista.FISTASolver` of the gated
program, written on the chunked reductions of
:class:`skconvexnn._dask.ChunkedProgram`: the blocks ``Z`` (``n_outputs x
n_patterns x n_features``) and the output intercept live in the client,
every row-sized array on the workers. Each chunk keeps its predictions
``P = sum_i D_i X z_i`` of the current point and ``Py`` of the extrapolated
one; a step sends ``Z`` to the chunks and brings back ``X^T D_i G`` (the
gradient's blocks), the summed gradient and a few loss values per chunk.

Same method as in memory: step ``1 / L`` from a power iteration on the
chunked operator (``loss.curvature`` times its squared norm), for every
loss a local ``L`` lowered before each step and doubled (never above that
bound) until the sufficient-decrease condition holds, the momentum of Scheinberg,
Goldfarb and Bai, O'Donoghue and Candes's gradient restart, and a
certificate every ``check_every`` steps: the network of the blocks with
its best intercept, and the lower bound of its dual point (chunked). The
fit stops when the relative gap is at most ``tol``.

Passes over the data per step: one for the squared loss (the prediction of
the new point, the extrapolation and the gradient there, fused), two for
the logistic loss (the trial point's loss, then the gradient), one more per
backtracking; a certificate costs two to four, plus the intercept's
L-BFGS evaluations for the logistic loss.
"""

import numpy as np

from .._progress import Progress
from ..losses import SquaredLoss
from ..program.penalties import GroupNorm, group_soft_threshold
from .base import BaseSolver, SolverResult, warm_start
from .dask_program import add_chunk_stats, chunk_adjoint, chunk_prediction

__all__ = ["DaskFISTASolver"]


# -- what runs on a chunk --------------------------------------------------------


def _power(ch, Z, c):
    root = np.sqrt(ch["s"])[:, None]
    M = root * (root * (chunk_prediction(ch, Z) + c))
    return chunk_adjoint(ch, M), M.sum(axis=0)


def _start(ch, Z):
    P = chunk_prediction(ch, Z)
    return {**ch, "P": P, "Pn": P}


def _trial(ch, Z, loss, c):
    """The chunk with the prediction of the trial point; its loss value."""
    Pn = chunk_prediction(ch, Z)
    return {**ch, "Pn": Pn}, loss.value(Pn + c, ch["Y"], ch["s"])


def _advance(ch, Z, w, loss, cy):
    """Move to the new point (``Z``, or the stored trial) and take the gradient.

    ``P <- Pn``, ``Py <- Pn + w (Pn - P)``; the gradient ``G`` of the loss
    at ``Py + cy`` goes back as ``X^T D_i G``, its sum, ``s^T P`` and (for
    the backtracking) the loss at ``Py + cy``.
    """
    Pn = ch["Pn"] if Z is None else chunk_prediction(ch, Z)
    Py = Pn + w * (Pn - ch["P"])
    Y, s = ch["Y"], ch["s"]
    value, G = loss.value_and_gradient(Py + cy, Y, s)
    out = {"adjoint": chunk_adjoint(ch, G), "gsum": G.sum(axis=0), "sP": s @ Pn,
           "value": value}
    return {**ch, "P": Pn, "Pn": Pn}, out


def _lipschitz(cp, curvature, n_iter=30, seed=0):
    """``curvature * ||S^{1/2} [A, 1]||_2^2`` by power iteration, as in memory."""
    rng = np.random.default_rng(seed)
    shape = (cp.n_outputs, cp.n_patterns, cp.n_features)
    Z = rng.standard_normal(shape)
    c = rng.standard_normal(shape[0])
    value = 1.0
    for _ in range(n_iter):
        size = np.sqrt(np.vdot(Z, Z) + c @ c)
        Z, c = Z / size, c / size
        parts = cp.chunks.reduce(_power, Z, c)
        Z, c = sum(p[0] for p in parts), sum(p[1] for p in parts)
        value = np.sqrt(np.vdot(Z, Z) + c @ c)
    return 1.1 * curvature * value


def _prox_step(chunks, cp, Zy, cy, grad_Z, grad_c, F_y, L, L_max):
    """The proximal gradient step from ``(Zy, cy)``, backtracking ``L``.

    ``L`` doubles (up to ``L_max``) until the sufficient-decrease condition
    holds at the trial point. Returns the new point, the ``L`` taken and
    whether the chunks hold the trial's prediction (``None``: not computed,
    ``L`` is at ``L_max``).
    """
    loss, beta = cp.loss, cp.beta
    while True:
        Z_new = group_soft_threshold(Zy - grad_Z / L, beta / L)
        c_new = cy - grad_c / L if cp.fit_intercept else cy
        trial = None
        if L >= L_max:
            return Z_new, c_new, L, trial
        value = float(sum(chunks.step(_trial, Z_new, loss, c_new)))
        trial = True
        dZ, dc = Z_new - Zy, c_new - cy
        model = (F_y + np.vdot(grad_Z, dZ) + np.dot(grad_c, dc)
                 + 0.5 * L * (np.vdot(dZ, dZ) + dc @ dc))
        if value <= model:
            return Z_new, c_new, L, trial
        L = min(2.0 * L, L_max)


class DaskFISTASolver(BaseSolver):
    """Accelerated proximal gradient for the gated program on dask chunks.

    Parameters
    ----------
    tol : float
        Relative duality gap at which to stop.
    max_iter : int
        Maximum number of proximal gradient steps.
    verbose : int
        Show the objective and the gap while it runs.
    """

    #: As the in-memory solver: the estimators treat its certificate alike.
    name = "fista"
    activations = frozenset({"gated_relu"})
    check_every = 10
    step_decrease = 0.9

    def solve(self, cp, init=None):
        """Solve the :class:`~skconvexnn._dask.ChunkedProgram` ``cp``.

        Warm started from ``init`` when its blocks fit (:func:`.base.warm_start`).
        """
        if cp.n_patterns == 0:
            raise ValueError("The program has no pattern.")
        loss, beta, fit_c = cp.loss, cp.beta, cp.fit_intercept
        k = cp.n_outputs
        curvature = getattr(loss, "curvature", None)
        L = _lipschitz(cp, 1.0 if curvature is None else curvature)
        L_max = np.inf if curvature is None else L
        init = warm_start(cp, init)  # float copies, or None
        if init is None:
            Z, c = np.zeros((k, cp.n_patterns, cp.n_features)), np.zeros(k)
        else:
            Z, c = init.V, init.intercept
        curve = []
        best = {"bound": -np.inf, "intercept": np.zeros(k), "gap": np.inf}
        progress = Progress("fista (dask)", self.verbose, self.max_iter)

        def certify(chunks, Z, sP, it):
            if not fit_c:
                c_star = np.zeros(k)
            elif isinstance(loss, SquaredLoss):
                c_star = cp.sY - sP
            else:
                c_star = cp.optimal_intercept(("key", "P"), chunks)
            value, bound = cp.certify(("key", "P"), c_star, chunks)
            obj = value + beta * GroupNorm.value(Z)
            if np.isfinite(bound):
                best["bound"] = max(best["bound"], bound)
            best["intercept"] = c_star
            gap = obj - best["bound"]
            curve.append(obj)
            progress.update(it, obj, gap)
            return bool(np.isfinite(gap)) and abs(gap) <= self.tol * max(
                abs(obj), np.finfo(float).tiny)

        chunks = cp.chunks.map(_start, Z)
        # the first gradient, at the starting point (no extrapolation)
        grad = add_chunk_stats(chunks.step(_advance, None, 0.0, loss, c))
        ok = init is not None and certify(chunks, Z, grad["sP"], 0)
        L_min = 1e-12 * L
        Zy, cy, t = Z, c, 1.0
        n_iter = 0
        while not ok and n_iter < self.max_iter:
            n_iter += 1
            grad_Z, grad_c = grad["adjoint"], grad["gsum"]
            F_y = grad["value"]
            L_old, L = L, max(L * self.step_decrease, L_min)
            Z_new, c_new, L, trial = _prox_step(chunks, cp, Zy, cy, grad_Z, grad_c,
                                                F_y, L, L_max)
            step_Z, step_c = Z_new - Z, c_new - c
            if np.vdot(Zy - Z_new, step_Z) + (cy - c_new) @ step_c > 0:
                t = 1.0
            t_new = 0.5 * (1.0 + np.sqrt(1.0 + 4.0 * t * t * L / L_old))
            w = (t - 1.0) / t_new
            Zy, cy = Z_new + w * step_Z, c_new + w * step_c
            # the stored trial's prediction, or the new point's (fused)
            new = None if trial else Z_new
            grad = add_chunk_stats(chunks.step(_advance, new, w, loss, cy))
            Z, c, t = Z_new, c_new, t_new
            if n_iter % self.check_every == 0:
                ok = certify(chunks, Z, grad["sP"], n_iter)
        if not curve or n_iter % self.check_every:
            ok = certify(chunks, Z, grad["sP"], n_iter) or ok
        progress.close()
        return SolverResult(
            V=Z, W=None, intercept=best["intercept"], n_iter=n_iter,
            converged=bool(ok), status="optimal" if ok else "max_iter",
            objective_curve=curve, lower_bound=best["bound"],
        )
