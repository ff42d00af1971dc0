"""Where the arrangement search starts: the pool, seed networks, a warm start.

Networks of the nonconvex problem trained by L-BFGS give the first active
set and the first solve's starting point, so the search is never worse
than the best of them (user guide, "Arrangement search"; Pilanci and Ergen,
2020).
"""

import dataclasses

import numpy as np

from .._nonconvex import network_blocks, train_networks
from ..arrangements import sample_gates
from ..solvers import SolverResult, trivial_result
from .candidates import PatternPool

__all__ = ["beats_zero", "first_point", "initial_pool", "seed_active_set",
           "seed_networks", "solve_from"]

#: Seed networks: L-BFGS starts of the nonconvex problem, hidden units per
#: output (times ``n_arrangements``) and L-BFGS iterations per start.
SEED_STARTS = 3
SEED_UNITS_FACTOR = 2
SEED_MAX_ITER = 1000
#: Gaussian gates in the initial pool, per pattern of the active set's capacity.
POOL_FACTOR = 10


def seed_networks(template, n_arrangements, rng):
    """Networks of the nonconvex problem that seed the search.

    ``SEED_STARTS`` L-BFGS runs of the weight-decay objective of
    ``template`` (its loss, beta and sample weights) with
    ``SEED_UNITS_FACTOR * n_arrangements`` hidden units per output, at most
    ``SEED_MAX_ITER`` iterations each (:func:`~skconvexnn._nonconvex.train_networks`).
    """
    return train_networks(
        template.X, template.Y, template.loss, template.sample_weight,
        template.beta, SEED_UNITS_FACTOR * n_arrangements, SEED_STARTS, rng,
        fit_intercept=template.fit_intercept, max_iter=SEED_MAX_ITER,
    )


def seed_active_set(template, pool, networks, max_patterns):
    """First active set and starting point from trained networks.

    The active set holds the distinct patterns of every network's units
    (the best network's first, at most ``max_patterns``); the starting
    point is the best network written as blocks over its own patterns
    (:func:`~skconvexnn._nonconvex.network_blocks`), zero on the others, so
    its objective is at most the network's (user guide, "Arrangement
    search"; Pilanci and Ergen, 2020).

    Returns
    -------
    active : list of int
        Pool indices.
    start : SolverResult
        Blocks over ``active``.
    """
    relu = template.cone_constrained
    networks = sorted(networks, key=lambda net: net.objective)
    active, where, best = [], {}, None
    for rank, net in enumerate(networks):
        gates, V, W = network_blocks(template.X, net, relu)
        idx = pool.add(gates)
        for i in idx:
            if i >= 0 and i not in where and len(active) < max_patterns:
                where[int(i)] = len(active)
                active.append(int(i))
        if rank == 0:
            best = net, idx, V, W
    k, d = template.n_outputs, template.n_features
    V0 = np.zeros((k, len(active), d))
    W0 = np.zeros_like(V0) if relu else None
    net, idx, V, W = best
    keep = np.flatnonzero([i in where for i in idx])
    cols = np.array([where[int(i)] for i in idx[keep]], dtype=np.intp)
    for t in range(k):
        # Units sharing a pattern add up: the sum stays in the cone and its
        # norm is at most the sum of theirs.
        np.add.at(V0[t], cols, V[t, keep])
        if relu:
            np.add.at(W0[t], cols, W[t, keep])
    c = net.c if template.fit_intercept else np.zeros(k)
    return active, SolverResult(V=V0, W=W0, intercept=np.array(c, dtype=float))


def initial_pool(X, n_arrangements, rng, max_patterns, init_gates, pool_gates):
    """The pool (a warm start's gates, then Gaussian ones) and the first active set."""
    pool = PatternPool(X)
    active = []
    if init_gates is not None and len(init_gates):
        idx = pool.add(init_gates)
        active = list(dict.fromkeys(int(i) for i in idx if i >= 0))[:max_patterns]
    if pool_gates is not None and len(pool_gates):
        pool.add(pool_gates)
    pool.add(sample_gates(POOL_FACTOR * n_arrangements, X.shape[1], rng))
    return pool, active


def first_point(template, program_for, pool, active, init_result, seeds,
                 max_patterns, tol):
    """Active set and solution the first round starts from.

    A warm start's solution when it fits ``active``; otherwise, with seed
    networks better than the zero network, their patterns and blocks
    (:func:`seed_active_set`). Returns ``(active, result, n_seed,
    seed_objective)``; ``result`` is None for a cold start.
    """
    if init_result is not None and init_result.V.shape[1] == len(active):
        return active, init_result, 0, None
    if seeds and not active:
        if beats_zero(program_for([]), min(net.objective for net in seeds), tol):
            active, result = seed_active_set(template, pool, seeds, max_patterns)
            seed_objective = float(program_for(active).objective(
                result.V, result.W, result.intercept))
            return active, result, len(active), seed_objective
        # Otherwise the zero network is the better start (large beta).
    return active, None, 0, None


def beats_zero(program, objective, tol):
    """Whether a network of training ``objective`` is better than the zero
    network of ``program`` by more than ``tol`` (relative): else the zero
    network is the better start (a beta near or above beta_max, where
    training leaves units of weights near rounding, 1e-11, that would come
    back as neurons)."""
    empty = trivial_result(program).objective_curve[0]
    return objective < empty - tol * abs(empty)


def solve_from(program, options, init):
    """``options.solve(program, init)``, never worse than a (feasible)
    start ``init``.

    A solver stopped early may have drifted above its start.
    """
    result, solver = options.solve(program, init)
    if init is not None:
        start = program.objective(init.V, init.W, init.intercept)
        if program.objective(result.V, result.W, result.intercept) > start:
            result = dataclasses.replace(result, V=init.V, W=init.W,
                                         intercept=init.intercept)
    return result, solver
