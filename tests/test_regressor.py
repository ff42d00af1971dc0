import pickle

import numpy as np
import pytest
from fitted import (
    assert_objective_is_the_networks,
    assert_search_chose_the_best,
    fitted_program,
)
from nonconvex import standardized, train_nonconvex
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skconvexnn import ConvexReLURegressor
from skconvexnn._base import add_ones
from skconvexnn.fitting.loo import loo_outputs
from skconvexnn.program import ConvexProgram
from skconvexnn.losses import SquaredLoss
from skconvexnn.recovery import network_objective, prune_network


@pytest.mark.parametrize("activation", ["relu", "gated_relu"])
@pytest.mark.parametrize("solver", ["clarabel", "ecos"])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_recovered_objective_equals_convex_objective(
    small_regression, activation, solver, fit_intercept
):
    X, y = small_regression
    est = ConvexReLURegressor(beta=1e-2, activation=activation, solver=solver,
                              fit_intercept=fit_intercept, n_arrangements=30,
                              tol=1e-8, random_state=0).fit(X, y)
    sol = est._solution
    z = standardized(est, y)
    convex = fitted_program(est, X, z[:, None]).objective(sol.V, sol.W, sol.intercept)
    assert est.objective_ == pytest.approx(convex, rel=1e-6)
    # The objective is that of the network predict() evaluates, on the
    # standardized targets (output layer divided by y_scale_).
    assert_objective_is_the_networks(est, X, y)
    # Weak duality, and a certificate close to the optimum.
    assert est.lower_bound_ <= est.objective_ + 1e-12
    assert est.duality_gap_ <= 1e-5 * est.objective_


def test_solvers_agree(small_regression):
    X, y = small_regression
    objs = [
        ConvexReLURegressor(beta=1e-2, solver=s, n_arrangements=30, random_state=0,
                            tol=1e-8).fit(X, y).objective_
        for s in ["clarabel", "ecos", "scs"]
    ]
    assert objs[1] == pytest.approx(objs[0], rel=1e-5)
    assert objs[2] == pytest.approx(objs[0], rel=1e-4)


@pytest.mark.parametrize("d", [1, 2])
def test_exhaustive_beats_nonconvex_restarts(d):
    rng = np.random.default_rng(d)
    n = 12
    X = rng.standard_normal((n, d))
    y = np.sin(2 * X[:, 0]) + (X[:, -1] > 0) + 0.1 * rng.standard_normal(n)
    beta = 1e-2
    est = ConvexReLURegressor(beta=beta, arrangements="exhaustive", tol=1e-8).fit(X, y)
    X1 = add_ones(X, True)
    Y = standardized(est, y)[:, None]
    best = train_nonconvex(
        X1, Y, beta, n_neurons=max(est.n_neurons_, 2 * n),
        loss_value=lambda P: 0.5 * np.mean(np.sum((P - Y) ** 2, axis=1)),
        loss_grad=lambda P: (P - Y) / n, n_restarts=20,
    )
    assert est.objective_ <= best * (1 + 1e-6)
    # Exhaustive patterns: the lower bound holds for every network.
    assert est.lower_bound_ <= best + 1e-10


def test_one_dimensional_fit_interpolates_and_beats_linear_spline():
    # With small beta the optimum interpolates the data. The linear spline
    # through the data is a network with one neuron (x - x_i)_+ per knot; its
    # weight-decay cost is beta * sum_i |slope change_i| * sqrt(1 + x_i^2)
    # (hidden biases are penalized, DESIGN.md section 1), so the global
    # optimum can be no worse. (With penalized biases the optimal kinks need
    # not sit at the data points, so the fit need not equal the spline.)
    rng = np.random.default_rng(0)
    x = np.sort(rng.uniform(-2, 2, 10))
    y = rng.standard_normal(10)
    beta = 1e-6
    est = ConvexReLURegressor(beta=beta, arrangements="exhaustive", tol=1e-9)
    est.fit(x[:, None], y)
    np.testing.assert_allclose(est.predict(x[:, None]), y, atol=1e-3)
    # The objective is of the standardized targets, so is the spline's cost.
    z = standardized(est, y)
    slopes = np.diff(z) / np.diff(x)
    changes = np.r_[slopes[0], np.diff(slopes)]
    spline_cost = beta * np.sum(np.abs(changes) * np.sqrt(1 + x[:-1] ** 2))
    assert est.objective_ <= spline_cost * (1 + 1e-6)
    # The fit is piecewise linear with at most n_neurons_ kinks.
    grid = np.linspace(-3, 3, 2001)
    second = np.abs(np.diff(est.predict(grid[:, None]), 2))
    assert np.sum(second > 1e-9) <= 2 * est.n_neurons_


def test_multi_output_is_independent_per_target(small_regression):
    X, y = small_regression
    Y = np.c_[y, -2 * y + X[:, 0]]
    # (fixed gates: trained units are shared among the outputs)
    kw = dict(beta=1e-2, n_arrangements=20, random_state=0, tol=1e-8,
              arrangements="bisector")
    both = ConvexReLURegressor(**kw).fit(X, Y)
    assert both.predict(X).shape == (len(X), 2)
    assert both.coefs_[1].shape == (both.n_neurons_, 2)
    # Each neuron feeds a single output.
    assert np.all(np.count_nonzero(both.coefs_[1], axis=1) == 1)
    separate = sum(ConvexReLURegressor(**kw).fit(X, Y[:, t]).objective_ for t in range(2))
    assert both.objective_ == pytest.approx(separate, rel=1e-5)


def test_pruning_keeps_output_and_penalty():
    rng = np.random.default_rng(0)
    n, d, m = 6, 3, 20
    X = np.c_[rng.standard_normal((n, d - 1)), np.ones(n)]
    U = rng.standard_normal((m, d))
    A = rng.standard_normal((m, 1))
    scale = np.sqrt(np.linalg.norm(U, axis=1) * np.abs(A[:, 0]))
    U = U / np.linalg.norm(U, axis=1, keepdims=True) * scale[:, None]
    A = np.sign(A) * scale[:, None]
    program = ConvexProgram(X, np.ones((n, 1)), np.zeros((n, 1)), 1.0, SquaredLoss())
    U2, A2, _ = prune_network(X, U, A)
    assert len(U2) <= n + 1
    before = np.maximum(X @ U.T, 0) @ A
    after = np.maximum(X @ U2.T, 0) @ A2
    np.testing.assert_allclose(after, before, atol=1e-9)
    assert network_objective(program, U2, A2, 0.0) <= network_objective(
        program, U, A, 0.0
    ) + 1e-9


def test_pipeline_gridsearch_clone_pickle(small_regression):
    X, y = small_regression
    pipe = make_pipeline(StandardScaler(),
                         ConvexReLURegressor(n_arrangements=10, random_state=0))
    search = GridSearchCV(pipe, {"convexreluregressor__beta": [1e-3, 1e-1]}, cv=3)
    search.fit(X, y)
    assert_search_chose_the_best(search, X, y)
    est = search.best_estimator_
    restored = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(restored.predict(X), est.predict(X))
    assert clone(est[-1]).get_params() == est[-1].get_params()


def test_warm_start_reuses_gates(small_regression):
    X, y = small_regression
    est = ConvexReLURegressor(beta=1e-2, n_arrangements=15, warm_start=True,
                              random_state=0).fit(X, y)
    gates = est.gates_.copy()
    est.set_params(beta=2e-2, random_state=1).fit(X, y)
    np.testing.assert_array_equal(est.gates_, gates)


def test_user_gates(small_regression):
    X, y = small_regression
    gates = np.random.default_rng(0).standard_normal((25, X.shape[1] + 1))
    est = ConvexReLURegressor(arrangements=gates).fit(X, y)
    assert est.gates_.shape[1] == X.shape[1] + 1
    with pytest.raises(ValueError, match="shape"):
        ConvexReLURegressor(arrangements=gates[:, :2]).fit(X, y)


@pytest.mark.parametrize("solver", ["scs", "clarabel"])
def test_convergence_warning(small_regression, solver):
    X, y = small_regression
    # (the bisectors: from a trained network, this small program is already
    # at its optimum, and the fit is certified)
    with pytest.warns(ConvergenceWarning, match="max_iter=2"):
        est = ConvexReLURegressor(max_iter=2, solver=solver, random_state=0,
                                  arrangements="bisector").fit(X, y)
    assert est.duality_gap_ > est.tol * est.objective_
    # The returned network is evaluated as it is.
    assert np.isfinite(est.objective_)


def test_verbose_prints(small_regression, capsys):
    X, y = small_regression
    ConvexReLURegressor(n_arrangements=5, verbose=1, random_state=0).fit(X, y)
    assert "objective" in capsys.readouterr().out


@pytest.mark.parametrize("activation", ["relu", "gated_relu"])
def test_beta_above_beta_max_gives_empty_network(small_regression, activation):
    # For beta above max_i ||X^T D_i y_centered|| / n the zero network is optimal;
    # the solver's near-zero blocks must not come back as neurons.
    X, y = small_regression
    est = ConvexReLURegressor(beta=1e3, activation=activation, n_arrangements=20,
                              random_state=0).fit(X, y)
    assert est.n_neurons_ == 0
    np.testing.assert_allclose(est.predict(X), y.mean())
    assert est.objective_ == pytest.approx(0.5 * np.var(standardized(est, y)),
                                           rel=1e-9)


@pytest.mark.parametrize("solver", ["clarabel", "auto"])
def test_targets_at_any_scale_give_the_same_fit(small_regression, solver):
    # The solvers see standardized targets, so y * 1e8 (Clarabel once called
    # that program infeasible) and y + 1e3 are the same fit in other units.
    X, y = small_regression
    # (beta given: "auto" scales it by a noise computed in floating point,
    # equal at every scale only to rounding, checked at the end)
    kw = dict(n_arrangements=20, solver=solver, tol=1e-8, random_state=0, beta=3e-2)
    ref = ConvexReLURegressor(**kw).fit(X, y)
    for a, b in [(1e8, 0.0), (1e-6, 1e3), (-3.0, 0.0)]:
        est = ConvexReLURegressor(**kw).fit(X, a * y + b)
        np.testing.assert_allclose(est.predict(X), a * ref.predict(X) + b,
                                   rtol=1e-4, atol=1e-4 * abs(a) * np.std(y))
        assert est.y_scale_[0] == pytest.approx(abs(a) * np.std(y))
        assert est.objective_ == pytest.approx(ref.objective_, rel=1e-5)
        assert est.lower_bound_ <= est.objective_ + 1e-12
        assert est.duality_gap_ <= 1e-5 * est.objective_
        # The output layer is in the user's units; the hidden layer is not.
        np.testing.assert_allclose(np.sum(est.coefs_[1]),
                                   a * np.sum(ref.coefs_[1]), rtol=1e-3)
    auto = [ConvexReLURegressor(n_arrangements=20, solver=solver,
                                random_state=0).fit(X, a * y + b).beta_
            for a, b in [(1.0, 0.0), (1e8, 0.0), (1e-6, 1e3)]]
    # (the noise of a first fit certified to tol=1e-6, Clarabel's then
    # re-solved by ADMM: 2e-8 apart between two of the scales)
    assert auto[1] == pytest.approx(auto[0], rel=1e-6)
    assert auto[2] == pytest.approx(auto[0], rel=1e-6)


def test_default_fit_is_the_same_in_other_units():
    # The default fit (the patterns of a trained network, beta scaled by a
    # noise) of a target scaled or shifted: its standardized values and its
    # noise differ in the last bits, which L-BFGS had taken to other
    # networks (up to 0.22 of the target's spread apart on these 250 rows)
    from sklearn.datasets import load_diabetes

    X, y = load_diabetes(return_X_y=True)
    X, y = X[:250] / X[:250].std(axis=0), y[:250]
    kw = dict(n_arrangements=30, random_state=0)
    ref = ConvexReLURegressor(**kw).fit(X, y)
    for a, b in [(1e4, 0.0), (1e-6, 0.0), (1.0, 1e6)]:
        est = ConvexReLURegressor(**kw).fit(X, a * y + b)
        assert est.beta_ == pytest.approx(ref.beta_, rel=1e-10)
        np.testing.assert_allclose(est.predict(X), a * ref.predict(X) + b,
                                   rtol=0, atol=1e-8 * a * y.std())


def test_sample_weight_in_target_scaling(small_regression):
    # Weighted mean and std: integer weights act as repeated samples.
    X, y = small_regression
    w = np.arange(len(y)) % 3
    est = ConvexReLURegressor(n_arrangements=5, random_state=0).fit(X, y, w)
    rep = np.repeat(y, w)
    assert est.y_mean_[0] == pytest.approx(rep.mean())
    assert est.y_scale_[0] == pytest.approx(rep.std())
    # Without intercept nothing is centered: the scale is the root mean square.
    est = ConvexReLURegressor(n_arrangements=5, fit_intercept=False,
                              random_state=0).fit(X, y)
    assert est.y_mean_[0] == 0.0
    assert est.y_scale_[0] == pytest.approx(np.sqrt(np.mean(y**2)))
    # A custom loss sees the targets as given.
    est = ConvexReLURegressor(loss=SquaredLoss(), n_arrangements=5,
                              random_state=0).fit(X, y)
    assert (est.y_mean_[0], est.y_scale_[0]) == (0.0, 1.0)


def _loo_noise(est, X, y):
    """Root mean square of the approximate leave-one-out residuals of the
    fitted ``est`` (standardized targets)."""
    Z = standardized(est, y)[:, None]
    outputs = loo_outputs(fitted_program(est, X, Z), est._solution)
    return float(np.sqrt(np.mean((Z - outputs) ** 2)))


@pytest.mark.parametrize("noise", [0.05, 3.0])
def test_auto_beta_follows_the_noise(noise):
    # beta="auto" of the regressor: the beta of the size rule times the
    # noise of a first fit at that beta, to tol=1e-3 (the gated program over the
    # patterns of a network trained as the fit's), the root mean square of
    # its leave-one-out residuals; a target of noise alone keeps the rule's
    # beta (the residuals are no smaller than the targets' spread)
    rng = np.random.default_rng(1)
    X = rng.standard_normal((300, 3))
    y = np.abs(X[:, 0]) + noise * rng.standard_normal(300)
    auto = ConvexReLURegressor(n_arrangements=10, random_state=0).fit(X, y)
    first = ConvexReLURegressor(beta=3e-2, activation="gated_relu", n_arrangements=10,
                                tol=1e-3, random_state=0).fit(X, y)
    rule = ConvexReLURegressor(beta=3e-2, n_arrangements=10, random_state=0).fit(X, y)
    level = _loo_noise(first, X, y)
    assert auto.beta_ == pytest.approx(3e-2 if level >= 1 else max(3e-2 * level, 3e-3))
    # the fit at that beta, as if it were given
    given = ConvexReLURegressor(beta=auto.beta_, n_arrangements=10,
                                random_state=0).fit(X, y)
    assert auto.objective_ == given.objective_
    if noise < 1:
        assert level < 0.3 and auto.score(X, y) > rule.score(X, y)
    else:  # mostly noise: about the rule's beta
        assert level > 0.9 and auto.beta_ > 0.9 * 3e-2


@pytest.mark.parametrize("activation", ["relu", "gated_relu"])
def test_noise_of_several_targets_is_per_output(activation, monkeypatch):
    # The squared loss does not couple the outputs: the noise computed one
    # output at a time equals the whole program's leave-one-out residuals
    from skconvexnn import _regression as regression

    rng = np.random.default_rng(2)
    X = rng.standard_normal((120, 3))
    Y = np.column_stack([np.abs(X[:, 0]), X[:, 1] * X[:, 2]]) + 0.2 * rng.standard_normal((120, 2))
    est = ConvexReLURegressor(beta=3e-2, activation=activation, n_arrangements=8,
                              random_state=0).fit(X, Y)
    Z = standardized(est, Y)
    whole = loo_outputs(fitted_program(est, X, Z), est._solution)
    expected = np.sqrt(np.mean((Z - whole) ** 2))
    Xv, Yv, loss = est._training_data(X, Y)
    assert est._loo_noise(Xv, Yv, loss, None) == pytest.approx(expected, rel=1e-8)
    if activation == "gated_relu":
        # so a face too large for the whole program's Hessian still has its
        # noise when each output's is small enough (4 columns a block)
        nonzero = (np.linalg.norm(est._solution.V, axis=2) > 0).sum(axis=1)
        assert nonzero.min() > 0
        monkeypatch.setattr(regression, "NOISE_MAX_COLUMNS", 4 * nonzero.max() + 1)
        assert est._loo_noise(Xv, Yv, loss, None) == pytest.approx(expected, rel=1e-8)


def test_no_first_fit_near_the_floor(monkeypatch):
    # When the scaling could lower the size rule's beta by less than
    # AUTO_SCALED_MIN_RATIO, no first fit is made and the rule's beta stays
    from skconvexnn import _regression as regression

    rng = np.random.default_rng(1)
    X = rng.standard_normal((200, 3))
    y = np.abs(X[:, 0]) + 0.1 * rng.standard_normal(200)
    kw = dict(n_arrangements=10, random_state=0)
    assert ConvexReLURegressor(**kw).fit(X, y).beta_ < 3e-2
    fits = []
    monkeypatch.setattr(regression.ConvexReLURegressor, "_loo_noise",
                        lambda *args: fits.append(args) or 0.1)
    monkeypatch.setattr(regression, "AUTO_SCALED_MIN_RATIO", 3e-2 / 3e-3 + 1e-9)
    assert ConvexReLURegressor(**kw).fit(X, y).beta_ == 3e-2 and not fits
    monkeypatch.setattr(regression, "AUTO_SCALED_MIN_RATIO", 3e-2 / 3e-3)
    assert ConvexReLURegressor(**kw).fit(X, y).beta_ == pytest.approx(3e-3)
    assert len(fits) == 1


def test_verbose_reports_the_noise_scaling(capsys):
    # verbose: the size rule's beta, the first fit's noise and the beta used
    rng = np.random.default_rng(1)
    X = rng.standard_normal((200, 3))
    y = np.abs(X[:, 0]) + 0.1 * rng.standard_normal(200)
    est = ConvexReLURegressor(n_arrangements=10, random_state=0, verbose=1).fit(X, y)
    line, = [line for line in capsys.readouterr().out.splitlines()
             if "beta='auto'" in line]
    assert line.startswith("[ConvexReLURegressor] beta='auto': 0.03 by the size rule")
    assert float(line.split("beta ")[-1]) == pytest.approx(est.beta_, rel=1e-2)
    assert est.beta_ < 3e-2


def test_auto_beta_shrinks_with_the_samples():
    # beta="auto": the base beta up to 1,000 samples per output, then
    # base * 1000 / (samples per output), at least base / 10; the
    # regressors' shrinkage has the power 1.5
    from skconvexnn import ConvexReLUClassifier
    from skconvexnn._defaults import auto_beta
    assert [auto_beta(3e-2, n) for n in (10, 1000)] == [3e-2, 3e-2]
    assert auto_beta(3e-2, 4000) == pytest.approx(7.5e-3)
    assert auto_beta(3e-2, 10_000) == auto_beta(3e-2, 10**6) == pytest.approx(3e-3)
    assert auto_beta(1e-2, 8000, 4) == pytest.approx(5e-3)
    assert auto_beta(1e-2, 3000, 10) == 1e-2
    assert auto_beta(3e-2, 4000, power=1.5) == pytest.approx(3.75e-3)
    assert auto_beta(3e-2, 5000, power=1.5) == pytest.approx(3e-3)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((2500, 3))
    y = np.abs(X[:, 0]) + 0.1 * rng.standard_normal(2500)
    kw = dict(activation="gated_relu", n_arrangements=5, random_state=0)
    for n, beta in [(400, 3e-2), (2500, 3e-2 * 0.4 ** 1.5)]:
        auto = ConvexReLURegressor(**kw).fit(X[:n], y[:n])
        fixed = ConvexReLURegressor(beta=beta, **kw).fit(X[:n], y[:n])
        assert fixed.beta_ == beta
        # then scaled by the noise of that fit to tol=1e-3 (down to 3e-3)
        first = ConvexReLURegressor(beta=beta, tol=1e-3, **kw).fit(X[:n], y[:n])
        scaled = max(beta * _loo_noise(first, X[:n], y[:n]), 3e-3)
        assert auto.beta == "auto" and auto.beta_ == pytest.approx(scaled)
        again = ConvexReLURegressor(beta=auto.beta_, **kw).fit(X[:n], y[:n])
        np.testing.assert_allclose(auto.predict(X), again.predict(X))
    # the classifiers' base is 3e-3
    clf = ConvexReLUClassifier(**kw).fit(X, y > 1)
    assert clf.beta_ == pytest.approx(1.2e-3)
    # the softmax has an output a class: 2,500 samples of 5 classes
    five = ConvexReLUClassifier(**kw).fit(X, np.digitize(y, [0.3, 0.6, 0.9, 1.2]))
    assert five.beta_ == 3e-3
    with pytest.raises(ValueError, match="beta"):
        ConvexReLURegressor(beta="large").fit(X[:50], y[:50])
