import numpy as np
import pytest

from skconvexnn import ConvexReLURegressor
from skconvexnn.solvers import cvxpy_backend


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    return rng.standard_normal((20, 3)), rng.standard_normal(20)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_input(data, bad):
    X, y = data
    X = X.copy()
    X[0, 0] = bad
    with pytest.raises(ValueError, match="NaN|infinity"):
        ConvexReLURegressor().fit(X, y)
    y2 = y.copy()
    y2[1] = bad
    with pytest.raises(ValueError, match="NaN|infinity"):
        ConvexReLURegressor().fit(data[0], y2)


def test_wrong_shapes(data):
    X, y = data
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        ConvexReLURegressor().fit(X, y[:-1])
    est = ConvexReLURegressor(n_arrangements=5, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="features"):
        est.predict(X[:, :2])
    with pytest.raises(ValueError, match="2D array"):
        ConvexReLURegressor().fit(X[:, 0], y)


def test_empty_data():
    with pytest.raises(ValueError, match="0 sample"):
        ConvexReLURegressor().fit(np.empty((0, 3)), np.empty(0))


@pytest.mark.parametrize("beta", [0.0, -1.0])
def test_nonpositive_beta(data, beta):
    with pytest.raises(ValueError, match="beta"):
        ConvexReLURegressor(beta=beta).fit(*data)


@pytest.mark.parametrize("param, value", [("activation", "tanh"), ("solver", "nope"),
                                          ("arrangements", "grid")])
def test_unknown_options(data, param, value):
    with pytest.raises(ValueError, match=param):
        ConvexReLURegressor(**{param: value}).fit(*data)


def test_solver_not_installed(data, monkeypatch):
    import cvxpy

    monkeypatch.setattr(cvxpy, "installed_solvers", lambda: ["CLARABEL"])
    with pytest.raises(ImportError, match="pip install Mosek"):
        ConvexReLURegressor(solver="mosek").fit(*data)


def test_installed_solvers_are_listed_once(monkeypatch):
    # cvxpy's listing tries to import every solver (about 1.5 ms a call):
    # the backends ask once per listing function, not once per fit.
    import cvxpy

    calls = []

    def listing():
        calls.append(1)
        return ["CLARABEL"]

    monkeypatch.setattr(cvxpy, "installed_solvers", listing)
    for _ in range(3):
        cvxpy_backend.check_installed("clarabel")
    assert len(calls) == 1
    with pytest.raises(ImportError, match="pip install Mosek"):
        cvxpy_backend.check_installed("mosek")


def test_problem_too_large_for_memory(data, monkeypatch):
    monkeypatch.setattr(cvxpy_backend, "available_memory_bytes", lambda: 2**20)
    with pytest.raises(MemoryError, match=r"GiB.*n_arrangements"):
        ConvexReLURegressor(solver="clarabel").fit(*data)


def test_exhaustive_limit(data):
    X = np.random.default_rng(0).standard_normal((300, 6))
    with pytest.raises(ValueError, match="max_patterns"):
        ConvexReLURegressor(arrangements="exhaustive").fit(X, X[:, 0])
