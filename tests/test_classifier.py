import pickle

import numpy as np
import pytest
from fitted import (
    assert_objective_is_the_networks,
    assert_search_chose_the_best,
    fitted_program,
)
from nonconvex import train_nonconvex
from scipy.optimize import check_grad
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skconvexnn import ConvexReLUClassifier
from skconvexnn._base import add_ones
from skconvexnn._classification import encode_targets
from skconvexnn.program import ConvexProgram
from skconvexnn.program.dual import lower_bound
from skconvexnn.arrangements import patterns_from_gates
from skconvexnn.losses import HingeLoss, LogisticLoss, SquaredLoss, get_loss
from skconvexnn.solvers import cvxpy_backend


def _blobs(n=40, k=2, d=2, seed=0):
    rng = np.random.default_rng(seed)
    codes = np.arange(n) % k
    centers = 2.0 * rng.standard_normal((k, d))
    return centers[codes] + rng.standard_normal((n, d)), codes


def _loss_cases():
    rng = np.random.default_rng(0)
    n = 7
    s = rng.random(n)
    s /= s.sum()
    codes = rng.integers(0, 3, n)
    return [
        (LogisticLoss(), encode_targets(codes % 2, 2, "logistic"), s),
        (LogisticLoss(), encode_targets(codes, 3, "logistic"), s),
        (HingeLoss(), encode_targets(codes, 3, "hinge"), s),
        (SquaredLoss(), encode_targets(codes % 2, 2, "squared"), s),
    ]


@pytest.mark.parametrize("loss, Y, s", _loss_cases(), ids=lambda v: getattr(v, "name", ""))
def test_value_and_gradient_are_value_then_gradient(loss, Y, s):
    # the solvers' shortcut (one softmax for both) gives what the two give
    P = np.random.default_rng(2).standard_normal(Y.shape) * 30
    value, G = loss.value_and_gradient(P, Y, s)
    assert value == pytest.approx(loss.value(P, Y, s), rel=1e-14)
    np.testing.assert_allclose(G, loss.gradient(P, Y, s), rtol=1e-13, atol=1e-15)


def test_a_subclass_value_is_not_bypassed_by_the_shortcut():
    # a subclass of the logistic loss that changes value and gradient gets
    # them from value_and_gradient too, not the built-in softmax's
    class Scaled(LogisticLoss):
        def value(self, P, Y, s):
            return 2.0 * super().value(P, Y, s)

        def gradient(self, P, Y, s):
            return 2.0 * super().gradient(P, Y, s)

    _, Y, s = _loss_cases()[1]
    P = np.random.default_rng(3).standard_normal(Y.shape)
    value, G = Scaled().value_and_gradient(P, Y, s)
    assert value == pytest.approx(2.0 * LogisticLoss().value(P, Y, s))
    np.testing.assert_allclose(G, 2.0 * LogisticLoss().gradient(P, Y, s))


@pytest.mark.parametrize("loss, Y, s", _loss_cases(), ids=lambda v: getattr(v, "name", ""))
def test_loss_gradient_and_conjugate(loss, Y, s):
    rng = np.random.default_rng(1)
    P0 = rng.standard_normal(Y.shape)
    if loss.name == "hinge":  # stay away from the kinks
        P0 = np.where(np.abs(Y * P0 - 1) < 0.1, P0 + 0.3, P0)
    shape = Y.shape

    def f(p):
        return loss.value(p.reshape(shape), Y, s)

    def g(p):
        return loss.gradient(p.reshape(shape), Y, s).ravel()

    assert check_grad(f, g, P0.ravel()) < 1e-6
    # Fenchel-Young equality at Lam = -gradient: -F*(-Lam) = F(P) + <Lam, P>.
    Lam = -loss.gradient(P0, Y, s)
    assert loss.dual(Lam, Y, s) == pytest.approx(f(P0.ravel()) + np.sum(Lam * P0),
                                                 rel=1e-10)


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_hinge_projection_onto_the_dual_domain(fit_intercept):
    rng = np.random.default_rng(0)
    n, k = 15, 3
    Y = encode_targets(rng.integers(0, k, n), k, "hinge")
    s = rng.random(n)
    s /= s.sum()
    loss = HingeLoss()
    Lam = loss.project_dual(rng.standard_normal((n, k)), Y, s, fit_intercept)
    assert np.isfinite(loss.dual(Lam, Y, s))
    if fit_intercept:
        np.testing.assert_allclose(Lam.sum(axis=0), 0.0, atol=1e-15)
    # A point already in the domain is left where it is.
    inside = Y * s[:, None] * rng.random((n, k))
    if fit_intercept:
        inside = loss.project_dual(inside, Y, s, True)
    np.testing.assert_allclose(loss.project_dual(inside, Y, s, fit_intercept), inside,
                               atol=1e-15)


@pytest.mark.parametrize("loss", ["logistic", "squared", "hinge"])
@pytest.mark.parametrize("n_classes", [2, 3])
def test_dual_bound_is_tight_at_the_intercept_only_optimum(loss, n_classes):
    # With a huge beta the optimum is the output intercept alone; the dual
    # point from that prediction proves it (weak duality, tight).
    X, codes = _blobs(n=9, k=n_classes)
    Y = encode_targets(codes, n_classes, loss)
    X1 = add_ones(X, True)
    gates = np.random.default_rng(0).standard_normal((6, X1.shape[1]))
    program = ConvexProgram(X1, patterns_from_gates(X1, gates), Y, 1e3,
                            get_loss(loss))
    s = program.sample_weight
    P = np.zeros_like(Y)
    c = program.loss.optimal_intercept(P, Y, s)
    primal = program.loss.value(P + c, Y, s)
    assert primal <= program.loss.value(P + c + 1e-3, Y, s) + 1e-12
    assert lower_bound(program, P) == pytest.approx(primal, rel=1e-8, abs=1e-12)


@pytest.mark.parametrize("loss", ["logistic", "squared", "hinge"])
@pytest.mark.parametrize("activation", ["relu", "gated_relu"])
@pytest.mark.parametrize("n_classes", [2, 3])
def test_recovered_objective_equals_convex_objective(loss, activation, n_classes):
    X, codes = _blobs(n=30, k=n_classes)
    clf = ConvexReLUClassifier(loss=loss, activation=activation, beta=1e-2,
                               n_arrangements=15, random_state=0, tol=1e-8)
    clf.fit(X, codes)
    Y = encode_targets(codes, n_classes, loss)
    sol = clf._solution
    convex = fitted_program(clf, X, Y).objective(sol.V, sol.W, sol.intercept)
    assert clf.objective_ == pytest.approx(convex, rel=1e-5)
    # objective_ is the objective of the network that predict() uses.
    assert_objective_is_the_networks(clf, X, codes, Y=Y)
    assert clf.lower_bound_ <= clf.objective_ + 1e-12
    assert clf.coefs_[1].shape == (clf.n_neurons_, 1 if n_classes == 2 else n_classes)
    assert clf.duality_gap_ <= 1e-3 * clf.objective_


def _nonconvex_loss(loss, Y):
    n = len(Y)
    s = np.full(n, 1.0 / n)
    return (lambda P: loss.value(P, Y, s)), (lambda P: loss.gradient(P, Y, s))


# Binary here; with several outputs the classifier gives each output its own
# neurons, which train_nonconvex(per_output=True) reproduces (test below).
@pytest.mark.parametrize("loss, n_classes", [("logistic", 2), ("squared", 2),
                                             ("hinge", 2)])
def test_exhaustive_beats_nonconvex_restarts(loss, n_classes):
    rng = np.random.default_rng(3)
    n = 12
    X = rng.standard_normal((n, 2))
    codes = (np.arange(n) % n_classes)
    rng.shuffle(codes)  # labels not separable by a line: neurons are needed
    beta = 1e-2
    clf = ConvexReLUClassifier(loss=loss, beta=beta, arrangements="exhaustive",
                               tol=1e-8).fit(X, codes)
    Y = encode_targets(codes, n_classes, loss)
    value, grad = _nonconvex_loss(get_loss(loss), Y)
    best = train_nonconvex(add_ones(X, True), Y, beta, n_neurons=2 * n,
                           loss_value=value, loss_grad=grad, n_restarts=20)
    assert clf.objective_ <= best * (1 + 1e-5)
    assert clf.lower_bound_ <= best + 1e-10


@pytest.mark.parametrize("labels", [["cat", "dog"], [False, True], [3, 7],
                                    ["a", "b", "c"], [-1, 0, 5]])
def test_labels(labels):
    X, codes = _blobs(n=24, k=len(labels))
    y = np.array(labels, dtype=object if isinstance(labels[0], str) else None)[codes]
    clf = ConvexReLUClassifier(beta=1e-3, n_arrangements=10, random_state=0).fit(X, y)
    np.testing.assert_array_equal(clf.classes_, np.unique(y))
    pred = clf.predict(X)
    assert set(pred) <= set(y) and np.mean(pred == y) > 0.8
    proba = clf.predict_proba(X)
    assert proba.shape == (len(X), len(labels))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(clf.classes_[proba.argmax(axis=1)], pred)
    scores = clf.decision_function(X)
    assert scores.shape == ((len(X),) if len(labels) == 2 else (len(X), len(labels)))


@pytest.mark.parametrize("loss", ["squared", "hinge"])
def test_predict_proba_only_for_logistic(loss):
    X, codes = _blobs(n=20)
    clf = ConvexReLUClassifier(loss=loss, n_arrangements=5, random_state=0)
    assert not hasattr(clf, "predict_proba")
    clf.fit(X, codes)
    assert not hasattr(clf, "predict_proba")
    with pytest.raises(AttributeError, match="predict_proba"):
        clf.predict_proba(X)


def test_sample_weight_as_repetition():
    X, codes = _blobs(n=20)
    w = np.r_[np.full(10, 2.0), np.ones(10)]
    kw = dict(n_arrangements=10, random_state=0, tol=1e-8, beta=1e-2)
    weighted = ConvexReLUClassifier(**kw).fit(X, codes, sample_weight=w)
    repeated = ConvexReLUClassifier(**kw).fit(np.r_[X, X[:10]], np.r_[codes, codes[:10]])
    assert weighted.objective_ == pytest.approx(repeated.objective_, rel=1e-4)


def test_pipeline_gridsearch_cross_val_pickle():
    X, codes = _blobs(n=45, d=3, seed=1)
    pipe = make_pipeline(StandardScaler(),
                         ConvexReLUClassifier(n_arrangements=10, random_state=0))
    search = GridSearchCV(pipe, {"convexreluclassifier__beta": [1e-3, 1e-1]}, cv=3)
    search.fit(X, codes)
    assert_search_chose_the_best(search, X, codes)
    for scoring in ["roc_auc", "accuracy"]:
        scores = cross_val_score(pipe, X, codes, cv=3, scoring=scoring)
        assert np.all(scores > 0.6)
    est = search.best_estimator_
    restored = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(restored.predict_proba(X), est.predict_proba(X))


def test_bad_inputs():
    X, codes = _blobs(n=20)
    with pytest.raises(ValueError, match="one class"):
        ConvexReLUClassifier().fit(X, np.zeros(20))
    # two classes, but only one with positive weight
    with pytest.raises(ValueError, match="positive sample_weight; only class 1"):
        ConvexReLUClassifier().fit(X, codes, sample_weight=(codes == 1).astype(float))
    with pytest.raises(ValueError, match="Unknown label type|continuous"):
        ConvexReLUClassifier().fit(X, np.linspace(0, 1, 20))
    for bad in (np.nan, np.inf):
        Xb = X.copy()
        Xb[0, 0] = bad
        with pytest.raises(ValueError, match="NaN|infinity"):
            ConvexReLUClassifier().fit(Xb, codes)
    with pytest.raises(ValueError, match="loss"):
        ConvexReLUClassifier(loss="exponential").fit(X, codes)


def _fail_on(monkeypatch, name):
    original = cvxpy_backend.CvxpySolver._solve

    def solve(self, program, init):
        if self.name == name:
            raise cvxpy_backend.SolverFailedError(
                f"Solver {name!r} failed. {cvxpy_backend._advice(name, program)}.")
        return original(self, program, init)

    monkeypatch.setattr(cvxpy_backend.CvxpySolver, "_solve", solve)


def test_failed_default_solver_is_retried_with_scs(monkeypatch):
    X, codes = _blobs(n=20)
    _fail_on(monkeypatch, "clarabel")
    # below NATIVE_MIN_TOL, "auto" is Clarabel
    with pytest.warns(RuntimeWarning, match="retrying with 'scs'"):
        clf = ConvexReLUClassifier(n_arrangements=5, random_state=0,
                                   tol=1e-8).fit(X, codes)
    assert clf.solver_ == "scs" and np.isfinite(clf.objective_)
    # A solver the user chose is not replaced: its failure is raised.
    with pytest.raises(cvxpy_backend.SolverFailedError, match="clarabel"):
        ConvexReLUClassifier(n_arrangements=5, solver="clarabel").fit(X, codes)


def test_ecos_failure_on_logistic_names_other_solvers(monkeypatch):
    X, codes = _blobs(n=20)
    _fail_on(monkeypatch, "ecos")
    with pytest.raises(cvxpy_backend.SolverFailedError,
                       match="exponential cone; try solver='auto' .a native "
                             "solver., solver='clarabel' or solver='scs'"):
        ConvexReLUClassifier(n_arrangements=5, solver="ecos").fit(X, codes)


@pytest.mark.parametrize("solver", ["ecos", "scs"])
def test_other_backends_on_logistic(solver):
    X, codes = _blobs(n=20)
    kw = dict(n_arrangements=8, random_state=0, beta=1e-2)
    ref = ConvexReLUClassifier(**kw, tol=1e-8).fit(X, codes).objective_
    obj = ConvexReLUClassifier(**kw, solver=solver).fit(X, codes).objective_
    assert obj == pytest.approx(ref, rel=1e-3)


# The quick cases use a few restarts of narrow networks; the slow ones give
# the nonconvex side 20 restarts of n neurons per output (about 80 s).
@pytest.mark.parametrize("loss, n_restarts, width", [
    ("squared", 5, 6),
    ("logistic", 5, 6),
    pytest.param("squared", 20, 12, marks=pytest.mark.slow),
    pytest.param("logistic", 20, 12, marks=pytest.mark.slow),
])
def test_multiclass_exhaustive_beats_nonconvex_restarts(loss, n_restarts, width):
    # Three classes: one output per class, each with its own neurons; for
    # the logistic loss the outputs are coupled through the softmax.
    rng = np.random.default_rng(4)
    n, n_classes = 12, 3
    X = rng.standard_normal((n, 2))
    codes = np.arange(n) % n_classes
    rng.shuffle(codes)
    beta = 1e-2
    clf = ConvexReLUClassifier(loss=loss, beta=beta, arrangements="exhaustive",
                               tol=1e-8).fit(X, codes)
    Y = encode_targets(codes, n_classes, loss)
    value, grad = _nonconvex_loss(get_loss(loss), Y)
    best = train_nonconvex(add_ones(X, True), Y, beta, n_neurons=width,
                           loss_value=value, loss_grad=grad,
                           n_restarts=n_restarts, per_output=True)
    assert clf.objective_ <= best * (1 + 1e-5)
    assert clf.lower_bound_ <= best + 1e-10
