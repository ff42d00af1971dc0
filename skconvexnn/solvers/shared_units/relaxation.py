"""The copositive relaxation of the shared-unit vector-output program.

For patterns ``D_1..D_P``, design matrix ``X`` (n x d, column of ones
included when the hidden layer has biases), targets ``Y`` (n x k) and
``K_i = (2 D_i - I) X``, the relaxation is (Sahiner et al., 2021, section 3)

    min  1/(2n) ||sum_i D_i X V_i + 1 c^T - Y||_F^2 + beta/2 sum_i (tr A_i + tr B_i)
    s.t. Z_i = [[A_i, V_i], [V_i^T, B_i]] PSD,   K_i A_i K_i^T >= 0 entrywise.

Every network whose neurons have the patterns ``D_i`` gives a feasible point
(``Z_i = sum_t [u_t; a_t][u_t; a_t]^T`` over its neurons of pattern ``i``),
so the optimal value is a lower bound on the training objective over those
patterns. The solver's value is not reported as the bound: it is only as
accurate as the solver. :func:`relaxation_dual_bound` recomputes a bound
from the residual of the relaxation's fit, made dual feasible with the
solver's multipliers of the nonnegativity constraints and checked by an
eigenvalue computation, so that it holds whatever the solver's accuracy.
It has ``n (n + 1) / 2`` nonnegativity constraints per pattern:
:func:`estimate_relaxation_size` says how big it is before it is built.

The network is recovered from the lifted blocks (:func:`factor_lifted_block`)
and polished by Frank-Wolfe on the same patterns
(:func:`~skconvexnn.solvers.shared_units.frank_wolfe`), whose final
residual gives a second bound; :func:`solve_relaxation` does all of it.
"""

import warnings
from dataclasses import replace

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state

from ...program.cones import project
from ..cvxpy_backend import (
    CVXPY_SOLVERS,
    SolverFailedError,
    available_memory_bytes,
    check_installed,
    solver_options,
)
from .frank_wolfe import frank_wolfe
from .oracles import cone_dual_norm_bound, dual_point_bound

__all__ = ["estimate_relaxation_size", "solve_relaxation", "check_sdp_solver",
           "factor_lifted_block", "project_on_cone", "relaxation_dual_bound"]

#: Frank-Wolfe iterations at most when it polishes the relaxation's network
#: (the paper's setting is certified in 38).
POLISH_MAX_ITER = 50

# Peak bytes per nonzero of the compiled cvxpy problem (as in cvxpy_backend).
_BYTES_PER_NONZERO = 250


def estimate_relaxation_size(n_samples, n_features, n_outputs, n_patterns):
    """Constraints, nonzeros and rough peak memory (bytes) of the relaxation.

    Returns
    -------
    n_constraints : int
        Entrywise nonnegativity constraints (``n (n + 1) / 2`` per pattern).
    n_bytes : float
        Estimated peak memory of cvxpy's compilation.
    """
    n, d = n_samples, n_features
    n_constraints = n_patterns * n * (n + 1) // 2
    nnz = n_constraints * d * (d + 1) // 2 + n_patterns * (d + n_outputs) ** 2 * 2
    return n_constraints, float(nnz * _BYTES_PER_NONZERO)


def check_sdp_solver(name):
    """Raise a clear error unless ``name`` is an installed PSD-capable solver."""
    key = "clarabel" if name == "auto" else name
    cones = CVXPY_SOLVERS.get(key, (None, None, set()))[2]
    if "psd" not in cones:
        sdp = sorted(s for s, (_, _, c) in CVXPY_SOLVERS.items() if "psd" in c)
        raise ValueError(
            f"The copositive relaxation is a semidefinite program; solver "
            f"{name!r} does not handle PSD cones. Use one of {sdp}."
        )
    check_installed(key)
    return key


def _solve_sdp(X, patterns, Y, beta, fit_intercept, solver, tol, max_iter, verbose,
               memory_limit):
    """The relaxation solved by cvxpy: its lifted blocks ``Z`` (one
    ``(d + k) x (d + k)`` block per pattern), intercept, value, status,
    iterations, and per pattern the multipliers of ``(K_i A_i K_i^T)_pq >= 0``
    as a symmetric ``n x n`` matrix ``L_i >= 0`` (zeros when the solver gives
    none), scaled so that the dual constraint reads
    ``beta I - [[K_i^T L_i K_i, G_i^T], [G_i, 0]] >= 0`` (PSD)."""
    name = check_sdp_solver(solver)
    n, d = X.shape
    _check_relaxation_memory(n, d, Y.shape[1], patterns.shape[1], memory_limit)
    problem, Z, c, constraints = _relaxation_problem(X, patterns, Y, beta, fit_intercept)
    _solve_relaxation_problem(problem, Z[0], name, tol, max_iter, verbose)
    Zs = np.stack([z.value for z in Z])
    cval = np.zeros(Y.shape[1]) if c is None else np.asarray(c.value, dtype=float)
    stats = problem.solver_stats
    n_iter = int(stats.num_iters) if stats and stats.num_iters else 0
    return (Zs, cval, float(problem.value), problem.status, n_iter,
            _cone_multipliers(constraints, n))


def _check_relaxation_memory(n, d, k, P, memory_limit):
    """MemoryError when the relaxation's estimated size exceeds the limit."""
    n_cons, need = estimate_relaxation_size(n, d, k, P)
    limit = available_memory_bytes() / 2 if memory_limit is None else memory_limit
    if need > limit:
        raise MemoryError(
            f"The copositive relaxation of this problem ({n} samples, {P} "
            f"patterns) has {n_cons} entrywise constraints and needs about "
            f"{need / 2**30:.1f} GiB, more than the {limit / 2**30:.1f} GiB "
            "allowed. Use method='frank_wolfe', fewer patterns "
            "(n_arrangements), or fewer samples."
        )


def _relaxation_problem(X, patterns, Y, beta, fit_intercept):
    """The cvxpy problem, its PSD blocks ``Z``, intercept ``c`` and cone constraints."""
    import cvxpy as cp

    n, d = X.shape
    k, P = Y.shape[1], patterns.shape[1]
    iu = np.triu_indices(n)
    Z = [cp.Variable((d + k, d + k), PSD=True) for _ in range(P)]
    constraints, blocks = [], []
    for i in range(P):
        K = (2.0 * patterns[:, i] - 1.0)[:, None] * X
        # Row (p, q) of kron(K, K) applied to vec(A): (K A K^T)_pq, p <= q.
        M = np.einsum("pa,pb->pab", K[iu[0]], K[iu[1]]).reshape(len(iu[0]), d * d)
        constraints.append(M @ cp.vec(Z[i][:d, :d], order="C") >= 0)
        blocks.append(Z[i][:d, d:])
    DX = np.hstack([patterns[:, [i]] * X for i in range(P)])  # n x (P d)
    pred = DX @ cp.vstack(blocks)
    c = cp.Variable(k) if fit_intercept else None
    if c is not None:
        pred = pred + np.ones((n, 1)) @ cp.reshape(c, (1, k), order="C")
    penalty = sum(cp.trace(z) for z in Z)
    objective = cp.sum_squares(pred - Y) / (2 * n) + beta / 2 * penalty
    return cp.Problem(cp.Minimize(objective), constraints), Z, c, constraints


def _solve_relaxation_problem(problem, Z0, name, tol, max_iter, verbose):
    """``problem.solve`` by solver ``name``; SolverFailedError unless (nearly)
    optimal with a value for the first block ``Z0``."""
    import cvxpy as cp

    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "Solution may be inaccurate")
            problem.solve(solver=CVXPY_SOLVERS[name][0], verbose=verbose > 1,
                          **solver_options(name, tol, max_iter))
    except cp.error.SolverError as exc:
        raise SolverFailedError(
            f"Solver {name!r} failed on the copositive relaxation ({exc}). "
            "Try solver='scs' or method='frank_wolfe'."
        ) from exc
    if problem.status not in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE) or Z0.value is None:
        raise SolverFailedError(
            f"Solver {name!r} ended with status {problem.status!r} on the "
            "copositive relaxation. Try another solver or a larger max_iter."
        )


def _cone_multipliers(constraints, n):
    """Per pattern, the cone constraints' multipliers as symmetric ``L_i >= 0``."""
    multipliers = []
    iu = np.triu_indices(n)
    for con in constraints:
        mu = con.dual_value
        L = np.zeros((n, n))
        if mu is not None:
            # cvxpy's multiplier of sum_{p <= q} mu_pq (K A K^T)_pq; the
            # stationarity condition in the block Z_i carries a factor 2.
            L[iu] = np.maximum(np.asarray(mu, dtype=float).ravel(), 0.0)
            L = L + L.T
        multipliers.append(L)
    return multipliers


def relaxation_dual_bound(X, patterns, Yc, beta, R, multipliers=None, oracle=None):
    """Proven lower bound from the centred residual ``R`` of a fit.

    The dual point ``-s R / n`` is feasible when ``s`` times the dual norm
    of ``G_i = R^T D_i X / n`` is at most beta for every pattern. Upper
    bounds on that norm, each valid for every ``u`` of the cone
    ``{K_i u >= 0}`` and unit ``a``:

    - ``lambda_max([[K_i^T L K_i, G_i^T], [G_i, 0]])`` for any symmetric
      ``L >= 0`` entrywise, since ``2 a^T G_i u <= [u; a]^T N [u; a]`` when
      ``(K_i u)^T L (K_i u) >= 0``; ``L`` is the solver's multiplier scaled
      by the best of a few factors (any factor is valid, the scan only
      tightens), and ``L = 0`` gives the spectral norm;
    - the exact oracle's value, when ``oracle`` is exact.

    The smallest of them gives ``s`` and the bound of
    :func:`~skconvexnn.solvers.shared_units.dual_point_bound`.

    Returns
    -------
    bound : float
    lam : float
        The upper bound on the dual norm that was used.
    """
    n, d = X.shape
    G = np.einsum("nk,np,nr->pkr", R / n, np.asarray(patterns, dtype=float), X)
    k = G.shape[1]
    per_pattern = np.linalg.norm(G, ord=2, axis=(1, 2))
    if multipliers is not None:
        factors = np.array([0.25, 0.5, 0.8, 0.9, 0.95, 1.0, 1.05, 1.1, 1.25, 1.5, 2.0])
        for i, L in enumerate(multipliers):
            if not np.any(L):
                continue
            K = (2.0 * patterns[:, i] - 1.0)[:, None] * X
            N = np.zeros((len(factors), d + k, d + k))
            N[:, :d, :d] = factors[:, None, None] * (K.T @ L @ K)[None]
            N[:, :d, d:] = G[i].T
            N[:, d:, :d] = G[i]
            per_pattern[i] = min(per_pattern[i], np.linalg.eigvalsh(N)[:, -1].min())
    lam = min(float(per_pattern.max(initial=0.0)),
              cone_dual_norm_bound(R / n, X, patterns))
    if oracle is not None and oracle.exact:
        lam = min(lam, float(oracle(-R / n)[0][0]))
    return dual_point_bound(R, Yc, beta, lam), lam


def factor_lifted_block(Z, K, n_features, rtol=1e-6, n_tries=200, random_state=0):
    """Rank-one terms ``[u; a]`` of a lifted block whose hidden parts are in the cone.

    Finds ``W`` with ``W W^T = Z`` (up to eigenvalues below ``rtol`` times the
    largest) and ``K W[:d] >= 0`` column by column, up to the sign of each
    column: first the scaled eigenvectors, then rotations ``W Q`` of them
    (an angle grid for rank 2, random orthogonal ``Q`` otherwise).

    Returns
    -------
    W : ndarray of shape (n_features + n_outputs, rank)
    exact : bool
        Whether every column is cone-feasible (the factorization realizes the
        block exactly); otherwise ``W`` is the eigen-factorization.
    """
    lam, vec = np.linalg.eigh(Z)
    keep = lam > rtol * max(lam.max(initial=0.0), 1e-300)
    W = vec[:, keep] * np.sqrt(lam[keep])
    if W.shape[1] == 0:
        return W, True
    slack = 1e-7 * np.abs(K).max() * np.sqrt(lam.max())

    def oriented(W):
        KU = K @ W[:n_features]
        flip = np.where(KU.min(axis=0) >= -slack, 1.0, -1.0)
        ok = ((flip * KU).min(axis=0) >= -slack).all()
        return W * flip, ok

    out, ok = oriented(W)
    if ok:
        return out, True
    r = W.shape[1]
    rng = np.random.default_rng(random_state)
    if r == 2:
        thetas = np.linspace(0, np.pi / 2, 4 * n_tries, endpoint=False)
        Qs = (np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])
              for t in thetas)
    else:
        Qs = (np.linalg.qr(rng.standard_normal((r, r)))[0] for _ in range(n_tries))
    for Q in Qs:
        cand, ok = oriented(W @ Q)
        if ok:
            return cand, True
    return out, False


def project_on_cone(u, K):
    """Euclidean projection of ``u`` onto ``{v : K v >= 0}``
    (:func:`skconvexnn.program.cones.project`)."""
    return project(u, K)[0]


def _recovered_atoms(Z, patterns, X, n_outputs, rng):
    """Atoms ``(U, A, pats)`` of the lifted blocks, and whether all factored.

    Rank-one terms of each block, projected on their cone where the
    factorization is not cone-feasible, so that every unit keeps its
    pattern.
    """
    d1 = X.shape[1]
    U0, A0, pats0, exact = [], [], [], True
    traces = np.trace(Z, axis1=1, axis2=2)
    # Blocks carrying a negligible share of the penalty are solver noise.
    for i in np.flatnonzero(traces > 1e-6 * max(traces.sum(), 1e-300)):
        K = (2.0 * patterns[:, i] - 1.0)[:, None] * X
        W, ok = factor_lifted_block(Z[i], K, d1, random_state=rng.randint(2**31))
        exact &= ok
        for w in W.T:
            u = w[:d1] if ok else project_on_cone(w[:d1], K)
            norm = np.linalg.norm(u)
            if norm > 1e-8 * np.sqrt(traces[i]):
                U0.append(u / norm)
                A0.append(norm * w[d1:])
                pats0.append(i)
    atoms = (np.reshape(U0, (-1, d1)), np.reshape(A0, (-1, n_outputs)),
             np.array(pats0, int))
    return atoms, bool(exact)


def solve_relaxation(X, patterns, Y, beta, fit_intercept=True, solver="clarabel",
                     tol=1e-6, max_iter=10_000, verbose=0, memory_limit=None,
                     oracle=None, random_state=None, polish_iter=POLISH_MAX_ITER):
    """Solve the relaxation with cvxpy, recover a network and prove a bound.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    patterns : ndarray of shape (n_samples, n_patterns)
    Y : ndarray of shape (n_samples, n_outputs)
    beta : float
        Regularization, scaled as in the user guide (the data term is a mean).
    fit_intercept : bool
        Unpenalized output intercept ``c``.
    solver : str
        An installed cvxpy solver with PSD cones (``"clarabel"``, ``"scs"``).
    tol, max_iter, verbose
        The SDP solver's tolerance and iteration limit; ``tol`` is also
        Frank-Wolfe's.
    memory_limit : float or None
        Refuse problems estimated above this many bytes (default: half the
        machine's memory).
    oracle : ConePCAOracle or None
        The oracle of Frank-Wolfe's polish (and of the bound when exact).
    random_state : int, RandomState instance or None
        Seeds of the factorization search and of Frank-Wolfe.
    polish_iter : int
        Frank-Wolfe iterations at most.

    Returns
    -------
    SharedUnitsResult
        Frank-Wolfe's network from the recovered units (from scratch when
        a block has no cone-feasible factorization: projected units are
        near-duplicates that slow it down), with the better of the two
        proven bounds; ``n_iter`` counts the SDP solver's and Frank-Wolfe's
        iterations, ``relaxation_value`` and ``relaxation_status`` are the
        SDP solver's.
    """
    rng = check_random_state(random_state)
    Z, c, value, status, n_iter, multipliers = _solve_sdp(
        X, patterns, Y, beta, fit_intercept, solver, tol, max_iter, verbose,
        memory_limit)
    if status != "optimal":
        warnings.warn(
            f"The solver of the copositive relaxation ended with status "
            f"{status!r} after {n_iter} iterations (tol={tol}). "
            "lower_bound_ is recomputed from a verified dual point and stays "
            "a bound, but may be loose; try solver='clarabel' or a larger "
            "max_iter.",
            ConvergenceWarning,
        )
    # Proven bound: the relaxation's residual made dual feasible.
    d1 = X.shape[1]
    Yc = Y - Y.mean(axis=0) if fit_intercept else Y
    fit = np.einsum("np,nd,pdk->nk", patterns, X, Z[:, :d1, d1:])
    R = Yc - (fit - fit.mean(axis=0) if fit_intercept else fit)
    bound, _ = relaxation_dual_bound(X, patterns, Yc, beta, R, multipliers, oracle)
    init, exact = _recovered_atoms(Z, patterns, X, Y.shape[1], rng)
    # Projected terms are near-duplicates that slow Frank-Wolfe down (paper
    # setting: not certified after 200 iterations from them, certified in
    # 38 from scratch); it starts from scratch then.
    res = frank_wolfe(X, patterns, Y, beta, fit_intercept, tol=tol,
                      max_iter=polish_iter, random_state=rng.randint(2**31),
                      verbose=verbose, init=init if exact else None, oracle=oracle)
    return replace(res, n_iter=n_iter + res.n_iter,
                   lower_bound=max(bound, res.lower_bound),
                   estimated_bound=max(bound, res.estimated_bound),
                   relaxation_value=value, relaxation_status=status,
                   factorization_exact=exact)
