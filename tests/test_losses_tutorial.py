"""The code of the tutorial "Add a loss" (doc/code/huber_loss.py) works."""

import runpy
from pathlib import Path

import numpy as np
import pytest
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


@pytest.mark.parametrize("activation", ["relu", "gated_relu"])
def test_fit_with_the_new_loss(activation):
    rng = np.random.default_rng(0)
    X = rng.uniform(-2, 2, (30, 2))
    y = np.sin(X[:, 0]) + X[:, 1] ** 2 + 0.1 * rng.standard_normal(30)
    y[::6] += 4.0
    loss = HuberLoss(delta=0.3)
    reg = ConvexReLURegressor(loss=loss, activation=activation, beta=1e-3,
                              n_arrangements=20, random_state=0, tol=1e-8).fit(X, y)
    assert reg.duality_gap_ <= 1e-4 * reg.objective_
    # The objective of the returned network, recomputed from its weights.
    W1, W2 = reg.coefs_
    b1, c = reg.intercepts_
    if activation == "relu":
        pred = np.maximum(X @ W1 + b1, 0) @ W2 + c
        s = np.full(len(y), 1 / len(y))
        penalty = np.sum(W1**2) + np.sum(b1**2) + np.sum(W2**2)
        value = loss.value(pred, y[:, None], s) + reg.beta / 2 * penalty
        assert reg.objective_ == pytest.approx(value, rel=1e-10)
    np.testing.assert_allclose(reg.predict(X).shape, y.shape)
