"""The gated program on row chunks of a dask array, and its reductions.

What the chunked fit of :mod:`skconvexnn._dask` needs from the data, each
piece running on the row chunks (a dask actor per chunk on a distributed
cluster): the prediction ``sum_i D_i X v_i`` and the adjoint ``X^T D_i r``
(as :class:`~skconvexnn.program.BlockOperator` computes them in
memory), the loss's value, gradient and output intercept, the lower bound
of :func:`skconvexnn.program.dual.lower_bound` (its dual norms and dual
function), and the recovery and pruning of
:mod:`skconvexnn.recovery` (user guide, "Recovering the network, and
pruning"; "Running on dask"). Only arrays of the size of the blocks, or a
few numbers per output and chunk, come back to the client.
"""

import operator
import sys

import numpy as np
from scipy.optimize import minimize

from ..losses import LogisticLoss, SquaredLoss
from ..recovery import (
    hidden_activations,
    network_predict,
    prune_weights,
    recover_neurons,
)
from ..program.operator import signed_adjoint, signed_prediction
from ..program.penalties import block_norms

__all__ = ["ChunkedProgram", "Chunks", "prune_chunked", "recover_chunked"]

#: ``prune_weights``'s ``max_dense``: beyond it the rank test is skipped, as
#: in memory (:func:`skconvexnn.recovery.prune_weights`).
_MAX_DENSE = 2e8

# -- the chunked program -------------------------------------------------------


class _Chunk:
    """One row chunk's arrays and the solver's state on them.

    On a distributed cluster each is a dask actor living on the worker
    that computed its rows: a call sends
    only its arguments and brings back only its result, without a task in
    the scheduler (a step of the solver is one call per chunk).
    """

    def __init__(self, data):
        self.data = data

    def map(self, fn, *args):
        """Replace the chunk's data by ``fn(data, *args)``."""
        self.data = fn(self.data, *args)

    def step(self, fn, *args):
        """``fn(data, *args)`` returns new data and a small result to send back."""
        self.data, out = fn(self.data, *args)
        return out

    def reduce(self, fn, *args):
        """``fn(data, *args)``: a small result to send back."""
        return fn(self.data, *args)


def _client():
    """The :class:`distributed.Client` that dask would compute with, or None.

    None when there is no client, or when dask is told to use local threads
    or processes (``dask.config.set(scheduler="threads")``).
    """
    if "distributed" not in sys.modules:
        return None
    from dask.base import get_scheduler
    from distributed import Client

    owner = getattr(get_scheduler(), "__self__", None)
    return owner if isinstance(owner, Client) else None


class Chunks:
    """The row chunks of a fit, each a :class:`_Chunk`.

    With a :class:`distributed.Client` the chunks are actors on the workers
    that computed them; without one (dask's local threads) they are plain
    objects in this process. :meth:`map` changes every chunk in place,
    :meth:`reduce` brings back a small result per chunk.
    """

    def __init__(self, delayeds):
        import dask

        client = _client()
        self.remote = client is not None
        if not self.remote:
            self.parts = [_Chunk(v) for v in dask.compute(*delayeds)]
            return
        # each actor is made where its chunk was computed (data locality)
        data = client.compute(list(delayeds))
        self._futures = [client.submit(_Chunk, f, actor=True, pure=False)
                         for f in data]
        self.parts = [f.result() for f in self._futures]
        del data  # the actors hold the arrays

    def __len__(self):
        return len(self.parts)

    def _call(self, method, fn, args):
        if not self.remote:
            return [getattr(p, method)(fn, *args) for p in self.parts]
        calls = [getattr(p, method)(fn, *args) for p in self.parts]
        return [c.result() for c in calls]

    def map(self, fn, *args):
        self._call("map", fn, args)
        return self

    def reduce(self, fn, *args):
        return self._call("reduce", fn, args)

    def step(self, fn, *args):
        """Update every chunk and bring back a small result of each (one call)."""
        return self._call("step", fn, args)

    def fetch(self, key):
        """The entry ``key`` of every chunk (small values only)."""
        return self.reduce(operator.getitem, key)


def chunk_prediction(ch, Z):
    """``sum_i D_i X z_ti`` on the chunk, shape (rows, k)."""
    return signed_prediction(ch["X"], ch["D"], Z)


def chunk_adjoint(ch, M):
    """``X^T D_i m_t`` on the chunk, shape (k, P, d)."""
    return signed_adjoint(ch["X"], ch["D"], M)


def _prediction(ch, source):
    """The prediction of ``source`` on the chunk (without output intercept).

    ``("key", name)``: stored in the chunk; ``("blocks", Z)``: of the
    blocks; ``("network", U, A, G)``: of a network; ``("zero",)``: zero.
    """
    kind = source[0]
    if kind == "key":
        return ch[source[1]]
    if kind == "blocks":
        return chunk_prediction(ch, source[1])
    if kind == "network":
        U, A, G = source[1:]
        return network_predict(ch["X"], U, A, 0.0, G)
    return np.zeros(ch["Y"].shape)


def _store(ch, source, key):
    """The chunk with the prediction of ``source`` stored as ``key``."""
    return {**ch, key: _prediction(ch, source)}


def _stats(ch, source, loss, c, what):
    """Small sums over the chunk at the prediction ``P`` of ``source`` plus ``c``.

    ``what``: ``"sP"`` (``s^T P``), ``"value"`` (loss), ``"gsum"`` (summed
    gradient), ``"adjoint"`` (``X^T D_i G``).
    """
    P = _prediction(ch, source)
    Y, s = ch["Y"], ch["s"]
    out = {}
    if "sP" in what:
        out["sP"] = s @ P
    Pc = P + c
    if "value" in what:
        out["value"] = loss.value(Pc, Y, s)
    if "gsum" in what or "adjoint" in what or "quad" in what:
        G = loss.gradient(Pc, Y, s)
        out["gsum"] = G.sum(axis=0)
        if "adjoint" in what:
            out["adjoint"] = chunk_adjoint(ch, G)
        if "quad" in what:  # the squared loss's dual is a parabola in alpha
            pos = s > 0
            out["GY"] = np.sum(G * Y, axis=0)
            out["GG"] = np.sum(G[pos] ** 2 / s[pos, None], axis=0)
    if "hess" in what:  # the logistic loss's Hessian in the intercept
        Q = loss.probabilities(Pc)
        if Q.shape[1] == 1:
            out["hess"] = np.array([[s @ (Q[:, 0] * (1.0 - Q[:, 0]))]])
        else:
            out["hess"] = np.diag(s @ Q) - (Q * s[:, None]).T @ Q
    return out


def _duals(ch, source, loss, c, shift, alphas):
    """Dual function of ``alpha Lam`` on the chunk for every ``alpha``.

    ``Lam = -G + s shift`` is the dual point of the prediction (the loss's
    default :meth:`~skconvexnn.losses.Loss.dual_point`, with ``shift`` the
    summed gradient over the total weight when there is an intercept).
    """
    P = _prediction(ch, source) + c
    Y, s = ch["Y"], ch["s"]
    Lam = -loss.gradient(P, Y, s) + s[:, None] * shift
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        return np.array([loss.dual(a * Lam, Y, s) for a in alphas])


def add_chunk_stats(parts):
    """Sum of the per-chunk dicts of :func:`_stats`."""
    return {key: sum(p[key] for p in parts) for key in parts[0]}


class ChunkedProgram:
    """The gated program on row chunks, with the reductions a solver needs.

    The counterpart of :class:`~skconvexnn.program.ConvexProgram` for
    chunked data: ``chunks`` hold ``X`` (design matrix), ``D`` (patterns),
    ``Y`` (targets), ``s`` (weights summing to one over all chunks).
    """

    activation = "gated_relu"
    cone_constrained = False
    pool = None

    def __init__(self, chunks, beta, loss, fit_intercept, n_samples, n_features,
                 n_patterns, n_outputs, totals):
        self.chunks = chunks
        self.beta = float(beta)
        self.loss = loss
        self.fit_intercept = fit_intercept
        self.n_samples = self.n_rows = n_samples
        self.n_features = n_features
        self.n_patterns = n_patterns
        self.n_outputs = n_outputs
        #: ``S = sum s`` (one up to rounding), ``sY = s^T Y``, ``Sx = X^T D_i s``
        self.S, self.sY, self.Sx = totals

    def zeros(self):
        shape = (self.n_outputs, self.n_patterns, self.n_features)
        return np.zeros(shape), None

    def stats(self, source, c, what, chunks=None):
        chunks = self.chunks if chunks is None else chunks
        return add_chunk_stats(chunks.reduce(_stats, source, self.loss, c, what))

    def stored(self, source, key="Q"):
        """Chunks with the prediction of ``source`` stored (for repeated passes)."""
        return self.chunks.map(_store, source, key)

    # -- output intercept, objective and lower bound ----------------------

    def optimal_intercept(self, source, chunks=None):
        """``argmin_c F(P + c)`` at the prediction of ``source``, chunked.

        As :meth:`Loss.optimal_intercept`: closed form for the squared
        loss, L-BFGS from the weighted log-odds for the logistic loss, and
        L-BFGS from zero for another loss (each evaluation one pass).
        """
        k, loss = self.n_outputs, self.loss
        if not self.fit_intercept:
            return np.zeros(k)
        zero = np.zeros(k)
        if isinstance(loss, SquaredLoss):
            return self.sY - self.stats(source, zero, ("sP",), chunks)["sP"]
        c0 = zero
        if isinstance(loss, LogisticLoss):
            sP = self.stats(source, zero, ("sP",), chunks)["sP"]
            if k == 1:
                prior = np.clip(self.sY, 1e-12, 1 - 1e-12)
                c0 = np.log(prior / (1 - prior)) - sP
            else:
                c0 = np.log(np.clip(self.sY, 1e-12, None)) - sP
            return self._newton_intercept(source, c0, chunks)

        def fun(c):
            out = self.stats(source, c0 + c, ("value", "gsum"), chunks)
            return out["value"], out["gsum"]

        res = minimize(fun, np.zeros(k), jac=True, method="L-BFGS-B",
                       options={"gtol": 1e-12, "ftol": 1e-15, "maxiter": 500})
        c = c0 + res.x
        if isinstance(loss, LogisticLoss) and k > 1:
            c = c - c.mean()  # softmax is shift invariant
        return c

    def _newton_intercept(self, source, c, chunks):
        """Newton's method for the logistic loss's intercept (one pass a step).

        The loss is convex and smooth in ``c``; each pass brings back its
        value, gradient and Hessian (``k x k``); a step that does not lower
        the value is halved. Stops when the gradient is at rounding level
        (``1e-12``, L-BFGS's ``gtol`` in memory).
        """
        what = ("value", "gsum", "hess")
        out = self.stats(source, c, what, chunks)
        for _ in range(100):
            g = out["gsum"]
            if np.max(np.abs(g)) <= 1e-12:
                break
            step = np.linalg.lstsq(out["hess"], g, rcond=None)[0]
            for _ in range(40):
                new = self.stats(source, c - step, what, chunks)
                if new["value"] <= out["value"] + 1e-15 * abs(out["value"]):
                    break
                step = step / 2
            else:
                break
            if np.max(np.abs(step)) <= 1e-15 * max(1.0, np.max(np.abs(c))):
                c, out = c - step, new
                break
            c, out = c - step, new
        if self.n_outputs > 1:
            c = c - c.mean()  # softmax is shift invariant
        return c

    def certify(self, source, c, chunks=None):
        """Loss value at ``P + c`` and the lower bound of its dual point.

        The chunked :func:`skconvexnn.program.dual.lower_bound` of a gated
        program at the prediction ``P`` of ``source`` whose optimal
        intercept is ``c``: the dual point ``Lam`` (negative gradient, made
        to sum to zero with an intercept), scaled into the dual feasible
        set by its largest dual norm ``max_i ||X^T D_i Lam_t||`` and then
        by the best factor below that.

        Returns
        -------
        value : float
        bound : float
        """
        squared = isinstance(self.loss, SquaredLoss)
        what = ("value", "adjoint") + (("quad",) if squared else ())
        out = self.stats(source, c, what, chunks)
        shift, biggest = self._dual_norm(out)
        alpha_max = 1.0 if biggest <= self.beta else self.beta / biggest
        chunks = self.chunks if chunks is None else chunks
        if squared:
            # dual(a Lam) = a <Lam, Y> - a^2/2 sum |Lam_j|^2 / s_j, with
            # Lam = -G + s shift expanded over the chunks' sums
            lin = float(np.sum(-out["GY"] + shift * self.sY))
            quad = float(np.sum(out["GG"] - 2 * shift * out["gsum"] + shift**2 * self.S))
            a = alpha_max if quad <= 0 else float(np.clip(lin / quad, 0.0, alpha_max))
            values = [0.0, alpha_max * lin - 0.5 * alpha_max**2 * quad,
                      a * lin - 0.5 * a**2 * quad]
            return float(out["value"]), float(max(values))

        def dual(alphas):
            parts = chunks.reduce(_duals, source, self.loss, c, shift,
                                  np.asarray(alphas, dtype=float))
            return np.sum(parts, axis=0)

        return float(out["value"]), _maximize_dual(dual, alpha_max)

    def network_objective(self, U, A, c, G):
        """Training objective of a gated network (chunked)."""
        value = self.stats(("network", U, A, G), c, ("value",))["value"]
        return value + 0.5 * self.beta * (np.sum(U**2) + np.sum(A**2))

    def zero_network_beta(self):
        """:func:`skconvexnn.program.dual.zero_network_beta`, chunked."""
        c = self.optimal_intercept(("zero",))
        return self._dual_norm(self.stats(("zero",), c, ("adjoint",)))[1], c

    def _dual_norm(self, out):
        """Shift and largest dual norm of the dual point of :meth:`stats` sums.

        The dual point is ``Lam = -G + s shift`` (``shift`` the summed
        gradient over the total weight with an intercept, else 0), and
        ``X^T D_i Lam_t = -X^T D_i G_t + shift_t X^T D_i s``.
        """
        shift = out["gsum"] / self.S if self.fit_intercept else np.zeros(self.n_outputs)
        G = -out["adjoint"] + shift[:, None, None] * self.Sx[None]
        return shift, float(block_norms(G).max(initial=0.0))


def _maximize_dual(dual, alpha_max, n_grid=65, rounds=3):
    """``max dual(alpha)`` over ``[0, alpha_max]`` (concave), in a few passes.

    A grid of ``n_grid`` values is refined ``rounds`` times around its best
    point (a bracket 32 times smaller each time): the maximum is then known
    to ``3e-5 alpha_max``, so the value to about ``1e-9`` of its curvature.
    Every ``alpha`` of the interval gives a valid bound.
    """
    if alpha_max <= 0:
        return float(dual([0.0])[0])
    lo, hi, best = 0.0, alpha_max, -np.inf
    for _ in range(rounds):
        grid = np.linspace(lo, hi, n_grid)
        values = dual(grid)
        values = np.where(np.isnan(values), -np.inf, values)
        i = int(np.argmax(values))
        best = max(best, float(values[i]))
        step = grid[1] - grid[0]
        lo, hi = max(grid[i] - step, 0.0), min(grid[i] + step, alpha_max)
    return best


# -- recovery, pruning, certificate --------------------------------------------


def _activation_r(ch, U, A, G, sel, w):
    """``R`` of the QR of this chunk's rows of ``[Q^T]`` (see ``prune_network``)."""
    H = hidden_activations(ch["X"], U[sel], G[sel])
    Q = np.einsum("nj,jk->jnk", H, A[sel]).reshape(len(sel), -1) / w[:, None]
    return np.linalg.qr(Q.T, mode="r")


def prune_chunked(cp, U, A, G):
    """:func:`skconvexnn.recovery.prune_network` on the chunks (TSQR).

    ``prune_weights`` works on ``M = [Q^T; 1]``, one column per neuron and
    a row per sample and output. Its singular values and right singular
    vectors are those of ``[R; 1]`` with ``R`` the triangular factor of
    ``Q^T`` (the same Gram matrix ``Q Q^T + 1 1^T``); ``R`` comes from the
    chunks' own factors (a tall-skinny QR), so ``prune_weights`` runs on
    ``R^T`` in place of ``Q``. As in memory, the rank test is skipped when
    ``M`` is larger than ``max_dense`` and not forced by the dimension.
    """
    if U.shape[0] == 0:
        return U, A, G
    groups = np.argmax(np.abs(A), axis=1)
    w = np.linalg.norm(U, axis=1) * np.linalg.norm(A, axis=1)
    new_w = w.copy()
    rows = cp.n_samples * A.shape[1] + 1
    for g in np.unique(groups):
        sel = np.flatnonzero((groups == g) & (w > 0))
        m = len(sel)
        if m == 0 or (m <= rows and rows * m * m > _MAX_DENSE):
            continue
        parts = cp.chunks.reduce(_activation_r, U, A, G, sel, w[sel])
        R = np.linalg.qr(np.vstack(parts), mode="r")
        new_w[sel] = prune_weights(R.T, w[sel])
    keep = new_w > 0
    scale = np.sqrt(new_w[keep] / w[keep])[:, None]
    U, A = U[keep] * scale, A[keep] * scale
    return U, A, G[keep]


def recover_chunked(cp, result, gates, rtols=(1e-6, 1e-4, 1e-2)):
    """:func:`skconvexnn.recovery.recover_best_network` on the chunks."""
    c0 = np.asarray(result.intercept, dtype=float)
    V = result.V
    memo = {}

    def objective(U, A, G, c):
        key = (U.tobytes(), A.tobytes(), c.tobytes())
        if key not in memo:
            memo[key] = cp.network_objective(U, A, c, G)
        return memo[key]

    def refit(U, A, G):
        if not cp.fit_intercept:
            return c0
        if len(U) == 0:
            return cp.optimal_intercept(("zero",))
        stored = cp.stored(("network", U, A, G))
        return cp.optimal_intercept(("key", "Q"), stored)

    candidates = [recover_neurons(cp, V, None, gates, rtol) for rtol in rtols]
    candidates = [(U, A, G, c0) for U, A, G in candidates[:1]] + [
        (U, A, G, refit(U, A, G)) for U, A, G in candidates]
    empty = recover_neurons(cp, 0 * V, None, gates)
    candidates.append((*empty, refit(*empty)))
    return min(candidates, key=lambda cand: objective(*cand))
