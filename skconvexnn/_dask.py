"""Fits and predictions on dask arrays: the data stay on the workers.

:class:`~skconvexnn.ConvexReLURegressor` and
:class:`~skconvexnn.ConvexReLUClassifier` with ``activation="gated_relu"``
accept a :class:`dask.array.Array` ``X`` (and ``y``, ``sample_weight``)
chunked by rows. The fit never gathers ``X`` (nor anything with a row per
sample) in the client: each row chunk becomes one object on a worker
(its design matrix ``[X_j, 1]``, its activation patterns ``D_j``, its
targets and weights, and the solver's current predictions), and every
product with ``X`` runs there, chunk by chunk:

* the patterns ``1[X g >= 0]`` and their deduplication (a digest per
  pattern and chunk),
* the prediction ``sum_i D_i X v_i`` and the loss gradient at it,
* the adjoint ``X^T D_i r`` (one ``(n_outputs, n_patterns, n_features)``
  array per chunk, summed in the client),
* the loss values, the output intercept, the dual norms and the dual
  function of the certificate,
* the recovery of the network (its objective per candidate) and its
  pruning (a tall-skinny QR of the neurons' activations, one small ``R``
  per chunk).

Only arrays of the size of the blocks ``(n_outputs, n_patterns,
n_features)``, a few numbers per output, or ``(n_chunks, ...)`` arrays of
such sizes travel. The solver is
:class:`skconvexnn.solvers.dask_fista.DaskFISTASolver`, the in-memory FISTA of the gated program written on
these chunked reductions, with the same step, momentum, restart, stopping
rule (relative duality gap ``<= tol``) and certificate, so the fit equals
the in-memory one on the same data to the solver's tolerance.

Any scheduler runs it: a :class:`distributed.Client` (the chunks then live
in the workers' memory), or dask's local threads without a client (then
the chunks live in this process, which only saves the copy of ``X`` that
scikit-learn's validation would make).

What a dask ``X`` supports is in :data:`SUPPORTED`; anything else raises a
``ValueError`` that says so (:func:`check_dask_options`).
"""

import functools
import hashlib
import operator
import sys
import warnings

import numpy as np
from scipy.optimize import minimize
from sklearn.exceptions import ConvergenceWarning, DataConversionWarning
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted

from .losses import LogisticLoss, Loss, SquaredLoss, get_loss
from .recovery import network_predict, recover_neurons

__all__ = ["SUPPORTED", "dask_rows", "fit_dask", "is_dask_array", "reject_dask"]

#: What a fit on a dask array supports (the error messages quote it).
SUPPORTED = (
    "ConvexReLURegressor and ConvexReLUClassifier with activation='gated_relu', "
    "solver='auto' or 'fista' (the chunked FISTA solver), "
    "arrangements='gaussian' or gate vectors, a differentiable loss "
    "(regressor: 'squared' or a differentiable Loss; classifier: 'logistic' "
    "or 'squared'), with or without fit_intercept, sample_weight, warm_start"
)

#: ``prune_weights``'s ``max_dense``: beyond it the rank test is skipped, as
#: in memory (:func:`skconvexnn.recovery.prune_weights`).
_MAX_DENSE = 2e8


def is_dask_array(X):
    """Whether ``X`` is a :class:`dask.array.Array` (without importing dask)."""
    module = sys.modules.get("dask.array")
    return module is not None and isinstance(X, module.Array)


def reject_dask(estimator, X):
    """Raise a clear error for a dask ``X`` where only in-memory data work."""
    if is_dask_array(X):
        raise ValueError(
            f"{type(estimator).__name__} does not fit a dask array. Fits on "
            f"dask arrays: {SUPPORTED}. To cross-validate on a dask cluster, "
            "pass in-memory data and run the folds under "
            "joblib.parallel_backend('dask') (user guide, 'Running on dask')."
        )


# -- predictions ---------------------------------------------------------------


def _apply(block, estimator, name):
    return getattr(estimator, name)(block)


def dask_rows(method):
    """Run ``method(X)`` chunk by chunk when ``X`` is a dask array.

    The result is a dask array with the row chunks of ``X`` (nothing is
    computed); any other ``X`` goes to ``method`` unchanged.
    """

    @functools.wraps(method)
    def wrapper(self, X):
        if not is_dask_array(X):
            return method(self, X)
        check_is_fitted(self)
        if X.ndim != 2:
            raise ValueError(f"Expected a 2D dask array, got {X.ndim}D.")
        if X.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {X.shape[1]} features, but {type(self).__name__} is "
                f"expecting {self.n_features_in_} features as input."
            )
        X = X.rechunk({1: -1})
        # the output's type and width, from one row in memory
        sample = method(self, np.zeros((1, X.shape[1])))
        if sample.ndim == 1:
            return X.map_blocks(_apply, self, method.__name__, drop_axis=1,
                                dtype=sample.dtype, meta=sample[:0])
        return X.map_blocks(_apply, self, method.__name__, dtype=sample.dtype,
                            chunks=(X.chunks[0], (sample.shape[1],)),
                            meta=sample[:0])

    return wrapper


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


def _pred_blocks(ch, Z):
    """``sum_i D_i X z_ti`` on the chunk, shape (rows, k)."""
    k, B, d = Z.shape
    S = ch["D"] @ Z.transpose(1, 0, 2).reshape(B, k * d)
    return np.einsum("nkd,nd->nk", S.reshape(len(S), k, d), ch["X"])


def _adjoint(ch, M):
    """``X^T D_i m_t`` on the chunk, shape (k, P, d)."""
    X, D = ch["X"], ch["D"]
    n, k = M.shape
    XM = (X[:, None, :] * M[:, :, None]).reshape(n, -1)
    out = (XM.T @ D).reshape(k, X.shape[1], D.shape[1])
    return out.transpose(0, 2, 1)


def _prediction(ch, source):
    """The prediction of ``source`` on the chunk (without output intercept).

    ``("key", name)``: stored in the chunk; ``("blocks", Z)``: of the
    blocks; ``("network", U, A, G)``: of a network; ``("zero",)``: zero.
    """
    kind = source[0]
    if kind == "key":
        return ch[source[1]]
    if kind == "blocks":
        return _pred_blocks(ch, source[1])
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
            out["adjoint"] = _adjoint(ch, G)
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


def _add(parts):
    """Sum of the per-chunk dicts of :func:`_stats`."""
    return {key: sum(p[key] for p in parts) for key in parts[0]}


class ChunkedProgram:
    """The gated program on row chunks, with the reductions a solver needs.

    The counterpart of :class:`~skconvexnn._program.ConvexProgram` for
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
        return _add(chunks.reduce(_stats, source, self.loss, c, what))

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

        The chunked :func:`skconvexnn._program.lower_bound` of a gated
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
        shift = out["gsum"] / self.S if self.fit_intercept else np.zeros(self.n_outputs)
        # X^T D_i Lam_t = -X^T D_i G_t + shift_t X^T D_i s
        G = -out["adjoint"] + shift[:, None, None] * self.Sx[None]
        biggest = float(np.sqrt(np.einsum("kbd,kbd->kb", G, G)).max(initial=0.0))
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
        """:func:`skconvexnn._program.zero_network_beta`, chunked."""
        c = self.optimal_intercept(("zero",))
        out = self.stats(("zero",), c, ("adjoint",))
        shift = out["gsum"] / self.S if self.fit_intercept else np.zeros(self.n_outputs)
        G = -out["adjoint"] + shift[:, None, None] * self.Sx[None]
        return float(np.sqrt(np.einsum("kbd,kbd->kb", G, G)).max(initial=0.0)), c


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


# -- validation and data preparation on the chunks -----------------------------


def check_dask_options(estimator, sample_weight=None):
    """Raise a ``ValueError`` for an option that a dask fit does not support."""
    from ._base import ConvexReLUMixin
    from ._classification import ConvexReLUClassifier
    from ._regression import ConvexReLURegressor

    name = type(estimator).__name__

    def refuse(what):
        raise ValueError(
            f"{what} is not supported with a dask array X. Supported: "
            f"{SUPPORTED}. Otherwise pass in-memory data (X.compute())."
        )

    if (not isinstance(estimator, (ConvexReLURegressor, ConvexReLUClassifier))
            or type(estimator)._design is not ConvexReLUMixin._design
            or hasattr(estimator, "betas")):
        refuse(f"{name}")
    if estimator.activation != "gated_relu":
        refuse(f"activation={estimator.activation!r} (the ReLU program's cone "
               "constraints need per-sample projections)")
    if estimator.solver.lower() not in ("auto", "fista"):
        refuse(f"solver={estimator.solver!r}")
    arr = estimator.arrangements
    if isinstance(arr, str) and arr != "gaussian":
        refuse(f"arrangements={arr!r}")
    loss = _loss(estimator)
    if not getattr(loss, "smooth", True):
        refuse(f"loss={loss.name!r} (not differentiable)")
    if type(loss).dual_point is not Loss.dual_point:
        refuse(f"loss {type(loss).__name__} (its own dual_point)")
    if sample_weight is not None and np.ndim(sample_weight) != 1:
        raise ValueError("sample_weight must be 1D with one weight per sample.")


def _loss(estimator):
    """The loss the fit solves with (as the estimator's ``_training_data``)."""
    return estimator.loss if isinstance(estimator.loss, Loss) else get_loss(estimator.loss)


def _is_classifier(estimator):
    from ._classification import ConvexReLUClassifier

    return isinstance(estimator, ConvexReLUClassifier)


def _raw_stats(raw, classifier):
    """Validation numbers of one raw chunk ``(X, y, w)``."""
    X, y, w = raw
    out = {
        "X_nan": bool(np.isnan(X).any()), "X_inf": bool(np.isinf(X).any()),
        "w_bad": bool(not np.all(np.isfinite(w))), "w_neg": int(np.sum(w < 0)),
        "w_min": float(w.min(initial=np.inf)), "w_sum": float(w.sum()),
    }
    if classifier:
        if y.dtype.kind == "f":
            out["y_nan"] = bool(np.isnan(y).any())
            out["y_inf"] = bool(np.isinf(y).any())
            finite = y[np.isfinite(y)]
            out["y_continuous"] = bool(np.any(finite != np.round(finite)))
        if out.get("y_nan") or out.get("y_inf") or out.get("y_continuous"):
            out["classes"] = out["weighted"] = np.empty(0, dtype=y.dtype)
        else:
            out["classes"] = np.unique(y)
            out["weighted"] = np.unique(y[w > 0])
    else:
        Y = y.reshape(len(y), -1).astype(np.float64)
        out["y_nan"] = bool(np.isnan(Y).any())
        out["y_inf"] = bool(np.isinf(Y).any())
        out["wY"] = np.maximum(w, 0.0) @ Y
    return out


def _spread(raw, mean):
    """Per output: ``max |Y - mean|`` on the chunk and ``w^T ((Y - mean)/max)^2``."""
    _, y, w = raw
    R = y.reshape(len(y), -1).astype(np.float64) - mean
    big = np.max(np.abs(R), axis=0, initial=0.0)
    safe = np.where(big == 0, 1.0, big)
    return big, np.maximum(w, 0.0) @ (R / safe) ** 2


def _build(raw, gates, fit_intercept, targets, W):
    """The chunk object: design matrix, targets, weights, patterns of all gates."""
    X, y, w = raw
    X = X.astype(np.float64)
    X1 = np.hstack([X, np.ones((len(X), 1))]) if fit_intercept else X
    kind = targets[0]
    if kind == "regression":
        _, mean, scale = targets
        Y = (y.reshape(len(y), -1).astype(np.float64) - mean) / scale
    else:
        from ._classification import encode_targets

        _, classes, loss_name = targets
        codes = np.searchsorted(classes, y)
        Y = encode_targets(codes, len(classes), loss_name)
    s = np.maximum(w.astype(np.float64), 0.0) / W
    patterns = (X1 @ gates.T >= 0).astype(np.float64)
    return {"X": X1, "Y": Y, "s": s, "D": patterns}


def _digests(ch):
    """Per gate: digest of its pattern on the chunk's weighted rows, and any()."""
    D = ch["D"][ch["s"] > 0]
    keys = np.packbits(D.T.astype(bool), axis=1)
    digests = [hashlib.blake2b(row.tobytes(), digest_size=16).digest() for row in keys]
    return digests, D.any(axis=0)


def _select(ch, first):
    out = dict(ch)
    out["D"] = np.ascontiguousarray(ch["D"][:, first])
    return out


def _weighted_targets(ch):
    return ch["s"].sum(), ch["s"] @ ch["Y"], _adjoint(ch, ch["s"][:, None])[0]


def _as_dask(a, rows, name):
    import dask.array as da

    if is_dask_array(a):
        if a.ndim == 0 or a.shape[0] != sum(rows):
            raise ValueError(
                "Found input variables with inconsistent numbers of samples: "
                f"[{sum(rows)}, {a.shape[0] if a.ndim else 0}] ({name})."
            )
        return a.rechunk((rows,) + (-1,) * (a.ndim - 1))
    a = np.asarray(a)
    if a.ndim == 0 or len(a) != sum(rows):
        raise ValueError(
            "Found input variables with inconsistent numbers of samples: "
            f"[{sum(rows)}, {len(a) if a.ndim else 0}] ({name})."
        )
    return da.from_array(a, chunks=(rows,) + a.shape[1:])


def _prepare(estimator, X, y, sample_weight):
    """Validate the chunks and build the chunked program's data.

    Returns the chunks (each a dict ``X``, ``Y``, ``s``, ``D`` of all
    gates), the loss, ``n_outputs`` and the raw gates drawn.
    """
    import dask
    import dask.array as da

    classifier = _is_classifier(estimator)
    if X.ndim != 2:
        raise ValueError(f"Expected a 2D dask array X, got {X.ndim}D.")
    if np.isnan(X.shape[0]) or any(np.isnan(c) for c in X.chunks[0]):
        raise ValueError("X has unknown chunk sizes; call X.compute_chunk_sizes() "
                         "first.")
    n, d = X.shape
    if n < 1:
        raise ValueError(f"Found array with 0 sample(s) (shape={X.shape}) while a "
                         "minimum of 1 is required.")
    if d < 1:
        raise ValueError(f"Found array with 0 feature(s) (shape={X.shape}) while "
                         "a minimum of 1 is required.")
    if X.dtype.kind not in "biuf":
        raise ValueError(f"X must be numeric for a dask fit; got dtype {X.dtype}.")
    X = X.rechunk({1: -1}).astype(np.float64)
    rows = X.chunks[0]
    y = _as_dask(y, rows, "y")
    if classifier:
        if y.ndim == 2 and y.shape[1] == 1:
            warnings.warn("A column-vector y was passed when a 1d array was "
                          "expected.", DataConversionWarning, stacklevel=3)
            y = y[:, 0]
        if y.ndim != 1:
            raise ValueError(f"y should be a 1d array, got an array of shape "
                             f"{y.shape} instead.")
    else:
        if y.ndim not in (1, 2):
            raise ValueError(f"y must be 1D or 2D; got {y.ndim}D.")
        if y.dtype.kind not in "biuf":
            raise ValueError(f"y must be numeric for a regressor; got dtype {y.dtype}.")
    w = (da.ones(n, chunks=(rows,)) if sample_weight is None
         else _as_dask(sample_weight, rows, "sample_weight").astype(np.float64))
    if sample_weight is not None and w.ndim != 1:
        raise ValueError("sample_weight must be 1D with one weight per sample.")
    raw = Chunks([
        dask.delayed(tuple)([a, b, c]) for a, b, c in zip(
            X.to_delayed().ravel(), y.to_delayed().ravel(), w.to_delayed().ravel())
    ])
    stats = raw.reduce(_raw_stats, classifier)
    if any(s["X_nan"] for s in stats):
        raise ValueError("Input X contains NaN.")
    if any(s["X_inf"] for s in stats):
        raise ValueError("Input X contains infinity or a value too large for "
                         "dtype('float64').")
    if any(s.get("y_nan") for s in stats):
        raise ValueError("Input y contains NaN.")
    if any(s.get("y_inf") for s in stats):
        raise ValueError("Input y contains infinity or a value too large for "
                         "dtype('float64').")
    if any(s["w_bad"] for s in stats):
        raise ValueError("Input sample_weight contains NaN or infinity.")
    negative = sum(s["w_neg"] for s in stats)
    if negative:
        raise ValueError(
            f"sample_weight must be non-negative; got {negative} negative "
            f"weight(s), the smallest {min(s['w_min'] for s in stats):.6g}.")
    W = sum(s["w_sum"] for s in stats)
    if not W > 0:
        raise ValueError("sample_weight must have a positive sum.")
    estimator.n_features_in_ = d
    estimator.__dict__.pop("feature_names_in_", None)
    loss = _loss(estimator)
    if classifier:
        if any(s.get("y_continuous") for s in stats):
            check_classification_targets(np.array([0.5, 1.5, 2.25]))  # raises
        classes = np.unique(np.concatenate([s["classes"] for s in stats]))
        check_classification_targets(classes)
        estimator.classes_ = classes
        if len(classes) < 2:
            raise ValueError(
                "The classifier needs samples of at least two classes; the "
                f"data contains only one class: {classes[0].item()!r}.")
        weighted = np.unique(np.concatenate([s["weighted"] for s in stats]))
        if sample_weight is not None and len(weighted) == 1:
            raise ValueError(
                "The classifier needs samples of at least two classes "
                f"with positive sample_weight; only class {weighted[0].item()!r} "
                "has any.")
        targets = ("classification", classes, estimator.loss)
        k = 1 if len(classes) == 2 else len(classes)
    else:
        estimator._y_1d = y.ndim == 1
        k = 1 if y.ndim == 1 else y.shape[1]
        standardize = isinstance(estimator.loss, str) and estimator._standardize_targets
        if standardize:
            mean = (sum(s["wY"] for s in stats) / W if estimator.fit_intercept
                    else np.zeros(k))
            spreads = raw.reduce(_spread, mean)
            big = np.max([b for b, _ in spreads], axis=0)
            safe = np.where(big == 0, 1.0, big)
            total = sum((b / safe) ** 2 * q for b, q in spreads) / W
            big[big == 0] = 1.0
            scale = big * np.sqrt(total)
            constant = scale <= 10 * np.finfo(float).eps * np.maximum(np.abs(mean),
                                                                      1e-300)
            scale[constant | ~np.isfinite(scale)] = 1.0
        else:
            mean, scale = np.zeros(k), np.ones(k)
        estimator.y_mean_, estimator.y_scale_ = mean, scale
        estimator._target_shift = (scale, mean)
        targets = ("regression", mean, scale)
    rng = check_random_state(estimator.random_state)
    d1 = d + estimator.fit_intercept

    class _Shape:
        shape = (n, d1)

    gates = estimator._make_gates(_Shape(), rng)
    chunks = raw.map(_build, gates, estimator.fit_intercept, targets, W)
    return chunks, loss, k, gates, n


def _unique_gates(chunks, gates):
    """Chunks and gates of the distinct nonzero patterns (as ``unique_patterns``)."""
    found = chunks.reduce(_digests)
    seen, first = set(), []
    nonzero = np.any([nz for _, nz in found], axis=0) if len(gates) else []
    for g in range(len(gates)):
        key = b"".join(digests[g] for digests, _ in found)
        if key in seen:
            continue
        seen.add(key)
        if nonzero[g]:
            first.append(g)
    first = np.array(first, dtype=np.intp)
    return chunks.map(_select, first), gates[first]


# -- recovery, pruning, certificate --------------------------------------------


def _activation_r(ch, U, A, G, sel, w):
    """``R`` of the QR of this chunk's rows of ``[Q^T]`` (see ``prune_network``)."""
    from .recovery import hidden_activations

    H = hidden_activations(ch["X"], U[sel], G[sel])
    Q = np.einsum("nj,jk->jnk", H, A[sel]).reshape(len(sel), -1) / w[:, None]
    return np.linalg.qr(Q.T, mode="r")


def _prune_weights(R_of, n_values, w, rtol=1e-12):
    """:func:`skconvexnn.recovery.prune_weights` with ``M`` given by its ``R``.

    ``M = [Q^T; 1]`` has ``n_values + 1`` rows; ``R_of()`` returns the
    ``R`` of its QR (computed once, from the chunks), whose columns have
    the same singular values and right singular vectors as ``M``'s.
    """
    w = np.array(w, dtype=float)
    R = None
    while True:
        idx = np.flatnonzero(w > 0)
        m = idx.size
        if m == 0:
            break
        rows = n_values + 1
        forced = m > rows
        if not forced and rows * m * m > _MAX_DENSE:
            break
        if R is None:
            R = R_of()
        _, s, Vt = np.linalg.svd(R[:, idx], full_matrices=forced)
        if not forced and s[-1] > rtol * s[0]:
            break
        c = Vt[-1]
        if c.max() <= 0:
            c = -c
        pos = c > 0
        ratios = w[idx][pos] / c[pos]
        j = np.argmin(ratios)
        w[idx] = np.maximum(w[idx] - ratios[j] * c, 0.0)
        w[idx[np.flatnonzero(pos)[j]]] = 0.0
    return w


def prune_chunked(cp, U, A, G):
    """:func:`skconvexnn.recovery.prune_network` on the chunks (TSQR)."""
    if U.shape[0] == 0:
        return U, A, G
    groups = np.argmax(np.abs(A), axis=1)
    w = np.linalg.norm(U, axis=1) * np.linalg.norm(A, axis=1)
    new_w = w.copy()
    n_values = cp.n_samples * A.shape[1]
    for g in np.unique(groups):
        sel = np.flatnonzero((groups == g) & (w > 0))

        def R_of(sel=sel):
            parts = cp.chunks.reduce(_activation_r, U, A, G, sel, w[sel])
            stacked = np.vstack([*parts, np.ones((1, len(sel)))])
            return np.linalg.qr(stacked, mode="r")

        new_w[sel] = _prune_weights(R_of, n_values, w[sel])
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


# -- the estimator's fit ------------------------------------------------------


def fit_dask(estimator, X, y, sample_weight=None):
    """Fit ``estimator`` (gated ReLU) on a dask array ``X``; returns it.

    Sets the same fitted attributes as an in-memory fit.
    """
    from .solvers.base import SolverResult
    from .solvers.dask_fista import DaskFISTASolver

    check_dask_options(estimator, sample_weight)
    chunks, loss, k, gates, n = _prepare(estimator, X, y, sample_weight)
    chunks, estimator.gates_ = _unique_gates(chunks, gates)
    totals = chunks.reduce(_weighted_targets)
    S = sum(t[0] for t in totals)
    sY = sum(t[1] for t in totals)
    P = len(estimator.gates_)
    Sx = sum(t[2] for t in totals) if P else np.zeros((0, X.shape[1] + 1))
    cp = ChunkedProgram(chunks, estimator.beta, loss, estimator.fit_intercept, n,
                        X.shape[1] + estimator.fit_intercept, P, k, (S, sY, Sx))
    solver = DaskFISTASolver(tol=estimator.tol, max_iter=estimator.max_iter,
                             verbose=estimator.verbose)
    largest, c = cp.zero_network_beta() if P else (0.0, cp.optimal_intercept(("zero",)))
    if cp.beta >= largest:
        V, _ = cp.zeros()
        value, _ = cp.certify(("zero",), c)
        result = SolverResult(V=V, W=None, intercept=c, n_iter=0,
                              objective_curve=[value])
        return _set_network(estimator, cp, result, solver, exact=True)
    init = getattr(estimator, "_solution", None) if estimator.warm_start else None
    if init is not None and (init.W is not None or init.V.shape != cp.zeros()[0].shape):
        init = None
    result = solver.solve(cp, init)
    return _set_network(estimator, cp, result, solver)


def _set_network(est, cp, result, solver, exact=False):
    """As :meth:`ConvexReLUMixin._set_network`, on the chunked program."""
    est._clear_fitted()
    gates = est.gates_
    U, A, G, c = recover_chunked(cp, result, gates)
    U, A, G = prune_chunked(cp, U, A, G)
    objective = float(cp.network_objective(U, A, c, G))
    if exact:
        bound = objective
    else:
        bounds = [result.lower_bound if result.lower_bound is not None else -np.inf]
        for source in (("network", U, A, G), ("blocks", result.V)):
            stored = cp.stored(source)
            c_best = cp.optimal_intercept(("key", "Q"), stored)
            bounds.append(cp.certify(("key", "Q"), c_best, stored)[1])
        bound = float(max(bounds))
    net = {"objective": objective, "bound": bound}
    est._set_weights(U, A, c)
    est.n_neurons_ = len(U)
    est.n_outputs_ = cp.n_outputs
    est.gates_ = gates
    est._gate_source = est._gate_key()
    est.neuron_gates_ = G
    est.n_iter_ = int(result.n_iter)
    est.objective_ = objective
    est.lower_bound_ = bound
    est.duality_gap_ = max(objective - bound, 0.0)
    est.objective_curve_ = np.asarray(result.objective_curve, dtype=float)
    est.solver_ = solver.name
    est._solution = result
    est._check_finite()
    if not exact and not est._converged(net, result, solver):
        warnings.warn(est._convergence_advice(result, solver, None), ConvergenceWarning)
    if est.verbose:
        print(
            f"[{type(est).__name__}] solver={solver.name} (dask, {len(cp.chunks)} "
            f"chunks) patterns={cp.n_patterns} neurons={est.n_neurons_} "
            f"objective={est.objective_:.6g} gap={est.duality_gap_:.3g}"
        )
    return est
