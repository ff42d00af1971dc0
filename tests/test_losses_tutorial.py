"""The code of the tutorial "Add a loss" (doc/code/huber_loss.py) works."""

import functools
import runpy
from pathlib import Path

import numpy as np
import pytest
from fitted import assert_objective_is_the_networks
from scipy.optimize import check_grad

from skconvexnn import ConvexReLURegressor

CODE = Path(__file__).parents[1] / "doc" / "code" / "huber_loss.py"
HuberLoss = runpy.run_path(str(CODE))["HuberLoss"]


def _case(k=2, n=9, seed=0):
    rng = np.random.default_rng(seed)
    s = rng.random(n)
    return rng.standard_normal((n, k)), rng.standard_normal((n, k)), s / s.sum()


def test_gradient_conjugate_and_intercept():
    loss = HuberLoss(delta=0.5)
    P, Y, s = _case()
    # Away from the kinks |p - y| = delta.
    P = np.where(np.abs(np.abs(P - Y) - 0.5) < 0.05, P + 0.1, P)

    def f(p):
        return loss.value(p.reshape(P.shape), Y, s)

    def g(p):
        return loss.gradient(p.reshape(P.shape), Y, s).ravel()

    assert check_grad(f, g, P.ravel()) < 1e-6
    Lam = -loss.gradient(P, Y, s)
    assert loss.dual(Lam, Y, s) == pytest.approx(loss.value(P, Y, s) + np.sum(Lam * P),
                                                 rel=1e-10)
    assert loss.dual(2.0 * Lam + 0.5 * s[:, None], Y, s) == -np.inf
    c = loss.optimal_intercept(P, Y, s)
    best = loss.value(P + c, Y, s)
    for step in (1e-3, -1e-3):
        for t in range(Y.shape[1]):
            shifted = c.copy()
            shifted[t] += step
            assert best <= loss.value(P + shifted, Y, s) + 1e-12


def test_tutorial_runs_and_fits(capsys):
    runpy.run_path(str(CODE), run_name="__main__")
    out = capsys.readouterr().out
    assert "huber: objective" in out


def _outliers():
    rng = np.random.default_rng(0)
    X = rng.uniform(-2, 2, (30, 2))
    y = np.sin(X[:, 0]) + X[:, 1] ** 2 + 0.1 * rng.standard_normal(30)
    y[::6] += 4.0
    return X, y


@pytest.mark.parametrize("activation", ["relu", "gated_relu"])
def test_fit_with_the_new_loss(activation):
    X, y = _outliers()
    loss = HuberLoss(delta=0.3)
    reg = ConvexReLURegressor(loss=loss, activation=activation, beta=1e-3,
                              n_arrangements=20, random_state=0, tol=1e-8).fit(X, y)
    assert reg.duality_gap_ <= 1e-4 * reg.objective_
    # The objective of the returned network, recomputed from its weights.
    assert_objective_is_the_networks(reg, X, y)
    assert reg.predict(X).shape == y.shape


def _params(activation):
    return {"loss": HuberLoss(delta=0.3), "activation": activation, "beta": 1e-3,
            "n_arrangements": 20, "random_state": 0}


@functools.cache
def _reference(activation):
    """The optimum by the conic solver, for the native solvers to match."""
    return ConvexReLURegressor(solver="clarabel", tol=1e-8,
                               **_params(activation)).fit(*_outliers())


@pytest.mark.parametrize("activation, solver, tol", [
    ("relu", "fista", 1e-3),
    ("gated_relu", "fista", 1e-4),
    ("gated_relu", "anderson", 1e-6),
])
def test_proximal_gradient_solvers_take_the_new_loss(activation, solver, tol):
    # The solvers ask the loss for its curvature: no table of loss names.
    X, y = _outliers()
    # (Anderson's tail on this program of 30 samples is long: 13,300
    # iterations to 1e-6 over the trained network's patterns)
    ours = ConvexReLURegressor(solver=solver, tol=tol, max_iter=20_000,
                               **_params(activation)).fit(X, y)
    ref = _reference(activation)
    assert ours.solver_ == solver
    assert ours.duality_gap_ <= tol * ours.objective_ * 1.0001
    assert ours.objective_ == pytest.approx(ref.objective_, rel=tol)
    assert ours.lower_bound_ <= ref.objective_ * (1 + 1e-9)


def test_a_kinked_loss_goes_to_admm():
    # curvature = inf: the proximal gradient solvers refuse it, auto takes ADMM.
    class KinkedHuber(HuberLoss):
        curvature = np.inf

    X, y = _outliers()
    params = {**_params("gated_relu"), "loss": KinkedHuber(delta=0.3),
              "n_arrangements": 10}
    assert not KinkedHuber().smooth and HuberLoss().smooth
    with pytest.raises(ValueError, match="differentiable"):
        ConvexReLURegressor(solver="fista", **params).fit(X, y)
    assert ConvexReLURegressor(**params).fit(X, y).solver_ == "admm"
