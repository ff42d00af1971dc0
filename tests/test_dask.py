"""skconvexnn on dask: cross-validation on a cluster, fits on chunked data.

Runs when ``distributed`` is installed (``pip install ".[test,dask]"``, as
CI does). One LocalCluster of two worker processes serves the module; the
data are small and the tolerances loose so that the module stays within
a minute.
"""

import warnings

import numpy as np
import pytest

distributed = pytest.importorskip("distributed")
da = pytest.importorskip("dask.array")

import dask
import joblib
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV

from skconvexnn import (
    ConvexConvReLURegressor,
    ConvexReLUClassifier,
    ConvexReLUClassifierCV,
    ConvexReLURegressor,
    ConvexReLURegressorCV,
)
from skconvexnn.solvers import FISTASolver

# The comparisons with in-memory fits need the same gates: Gaussian ones (the
# bisector gates are drawn from the rows, which the in-memory fit reorders).
GATED = dict(activation="gated_relu", n_arrangements=10, random_state=0,
             arrangements="gaussian")


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1,
                                       processes=True, dashboard_address=None)
    with distributed.Client(cluster) as c:
        yield c
    cluster.close()


@pytest.fixture
def threads():
    """dask's local threads, even while the module's client exists."""
    with dask.config.set(scheduler="threads"):
        yield


def _regression(n=400, d=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    y = (np.maximum(X @ rng.standard_normal(d), 0) - np.abs(X[:, 0])
         + 0.1 * rng.standard_normal(n))
    return X, y


# -- cross-validation and grid search under joblib's dask backend -------------


def test_grid_search_on_dask_equals_serial(client):
    X, y = _regression(n=60)
    search = GridSearchCV(ConvexReLURegressor(**GATED, tol=1e-4),
                          {"beta": [1e-1, 1e-2]}, cv=3)
    serial = search.fit(X, y).cv_results_
    with joblib.parallel_backend("dask"):
        parallel = GridSearchCV(ConvexReLURegressor(**GATED, tol=1e-4),
                                {"beta": [1e-1, 1e-2]}, cv=3, n_jobs=2).fit(X, y)
    np.testing.assert_allclose(parallel.cv_results_["mean_test_score"],
                               serial["mean_test_score"], rtol=1e-10)
    assert parallel.best_params_ == search.best_params_


def test_cv_estimators_folds_on_dask_equal_serial(client):
    X, y = _regression(n=60)
    kw = dict(GATED, n_betas=3, cv=3, tol=1e-4)
    serial = ConvexReLURegressorCV(**kw).fit(X, y)
    with joblib.parallel_backend("dask"):
        parallel = ConvexReLURegressorCV(**kw, n_jobs=2).fit(X, y)
    np.testing.assert_allclose(parallel.mse_path_, serial.mse_path_, rtol=1e-10)
    assert parallel.beta_ == serial.beta_
    labels = (y > np.median(y)).astype(int)
    kw = dict(kw, loss="squared")
    serial = ConvexReLUClassifierCV(**kw).fit(X, labels)
    with joblib.parallel_backend("dask"):
        parallel = ConvexReLUClassifierCV(**kw, n_jobs=2).fit(X, labels)
    np.testing.assert_array_equal(parallel.scores_, serial.scores_)
    assert parallel.beta_ == serial.beta_


# -- fits on dask arrays --------------------------------------------------------


def _without_polish(monkeypatch):
    """The in-memory FISTA as the chunked one runs it: first-order steps
    only (the face polish needs the data in memory)."""
    monkeypatch.setattr(FISTASolver, "polish", False)


def test_regressor_on_cluster_equals_in_memory(client, monkeypatch):
    X, y = _regression()
    kw = dict(GATED, beta=1e-2, tol=1e-4)
    auto = ConvexReLURegressor(**kw).fit(X, y)
    _without_polish(monkeypatch)
    ref = ConvexReLURegressor(**kw, solver="fista").fit(X, y)
    Xd, yd = da.from_array(X, chunks=100), da.from_array(y, chunks=100)
    # nothing may turn a dask array into numpy in this process
    def refuse(*args, **kwargs):
        raise AssertionError("a dask array was gathered in the client")

    with monkeypatch.context() as m:
        m.setattr(da.Array, "__array__", refuse)
        m.setattr(da.Array, "compute", refuse)
        est = ConvexReLURegressor(**kw).fit(Xd, yd)
    assert est.solver_ == "fista"
    assert abs(est.objective_ - ref.objective_) <= 1e-8 * ref.objective_
    assert est.duality_gap_ <= kw["tol"] * est.objective_
    # the same optimum as another solver, to the tolerance
    assert abs(est.objective_ - auto.objective_) <= 2 * kw["tol"] * auto.objective_
    assert est.n_neurons_ == ref.n_neurons_
    pred = est.predict(Xd)
    assert isinstance(pred, da.Array) and pred.shape == (len(X),)
    np.testing.assert_allclose(pred.compute(), ref.predict(X), atol=1e-8)
    np.testing.assert_allclose(est.predict(X), ref.predict(X), atol=1e-8)


def test_classifier_on_cluster_equals_in_memory(client, monkeypatch):
    X, y = _regression()
    labels = np.where(y > np.median(y), "hi", "lo")
    kw = dict(GATED, beta=1e-2, tol=1e-4)
    _without_polish(monkeypatch)
    ref = ConvexReLUClassifier(**kw, solver="fista").fit(X, labels)
    est = ConvexReLUClassifier(**kw).fit(da.from_array(X, chunks=100),
                                         da.from_array(labels, chunks=100))
    assert abs(est.objective_ - ref.objective_) <= 1e-8 * ref.objective_
    assert est.duality_gap_ <= kw["tol"] * est.objective_
    Xd = da.from_array(X, chunks=150)
    np.testing.assert_array_equal(est.predict(Xd).compute(), ref.predict(X))
    proba = est.predict_proba(Xd)
    assert isinstance(proba, da.Array) and proba.shape == (len(X), 2)
    np.testing.assert_allclose(proba.compute(), ref.predict_proba(X), atol=1e-7)


def test_weighted_multioutput_and_multiclass_on_threads(threads):
    X, y = _regression(n=300)
    rng = np.random.default_rng(1)
    w = rng.integers(0, 3, len(X)).astype(float)  # zero weights included
    Y = np.column_stack([y, X[:, 1] ** 2])
    kw = dict(GATED, beta=1e-2, tol=1e-4)
    ref = ConvexReLURegressor(**kw, solver="fista").fit(X, Y, sample_weight=w)
    est = ConvexReLURegressor(**kw).fit(da.from_array(X, chunks=70), Y,
                                        sample_weight=w)
    assert abs(est.objective_ - ref.objective_) <= kw["tol"] * ref.objective_
    np.testing.assert_allclose(est.y_scale_, ref.y_scale_, rtol=1e-12)
    np.testing.assert_allclose(est.predict(X), ref.predict(X), atol=1e-3)
    assert est.predict(da.from_array(X, chunks=70)).shape == (len(X), 2)
    classes = np.digitize(y, np.quantile(y, [1 / 3, 2 / 3]))
    ref = ConvexReLUClassifier(**kw, solver="fista").fit(X, classes)
    est = ConvexReLUClassifier(**kw).fit(da.from_array(X, chunks=70),
                                         da.from_array(classes, chunks=70))
    assert abs(est.objective_ - ref.objective_) <= kw["tol"] * ref.objective_
    np.testing.assert_array_equal(est.classes_, ref.classes_)


def test_warm_start_and_zero_network_on_threads(threads):
    X, y = _regression(n=200)
    Xd = da.from_array(X, chunks=50)
    est = ConvexReLURegressor(**GATED, beta=1e-1, tol=1e-4, warm_start=True)
    first = est.fit(Xd, y).n_iter_
    est.set_params(beta=9e-2).fit(Xd, y)
    ref = ConvexReLURegressor(**GATED, beta=9e-2, tol=1e-4, solver="fista").fit(X, y)
    assert est.n_iter_ < first
    assert abs(est.objective_ - ref.objective_) <= 2e-4 * ref.objective_
    # at beta_max or above: the network with no neuron, exactly
    est = ConvexReLURegressor(**GATED, beta=1e3).fit(Xd, y)
    assert est.n_neurons_ == 0 and est.duality_gap_ == 0.0


def test_bisector_gates_come_from_the_rows(threads):
    # at the default arrangements the gates bisect pairs of rows of X
    X, y = _regression(n=200)
    kw = dict(GATED, arrangements="bisector", beta=1e-2, tol=1e-4)
    est = ConvexReLURegressor(**kw).fit(da.from_array(X, chunks=50), y)
    G = est.gates_
    assert len(G) and np.isfinite(est.objective_)
    # each gate's hyperplane is equidistant from two rows of X
    values = X @ G[:, :-1].T + G[:, -1]  # (n, gates)
    for g in range(len(G)):
        v = values[:, g]
        close = np.isclose(v[:, None], -v[None, :], atol=1e-9 * np.abs(v).max())
        np.fill_diagonal(close, False)
        assert close.any()
    ref = ConvexReLURegressor(**kw, solver="fista").set_params(arrangements=G).fit(X, y)
    assert abs(est.objective_ - ref.objective_) <= 2e-4 * ref.objective_


def test_convergence_warning_on_early_stop(threads):
    X, y = _regression(n=200)
    with pytest.warns(ConvergenceWarning, match="relative duality gap"):
        est = ConvexReLURegressor(**GATED, beta=1e-3, tol=1e-10, max_iter=20).fit(
            da.from_array(X, chunks=50), y)
    assert est.n_iter_ == 20


@pytest.mark.parametrize("params, message", [
    (dict(activation="relu"), "activation='relu'"),
    (dict(solver="admm"), "solver='admm'"),
    (dict(solver="clarabel"), "solver='clarabel'"),
    (dict(arrangements="exhaustive"), "arrangements='exhaustive'"),
    (dict(arrangements="search"), "arrangements='search'"),
])
def test_unsupported_options_say_what_is_supported(threads, params, message):
    X, y = _regression(n=40)
    est = ConvexReLURegressor(**{**GATED, **params})
    with pytest.raises(ValueError, match=message) as info:
        est.fit(da.from_array(X, chunks=20), y)
    assert "Supported: ConvexReLURegressor and ConvexReLUClassifier" in str(info.value)


def test_unsupported_estimators_and_losses(threads):
    X, y = _regression(n=40)
    Xd = da.from_array(X, chunks=20)
    with pytest.raises(ValueError, match="loss='hinge'"):
        ConvexReLUClassifier(**GATED, loss="hinge").fit(Xd, y > 0)
    with pytest.raises(ValueError, match="does not fit a dask array"):
        ConvexReLURegressorCV(**GATED, n_betas=2, cv=2).fit(Xd, y)
    with pytest.raises(ValueError, match="ConvexConvReLURegressor"):
        ConvexConvReLURegressor(activation="gated_relu", image_shape=(1, 3),
                                kernel_size=(1, 2)).fit(Xd, y)
    # Images too (they were once computed in memory without a word).
    with pytest.raises(ValueError, match="ConvexConvReLURegressor"):
        ConvexConvReLURegressor(activation="gated_relu", kernel_size=(1, 2)).fit(
            Xd.reshape(40, 1, 3), y)


def test_validation_is_chunked_but_honest(threads):
    X, y = _regression(n=40)
    X[33, 1] = np.nan
    with pytest.raises(ValueError, match="Input X contains NaN"):
        ConvexReLURegressor(**GATED).fit(da.from_array(X, chunks=10), y)
    X[33, 1] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        ConvexReLURegressor(**GATED).fit(da.from_array(X, chunks=10), y)
    X[33, 1] = 0.0
    y_bad = y.copy()
    y_bad[3] = np.nan
    with pytest.raises(ValueError, match="Input y contains NaN"):
        ConvexReLURegressor(**GATED).fit(da.from_array(X, chunks=10), y_bad)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        ConvexReLURegressor(**GATED).fit(da.from_array(X, chunks=10), y[:-1])
    with pytest.raises(ValueError, match="non-negative"):
        ConvexReLURegressor(**GATED).fit(da.from_array(X, chunks=10), y,
                                         sample_weight=-np.ones(len(y)))
    with pytest.raises(ValueError, match="Unknown label type"):
        ConvexReLUClassifier(**GATED).fit(da.from_array(X, chunks=10), y)
    with pytest.raises(ValueError, match="unknown chunk sizes"):
        Xd = da.from_array(X, chunks=10)
        ConvexReLURegressor(**GATED).fit(Xd[Xd[:, 0] > -10], y)
    est = ConvexReLURegressor(**GATED, tol=1e-3).fit(da.from_array(X, chunks=10), y)
    with pytest.raises(ValueError, match="features"):
        est.predict(da.from_array(X[:, :2], chunks=10))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert est.predict(da.from_array(X, chunks=10)).compute().shape == (40,)


def test_pruning_on_chunks_matches_in_memory(threads, monkeypatch):
    # more neurons than samples: their activations are dependent, and the
    # pruning (a QR of the chunks' activations) removes some, as in memory
    X, y = _regression(n=12, d=2)
    kw = dict(activation="gated_relu", n_arrangements=40, beta=1e-3, tol=1e-4,
              random_state=0, arrangements="gaussian")
    _without_polish(monkeypatch)
    ref = ConvexReLURegressor(**kw, solver="fista").fit(X, y)
    est = ConvexReLURegressor(**kw).fit(da.from_array(X, chunks=5), y)
    assert ref.n_neurons_ <= len(X) + 1 < len(ref.gates_)
    assert est.n_neurons_ == ref.n_neurons_
    assert abs(est.objective_ - ref.objective_) <= 1e-8 * ref.objective_
    np.testing.assert_allclose(est.predict(X), ref.predict(X), atol=1e-6)
