"""Approximate leave-one-out outputs, and the CV estimators' ``cv=None``."""

import dataclasses

import numpy as np
import pytest
from scipy.linalg import null_space

from skconvexnn import ConvexReLUClassifierCV, ConvexReLURegressorCV
from skconvexnn._base import add_ones
from skconvexnn.arrangements import patterns_from_gates, sample_gates, unique_patterns
from skconvexnn.fitting import SolverOptions
from skconvexnn.fitting import loo as loo_module
from skconvexnn.fitting.cv import loo_applies
from skconvexnn.fitting.loo import loo_outputs
from skconvexnn.losses import LogisticLoss, SquaredLoss
from skconvexnn.program import ConvexProgram
from skconvexnn.program.operator import BlockOperator
from skconvexnn.solvers import NATIVE_SOLVERS


def _program(activation, loss_name, n=60, seed=0, beta=0.01):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1, 1, (n, 2))
    f = (4 * np.maximum(X @ [1.0, 1.0] - 1.2, 0) + 2 * np.maximum(0.7 - X[:, 0], 0)
         - 3 * np.maximum(X[:, 1] - 0.6, 0))
    if loss_name == "squared":
        Y, loss = (f + 0.3 * rng.standard_normal(n))[:, None], SquaredLoss()
    elif loss_name == "logistic":
        Y, loss = (f > np.median(f)).astype(float)[:, None], LogisticLoss()
    else:  # softmax, three classes
        codes = np.digitize(f, np.quantile(f, [1 / 3, 2 / 3]))
        Y, loss = np.eye(3)[codes], LogisticLoss()
    X1 = add_ones(X, True)
    gates = sample_gates(12, 3, np.random.RandomState(seed))
    patterns, _ = unique_patterns(patterns_from_gates(X1, gates), gates)
    return ConvexProgram(X1, patterns, Y, beta, loss, activation, True)


def _solve(program, init=None):
    # FISTA returns blocks on their exact face (projections onto the cones)
    return SolverOptions("fista", 1e-10, 100_000).solve(program, init)[0]


def _face_newton_outputs(program, result, samples):
    """The leave-one-out outputs by a Newton step on the face, built here.

    The face: the nonzero blocks, each in the null space of its tight cone
    rows (``scipy.linalg.null_space``); the objective on it in the
    coordinates ``x`` (blocks, then intercepts) and its gradient written
    out, the Hessian by central differences of that gradient. For sample
    ``i``: ``x - (H - H_i)^{-1} grad_i(x)``, ``H_i`` and ``grad_i`` its own
    term's (no Sherman-Morrison, no per-output structure).
    """
    op = BlockOperator(program)
    Z = op.stack(result.V, result.W)
    k, n = program.n_outputs, program.n_samples
    cols = []
    for t in range(k):
        for b in range(Z.shape[1]):
            z = Z[t, b]
            if np.linalg.norm(z) == 0:
                continue
            if op.cone_signs is None:
                N = np.eye(len(z))
            else:
                K = op.cone_signs[:, [b]] * op.X
                tight = K @ z <= 1e-9 * np.linalg.norm(op.X, axis=1) * np.linalg.norm(z)
                N = null_space(K[tight]) if tight.any() else np.eye(len(z))
            if N.shape[1]:
                cols.append((t, op.signed[:, [b]] * (op.X @ N), N.T @ z))
    sizes = [len(y) for _, _, y in cols]
    x0 = np.concatenate([y for _, _, y in cols] + [result.intercept])
    s, beta, loss, Y = program.sample_weight, program.beta, program.loss, program.Y

    def outputs(x):
        P = np.tile(x[-k:], (n, 1))
        start = 0
        for (t, J, _), w in zip(cols, sizes):
            P[:, t] += J @ x[start:start + w]
            start += w
        return P

    def grad(x, weights):
        G = loss.gradient(outputs(x), Y, weights)
        parts, start = [], 0
        for (t, J, _), w in zip(cols, sizes):
            y = x[start:start + w]
            parts.append(J.T @ G[:, t] + beta * y / np.linalg.norm(y))
            start += w
        return np.concatenate(parts + [G.sum(axis=0)])

    def hessian(weights):
        eps = 1e-6
        H = np.array([(grad(x0 + eps * e, weights) - grad(x0 - eps * e, weights))
                      / (2 * eps) for e in np.eye(len(x0))])
        return 0.5 * (H + H.T)

    none = np.zeros(n)
    H, H_norms, g_norms = hessian(s), hessian(none), grad(x0, none)
    out = []
    for i in samples:
        alone = np.zeros(n)
        alone[i] = s[i]
        # sample i's own loss term: its Hessian and gradient
        H_i, g_i = hessian(alone) - H_norms, grad(x0, alone) - g_norms
        step = np.linalg.solve(H - H_i, g_i)
        out.append(outputs(x0 + step)[i])
    return np.array(out)


@pytest.mark.parametrize("activation", ["relu", "gated_relu"])
@pytest.mark.parametrize("loss_name", ["squared", "logistic", "softmax"])
def test_loo_outputs_are_the_newton_step_on_the_face(activation, loss_name):
    program = _program(activation, loss_name)
    result = _solve(program)
    samples = [0, 7, 19, 33, 52]
    expected = _face_newton_outputs(program, result, samples)
    got = loo_outputs(program, result)[samples]
    if loss_name == "softmax":
        # the softmax does not see a constant added to every output
        got, expected = (a - a.mean(axis=1, keepdims=True) for a in (got, expected))
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-6)


def test_one_singular_sample_leaves_the_others_outputs(monkeypatch):
    # a sample whose leave-one-out system is exactly singular gets inf;
    # the others keep their outputs (one batch solve used to fail them all)
    program = _program("relu", "squared")
    result = _solve(program)
    before = loo_outputs(program, result)
    leverages = loo_module._leverages
    weight = program.loss.hessian(np.zeros_like(program.Y), program.Y,
                                  program.sample_weight)

    def singular_first(*args):
        A = leverages(*args)
        A[0] = np.linalg.inv(weight[0])  # M_0 = I - W_0 A_0 = 0
        return A

    monkeypatch.setattr(loo_module, "_leverages", singular_first)
    after = loo_outputs(program, result)
    assert np.isinf(after[0]).all()
    np.testing.assert_array_equal(after[1:], before[1:])


def test_squared_loss_loo_is_near_the_refit():
    """Gated ReLU, squared loss: the outputs of the refits without a sample
    (Clarabel) are far nearer the approximate ones than the fit's own
    outputs are (measured: 4 % of the move off). The Newton step keeps the
    face: where the refit zeroes a block or the norms bend, it misses a
    part of the move."""
    program = _program("gated_relu", "squared", beta=0.003)
    result = _solve(program)
    fitted = program.predict(result.V, result.W, result.intercept)[:, 0]
    loo = loo_outputs(program, result)[:, 0]
    samples = np.arange(0, program.n_samples, 3)
    exact = []
    for i in samples:
        keep = np.arange(program.n_samples) != i
        rest = dataclasses.replace(program, X=program.X[keep],
                                   patterns=program.patterns[keep], Y=program.Y[keep],
                                   sample_weight=program.sample_weight[keep])
        refit = SolverOptions("clarabel", 1e-9).solve(rest)[0]
        exact.append(program.predict(refit.V, refit.W, refit.intercept)[i, 0])
    exact = np.array(exact)
    miss = np.abs(loo[samples] - exact).mean()
    move = np.abs(fitted[samples] - exact).mean()
    assert miss <= 0.1 * move


@pytest.mark.parametrize("loss_name", ["squared", "softmax"])
def test_one_repeat_of_a_merged_row_leaves(loss_name):
    """A row merging ``c`` repeats, with ``share=1/c``, has the outputs of
    each repeat as a row of its own leaving alone (the same blocks solve
    both programs: their objectives are the same function)."""
    program = _program("relu", loss_name)
    result = _solve(program)
    counts = np.ones(program.n_samples, dtype=int)
    counts[[0, 7, 19]] = [2, 3, 4]
    rows = np.repeat(np.arange(program.n_samples), counts)
    s = 1.0 / len(rows)
    repeated = dataclasses.replace(
        program, X=program.X[rows], patterns=program.patterns[rows],
        Y=program.Y[rows], sample_weight=np.full(len(rows), s))
    merged = dataclasses.replace(program, sample_weight=counts * s)
    alone = loo_outputs(repeated, result)
    first = np.concatenate([[0], np.cumsum(counts)[:-1]])  # each row's first repeat
    got = loo_outputs(merged, result, share=1.0 / counts)
    np.testing.assert_allclose(got, alone[first], rtol=1e-7, atol=1e-9)
    # whole rows leaving: a larger loss at the merged rows
    together = loo_outputs(merged, result)
    loss = program.loss
    for i in (0, 7, 19):
        row = slice(i, i + 1)
        assert (loss.value(together[row], merged.Y[row], np.ones(1))
                > loss.value(got[row], merged.Y[row], np.ones(1)))
    np.testing.assert_allclose(together[counts == 1], got[counts == 1])


def test_row_shares_follow_the_merged_rows():
    X = np.array([[0.0, 1], [2, 3], [0, 1], [4, 5], [0, 1], [2, 3], [6, 7]])
    Y = np.array([[1.0], [2], [1], [3], [1], [2], [9]])
    weights = np.array([1.0, 1, 1, 2, 1, 1, 0])  # the last one is left out
    est = ConvexReLURegressorCV()
    X1, _, Y1, s = est._training_rows(X, Y, weights)
    shares = est._row_shares(X, Y, weights)
    counts = {tuple(x) + tuple(y): int(np.sum(np.all(X[:6] == x, axis=1)
                                              & (Y[:6, 0] == y[0])))
              for x, y in zip(X[:6], Y[:6])}
    expected = [1 / counts[tuple(x[:2]) + tuple(y)] for x, y in zip(X1, Y1)]
    np.testing.assert_allclose(shares, expected)
    np.testing.assert_allclose(s, [3 / 7, 2 / 7, 2 / 7])  # weights 3, 2, 2


@pytest.fixture
def regression():
    program = _program("relu", "squared", n=120)
    return program.X[:, :2], program.Y[:, 0]


def test_cv_none_scores_one_path_and_refits_to_tol(regression):
    X, y = regression
    est = ConvexReLURegressorCV(n_betas=5, n_arrangements=20, random_state=0).fit(X, y)
    assert est.mse_path_.shape == (5, 1)
    assert "split1_test_score" not in est.cv_results_
    assert est.duality_gap_ <= est.tol * abs(est.objective_)
    assert est.beta_ in est.betas_
    folds = ConvexReLURegressorCV(n_betas=5, cv=3, n_arrangements=20,
                                  random_state=0).fit(X, y)
    assert folds.mse_path_.shape == (5, 3)


@pytest.mark.parametrize("params", [{"loss": "hinge"}, {"scoring": "accuracy"},
                                    {"solver": "clarabel"}])
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_cv_none_falls_back_to_folds(regression, params):
    """No second derivatives (hinge), a scorer of the user's, or a solution
    that is not on its exact face (interior point): five folds."""
    X, y = regression
    est = ConvexReLUClassifierCV(n_betas=3, random_state=0, n_arrangements=10,
                                 max_iter=300, **params).fit(X, y > np.median(y))
    assert est.scores_.shape == (3, 5)


def test_cv_none_scores_few_samples_by_folds(regression):
    """Below LOO_MIN_SAMPLES samples the leverages of a few neurons' faces
    come near one: five folds score the path, each fold solved natively."""
    X, y = regression
    few = loo_module.LOO_MIN_SAMPLES - 1
    assert not loo_applies(_program("relu", "squared", n=few), SolverOptions())
    assert loo_applies(_program("relu", "squared", n=few + 1), SolverOptions())
    est = ConvexReLURegressorCV(n_betas=3, n_arrangements=10,
                                random_state=0).fit(X[:few], y[:few])
    assert est.mse_path_.shape == (3, 5)
    assert est.solver_ in NATIVE_SOLVERS


def test_classifier_cv_none(regression):
    X, y = regression
    labels = np.digitize(y, np.quantile(y, [1 / 3, 2 / 3]))
    est = ConvexReLUClassifierCV(n_betas=5, n_arrangements=20,
                                 random_state=0).fit(X, labels)
    assert est.scores_.shape == (5, 1)
    assert est.score(X, labels) > 0.8
