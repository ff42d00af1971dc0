"""Tests of CopositiveMultiOutputRegressor against the mathematics."""

import warnings
from types import SimpleNamespace

import numpy as np
import pytest
from fitted import assert_objective_is_the_networks
from nonconvex import train_nonconvex
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skconvexnn import ConvexReLURegressor, CopositiveMultiOutputRegressor
from skconvexnn.arrangements import (
    enumerate_gates,
    patterns_from_gates,
    unique_patterns,
)
from skconvexnn.solvers.copositive_relaxation import solve_relaxation
from skconvexnn.solvers.frank_wolfe import (
    ConePCAOracle,
    PatternPool,
    frank_wolfe,
    group_lasso,
    group_lasso_ipm,
    in_some_cone,
    merge_atoms,
)


@pytest.fixture(autouse=True)
def targets_as_given(monkeypatch):
    """The tests below check the mathematics of the program on the targets
    they give (bounds, closed forms, the single-output program): the
    estimator fits them as given. Its default, the standardized targets,
    is the same program on ``(y - y_mean_) / y_scale_``
    (test_targets_are_standardized_by_one_shared_scale)."""
    monkeypatch.setattr(CopositiveMultiOutputRegressor, "_standardize_targets", False)


def test_targets_are_standardized_by_one_shared_scale(monkeypatch):
    # By default the outputs are centred and divided by one scale, the RMS
    # of the centred targets: the fit is the fit of those targets as given,
    # its output layer mapped back to the user's units; and a change of
    # units of y changes nothing but the units of the predictions.
    monkeypatch.setattr(CopositiveMultiOutputRegressor, "_standardize_targets", True)
    X, Y = paper_data(n=30, k=3)
    Y = Y * [1.0, 30.0, 0.1] + [5.0, -200.0, 1.0]
    kw = dict(beta=1e-2, arrangements="gaussian", n_arrangements=20, random_state=0)
    reg = CopositiveMultiOutputRegressor(**kw).fit(X, Y)
    mean = Y.mean(axis=0)
    scale = np.sqrt(np.mean((Y - mean) ** 2))
    np.testing.assert_allclose(reg.y_mean_, mean, rtol=1e-12)
    np.testing.assert_allclose(reg.y_scale_, np.full(3, scale), rtol=1e-12)
    Z = (Y - mean) / scale
    monkeypatch.setattr(CopositiveMultiOutputRegressor, "_standardize_targets", False)
    raw = CopositiveMultiOutputRegressor(**kw).fit(X, Z)
    assert reg.objective_ == pytest.approx(raw.objective_, rel=1e-9)
    assert reg.lower_bound_ == pytest.approx(raw.lower_bound_, rel=1e-9)
    np.testing.assert_allclose(reg.predict(X), raw.predict(X) * scale + mean,
                               rtol=1e-9, atol=1e-9 * scale)
    monkeypatch.setattr(CopositiveMultiOutputRegressor, "_standardize_targets", True)
    again = CopositiveMultiOutputRegressor(**kw).fit(X, 1000.0 * Y - 7.0)
    assert again.objective_ == pytest.approx(reg.objective_, rel=1e-6)
    np.testing.assert_allclose(again.predict(X), 1000.0 * reg.predict(X) - 7.0,
                               rtol=1e-6, atol=1e-6 * 1000.0 * scale)
    # one output: the same scaling as ConvexReLURegressor's
    one = CopositiveMultiOutputRegressor(**kw).fit(X, Y[:, 1])
    assert one.y_scale_[0] == pytest.approx(np.std(Y[:, 1]), rel=1e-12)
    assert one.predict(X).shape == (len(X),)


def paper_data(seed=0, n=25, d=2, k=5):
    """The paper's setting: targets of a random 100-neuron ReLU network."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    U0, A0 = rng.standard_normal((100, d + 1)), rng.standard_normal((100, k))
    Y = np.maximum(np.c_[X, np.ones(n)] @ U0.T, 0) @ A0 / 10
    return X, Y


def squared(Y):
    n = len(Y)
    return (lambda P: np.sum((P - Y) ** 2) / (2 * n)), (lambda P: (P - Y) / n)


@pytest.mark.slow
def test_paper_setting_is_certified_and_beats_nonconvex_training():
    # The paper's setting with every pattern: the relaxation's network,
    # polished inside the patterns, attains a proven bound to a relative
    # 1e-6, so it is globally optimal, and no nonconvex run does better.
    X, Y = paper_data()
    beta = 1e-2 / 25
    reg = CopositiveMultiOutputRegressor(beta=beta, method="relaxation",
                                         arrangements="exhaustive", random_state=0)
    reg.fit(X, Y)
    assert reg.certified_
    assert reg.duality_gap_ <= 1e-6 * reg.objective_
    # The relaxation is not tight here (its SDP value is below the optimum):
    # the certifying bound comes from the final network's residual.
    assert reg.relaxation_value_ <= reg.lower_bound_ <= reg.objective_
    X1 = np.c_[X, np.ones(len(X))]
    best = train_nonconvex(X1, Y, beta, 50, *squared(Y), n_restarts=20, seed=50)
    assert reg.lower_bound_ <= best
    assert reg.objective_ <= best


def test_lower_bound_below_objective():
    # With every pattern the relaxation bounds every network, those of
    # nonconvex training included, and certifies its own to tol.
    rng = np.random.default_rng(1)
    X, Y = rng.standard_normal((10, 1)), rng.standard_normal((10, 2))
    X1 = np.c_[X, np.ones(len(X))]
    for beta in (1e-3, 1e-2, 1e-1):
        reg = CopositiveMultiOutputRegressor(beta=beta, method="relaxation",
                                             arrangements="exhaustive", tol=1e-4)
        reg.fit(X, Y)
        assert reg.lower_bound_ <= reg.objective_ + 1e-8
        assert reg.duality_gap_ <= 1e-4 * reg.objective_ * 1.0001
        best = train_nonconvex(X1, Y, beta, 20, *squared(Y), n_restarts=3)
        assert reg.lower_bound_ <= best


def whitened_one_hot(n=6, d=8, k=3, seed=0):
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((d, n)))
    Y = np.eye(k)[np.r_[np.arange(k), rng.integers(0, k, n - k)]]
    return Q.T, Y


def test_svd_matches_relaxation_on_whitened_one_hot():
    X, Y = whitened_one_hot()
    beta = 0.05
    svd = CopositiveMultiOutputRegressor(beta=beta, method="svd",
                                         fit_intercept=False).fit(X, Y)
    relax = CopositiveMultiOutputRegressor(
        beta=beta, method="relaxation", arrangements="exhaustive",
        fit_intercept=False).fit(X, Y)
    assert svd.method_ == "svd"
    np.testing.assert_allclose(svd.objective_, relax.lower_bound_, rtol=1e-5)
    np.testing.assert_allclose(svd.objective_, relax.objective_, rtol=1e-5)
    # Closed form, for 1/(2n) scaling: singular values shrink by n * beta.
    s = np.sqrt(Y.sum(axis=0))
    t = np.maximum(s - len(X) * beta, 0)
    expected = (np.sum((s - t) ** 2) / (2 * len(X)) + beta * t.sum())
    np.testing.assert_allclose(svd.objective_, expected, rtol=1e-10)


def test_svd_refuses_where_it_does_not_apply():
    X, Y = whitened_one_hot()
    with pytest.raises(ValueError, match="fit_intercept=False"):
        CopositiveMultiOutputRegressor(method="svd").fit(X, Y)
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="whitened"):
        CopositiveMultiOutputRegressor(method="svd", fit_intercept=False).fit(
            rng.standard_normal((10, 3)), Y[:1].repeat(10, 0))
    with pytest.raises(ValueError, match="both signs"):
        CopositiveMultiOutputRegressor(method="svd", fit_intercept=False,
                                       beta=1e-4).fit(X, rng.standard_normal((6, 2)))


def test_relaxation_size_and_solver_errors():
    X, Y = paper_data()
    X1, P = np.c_[X, np.ones(25)], np.ones((25, 3))
    with pytest.raises(MemoryError, match="frank_wolfe|n_arrangements"):
        solve_relaxation(X1, P, Y, 1e-3, memory_limit=1000)
    with pytest.raises(ValueError, match="PSD"):
        CopositiveMultiOutputRegressor(method="relaxation", solver="ecos").fit(X, Y)


def test_one_dimensional_y():
    # One output: the search grows patterns by Frank-Wolfe as for several;
    # on fixed patterns the exact ReLU program is solved ("scalar").
    X, Y = paper_data(k=1)
    reg = CopositiveMultiOutputRegressor(beta=1e-3, n_arrangements=20,
                                         random_state=0).fit(X, Y.ravel())
    assert reg.predict(X).shape == (25,)
    assert reg.n_outputs_ == 1 and reg.method_ == "frank_wolfe" and reg.certified_
    fixed = CopositiveMultiOutputRegressor(beta=1e-3, n_arrangements=20,
                                           arrangements="gaussian",
                                           random_state=0).fit(X, Y.ravel())
    assert fixed.method_ == "scalar"


def test_single_output_is_the_relu_program():
    # With one output the copositive program is the ReLU program of
    # ConvexReLURegressor on the same patterns: "scalar" solves it exactly,
    # and Frank-Wolfe with its exact oracle reaches the same value to its
    # own tolerance (each method's bound is below the other's network).
    X, Y = paper_data(n=25, k=1)
    kw = dict(beta=1e-3, arrangements="gaussian", n_arrangements=20, random_state=0)
    scalar = CopositiveMultiOutputRegressor(method="scalar", **kw).fit(X, Y)
    fw = CopositiveMultiOutputRegressor(method="frank_wolfe", **kw).fit(X, Y)
    assert fw.oracle_ == "exact" and fw.certified_
    np.testing.assert_array_equal(scalar.gates_, fw.gates_)
    assert scalar.certified_
    assert scalar.objective_ <= fw.objective_ * (1 + 1e-6)
    assert fw.objective_ <= scalar.objective_ * (1 + 1e-4)
    assert scalar.lower_bound_ <= fw.objective_ * (1 + 1e-7)
    assert fw.lower_bound_ <= scalar.objective_ * (1 + 1e-7)
    # The regressor fits z = (y - mean) / s at its beta, which is the problem
    # on y at beta * s with s**2 times the objective (positive homogeneity).
    s = np.std(Y)
    reg = ConvexReLURegressor(arrangements=scalar.gates_, beta=1e-3 / s,
                              tol=1e-9).fit(X, Y.ravel())
    assert reg.y_scale_[0] == pytest.approx(s)
    assert scalar.objective_ == pytest.approx(s**2 * reg.objective_, rel=1e-6)
    # Two scalings of one program: the predictions agree to the solvers' accuracy.
    tight = CopositiveMultiOutputRegressor(method="scalar", tol=1e-9, **kw).fit(X, Y)
    np.testing.assert_allclose(tight.predict(X).ravel(), reg.predict(X), atol=1e-6)


def test_scalar_method_needs_one_output():
    X, Y = paper_data(n=25, k=2)
    with pytest.raises(ValueError, match="single output"):
        CopositiveMultiOutputRegressor(method="scalar").fit(X, Y)


def test_pipeline_and_grid_search():
    X, Y = paper_data(n=30, k=2)
    # Frank-Wolfe: the folds have 20 samples, where "auto" takes the
    # relaxation, whose SDP and polish cost about 9 s per fit under load.
    pipe = make_pipeline(StandardScaler(), CopositiveMultiOutputRegressor(
        method="frank_wolfe", n_arrangements=10, random_state=0))
    grid = GridSearchCV(pipe, {"copositivemultioutputregressor__beta": [1e-3, 1e-2]},
                        cv=3).fit(X, Y)
    assert grid.predict(X).shape == Y.shape


def test_frank_wolfe_agrees_with_relaxation_where_both_are_exact():
    # d = 1 with every pattern: the oracle is exact, and so (here) is the
    # relaxation: both reach the same optimum.
    rng = np.random.default_rng(2)
    X, Y = rng.standard_normal((12, 1)), rng.standard_normal((12, 2))
    for beta in (1e-3, 1e-2):
        kw = dict(beta=beta, arrangements="exhaustive", tol=1e-6)
        fw = CopositiveMultiOutputRegressor(method="frank_wolfe", **kw).fit(X, Y)
        relax = CopositiveMultiOutputRegressor(method="relaxation", **kw).fit(X, Y)
        assert fw.method_ == "frank_wolfe" and fw.oracle_ == "exact"
        assert fw.certified_
        # Each lower bound is below the other method's network too.
        assert fw.lower_bound_ <= relax.objective_ * (1 + 1e-6)
        assert relax.lower_bound_ <= fw.objective_ * (1 + 1e-6)
        np.testing.assert_allclose(fw.objective_, relax.lower_bound_, rtol=1e-5)


def test_frank_wolfe_bound_and_recovered_network():
    X, Y = paper_data(n=20, k=3)
    reg = CopositiveMultiOutputRegressor(beta=1e-3, method="frank_wolfe",
                                         arrangements="gaussian", n_arrangements=30,
                                         random_state=0).fit(X, Y)
    assert reg.lower_bound_ <= reg.objective_
    assert reg.duality_gap_ <= reg._tol * reg.objective_
    # The returned (pruned) network has exactly the Frank-Wolfe objective.
    assert_objective_is_the_networks(reg, X, Y, rel=1e-12)
    np.testing.assert_allclose(reg.objective_, reg.objective_curve_[-1], rtol=1e-9)
    assert reg.n_neurons_ <= len(X) * Y.shape[1] + 1


def test_frank_wolfe_approximate_oracle_is_not_certified():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((40, 6))
    Y = np.maximum(X @ rng.standard_normal((6, 2)), 0)
    reg = CopositiveMultiOutputRegressor(beta=1e-2, method="frank_wolfe",
                                         arrangements="gaussian", n_arrangements=10,
                                         random_state=0).fit(X, Y)
    assert reg.oracle_ == "approximate" and not reg.certified_
    assert np.isfinite(reg.lower_bound_)


def test_frank_wolfe_max_iter_warns():
    X, Y = paper_data(n=15, k=2)
    reg = CopositiveMultiOutputRegressor(method="frank_wolfe", max_iter=1,
                                         n_arrangements=10, random_state=0)
    with pytest.warns(ConvergenceWarning, match="max_iter=1"):
        reg.fit(X, Y)
    assert reg.n_iter_ == 1 and not reg.certified_


def test_auto_chooses_by_size_and_memory():
    X, Y = paper_data(n=30, k=2)
    reg = CopositiveMultiOutputRegressor(n_arrangements=5, random_state=0).fit(X, Y)
    assert reg.method_ == "frank_wolfe"
    # At most 20 samples the relaxation is chosen where the oracle is not
    # exact (a large rank); with the exact oracle Frank-Wolfe certifies.
    small = CopositiveMultiOutputRegressor(n_arrangements=5, random_state=0).fit(
        X[:12], Y[:12])
    assert small.method_ == "frank_wolfe" and small.oracle_ == "exact"
    rng = np.random.default_rng(0)
    wide = rng.standard_normal((12, 15))
    small = CopositiveMultiOutputRegressor(n_arrangements=5, random_state=0).fit(
        wide, Y[:12])
    assert small.method_ == "relaxation"
    one = CopositiveMultiOutputRegressor(n_arrangements=5, arrangements="gaussian",
                                         random_state=0).fit(X, Y[:, 0])
    assert one.method_ == "scalar"
    # n = 10, d = 500: the relaxation would need about 17 GiB.
    rng = np.random.default_rng(0)
    X, Y = rng.standard_normal((10, 500)), rng.standard_normal((10, 2))
    reg = CopositiveMultiOutputRegressor(n_arrangements=2, random_state=0).fit(X, Y)
    assert reg.method_ == "frank_wolfe" and reg.lower_bound_ <= reg.objective_


def test_exact_oracle_beats_sampling():
    # With every pattern the oracle is max_{||u|| = 1} ||G^T (X u)_+||: no
    # sampled direction may exceed it, and dense sampling comes close.
    rng = np.random.default_rng(4)
    X1 = np.c_[rng.standard_normal((15, 2)), np.ones(15)]
    gates = enumerate_gates(X1)
    patterns, _ = unique_patterns(patterns_from_gates(X1, gates), gates)
    G = rng.standard_normal((15, 3))
    oracle = ConePCAOracle(X1, patterns)
    values, U, _ = oracle(G, n_candidates=3)
    assert oracle.exact and np.all(np.diff(values) <= 0)
    np.testing.assert_allclose(
        np.linalg.norm(np.maximum(X1 @ U.T, 0).T @ G, axis=1), values, rtol=1e-9)
    S = rng.standard_normal((20000, 3))
    S /= np.linalg.norm(S, axis=1, keepdims=True)
    sampled = np.linalg.norm(np.maximum(X1 @ S.T, 0).T @ G, axis=1).max()
    assert sampled <= values[0] * (1 + 1e-9)
    assert sampled >= values[0] * (1 - 1e-2)


def test_merge_atoms_keeps_fit_and_lowers_penalty():
    rng = np.random.default_rng(5)
    X1 = np.c_[rng.standard_normal((10, 2)), np.ones(10)]
    u = np.array([0.3, -0.2, 1.0])
    U = np.vstack([u, u + [0.05, 0.0, 0.0], -u])
    U /= np.linalg.norm(U, axis=1, keepdims=True)
    # The first two atoms lie in the cone of one pattern.
    assert np.array_equal(X1 @ U[1] >= 0, X1 @ U[0] >= 0)
    A = np.array([[1.0, 2.0], [0.5, 1.0], [1.0, 0.0]])
    U2, A2, pats, merged = merge_atoms(U, A, np.array([0, 0, 1]))
    assert merged and len(U2) == 2
    fit = np.maximum(X1 @ U.T, 0) @ A
    np.testing.assert_allclose(np.maximum(X1 @ U2.T, 0) @ A2, fit, atol=1e-12)
    assert np.linalg.norm(A2, axis=1).sum() <= np.linalg.norm(A, axis=1).sum()


def relu_optimum(X, y, beta, gates):
    """Independent optimum: the ReLU program on the same patterns, by Clarabel.

    The regressor fits z = (y - mean) / s: at beta / s that is the problem
    on y at beta, whose optimum is s**2 times the regressor's objective_.
    """
    s = np.std(y)
    reg = ConvexReLURegressor(beta=beta / s, arrangements=gates, solver="clarabel",
                              tol=1e-8).fit(X, y)
    return SimpleNamespace(objective_=s**2 * reg.objective_)


@pytest.mark.parametrize("method", ["relaxation", "frank_wolfe", "scalar"])
def test_every_bound_is_below_the_single_output_optimum(method):
    # With one output the copositive program is the ReLU program; with every
    # pattern its optimum is the global one: no network may go below it and
    # no bound above it, over many random problems.
    for seed in range(10):
        rng = np.random.default_rng(seed)
        X = rng.standard_normal((8, 2))
        y = np.maximum(X @ rng.standard_normal(2) + 0.3, 0) + 0.3 * rng.standard_normal(8)
        beta = 10.0 ** rng.uniform(-3, -1.5)
        reg = CopositiveMultiOutputRegressor(
            beta=beta, method=method, arrangements="exhaustive", tol=1e-4,
            random_state=seed).fit(X, y.reshape(-1, 1))
        ref = relu_optimum(X, y, beta, reg.gates_)
        assert reg.lower_bound_ <= ref.objective_, seed
        assert reg.objective_ >= ref.objective_ * (1 - 1e-6), seed
        # certified to tol: the bound is within tol of the true optimum
        assert reg.lower_bound_ >= ref.objective_ * (1 - 1e-4), seed


def test_approximate_oracle_bound_is_proven():
    # The approximate oracle may underestimate the dual norm; the bound it
    # reports uses the spectral norm instead, which holds on every cone.
    rng = np.random.default_rng(3)
    X = rng.standard_normal((30, 6))
    y = np.maximum(X @ rng.standard_normal(6), 0)
    X1 = np.c_[X, np.ones(30)]
    gates = rng.standard_normal((15, 7))
    patterns, gates = unique_patterns(patterns_from_gates(X1, gates), gates)
    res = frank_wolfe(X1, patterns, y[:, None], 1e-2, exact=False, tol=1e-4,
                      max_iter=50)
    assert not res.exact
    ref = relu_optimum(X, y, 1e-2, gates)
    assert res.lower_bound <= ref.objective_
    assert res.lower_bound <= res.estimated_bound + 1e-15


@pytest.mark.parametrize("scale", [
    1.0,
    # An absolute tolerance certified a network 31 % above its bound there;
    # Frank-Wolfe needs about 190 iterations on such scaling (70 s).
    pytest.param(1e4, marks=pytest.mark.slow),
])
def test_relaxation_network_keeps_its_patterns_and_certified_is_relative(scale):
    # Sampled patterns: the network must stay on them, so the bound covers it.
    X, Y = paper_data(n=8, k=2)
    reg = CopositiveMultiOutputRegressor(beta=1e-3, method="relaxation", tol=1e-4,
                                         arrangements="gaussian", n_arrangements=4, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg.fit(X * scale, Y)
    X1 = np.c_[X * scale, np.ones(8)]
    patterns = patterns_from_gates(X1, reg.gates_)
    U = np.vstack([reg.coefs_[0], reg.intercepts_[0]]).T
    assert in_some_cone(X1 @ U.T, patterns).all()
    assert reg.lower_bound_ <= reg.objective_ * (1 + 1e-9)
    assert reg.certified_ == (reg.duality_gap_ <= reg._tol * reg.objective_)
    if not reg.certified_:
        assert reg.duality_gap_ > 0


def test_inaccurate_relaxation_warns_and_keeps_a_proven_bound():
    X, Y = paper_data(n=10, k=2)
    kw = dict(beta=1e-3, arrangements="gaussian", n_arrangements=6, random_state=0, tol=1e-4)
    with pytest.warns(ConvergenceWarning, match="status"):
        scs = CopositiveMultiOutputRegressor(method="relaxation", solver="scs",
                                             max_iter=20, **kw).fit(X, Y)
    assert scs.relaxation_status_ != "optimal"
    # Any network on the same patterns is above every proven bound.
    fw = CopositiveMultiOutputRegressor(method="frank_wolfe", **kw).fit(X, Y)
    np.testing.assert_array_equal(fw.gates_, scs.gates_)
    assert scs.lower_bound_ <= fw.objective_


@pytest.mark.parametrize("method", ["relaxation", "frank_wolfe", "scalar"])
def test_beta_above_beta_max_gives_the_zero_network_at_once(method):
    X, Y = paper_data(n=15, k=2)
    Y = Y[:, :1] if method == "scalar" else Y
    reg = CopositiveMultiOutputRegressor(beta=1e12, method=method,
                                         arrangements="gaussian", n_arrangements=10,
                                         random_state=0).fit(X, Y)
    assert reg.n_neurons_ == 0 and reg.n_iter_ == 0 and reg.certified_
    np.testing.assert_allclose(reg.predict(X), np.broadcast_to(Y.mean(0), Y.shape))
    flat = np.ones_like(Y) * 3.0
    reg.set_params(beta=1e-3).fit(X, flat)
    assert reg.n_neurons_ == 0 and reg.certified_
    np.testing.assert_allclose(reg.predict(X), flat)


def test_refit_clears_method_attributes():
    X, Y = paper_data(n=15, k=2)
    reg = CopositiveMultiOutputRegressor(method="frank_wolfe", n_arrangements=5,
                                         random_state=0).fit(X, Y)
    assert hasattr(reg, "oracle_")
    reg.set_params(method="svd", fit_intercept=False)
    Xw, Yw = whitened_one_hot()
    reg.fit(Xw, Yw)
    assert not hasattr(reg, "oracle_") and not hasattr(reg, "objective_curve_")


# -- the default: Frank-Wolfe with a growing pool of patterns ----------------


def test_group_lasso_ipm_matches_fista():
    # The interior-point corrective step solves the same group lasso as
    # FISTA, to a higher accuracy when atoms are near duplicates.
    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 4))
    U = rng.standard_normal((12, 4))
    U[6:] = U[:6] + 1e-4 * rng.standard_normal((6, 4))  # near duplicates
    H = np.maximum(X @ U.T, 0)
    H -= H.mean(axis=0)
    Y = H[:, :3] @ rng.standard_normal((3, 2)) + 0.1 * rng.standard_normal((60, 2))
    Y -= Y.mean(axis=0)
    beta, n = 1e-2, 60

    def value(A):
        return (np.sum((H @ A - Y) ** 2) / (2 * n)
                + beta * np.linalg.norm(A, axis=1).sum())

    A_ipm = group_lasso_ipm(H.T @ H / n, H.T @ Y / n, beta, atol=1e-12)
    A_fista = group_lasso(H, Y, beta, np.zeros((12, 2)), rtol=1e-10, max_iter=50_000)
    assert value(A_ipm) <= value(A_fista) + 1e-9
    np.testing.assert_allclose(value(A_ipm), value(A_fista), rtol=1e-6)


def test_pattern_pool_keeps_each_pattern_once():
    rng = np.random.default_rng(0)
    X1 = np.c_[rng.standard_normal((10, 2)), np.ones(10)]
    G = rng.standard_normal((4, 3))
    pool = PatternPool(X1, G)
    assert len(pool) == len(unique_patterns(patterns_from_gates(X1, G), G)[1])
    idx = pool.add(np.vstack([2 * G[0], rng.standard_normal(3)]))
    assert idx[0] == pool.index(G[:1])[0] and idx[1] >= 0
    assert pool.add(-np.ones((1, 3)) * [0, 0, 1])[0] == -1  # all-zero pattern
    np.testing.assert_array_equal(pool.patterns, patterns_from_gates(X1, pool.gates))


@pytest.mark.parametrize("d", [2, 6])
def test_search_bound_is_below_the_optimum_over_its_patterns(d):
    # The search's pool grows; its bound covers the final pool (gates_):
    # with one output, the optimum over those patterns is the ReLU
    # program's (Clarabel, all of gates_), and it lies between the bound
    # and the network. d = 2: exact oracle; d = 6: the ascent.
    for seed in range(3):
        rng = np.random.default_rng(seed)
        X = rng.standard_normal((30, d))
        y = np.maximum(X @ rng.standard_normal(d) + 0.3, 0) + 0.3 * rng.standard_normal(30)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            reg = CopositiveMultiOutputRegressor(
                beta=3e-3, method="frank_wolfe", n_arrangements=10, tol=1e-4,
                random_state=seed).fit(X, y.reshape(-1, 1))
        assert reg.oracle_ == ("exact" if d == 2 else "approximate")
        assert len(reg.gates_) > 10  # the pool grew beyond the Gaussian gates
        X1 = np.c_[X, np.ones(len(X))]
        U = np.vstack([reg.coefs_[0], reg.intercepts_[0]]).T
        assert in_some_cone(X1 @ U.T, patterns_from_gates(X1, reg.gates_)).all()
        ref = relu_optimum(X, y, 3e-3, reg.gates_)
        assert reg.lower_bound_ <= ref.objective_ * (1 + 1e-7), seed
        assert reg.objective_ >= ref.objective_ * (1 - 1e-6), seed
        if d == 2:
            assert reg.certified_


def test_search_beats_fixed_patterns_and_nonconvex_training():
    # Shared-unit targets in five dimensions: the default fit (patterns
    # grown from a seed network) is below Frank-Wolfe on the Gaussian gates
    # alone and below the best of three L-BFGS runs with 20 shared neurons.
    rng = np.random.default_rng(0)
    X = rng.standard_normal((80, 5))
    W, B = rng.standard_normal((6, 6)), rng.standard_normal((6, 3))
    Y = np.maximum(np.c_[X, np.ones(80)] @ W.T, 0) @ B
    Y = (Y - Y.mean(0)) / Y.std(0)
    beta = 1e-3
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search = CopositiveMultiOutputRegressor(beta=beta, n_arrangements=20,
                                                random_state=0).fit(X, Y)
        fixed = CopositiveMultiOutputRegressor(
            beta=beta, arrangements="gaussian", method="frank_wolfe",
            n_arrangements=20, random_state=0).fit(X, Y)
    assert search.method_ == "frank_wolfe" and search.n_local_moves_ >= 1
    assert search.objective_ < fixed.objective_
    X1 = np.c_[X, np.ones(80)]
    best = train_nonconvex(X1, Y, beta, 20, *squared(Y), n_restarts=3, seed=1,
                           scale=1 / np.sqrt(6))
    assert search.objective_ <= best


def test_search_warns_with_the_approximate_oracle_and_keeps_a_proven_bound():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((40, 6))
    Y = np.maximum(X @ rng.standard_normal((6, 2)), 0)
    reg = CopositiveMultiOutputRegressor(beta=1e-2, n_arrangements=10, random_state=0)
    with pytest.warns(ConvergenceWarning, match="approximate"):
        reg.fit(X, Y)
    assert reg.oracle_ == "approximate" and not reg.certified_
    # Any network on the final patterns is above the bound: here the
    # fixed-pattern fit on them.
    other = CopositiveMultiOutputRegressor(
        beta=1e-2, method="frank_wolfe", arrangements=reg.gates_, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        other.fit(X, Y)
    assert reg.lower_bound_ <= other.objective_


def test_search_warm_start_reuses_the_pool_and_the_network():
    X, Y = paper_data(n=20, k=2)
    reg = CopositiveMultiOutputRegressor(beta=1e-3, n_arrangements=10,
                                         warm_start=True, random_state=0).fit(X, Y)
    first = reg.gates_.copy()
    reg.set_params(beta=2e-3).fit(X, Y)
    assert len(reg.gates_) >= len(first)
    np.testing.assert_array_equal(reg.gates_[:len(first)], first)
    assert reg.certified_
