import warnings

import numpy as np
import pytest
from fitted import assert_objective_is_the_networks, fitted_program
from nonconvex import standardized, train_nonconvex
from sklearn.exceptions import ConvergenceWarning

from skconvexnn import ConvexReLUClassifier, ConvexReLURegressor
from skconvexnn._base import add_ones
from skconvexnn.program.cones import project
from skconvexnn._nonconvex import train_networks
from skconvexnn.program import ConvexProgram
from skconvexnn.program.dual import dual_norms
from skconvexnn.fitting import SolverOptions
from skconvexnn.fitting.candidates import local_ascent
from skconvexnn.fitting.search import search_arrangements
from skconvexnn.arrangements import enumerate_gates, patterns_from_gates
from skconvexnn.losses import SquaredLoss


@pytest.fixture
def kinked():
    """2-D data from three ReLUs whose kinks few Gaussian gates catch."""
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, (40, 2))
    y = (4 * np.maximum(X @ [1.0, 1.0] - 1.2, 0) + 2 * np.maximum(0.7 - X[:, 0], 0)
         - 3 * np.maximum(X[:, 1] - 0.6, 0))
    return X, y


def _fit(X, y, **params):
    # beta = 1e-3 on the raw targets: the regressor standardizes them.
    params = {"beta": 1e-3 / np.std(y), "solver": "clarabel", "random_state": 0,
              **params}
    return ConvexReLURegressor(**params).fit(X, y)


def _program(est, X, y, gates):
    """The program ``est`` solved (on its standardized targets)."""
    return fitted_program(est, X, standardized(est, y)[:, None], gates)


@pytest.mark.parametrize("activation", ["relu", "gated_relu"])
def test_search_beats_gaussian_gates_of_the_same_size(kinked, activation):
    X, y = kinked
    est = _fit(X, y, activation=activation, arrangements="search", n_arrangements=20)
    size = len(est.gates_)
    gaussian = [
        _fit(X, y, activation=activation, n_arrangements=size, random_state=seed,
             arrangements="gaussian")
        for seed in range(3)
    ]
    best = min(g.objective_ for g in gaussian)
    assert est.objective_ < 0.9 * best


def test_relu_search_reaches_the_exhaustive_optimum(kinked):
    X, y = kinked[0][:25], kinked[1][:25]
    est = _fit(X, y, arrangements="search", n_arrangements=20)
    full = _fit(X, y, arrangements="exhaustive")
    # Within the search tolerance (violations below 1e-3 beta are ignored).
    assert est.objective_ == pytest.approx(full.objective_, rel=1e-3)
    # The active set holds the used patterns (the seed networks' unused
    # ones leave it), a small part of the arrangement.
    assert len(est.gates_) < len(full.gates_) / 15


@pytest.mark.parametrize("activation", ["relu", "gated_relu"])
def test_no_examined_pattern_is_violated(kinked, activation):
    X, y = kinked
    est = _fit(X, y, activation=activation, arrangements="search", n_arrangements=40)
    assert len(est.examined_gates_) > 5 * len(est.gates_)
    # Every active pattern was examined.
    pool = _program(est, X, y, est.examined_gates_)
    active = _program(est, X, y, est.gates_)
    keys = {col.tobytes() for col in pool.patterns.T.astype(bool)}
    assert all(col.tobytes() in keys for col in active.patterns.T.astype(bool))
    # The dual point of the solution is feasible over the whole pool.
    sol = est._solution
    Lam = active.dual_point(active.predict(sol.V, sol.W))
    assert dual_norms(pool, Lam).max() <= est.beta * (1 + 1e-3)
    # Hence the certificate over the pool is tight.
    assert est.lower_bound_ <= est.objective_
    assert est.duality_gap_ <= 1e-4 * est.objective_


@pytest.mark.parametrize("activation", ["relu", "gated_relu"])
def test_objective_is_the_recovered_networks(kinked, activation):
    X, y = kinked
    est = _fit(X, y, activation=activation, arrangements="search", n_arrangements=20)
    sol = est._solution
    convex = _program(est, X, y, est.gates_).objective(sol.V, sol.W, sol.intercept)
    assert est.objective_ == pytest.approx(convex, rel=1e-6)
    assert_objective_is_the_networks(est, X, y)


@pytest.mark.parametrize("activation", ["relu", "gated_relu"])
@pytest.mark.parametrize("loss", ["squared", "hinge", "logistic"])
def test_classifier(activation, loss):
    rng = np.random.default_rng(1)
    X = rng.standard_normal((40, 2))
    y = (np.abs(X[:, 0]) + 0.3 * X[:, 1] > 0.8).astype(int)
    params = {"beta": 1e-2, "activation": activation, "random_state": 0}
    if loss == "logistic":
        params["solver"] = "clarabel"
    with warnings.catch_warnings():
        # The hinge's dual point is one subgradient among many: its
        # violations need not be improvements, and the search may stall.
        action = "ignore" if loss == "hinge" else "error"
        warnings.simplefilter(action, ConvergenceWarning)
        est = ConvexReLUClassifier(loss=loss, arrangements="search",
                                   n_arrangements=20, **params).fit(X, y)
    gaussian = ConvexReLUClassifier(loss=loss, n_arrangements=len(est.gates_),
                                    **params).fit(X, y)
    assert est.objective_ <= gaussian.objective_ * (1 + 1e-6)
    assert est.lower_bound_ <= est.objective_ + 1e-12
    assert est.score(X, y) > 0.9


def test_multi_output(kinked):
    X, y = kinked
    Y = np.column_stack([y, -y])
    # Both outputs have the standard deviation of y: the same beta as below.
    est = _fit(X, Y, arrangements="search", n_arrangements=20, beta=1e-3 / np.std(y))
    assert est.predict(X).shape == Y.shape
    one = _fit(X, y, arrangements="search", n_arrangements=20)
    # The second target is the mirror image of the first: twice the cost.
    assert est.objective_ == pytest.approx(2 * one.objective_, rel=1e-4)


def test_warm_start(kinked):
    X, y = kinked
    est = _fit(X, y, arrangements="search", n_arrangements=20, warm_start=True)
    first, pool = est.objective_, len(est.examined_gates_)
    # Refit at the same beta: the previous active set is already optimal.
    est.fit(X, y)
    # One solve (objective_curve_ may also hold a native polish of it).
    assert est.search_report_["n_rounds"] == 1
    assert est.objective_ == pytest.approx(first, rel=1e-6)
    assert len(est.examined_gates_) >= pool
    # A new beta starts from the previous patterns and still reaches the
    # optimum a cold search finds.
    est.set_params(beta=3e-3).fit(X, y)
    cold = _fit(X, y, arrangements="search", n_arrangements=20, beta=3e-3)
    assert est.objective_ == pytest.approx(cold.objective_, rel=1e-4)


def test_full_active_set_warns(kinked):
    X, y = kinked
    with pytest.warns(ConvergenceWarning, match="max_patterns"):
        est = _fit(X, y, activation="gated_relu", arrangements="search",
                   n_arrangements=10, max_patterns=3)
    assert len(est.gates_) <= 3


def test_large_beta_gives_empty_network(kinked):
    X, y = kinked
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        est = _fit(X, y, arrangements="search", beta=100.0)
    assert est.n_neurons_ == 0
    assert est.duality_gap_ <= 1e-8


@pytest.mark.parametrize("relu", [True, False])
def test_local_ascent_finds_the_most_violated_pattern(relu):
    rng = np.random.default_rng(0)
    X1 = add_ones(rng.standard_normal((30, 2)), True)
    c = rng.standard_normal(30)
    c -= c.mean()
    U, values = local_ascent(X1, np.tile(c, (64, 1)), rng.standard_normal((64, 3)),
                             relu)
    D = patterns_from_gates(X1, enumerate_gates(X1))
    G = X1.T @ (D * c[:, None])  # X^T D_i c for every pattern
    if relu:
        exact = max(np.linalg.norm(project(G[:, i], (2 * D[:, [i]] - 1) * X1)[0])
                    for i in range(D.shape[1]))
    else:
        exact = np.linalg.norm(G, axis=0).max()
    assert values.max() <= exact * (1 + 1e-9)
    # A local method: near the best pattern for ReLU, a good one when gated.
    assert values.max() >= (0.95 if relu else 0.9) * exact


def _independent_objective(X1, y, beta, net):
    """Weight-decay objective of a seed network, from its weights alone."""
    P = np.maximum(X1 @ net.U.T, 0.0) @ net.A + net.c
    return (0.5 * np.mean((P[:, 0] - y) ** 2)
            + 0.5 * beta * (np.sum(net.U**2) + np.sum(net.A**2)))


@pytest.mark.parametrize("activation", ["relu", "gated_relu"])
@pytest.mark.parametrize("max_iter", [1, 10_000])
def test_seeded_search_is_never_worse_than_its_seed(kinked, activation, max_iter):
    X, y = kinked
    X1, beta = add_ones(X, True), 1e-3
    template = ConvexProgram(X1, np.empty((len(X), 0)), y.reshape(-1, 1), beta,
                             SquaredLoss(), activation, True)
    rng = np.random.RandomState(0)
    nets = train_networks(X1, template.Y, template.loss, template.sample_weight,
                          beta, 15, 2, rng, max_iter=300)
    seed = min(_independent_objective(X1, y, beta, net) for net in nets)
    assert seed == pytest.approx(min(net.objective for net in nets), rel=1e-12)

    # max_iter=1: a solver stopped far from the optimum of the program.
    options = SolverOptions("admm", tol=1e-6, max_iter=max_iter)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search = search_arrangements(template, options, 10, rng, seeds=nets)
    res = search.result
    final = search.program.objective(res.V, res.W, res.intercept)
    assert search.seed_objective <= seed * (1 + 1e-9)
    assert search.first_objective <= search.seed_objective
    assert final <= seed * (1 + 1e-9)
    if max_iter > 1:
        # Converged solves improve on the seed.
        assert final < (1 - 1e-3) * seed


def test_estimator_reports_its_seed(kinked):
    X, y = kinked
    est = _fit(X, y, arrangements="search", n_arrangements=10)
    report = est.search_report_
    assert len(report["seed_objectives"]) == 3
    assert report["seed_units"] == 20
    assert est.search_seed_objective_ <= min(report["seed_objectives"]) * (1 + 1e-9)
    assert est.objective_ <= est.search_seed_objective_ * (1 + 1e-9)
    assert report["n_examined"] == len(est.examined_gates_)
    assert report["n_active"] == len(est.gates_)
    assert est.lower_bound_ <= est.objective_
    # A refit with other arrangements clears what the search set.
    est.set_params(arrangements="gaussian").fit(X, y)
    assert not hasattr(est, "search_report_")
    assert not hasattr(est, "examined_gates_")


def test_search_matches_nonconvex_restarts(kinked):
    X, y = kinked
    X1, beta = add_ones(X, True), 1e-3
    est = _fit(X, y, arrangements="search", n_arrangements=10)
    P = y.reshape(-1, 1)
    best = train_nonconvex(
        X1, P, beta, 20, lambda Q: 0.5 * np.mean((Q - P) ** 2),
        lambda Q: (Q - P) / len(P), n_restarts=5,
    )
    assert est.objective_ <= best * (1 + 1e-6)


def test_warm_refit_does_not_reseed(kinked):
    X, y = kinked
    est = _fit(X, y, arrangements="search", n_arrangements=10, warm_start=True)
    assert len(est.search_report_["seed_objectives"]) == 3
    first = est.objective_
    est.fit(X, y)
    assert est.search_report_["seed_objectives"] == []
    assert est.search_seed_objective_ is None
    assert est.objective_ <= first * (1 + 1e-6)


def test_a_round_warm_starts_the_solver_state_of_the_last():
    # ADMM's split and multipliers follow their blocks into the next
    # round's active set (patterns kept in order, new ones at zero)
    from skconvexnn.fitting.search import _padded
    from skconvexnn.solvers import SolverResult
    from skconvexnn.solvers.admm_state import ADMMState

    rng = np.random.default_rng(0)
    n, d = 6, 3
    X = rng.standard_normal((n, d))

    def program(m):
        return ConvexProgram(X=X, patterns=np.ones((n, m), dtype=bool),
                             Y=np.zeros((n, 1)), beta=0.1, loss=SquaredLoss(),
                             activation="relu")

    V, W = rng.standard_normal((2, 1, 3, d))
    p, up = rng.standard_normal((2, 1, 6, d))  # stacked: V's blocks, then W's
    state = ADMMState(q=np.ones((n, 1)), p=p, uq=np.ones((n, 1)), up=up, rho=2.0,
                      beta=0.1, stacked=2)
    old = SolverResult(V=V, W=W, intercept=np.zeros(1), state=state)
    # patterns 10, 11, 12 active; 11 retired, 13 added
    new = _padded(old, [10, 11, 12], [10, 12, 13], program(3))
    np.testing.assert_array_equal(new.V[0], [V[0, 0], V[0, 2], np.zeros(d)])
    moved = new.state
    assert moved.rho == 2.0 and moved.p.shape == p.shape
    for half in (0, 3):  # the V blocks, then the W blocks
        for src, dst in ((0, 0), (2, 1)):
            np.testing.assert_array_equal(moved.p[0, half + dst], p[0, half + src])
            np.testing.assert_array_equal(moved.up[0, half + dst], up[0, half + src])
        assert not moved.p[0, half + 2].any() and not moved.up[0, half + 2].any()
    # kept patterns out of order: no state, the blocks alone
    assert _padded(old, [10, 11, 12], [12, 10], program(2)).state is None
