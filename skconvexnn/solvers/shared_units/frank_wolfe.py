"""Frank-Wolfe with cone-constrained PCA for the shared-unit program.

The copositive program (Sahiner et al., ICLR 2021; user guide, "Multiple
outputs and classification"), with ``K_i = (2 D_i - I) X``,

    min_{V_i}  1/(2n) ||P (sum_i D_i X V_i - Y)||_F^2 + beta sum_i ||V_i||_{*,K_i}

(``P`` centres the columns when there is an output intercept, which is then
the mean residual), is a problem regularized by the atomic norm whose atoms
are ``D_i X u a^T`` with ``||u|| = ||a|| = 1`` and ``K_i u >= 0``. On such a
``u``, ``D_i X u = (X u)_+``: every atom is one ReLU neuron.

Conditional gradient on it (Sahiner et al., 2021, section 5):

1. **Linear minimization oracle.** For the gradient ``G = P (Z - Y) / n``
   of the data term at the current fit ``Z``, find
   ``lambda = max_i max {||G^T D_i X u|| : ||u|| <= 1, K_i u >= 0}``, a
   cone-constrained PCA per pattern (:class:`.ConePCAOracle`).
2. **Fully corrective step.** Add the maximizing ``u`` as hidden units and
   re-optimize the output weights of all hidden units, a group lasso
   ``min_A 1/(2n) ||P (H A - Y)||^2 + beta sum_t ||a_t||`` on the hidden
   features ``H = (X U^T)_+``, solved by an interior-point method
   (:func:`.group_lasso_ipm`, Clarabel on the Gram form): near-duplicate
   hidden units make that problem ill-conditioned, which first-order
   methods pay for with thousands of iterations and an interior-point
   method does not. Units whose weights vanish are dropped, and beyond
   ``n k / 2`` units Caratheodory pruning removes units without changing
   the fit or the penalty. At the end, atoms of one pattern with parallel
   output weights are merged into one (:func:`merge_atoms`), which keeps
   the fit and can only lower the penalty.

**Growing the patterns** (``search=True``). The program's optimum depends
on its patterns, and a fixed sample of Gaussian gates is far from the
patterns a trained network uses (on ``make_regression`` data with ten
features, 50 Gaussian patterns gave an objective eight times that of
L-BFGS training with 50 neurons). The search grows the pool of patterns
in two ways, each of which keeps every hidden unit on a pattern of the pool:

- **Local moves.** Every ``local_every`` iterations the network is trained
  as a plain ReLU network (L-BFGS on the weight-decay objective, from the
  current atoms, :func:`.train_shared`): hidden units may cross samples,
  and the patterns they end on join the pool. The objective can only go
  down (the atomic penalty ``beta ||u|| ||a||`` is at most the weight decay
  ``beta/2 (||u||^2 + ||a||^2)`` that L-BFGS decreases). Local moves stop
  once one gains less than :data:`.LOCAL_RTOL` (relative), or after
  :data:`.MAX_LOCAL_MOVES`.
- **Ascent** (approximate oracle only): the oracle is then a local ascent
  over *all* patterns, ``max_{||u|| = 1} ||G^T (X u)_+||``
  (:func:`.shared_ascent`), from random directions, the current units and
  the best gates of the pool; the patterns of its maximizers join the
  pool. With the exact oracle the pool grows by local moves only, and
  only while the oracle stays exact on it.

The certificate covers the final pool: a bound is reset whenever the pool
grows.

**Stopping rule.** Any ``Theta`` with centred columns and dual norm
``max_i max {||Theta^T D_i X u|| : ...} <= beta`` gives the lower bound
``-<Theta, Y> - n/2 ||Theta||^2``. Scaling the residual, ``Theta = -s R / n``
with ``R = P (Y - Z)``, the oracle value says how large ``s`` may be
(``s lambda <= beta``), and the best such ``s`` gives

    bound = s <R, Y> / n - s^2 ||R||^2 / (2 n),
    s = clip(<R, Y> / ||R||^2, 0, beta / lambda).

The iteration stops when ``objective - bound <= tol * objective``. With the
exact oracle the bound is proven. With the approximate oracle (or the
ascent) ``lambda`` may be underestimated: the iteration then stops on that
estimate, and the bound it reports is recomputed from an upper bound on
``lambda`` that holds for every ``u`` of every cone of the pool, the
spectral norm ``max_i ||G^T D_i X||_2`` (:func:`.spectral_dual_norm`), so it
is proven too, but looser.
"""

import numpy as np
from threadpoolctl import threadpool_limits

from ...recovery import prune_weights
from .group_lasso import group_lasso_ipm
from .local import (
    LOCAL_EVERY,
    LOCAL_ITER,
    LOCAL_RTOL,
    MAX_LOCAL_MOVES,
    PatternPool,
    ascent_candidates,
    train_shared,
)
from .oracles import ConePCAOracle, cone_dual_norm_bound, dual_point_bound
from .result import SharedUnitsResult

__all__ = ["frank_wolfe", "merge_atoms"]


def merge_atoms(U, A, pats, rtol=1e-9):
    """Merge atoms of one pattern whose output weights point the same way.

    On the cone of pattern ``i`` the hidden layer is linear, ``(X u)_+ =
    D_i X u``, and the cone is convex, so atoms ``(u_t, a_t)`` of pattern
    ``i`` with ``a_t = ||a_t|| e`` (one unit vector ``e``; always one of two
    for a single output) add up to the single atom ``v = sum_t ||a_t|| u_t``,
    ``a = ||v|| e`` with ``u = v / ||v||``: the same fit, and a penalty
    ``beta ||v|| <= beta sum_t ||a_t||``.

    Returns
    -------
    U, A, pats, merged : the new atoms and whether any were merged.
    """
    w = np.linalg.norm(A, axis=1)
    E = np.round(A / w[:, None] / rtol) * rtol
    keys = np.column_stack([pats, E])
    _, group, counts = np.unique(keys, axis=0, return_inverse=True, return_counts=True)
    group = group.ravel()
    if counts.max(initial=0) <= 1:
        return U, A, pats, False
    V = np.zeros((len(counts), U.shape[1]))
    np.add.at(V, group, w[:, None] * U)
    first = np.zeros(len(counts), dtype=int)
    first[group[::-1]] = np.arange(len(group))[::-1]
    norm = np.linalg.norm(V, axis=1)
    live = norm > 0
    U_new = V[live] / norm[live, None]
    A_new = (A[first] / w[first, None] * norm[:, None])[live]
    return U_new, A_new, pats[first][live], True


class _SharedUnits:
    """The fully corrective step's pieces for centred targets ``Yc``.

    ``Hc`` are the (centred, when there is an output intercept) hidden
    activations of the unit directions, ``A`` their output weights.
    """

    def __init__(self, X, Yc, beta, fit_intercept):
        self.X, self.Yc, self.beta = X, Yc, beta
        self.fit_intercept = fit_intercept

    def center(self, M):
        return M - M.mean(axis=0) if self.fit_intercept else M

    def hidden(self, U):
        """Centred activations ``(X U^T)_+``, shape (n, len(U))."""
        return self.center(np.maximum(self.X @ U.T, 0.0))

    def value(self, Hc, A):
        n = len(self.Yc)
        return (np.sum((Hc @ A - self.Yc) ** 2) / (2 * n)
                + self.beta * np.linalg.norm(A, axis=1).sum())

    def corrective(self, Hc, A, atol):
        n = len(self.Yc)
        return group_lasso_ipm(Hc.T @ Hc / n, Hc.T @ self.Yc / n, self.beta,
                               atol=atol, A0=A)

    def entered(self, U, A, Hc, pats, new_units, new_pats):
        """The atoms with ``new_units`` (patterns ``new_pats``) added at weight zero."""
        if not len(new_units):
            return U, A, Hc, pats
        return (np.vstack([U, new_units]),
                np.vstack([A, np.zeros((len(new_units), A.shape[1]))]),
                np.column_stack([Hc, self.hidden(new_units)]),
                np.concatenate([pats, new_pats]))

    def drop_zeros(self, U, A, Hc, pats):
        """The atoms with nonzero weights, after Caratheodory pruning when many."""
        n, k = self.Yc.shape
        w = np.linalg.norm(A, axis=1)
        if np.sum(w > 0) > n * k // 2:
            # Caratheodory pruning (recovery.prune_weights): same fit, same penalty.
            live = np.flatnonzero(w > 0)
            Qm = np.einsum("nj,jk->jnk", Hc[:, live], A[live] / w[live, None])
            w[live] = prune_weights(Qm.reshape(len(live), -1), w[live])
            A = A * (w / np.maximum(np.linalg.norm(A, axis=1), 1e-300))[:, None]
        keep = w > 0
        return U[keep], A[keep], Hc[:, keep], pats[keep]


def _pool_and_oracle(X, patterns, gates, oracle, exact, random_state):
    """The pattern pool (of ``gates`` when given) and an oracle on it."""
    pool = PatternPool(X, gates, None if gates is not None else patterns)
    if gates is not None and len(pool) != patterns.shape[1]:
        pool = PatternPool(X, gates)  # gates with repeated patterns
    if oracle is None:
        oracle = ConePCAOracle(X, pool.patterns, exact=exact, random_state=random_state)
    elif oracle.D.shape[1] != len(pool):
        oracle.set_patterns(pool.patterns)
    return pool, oracle


def _local_move(fit, atoms, objective, pool, oracle, ascend, local_iter, atol, verbose):
    """The network trained (balanced atoms) as plain ReLU, then corrected.

    Returns ``(atoms, moved, n_new)``: the moved atoms (zeros dropped, their
    patterns added to ``pool`` and the oracle), their objective before the
    drop and the number of new patterns; None when the move does not lower
    the objective or, with the exact oracle, would leave it inexact.
    """
    U, A = atoms[:2]
    w = np.sqrt(np.linalg.norm(A, axis=1))[:, None]
    U2, A2 = train_shared(fit.X, fit.Yc, fit.beta, U * w, A / w, local_iter,
                          fit.fit_intercept)
    norms = np.linalg.norm(U2, axis=1)
    live = norms > 0
    U2, A2 = U2[live] / norms[live, None], A2[live] * norms[live, None]
    n_new = len(np.unique(pool.keys(U2)[pool.index(U2) < 0]))
    if not ascend and n_new > oracle.capacity - len(pool):
        return None
    Hc2 = fit.hidden(U2)
    A2 = fit.corrective(Hc2, A2, atol)
    moved = fit.value(Hc2, A2)
    if verbose:
        print(f"[frank_wolfe] local move: objective {objective:.8g} -> "
              f"{moved:.8g}, {n_new} new patterns")
    if moved >= objective:
        return None
    atoms = fit.drop_zeros(U2, A2, Hc2, pool.add(U2))
    if n_new and not ascend:
        oracle.set_patterns(pool.patterns)
    return atoms, moved, n_new


def _candidates(fit, Lam, U, pool, oracle, ascend, n_candidates, rng):
    """Units that may enter, their values and patterns (-1: not in the pool)."""
    if ascend:
        values, new_units = ascent_candidates(fit.X, Lam, U, pool, rng)
        values, new_units = values[:n_candidates], new_units[:n_candidates]
        return values, new_units, np.full(len(values), -1)
    return oracle(-Lam, n_candidates)


def _initial_atoms(fit, init, tol):
    """The atoms ``(U, A, Hc, pats)`` of ``init``, their weights corrected."""
    n, d = fit.X.shape
    if init is None:
        U, A = np.zeros((0, d)), np.zeros((0, fit.Yc.shape[1]))
        pats = np.zeros(0, dtype=int)
    else:
        U, A, pats = (np.asarray(v, dtype=float) for v in init)
        pats = pats.astype(int)
    Hc = fit.hidden(U)
    if len(U):
        scale = max(np.sum(fit.Yc**2) / (2 * n), np.finfo(float).tiny)
        A = fit.corrective(Hc, A, 1e-3 * tol * scale)
        U, A, Hc, pats = fit.drop_zeros(U, A, Hc, pats)
    return U, A, Hc, pats


def _iterate(fit, atoms, pool, oracle, ascend, rng, tol, max_iter, n_candidates,
             verbose, local_every, local_iter):
    """The Frank-Wolfe iterations (module docstring) from ``atoms``.

    Returns the final atoms, the bound of the last oracle call and the
    iteration's record (objective, curve, iterations, convergence, moves).
    """
    Yc, beta, n = fit.Yc, fit.beta, len(fit.Yc)
    U, A, Hc, pats = atoms
    bound, curve, converged = -np.inf, [], False
    objective = fit.value(Hc, A)
    local = local_every > 0
    n_local, it = 0, 0
    for it in range(1, max_iter + 1):
        R = Yc - Hc @ A
        values, new_units, new_pats = _candidates(fit, R / n, U, pool, oracle, ascend,
                                                  n_candidates, rng)
        if ascend:
            bound = -np.inf  # an estimate at the current point only
        lam = float(values[0]) if len(values) else 0.0
        bound = max(bound, dual_point_bound(R, Yc, beta, lam))
        gap = objective - bound
        curve.append(objective)
        if verbose:
            print(f"[frank_wolfe] iter {it}: objective {objective:.8g} gap {gap:.3g} "
                  f"oracle {lam:.6g} (beta {beta:.3g}) units {len(U)} "
                  f"patterns {len(pool)}")
        if gap <= tol * max(objective, np.finfo(float).tiny):
            converged = True
            break
        if it == max_iter:
            break
        atol = 1e-2 * min(tol * objective, gap)
        if local and it % local_every == 0 and len(U):
            move = _local_move(fit, (U, A, Hc, pats), objective, pool, oracle, ascend,
                               local_iter, atol, verbose)
            local = False  # unless it gains more than tol
            if move is not None:
                (U, A, Hc, pats), moved, n_new = move
                local = (objective - moved > max(tol, LOCAL_RTOL) * objective
                         and n_local + 1 < MAX_LOCAL_MOVES)
                objective = fit.value(Hc, A)
                n_local += 1
                if n_new:
                    bound = -np.inf  # it was for fewer patterns
                continue
        keep = values > beta
        new_units, new_pats = new_units[keep], new_pats[keep]
        if ascend and len(new_units):
            new_pats = pool.add(new_units)
        U, A, Hc, pats = fit.entered(U, A, Hc, pats, new_units, new_pats)
        A = fit.corrective(Hc, A, atol)
        U, A, Hc, pats = fit.drop_zeros(U, A, Hc, pats)
        objective = fit.value(Hc, A)
    return (U, A, Hc, pats), bound, dict(objective=objective, objective_curve=curve,
                                         n_iter=it, converged=converged,
                                         n_local=n_local)


def _proven_result(fit, Y, atoms, pool, oracle, ascend, core, bound, record):
    """The final atoms merged, the pool cut to ``core``, the bound proven."""
    X, n, k = fit.X, len(Y), Y.shape[1]
    U, A, Hc, pats = atoms
    objective, curve = record["objective"], record["objective_curve"]
    estimated = bound
    # Merging inside the loop would discard the near-copies that the fully
    # corrective step combines; at the end it only removes units.
    if len(U):
        U, A, pats, merged = merge_atoms(U, A, pats)
        if merged:
            Hc = fit.hidden(U)
            objective = fit.value(Hc, A)
            curve.append(objective)
    if ascend and core is not None:
        # The proven bound needs projections onto every cone it covers:
        # keep the first `core` patterns and those of the returned units.
        pool = PatternPool(X, pool.gates[:core], pool.patterns[:, :core])
        pats = pool.add(U) if len(U) else pats
    if ascend or not oracle.exact:
        # The approximate oracle or the ascent may underestimate lambda:
        # recompute the bound from an upper bound on it that holds over
        # every cone of the final pool.
        R = fit.Yc - Hc @ A
        bound = dual_point_bound(R, fit.Yc, fit.beta,
                                 cone_dual_norm_bound(R / n, X, pool.patterns))
    Z = np.maximum(X @ U.T, 0.0) @ A
    c = (Y - Z).mean(axis=0) if fit.fit_intercept else np.zeros(k)
    # Atom t is the neuron (sqrt(w) u_t, a_t / sqrt(w)), w = ||a_t||: same
    # output, and its weight decay equals the atomic norm beta * w.
    w = np.sqrt(np.linalg.norm(A, axis=1))[:, None]
    converged = record["converged"]
    return SharedUnitsResult(
        U=U * w, A=A / w, intercept=c, objective=float(objective),
        lower_bound=float(bound), estimated_bound=float(estimated),
        exact=bool(oracle.exact and not ascend), objective_curve=curve, pats=pats,
        patterns=pool.patterns, gates=pool.gates, n_iter=record["n_iter"],
        converged=converged, status="optimal" if converged else "max_iter",
        n_local=record["n_local"])


def frank_wolfe(X, patterns, Y, beta, fit_intercept=True, tol=1e-6, max_iter=500,
                exact="auto", n_candidates=5, random_state=0, verbose=0,
                init=None, oracle=None, gates=None, search=False,
                local_every=LOCAL_EVERY, local_iter=LOCAL_ITER, core=None):
    """Solve the shared-unit program by fully corrective Frank-Wolfe.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Design matrix (column of ones included for hidden biases).
    patterns : ndarray of shape (n_samples, n_patterns)
    Y : ndarray of shape (n_samples, n_outputs)
    beta : float
        Regularization, scaled as in the user guide (the data term is a mean).
    fit_intercept : bool
        Unpenalized output intercept.
    tol : float
        Relative duality gap at which to stop.
    max_iter : int
        Oracle calls at most.
    exact : {"auto", True, False}
        Oracle choice (:class:`.ConePCAOracle`).
    n_candidates : int
        Units that may enter per iteration (the oracle's best candidates
        above ``beta``).
    init : tuple (U, A, pats) or None
        Atoms to start from: unit directions ``U`` with ``K_i u >= 0`` for
        the pattern ``pats``, and their output weights ``A``.
    oracle : ConePCAOracle or None
        A prebuilt oracle for ``X`` and ``patterns``.
    gates : ndarray of shape (n_patterns, n_features) or None
        Gate vectors of ``patterns`` (needed by ``search``).
    search : bool
        Grow the patterns by local moves and, with the approximate oracle,
        by the ascent (module docstring).
    local_every, local_iter : int
        Iterations between local moves, and L-BFGS iterations per move.
    core : int or None
        Search with the approximate oracle: the final pool keeps only the
        first ``core`` patterns of ``gates`` and those of the returned
        units (None: every pattern examined), since the proven bound costs
        a projection onto each cone it covers.

    Returns
    -------
    SharedUnitsResult
        The network's units balanced (``||U[j]|| = ||A[j]||``), ``pats``
        their patterns, and the final pool.
    """
    if search and gates is None:
        raise ValueError("search=True needs the gates of the patterns")
    fit = _SharedUnits(X, Y - Y.mean(axis=0) if fit_intercept else Y, beta,
                       fit_intercept)
    rng = np.random.default_rng(random_state)
    # Small dense products: BLAS threads cost more than they save.
    with threadpool_limits(limits=1, user_api="blas"):
        pool, oracle = _pool_and_oracle(X, patterns, gates, oracle, exact, random_state)
        ascend = search and not oracle.exact  # the ascent is the oracle
        atoms, bound, record = _iterate(
            fit, _initial_atoms(fit, init, tol), pool, oracle, ascend, rng, tol,
            max_iter, n_candidates, verbose, local_every if search else 0, local_iter)
        return _proven_result(fit, Y, atoms, pool, oracle, ascend, core, bound, record)
