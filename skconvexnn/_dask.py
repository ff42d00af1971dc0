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
import sys

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted

from ._dask_inputs import check_X, checked_weight_sum, checked_y, raw_stats
from .fitting import Fit, SolverOptions
from .fitting.certify import convergence_advice, converged
from .losses import Loss, get_loss
from .solvers.dask_program import (
    ChunkedProgram,
    Chunks,
    chunk_adjoint,
    prune_chunked,
    recover_chunked,
)

__all__ = ["SUPPORTED", "dask_rows", "fit_dask", "is_dask_array", "reject_dask"]

#: What a fit on a dask array supports (the error messages quote it).
SUPPORTED = (
    "ConvexReLURegressor and ConvexReLUClassifier with activation='gated_relu', "
    "solver='auto' or 'fista' (the chunked FISTA solver), "
    "arrangements='auto' (the bisectors), 'bisector', 'gaussian' or gate vectors, "
    "a differentiable loss "
    "(regressor: 'squared' or a differentiable Loss; classifier: 'logistic' "
    "or 'squared'), with or without fit_intercept, sample_weight, warm_start"
)


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
    if isinstance(arr, str) and arr not in ("auto", "bisector", "gaussian"):
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
    return ch["s"].sum(), ch["s"] @ ch["Y"], chunk_adjoint(ch, ch["s"][:, None])[0]


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
    check_X(X)
    n, d = X.shape
    X = X.rechunk({1: -1}).astype(np.float64)
    rows = X.chunks[0]
    y = checked_y(_as_dask(y, rows, "y"), classifier)
    w = (da.ones(n, chunks=(rows,)) if sample_weight is None
         else _as_dask(sample_weight, rows, "sample_weight").astype(np.float64))
    if sample_weight is not None and w.ndim != 1:
        raise ValueError("sample_weight must be 1D with one weight per sample.")
    raw = Chunks([
        dask.delayed(tuple)([a, b, c]) for a, b, c in zip(
            X.to_delayed().ravel(), y.to_delayed().ravel(), w.to_delayed().ravel())
    ])
    stats = raw.reduce(raw_stats, classifier)
    W = checked_weight_sum(stats)
    estimator.n_features_in_ = d
    estimator.__dict__.pop("feature_names_in_", None)
    # each feature's range over the samples of positive weight: what
    # extrapolation="clip" clips the inputs of predict to
    kept = X if sample_weight is None else X[w > 0]
    low, high = dask.compute(kept.min(axis=0), kept.max(axis=0))
    estimator.data_min_, estimator.data_max_ = np.asarray(low), np.asarray(high)
    loss = _loss(estimator)
    if classifier:
        targets, k = _class_targets(estimator, stats, sample_weight)
    else:
        targets, k = _regression_targets(estimator, raw, stats, y, W)
    rng = check_random_state(estimator.random_state)
    d1 = d + estimator.fit_intercept

    class _Shape:
        shape = (n, d1)

    sample = _Shape()
    arrangements = estimator.arrangements
    if isinstance(arrangements, str) and arrangements in ("auto", "bisector"):
        # the pairs come from a uniform sample of the rows, read into memory
        from ._base import add_ones

        size = min(n, 2 * estimator.n_arrangements)
        picked = np.sort(rng.choice(n, size=size, replace=False))
        sample = add_ones(X[picked].compute(), estimator.fit_intercept)
    gates = estimator._make_gates(sample, rng)
    chunks = raw.map(_build, gates, estimator.fit_intercept, targets, W)
    return chunks, loss, k, gates, n


def _class_targets(estimator, stats, sample_weight):
    """The classes (set as ``classes_``), the targets' description and ``k``."""
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
    k = 1 if len(classes) == 2 else len(classes)
    return ("classification", classes, estimator.loss), k


def _regression_targets(estimator, raw, stats, y, W):
    """The targets' mean and scale (set on the estimator), their description and ``k``.

    As :func:`skconvexnn._base.target_scaling` in memory, from chunked sums.
    """
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
    return ("regression", mean, scale), k


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
    cp = ChunkedProgram(chunks, estimator._beta(n, k), loss, estimator.fit_intercept,
                        n, X.shape[1] + estimator.fit_intercept, P, k, (S, sY, Sx))
    solver = DaskFISTASolver(tol=estimator.tol, max_iter=estimator.max_iter,
                             verbose=estimator.verbose)
    largest, c = cp.zero_network_beta() if P else (0.0, cp.optimal_intercept(("zero",)))
    if cp.beta >= largest:
        V, _ = cp.zeros()
        value, _ = cp.certify(("zero",), c)
        result = SolverResult(V=V, W=None, intercept=c, n_iter=0,
                              objective_curve=[value])
        return _set_chunked_fit(estimator, cp, result, solver, exact=True)
    init = getattr(estimator, "_solution", None) if estimator.warm_start else None
    result = solver.solve(cp, init)
    return _set_chunked_fit(estimator, cp, result, solver)


def _set_chunked_fit(est, cp, result, solver, exact=False):
    """Certify ``result`` of the chunked program and set it through the estimator's
    one setter (as :func:`skconvexnn.fitting.certify` does in memory)."""
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
    options = SolverOptions(est.solver, est.tol, est.max_iter, est.verbose)
    messages = ()
    if not exact and not converged(objective, bound, result, solver, est.tol):
        messages = (convergence_advice(objective, bound, result, solver, options),)
    return est._set_fit(Fit(
        U=U, A=A, G=G, c=c, gates=gates, n_outputs=cp.n_outputs,
        objective=objective, lower_bound=bound, n_iter=int(result.n_iter),
        objective_curve=np.asarray(result.objective_curve, dtype=float),
        solver=solver.name, solution=result, n_patterns=cp.n_patterns,
        warnings=messages, where=f" (dask, {len(cp.chunks)} chunks)", beta=cp.beta))
