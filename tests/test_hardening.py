"""Bad input, refits and solver faults: each test reproduces a defect found by
attacking the estimators, and checks the error or the result it now gives."""

import numpy as np
import pytest
from sklearn.base import clone, is_classifier
from sklearn.model_selection import KFold

from skconvexnn import (
    ConvexConvReLUClassifier,
    ConvexConvReLURegressor,
    ConvexReLUClassifier,
    ConvexReLUClassifierCV,
    ConvexReLURegressor,
    ConvexReLURegressorCV,
    CopositiveMultiOutputRegressor,
    beta_grid,
    beta_max,
    convex_relu_path,
)
from skconvexnn.solvers import SolverFailedError, cvxpy_backend


@pytest.fixture
def data():
    rng = np.random.RandomState(0)
    X = rng.standard_normal((30, 3))
    return X, X[:, 0] - X[:, 1] ** 2


# -- bad input -----------------------------------------------------------------


@pytest.mark.parametrize("est", [
    ConvexReLURegressor(n_arrangements=5, random_state=0),
    ConvexReLUClassifier(n_arrangements=5, random_state=0),
    ConvexReLURegressorCV(n_betas=2, cv=2, n_arrangements=5, random_state=0),
    ConvexConvReLURegressor(kernel_size=2, padding="same", n_arrangements=5,
                            random_state=0),
], ids=lambda e: type(e).__name__)
def test_negative_sample_weight_is_refused(data, est):
    X, y = data
    if is_classifier(est):
        y = (y > np.median(y)).astype(int)
    sw = np.ones(len(y))
    sw[3] = -0.5
    with pytest.raises(ValueError, match="sample_weight must be non-negative"):
        clone(est).fit(X, y, sample_weight=sw)


@pytest.mark.parametrize("kwargs", [{"n_betas": 0}, {"beta_ratio": 2.0},
                                    {"beta_ratio": -1.0}, {"beta_ratio": 0.0}])
def test_beta_grid_validates(kwargs):
    with pytest.raises(ValueError, match="n_betas|beta_ratio"):
        beta_grid(1.0, **kwargs)


def test_beta_grid_is_decreasing():
    grid = beta_grid(2.0, n_betas=4, beta_ratio=1e-2)
    assert len(grid) == 4 and np.all(np.diff(grid) < 0)
    assert grid[0] == 2.0 and np.isclose(grid[-1], 2e-2)


@pytest.mark.parametrize("func", [beta_max, convex_relu_path])
def test_path_functions_validate_the_estimator(data, func):
    X, y = data
    with pytest.raises(ValueError, match="n_arrangements.*ConvexReLURegressor"):
        func(X, y, estimator=ConvexReLURegressor(n_arrangements=0))
    with pytest.raises(ValueError, match="CopositiveMultiOutputRegressor has no "
                       "beta path"):
        func(X, y, estimator=CopositiveMultiOutputRegressor())


@pytest.mark.parametrize("cls", [ConvexReLURegressorCV, ConvexReLUClassifierCV])
def test_cv_on_empty_gate_array(data, cls):
    X, y = data
    if cls is ConvexReLUClassifierCV:
        y = (y > np.median(y)).astype(int)
    est = cls(arrangements=np.empty((0, 4)), n_betas=2, cv=2).fit(X, y)
    plain = est._plain_class(arrangements=np.empty((0, 4)), beta=est.beta_)
    plain.fit(X, y)
    assert est.n_neurons_ == plain.n_neurons_ == 0
    assert np.isclose(est.objective_, plain.objective_)


@pytest.mark.parametrize("cls", [ConvexConvReLURegressor, ConvexConvReLUClassifier])
def test_cnn_zero_images(cls):
    with pytest.raises(ValueError, match="0 sample"):
        cls().fit(np.empty((0, 5, 5)), np.empty(0))


def test_regressor_cv_numeric_string_targets(data):
    X, y = data
    params = dict(n_betas=2, cv=2, n_arrangements=5, random_state=0)
    text = ConvexReLURegressorCV(**params).fit(X, y.astype(str))
    plain = ConvexReLURegressorCV(**params).fit(X, y.astype(str).astype(float))
    np.testing.assert_allclose(text.mse_path_, plain.mse_path_)


def test_classifier_cv_fold_without_a_class(data):
    X, _ = data
    y = np.array([0] * 27 + [1] * 3)
    with pytest.raises(ValueError, match="training part of fold 2 has no sample "
                       r"of class\(es\) \[1\]"):
        ConvexReLUClassifierCV(cv=KFold(3), n_betas=2, n_arrangements=5).fit(X, y)


def test_copositive_refuses_search(data):
    X, y = data
    with pytest.raises(ValueError, match="arrangements"):
        CopositiveMultiOutputRegressor(arrangements="search").fit(X, np.c_[y, y])


@pytest.mark.parametrize("name", ["CLARABEL", "Clarabel", "ADMM", "Auto"])
def test_solver_name_in_any_case(data, name):
    X, y = data
    est = ConvexReLURegressor(solver=name, n_arrangements=5, random_state=0)
    ref = ConvexReLURegressor(solver=name.lower(), n_arrangements=5, random_state=0)
    assert np.isclose(est.fit(X, y).objective_, ref.fit(X, y).objective_)


def test_rust_panic_becomes_solver_failed_error(data, monkeypatch):
    import cvxpy as cp

    class PanicException(BaseException):  # as pyo3 defines it
        pass

    def panic(self, *args, **kwargs):
        raise PanicException("attempt to multiply with overflow")

    monkeypatch.setattr(cp.Problem, "solve", panic)
    X, y = data
    with pytest.raises(SolverFailedError, match="crashed.*PanicException"):
        ConvexReLURegressor(solver="clarabel", n_arrangements=5,
                            random_state=0).fit(X, y)
    # Anything else that is not an Exception still goes through.
    monkeypatch.setattr(cp.Problem, "solve",
                        lambda self, *a, **k: (_ for _ in ()).throw(KeyboardInterrupt))
    with pytest.raises(KeyboardInterrupt):
        ConvexReLURegressor(solver="clarabel", n_arrangements=5).fit(X, y)
    assert cvxpy_backend.is_panic(PanicException())


# -- refits ------------------------------------------------------------------


def _fitted_attributes(est):
    return {k for k in vars(est) if k.endswith("_") and not k.startswith("_")}


REFITS = [
    (ConvexReLURegressor(n_arrangements=5, activation="gated_relu", random_state=0),
     {"activation": "relu"}),
    (ConvexReLURegressor(n_arrangements=5, arrangements="search", random_state=0,
                         activation="gated_relu"),
     {"arrangements": "gaussian"}),
    (ConvexReLUClassifier(n_arrangements=5, activation="gated_relu", random_state=0),
     {"activation": "relu"}),
    (ConvexReLURegressorCV(n_betas=2, cv=2, n_arrangements=5, random_state=0,
                           activation="gated_relu"), {"activation": "relu"}),
    (ConvexReLUClassifierCV(n_betas=2, cv=2, n_arrangements=5, random_state=0,
                            activation="gated_relu"), {"activation": "relu"}),
    (ConvexConvReLURegressor(kernel_size=2, n_arrangements=5, random_state=0,
                             activation="gated_relu"), {"activation": "relu"}),
    (ConvexConvReLUClassifier(kernel_size=2, n_arrangements=5, random_state=0,
                              activation="gated_relu"), {"activation": "relu"}),
    (CopositiveMultiOutputRegressor(n_arrangements=5, method="frank_wolfe",
                                    random_state=0), {"method": "relaxation"}),
    (CopositiveMultiOutputRegressor(n_arrangements=5, method="relaxation",
                                    random_state=0), {"method": "frank_wolfe"}),
]


@pytest.mark.parametrize("est, change", REFITS,
                         ids=lambda p: type(p).__name__ if hasattr(p, "fit") else
                         str(p))
def test_refit_clears_what_the_last_fit_set(est, change):
    rng = np.random.RandomState(0)
    X = rng.standard_normal((16, 4))
    y = X[:, 0] - np.abs(X[:, 1])
    if is_classifier(est):
        y = (y > np.median(y)).astype(int)
    if isinstance(est, CopositiveMultiOutputRegressor):
        y = np.c_[y, X[:, 2]]
    refit = clone(est).fit(X, y).set_params(**change).fit(X, y)
    fresh = clone(est).set_params(**change).fit(X, y)
    assert _fitted_attributes(refit) == _fitted_attributes(fresh)
    np.testing.assert_allclose(refit.predict(X), fresh.predict(X),
                               rtol=1e-6, atol=1e-8)


# -- the hinge loss's intercept ----------------------------------------------


def _hinge_intercept_by_scan(P, Y, s):
    """The former n x n evaluation: the value at every breakpoint."""
    c = np.empty(Y.shape[1])
    for t in range(Y.shape[1]):
        cand = Y[:, t] - P[:, t]
        vals = s @ np.maximum(0.0, 1.0 - Y[:, t, None] * (P[:, t, None] + cand))
        c[t] = cand[np.argmin(vals)]
    return c


@pytest.mark.parametrize("seed", range(6))
def test_hinge_optimal_intercept_matches_the_scan(seed):
    from skconvexnn.losses import HingeLoss

    rng = np.random.default_rng(seed)
    n, k = rng.integers(1, 40), rng.integers(1, 4)
    Y = np.where(rng.random((n, k)) < rng.random(), 1.0, -1.0)
    P = rng.standard_normal((n, k))
    if seed % 2:  # ties: repeated predictions and uniform weights
        P = np.round(P, 1)
        s = np.full(n, 1.0 / n)
    else:
        s = rng.random(n)
        s /= s.sum()
    loss = HingeLoss()
    c = loss.optimal_intercept(P, Y, s)
    ref = _hinge_intercept_by_scan(P, Y, s)
    assert np.isclose(loss.value(P + c, Y, s), loss.value(P + ref, Y, s),
                      rtol=1e-12, atol=1e-15)
    if seed % 2 == 0:
        np.testing.assert_allclose(c, ref)
    # no intercept does better (a fine grid around it)
    for t in range(k):
        for step in (-1e-3, 1e-3):
            shifted = c.copy()
            shifted[t] += step
            assert loss.value(P + shifted, Y, s) >= loss.value(P + c, Y, s) - 1e-12


def test_hinge_optimal_intercept_memory_is_linear():
    import tracemalloc

    from skconvexnn.losses import HingeLoss

    rng = np.random.default_rng(0)
    n = 20_000
    Y = np.where(rng.random((n, 1)) < 0.3, 1.0, -1.0)
    P = rng.standard_normal((n, 1))
    s = np.full(n, 1.0 / n)
    tracemalloc.start()
    HingeLoss().optimal_intercept(P, Y, s)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 50 * n * 8  # the n x n scan needed 3.2 GB here
