"""The native solvers against cvxpy and against their own mathematics."""

from dataclasses import replace

import numpy as np
import pytest
from scipy.optimize import nnls
from sklearn.exceptions import ConvergenceWarning

from skconvexnn import ConvexReLUClassifier, ConvexReLURegressor
from skconvexnn.program.cones import cone_norms, project, project_many
from skconvexnn.program import ConvexProgram
from skconvexnn.program.dual import program_beta_max
from skconvexnn.arrangements import patterns_from_gates, sample_gates, unique_patterns
from skconvexnn.losses import HingeLoss, LogisticLoss, Loss, SquaredLoss
from skconvexnn.solvers import (
    FISTA_MAX_CONDITION,
    FISTA_MIN_SAMPLES,
    ADMMSolver,
    AndersonSolver,
    FISTASolver,
    NATIVE_SOLVERS,
    admm,
    admm_linear,
    design_condition,
    get_solver,
    solve_with_fallback,
)
import skconvexnn.solvers as solvers
from skconvexnn.solvers._anderson_core import Anderson


def _data(n=40, d=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    y = np.maximum(X @ rng.standard_normal(d), 0) - np.abs(X[:, 0]) + 0.1 * rng.standard_normal(n)
    return X, y


# -- building blocks -----------------------------------------------------------


@pytest.mark.parametrize(
    "loss, k",
    [(SquaredLoss(), 2), (LogisticLoss(), 1), (LogisticLoss(), 3), (HingeLoss(), 2)],
)
@pytest.mark.parametrize("rho", [1e-4, 0.05, 10.0])
def test_prox_minimizes_its_objective(loss, k, rho):
    rng = np.random.default_rng(1)
    n = 25
    s = rng.random(n)
    s /= s.sum()
    if loss.name == "squared":
        Y = rng.standard_normal((n, k))
    elif loss.name == "hinge":
        Y = np.sign(rng.standard_normal((n, k)))
    elif k == 1:
        Y = (rng.random((n, 1)) > 0.5).astype(float)
    else:
        Y = np.eye(k)[rng.integers(0, k, n)]
    Z = 3 * rng.standard_normal((n, k))

    def f(P):
        return loss.value(P, Y, s) + 0.5 * rho * np.sum((P - Z) ** 2)

    P = loss.prox(Z, Y, s, rho)
    # no better point nearby, and no worse than the generic (L-BFGS) prox
    assert f(P) <= f(Loss.prox(loss, Z, Y, s, rho)) + 1e-12
    for _ in range(20):
        assert f(P) <= f(P + 1e-4 * rng.standard_normal(P.shape)) + 1e-14


@pytest.mark.parametrize("k", [1, 3])
def test_logistic_intercept_stops_at_the_rounding_of_the_loss(k):
    # next to its optimum the Newton decrease of the intercept is below the
    # rounding of the loss, where a line search cannot confirm it: the
    # solve ends in a few evaluations instead of halving the step until it
    # gives up (about 50 evaluations each time, the certificates' main
    # cost in a cross-validation on wine)
    rng = np.random.default_rng(k)
    n = 200
    Y = ((rng.random((n, 1)) < 0.4).astype(float) if k == 1
         else np.eye(k)[rng.integers(0, k, n)])
    P, s = rng.standard_normal((n, k)), np.full(n, 1 / n)
    c = LogisticLoss().optimal_intercept(P, Y, s)
    calls = []

    class Counting(LogisticLoss):
        def value(self, *args):
            calls.append(1)
            return super().value(*args)

    again = Counting().optimal_intercept(P + c, Y, s)
    gradient = LogisticLoss().gradient(P + c + again, Y, s).sum(axis=0)
    assert np.abs(gradient).max() <= 1e-12
    assert len(calls) <= 3


def _cones(seed, n, d, m):
    """Random data, the signs of ``m`` Gaussian gates and ``m`` points."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    signs = np.sign(X @ rng.standard_normal((d, m)))
    return rng, X, signs, 2 * rng.standard_normal((m, d))


def _cone(rng, n, d):
    X = rng.standard_normal((n, d))
    signs = np.sign(X @ rng.standard_normal(d))
    return X, signs


@pytest.mark.parametrize("k", [1, 3, 10])
def test_logistic_intercept_is_the_minimizer(k):
    # Newton's steps in c against a quasi-Newton minimization of the same
    # function (sigmoid and softmax, weighted, at several scales of P)
    from scipy.optimize import minimize
    rng = np.random.default_rng(k)
    loss = LogisticLoss()
    for scale in (1e-2, 1.0, 30.0):
        n = 150
        P = scale * rng.standard_normal((n, k))
        Y = ((rng.random((n, 1)) < 0.3).astype(float) if k == 1
             else np.eye(k)[rng.integers(0, k, n)])
        s = rng.random(n)
        s /= s.sum()
        c = loss.optimal_intercept(P, Y, s)
        ref = minimize(lambda c: loss.value(P + c, Y, s), np.zeros(k),
                       jac=lambda c: loss.gradient(P + c, Y, s).sum(axis=0),
                       method="L-BFGS-B", options={"gtol": 1e-14, "ftol": 1e-16}).x
        assert loss.value(P + c, Y, s) <= loss.value(P + ref, Y, s) + 1e-13
        assert np.abs(loss.gradient(P + c, Y, s).sum(axis=0)).max() <= 1e-10


def test_projection_matches_nonnegative_least_squares():
    rng = np.random.default_rng(2)
    for _ in range(100):
        n, d = int(rng.integers(8, 60)), int(rng.integers(1, 8))
        X, signs = _cone(rng, n, d)
        K = signs[:, None] * X
        v = 3 * rng.standard_normal(d)
        mu, _ = nnls(K.T, -v)
        expected = v + K.T @ mu
        guess = rng.choice(n, size=rng.integers(0, d + 1), replace=False)
        for start in (None, guess):
            u, active = project(v, K, start)
            np.testing.assert_allclose(u, expected, atol=1e-9)
            assert np.all(K @ u >= -1e-9 * np.abs(K @ u).max(initial=1))


def test_batched_projection_matches_single():
    rng, X, signs, V = _cones(3, 50, 5, 30)
    n, d, m = 50, 5, 30
    # padded guesses, some empty, some wrong
    guesses = np.full((m, d), -1)
    for r in range(m):
        size = r % (d + 1)
        guesses[r, :size] = rng.choice(n, size=size, replace=False)
    for start in (None, guesses):
        U, active, _ = project_many(X, signs, V, start)
        for r in range(m):
            u, _ = project(V[r], signs[:, r, None] * X)
            np.testing.assert_allclose(U[r], u, atol=1e-9)
    # the active sets found are good guesses: a second call agrees at once
    U2, _, _ = project_many(X, signs, V, active, rounds=1)
    np.testing.assert_allclose(U2, U, atol=1e-9)


def test_dependent_passive_sets_fall_back_to_the_exact_projection():
    # a guess whose constraints are linearly dependent (a row that is the
    # sum of two others, as repeated or discrete samples give) has a Gram
    # matrix that Cholesky may factor with a pivot at rounding level: it is
    # marked singular, not inverted, and the row still gets its projection
    from skconvexnn.program._passive import _inverse
    rng = np.random.default_rng(4)
    n, d, m = 30, 4, 20
    X = rng.standard_normal((n, d))
    X[2] = X[0] + X[1]
    signs = np.ones((n, m))
    signs[2:] = np.sign(rng.standard_normal((n - 2, m)))
    signs[2] = 1.0
    K = X[[0, 1, 2]]
    H, bad = _inverse(np.stack([K @ K.T, X[3:6] @ X[3:6].T]))
    assert bad.tolist() == [True, False]
    np.testing.assert_array_equal(H[0], np.eye(3))
    np.testing.assert_allclose(H[1] @ (X[3:6] @ X[3:6].T), np.eye(3), atol=1e-9)
    V = -3 * np.abs(rng.standard_normal((m, d))) @ np.diag(np.sign(X[0] + X[1]))
    guesses = np.full((m, d), -1)
    guesses[:, :3] = [0, 1, 2]
    U, _, _ = project_many(X, signs, V, guesses)
    for r in range(m):
        u, _ = project(V[r], signs[:, r, None] * X)
        np.testing.assert_allclose(U[r], u, atol=1e-9)


def _passive_gram(X, signs, active, r):
    rows = active[r][active[r] >= 0]
    K = signs[rows, r, None] * X[rows]
    gram = np.eye(X.shape[1])
    gram[:len(rows), :len(rows)] = K @ K.T
    return gram


def test_batched_projection_factors_and_warm_start():
    # the returned factors are the inverses of the final passive sets'
    # Gram matrices, and a call started from them (and the active sets) on
    # moved points agrees with a cold call
    rng = np.random.default_rng(4)
    n, d, m = 120, 8, 40
    X = rng.standard_normal((n, d))
    X[:, -1] = 1.0
    signs = np.sign(X @ rng.standard_normal((d, m)))
    V = 2 * rng.standard_normal((m, d))
    U, active, L = project_many(X, signs, V, None)
    factored = np.isfinite(L[:, 0, 0])
    assert factored.mean() > 0.5
    for r in np.flatnonzero(factored):
        np.testing.assert_allclose(L[r] @ _passive_gram(X, signs, active, r),
                                   np.eye(d), atol=1e-9)
    for moved in (V + 0.3 * rng.standard_normal(V.shape),
                  U + 0.1 * rng.standard_normal(V.shape)):
        cold, _, _ = project_many(X, signs, moved, None)
        warm, warm_active, warm_L = project_many(X, signs, moved, active, factors=L)
        np.testing.assert_allclose(warm, cold, atol=1e-9)
        for r in np.flatnonzero(np.isfinite(warm_L[:, 0, 0])):
            np.testing.assert_allclose(warm_L[r] @ _passive_gram(X, signs, warm_active, r),
                                       np.eye(d), atol=1e-9)


def _passive_sets(seed, largest):
    """Random data, signs and passive sets of 1 to ``largest`` constraints
    (12 rows of 7 features), with one more distinct constraint per row."""
    rng = np.random.default_rng(seed)
    n, d, m = 60, 7, 12
    X = rng.standard_normal((n, d))
    signs = np.sign(rng.standard_normal((n, m)))
    A = np.full((m, d), -1)
    new = np.empty(m, dtype=int)
    for r in range(m):
        rows = rng.choice(n, size=1 + r % largest + 1, replace=False)
        A[r, :len(rows) - 1], new[r] = rows[:-1], rows[-1]
    return rng, X, signs, A, new


def test_factor_removal_equals_refactoring():
    # removing one constraint by the rank-one update gives the inverse Gram
    # matrix of the remaining constraints, whichever slot goes
    from skconvexnn.program._passive import _PassiveSets
    rng, X, signs, A, _ = _passive_sets(7, 7)
    m = len(A)
    sets = _PassiveSets(X, signs.T, A.copy())
    sizes = (A >= 0).sum(axis=1)
    slot = rng.integers(0, sizes)
    sets.remove(np.arange(m), slot)
    for r in range(m):
        rest = np.delete(A[r], slot[r])
        expected = _PassiveSets(X, signs.T[[r]], np.append(rest, -1)[None]).H[0]
        np.testing.assert_allclose(sets.H[r], expected, atol=1e-10)


def test_inverse_bordering_equals_recomputing():
    # adding a constraint by bordering the inverse Gram matrix gives the
    # inverse of the larger passive set
    from skconvexnn.program._passive import _PassiveSets
    _, X, signs, A, new = _passive_sets(8, 6)
    m = len(A)
    sets = _PassiveSets(X, signs.T, A.copy())
    Xg, sg, _ = sets.signed_rows(np.arange(m))
    sets.append(np.arange(m), new, Xg, sg)
    assert not sets.failed.any()
    for r in range(m):
        expected = _PassiveSets(X, signs.T[[r]], sets.A[[r]].copy()).H[0]
        np.testing.assert_allclose(sets.H[r], expected, atol=1e-10)


def test_bordering_a_drifted_inverse_refactors_instead_of_failing():
    # a pivot that rounding in H makes tiny (here H scaled up a millionfold)
    # no longer fails the row: it is refactored, and only a constraint that
    # depends on the passive set fails it
    from skconvexnn.program._passive import _PassiveSets
    _, X, signs, A, new = _passive_sets(8, 6)
    m = len(A)
    X[new[1]] = X[A[1, 0]] + X[A[1, 1]]  # row 1's new constraint: dependent
    sets = _PassiveSets(X, signs.T, A.copy())
    sets.H *= 1e6
    Xg, sg, _ = sets.signed_rows(np.arange(m))
    sets.append(np.arange(m), new, Xg, sg)
    assert sets.failed.tolist() == [r == 1 for r in range(m)]
    for r in range(m):
        if r != 1:
            expected = _PassiveSets(X, signs.T[[r]], sets.A[[r]].copy()).H[0]
            np.testing.assert_allclose(sets.H[r], expected, atol=1e-10)


def test_projection_repairs_drifted_inverses():
    # inverses that have drifted (here: spoiled on purpose) are detected by
    # the equalities of the passive constraints and recomputed: the
    # projections stay exact
    rng, X, signs, V = _cones(9, 120, 8, 30)
    n, d, m = 120, 8, 30
    exact, active, H = project_many(X, signs, V, None)
    # scaled up, the multipliers overshoot: the passive constraints then
    # hold strictly and nothing else would notice
    spoiled = 1.001 * H
    U, _, _ = project_many(X, signs, V, active, factors=spoiled)
    np.testing.assert_allclose(U, exact, atol=1e-9)


def test_ill_conditioned_passive_sets_are_refined_not_sent_to_nnls():
    # two nearly parallel constraints both active at the projection u0 of
    # v = u0 - x_a - x_b: the fresh inverse of their Gram matrix leaves the
    # equalities off by more than the slack, and iterative refinement (not
    # the single NNLS projection, NaN factors) settles every row exactly
    rng = np.random.default_rng(0)
    d, m = 5, 20
    U0 = rng.standard_normal((m, d))
    pairs = []
    for u0 in U0:
        q = u0 / np.linalg.norm(u0)
        a, e = rng.standard_normal((2, d))
        a, e = a - (a @ q) * q, e - (e @ q) * q
        pairs += [a, a + 1e-3 * e]
    X = np.vstack(pairs + [rng.standard_normal((40, d))])
    signs = np.where(X @ U0.T >= 0, 1.0, -1.0)
    signs[np.arange(2 * m), np.repeat(np.arange(m), 2)] = 1.0
    V = U0 - X[0:2 * m:2] - X[1:2 * m:2]
    U, _, H = project_many(X, signs, V, None)
    assert np.isfinite(H[:, 0, 0]).all()
    for r in range(m):
        exact, _ = project(V[r], signs[:, r, None] * X, None, steps=0)
        np.testing.assert_allclose(U[r], exact, atol=1e-6)
        assert (signs[:, r] * (X @ U[r])).min() >= -1e-10 * np.abs(X @ V[r]).max()


@pytest.mark.parametrize("dtype", [float, np.int8])
@pytest.mark.parametrize("consecutive", [False, True])
def test_scan_rows_matches_the_whole_products(monkeypatch, dtype, consecutive):
    # the scan's reductions, a few rows at a time, are those of the full
    # (m, n) array of K u, whatever the number of rows in a chunk, the
    # signs' dtype (the penalty keeps them as int8) and whether the rows
    # are consecutive patterns (then a view of the signs)
    from skconvexnn.program import cones
    rng, X, signs, V = _cones(3, 50, 4, 9)
    table = np.ascontiguousarray(signs.T, dtype=dtype)
    rows = np.arange(1, 9) if consecutive else rng.integers(0, 9, size=12)
    U = rng.standard_normal((len(rows), 4))
    at = rng.integers(0, 50, size=(len(rows), 3))
    inv = 1.0 / np.linalg.norm(X, axis=1)
    K = np.ascontiguousarray(signs.T)[rows] * (U @ X.T)
    for size in (8 * 50, 8 * 50 * 5, 2**22):
        monkeypatch.setattr(cones, "SCAN_BYTES", size)
        j, lo, hi, vals, cut = cones.scan_rows(X, table, rows, U, at=at, inv_norms=inv)
        np.testing.assert_array_equal(j, K.argmin(axis=1))
        np.testing.assert_allclose(lo, K.min(axis=1))
        np.testing.assert_allclose(hi, K.max(axis=1))
        np.testing.assert_allclose(vals, np.take_along_axis(K, at, axis=1))
        np.testing.assert_allclose(cut, (K * inv).min(axis=1))


def test_batched_projection_of_polar_points_is_zero():
    # -X^T mu with mu >= 0 lies in the polar cone, whose projection is 0
    # with d active constraints: the case a slack relative to K u misses
    rng = np.random.default_rng(5)
    n, d, m = 60, 4, 20
    X = rng.standard_normal((n, d))
    signs = np.ones((n, m))
    V = -(rng.random((m, n)) * (rng.random((m, n)) < 0.2)) @ X
    U, active, _ = project_many(X, signs, V, None)
    np.testing.assert_allclose(U, 0.0, atol=1e-9 * np.abs(V).max())


def test_early_stop_bounds_the_projection():
    # rows stopped early return a point no shorter than their projection
    # and at most the floor; the others return their projection
    rng, X, signs, V = _cones(6, 80, 6, 40)
    n, d, m = 80, 6, 40
    exact = np.array([project(V[r], signs[:, r, None] * X)[0] for r in range(m)])
    lengths = np.linalg.norm(exact, axis=1)
    floor = np.median(lengths)
    # started cold, and from wrong guesses (whose least-squares multipliers
    # are partly negative: the clipped ones bound the length too)
    guesses = np.full((m, d), -1)
    for r in range(m):
        guesses[r, :d - 1] = rng.choice(n, size=d - 1, replace=False)
    for start in (None, guesses):
        U, _, _ = project_many(X, signs, V, start, stop_below=floor)
        got = np.linalg.norm(U, axis=1)
        stopped = ~np.all(np.isclose(U, exact, atol=1e-9), axis=1)
        assert stopped.any()
        assert np.all(got[stopped] <= floor + 1e-12)
        assert np.all(got[stopped] >= lengths[stopped] - 1e-9)
        # every row whose projection is longer than the floor ran to the end
        assert not np.any(stopped & (lengths > floor + 1e-9))


def test_cone_prox_matches_exact_prox():
    # the prox with its shortcuts (half-space test, early stops) equals
    # projecting every block exactly, then shrinking
    from skconvexnn.program import ConvexProgram
    from skconvexnn.program.dual import program_beta_max
    from skconvexnn.losses import SquaredLoss
    from skconvexnn.program.operator import BlockOperator
    from skconvexnn.program.penalties import ConeGroupNorm, group_soft_threshold

    rng = np.random.default_rng(7)
    n, d, P = 60, 5, 25
    X = np.column_stack([rng.standard_normal((n, d - 1)), np.ones(n)])
    patterns = (X @ rng.standard_normal((d, P)) >= 0).astype(float)
    program = ConvexProgram(X=X, patterns=patterns, Y=rng.standard_normal((n, 2)),
                            beta=0.1, loss=SquaredLoss())
    op = BlockOperator(program)
    B = rng.standard_normal(op.shape)
    for thresh in (0.0, 0.5, 1.5):
        expected = np.array([[project(B[t, b], op.cone_signs[:, b, None] * X)[0]
                              for b in range(op.n_blocks)] for t in range(2)])
        expected = group_soft_threshold(expected, thresh)
        got = ConeGroupNorm(op).prox(B.copy(), thresh)
        np.testing.assert_allclose(got, expected, atol=1e-9)


def test_cone_norms_max_is_exact():
    rng = np.random.default_rng(4)
    n, d, B = 30, 4, 12
    X = rng.standard_normal((n, d))
    signs = np.sign(X @ rng.standard_normal((d, B)))
    G = rng.standard_normal((2, B, d))
    exact = np.array([[np.linalg.norm(project(G[t, b], signs[:, b, None] * X)[0])
                       for b in range(B)] for t in range(2)])
    norms = cone_norms(X, signs, G)
    assert norms.max() == pytest.approx(exact.max(), rel=1e-10)
    assert np.all(norms >= exact - 1e-12)  # upper bounds where not computed


# -- native solvers against cvxpy ----------------------------------------------


#: How far below the program's optimum the network read from Clarabel's blocks
#: may score: its blocks leave their cones by up to about 1e-8 (relative), so
#: that network can switch a sample near a hyperplane (on the squared case of
#: ``test_fista_relu_matches_cvxpy`` with bisector gates it scored 1.6e-8 below
#: our bound, while the same blocks projected onto their cones score above it).
CLARABEL_RTOL = 1e-7


def _fit(cls, solver, **kw):
    kw.setdefault("n_arrangements", 15)
    kw.setdefault("random_state", 0)
    kw.setdefault("beta", 1e-2)
    return cls(solver=solver, **kw)


@pytest.mark.parametrize("activation", ["relu", "gated_relu"])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_admm_matches_cvxpy_regression(activation, fit_intercept):
    X, y = _data()
    kw = dict(activation=activation, fit_intercept=fit_intercept)
    ours = _fit(ConvexReLURegressor, "admm", **kw).fit(X, y)
    # the reference at a tight tolerance: at its default, Clarabel's blocks
    # leave their cones by about 1e-9, and its network (which then uses
    # nearby patterns) can sit a few 1e-9 below the program's optimum,
    # which the polished ADMM's bound reaches
    ref = _fit(ConvexReLURegressor, "clarabel", tol=1e-9, **kw).fit(X, y)
    assert ours.solver_ == "admm"
    assert ours.objective_ == pytest.approx(ref.objective_, rel=1e-5)
    assert ours.duality_gap_ <= ours.tol * ours.objective_ * 1.0001
    assert ours.lower_bound_ <= ref.objective_ * (1 + CLARABEL_RTOL)


@pytest.mark.parametrize("activation", ["relu", "gated_relu"])
@pytest.mark.parametrize("loss", ["logistic", "hinge", "squared"])
def test_admm_matches_cvxpy_classification(activation, loss):
    X, y = _data(seed=5)
    y = np.where(y > np.median(y), "a", "b")
    kw = dict(activation=activation, loss=loss)
    ours = _fit(ConvexReLUClassifier, "admm", **kw).fit(X, y)
    ref = _fit(ConvexReLUClassifier, "clarabel", **kw).fit(X, y)
    assert ours.objective_ == pytest.approx(ref.objective_, rel=1e-5)


def test_admm_multiclass_and_multioutput():
    X, y = _data(seed=6)
    Y = np.column_stack([y, np.abs(y), X[:, 1]])
    ours = _fit(ConvexReLURegressor, "admm").fit(X, Y)
    ref = _fit(ConvexReLURegressor, "clarabel").fit(X, Y)
    assert ours.objective_ == pytest.approx(ref.objective_, rel=1e-5)
    labels = np.digitize(y, np.quantile(y, [0.33, 0.66]))
    ours = _fit(ConvexReLUClassifier, "admm").fit(X, labels)
    ref = _fit(ConvexReLUClassifier, "clarabel").fit(X, labels)
    assert ours.objective_ == pytest.approx(ref.objective_, rel=1e-5)


def test_admm_sample_weight_matches_cvxpy():
    X, y = _data(seed=7)
    w = np.random.default_rng(0).random(len(y)) * 3
    ours = _fit(ConvexReLURegressor, "admm").fit(X, y, sample_weight=w)
    ref = _fit(ConvexReLURegressor, "clarabel").fit(X, y, sample_weight=w)
    assert ours.objective_ == pytest.approx(ref.objective_, rel=1e-5)


@pytest.mark.parametrize("loss", ["squared", "logistic"])
def test_fista_matches_cvxpy(loss):
    X, y = _data(seed=8)
    if loss == "squared":
        cls, target = ConvexReLURegressor, y
        kw = {}
    else:
        cls, target = ConvexReLUClassifier, y > 0
        kw = {"loss": loss}
    ours = _fit(cls, "fista", activation="gated_relu", max_iter=100_000, **kw).fit(X, target)
    ref = _fit(cls, "clarabel", activation="gated_relu", **kw).fit(X, target)
    assert ours.solver_ == "fista"
    assert ours.objective_ == pytest.approx(ref.objective_, rel=1e-5)


def test_fista_softmax_matches_cvxpy():
    # three classes, beta small enough that the classes are nearly separated:
    # the regime where the local step estimate matters
    X, y = _data(seed=9)
    labels = np.digitize(y, np.quantile(y, [0.33, 0.66]))
    kw = dict(activation="gated_relu", beta=1e-3)
    ours = _fit(ConvexReLUClassifier, "fista", **kw).fit(X, labels)
    ref = _fit(ConvexReLUClassifier, "clarabel", **kw).fit(X, labels)
    assert ours.objective_ == pytest.approx(ref.objective_, rel=1e-5)
    assert ours.duality_gap_ <= ours.tol * ours.objective_ * 1.0001


def test_fista_adaptive_step_saves_iterations(monkeypatch):
    # against the same fit with the step fixed at the global bound (measured
    # 930 and 3,320 steps)
    X, y = _data(seed=9)
    labels = np.digitize(y, np.quantile(y, [0.33, 0.66]))
    kw = dict(activation="gated_relu", max_iter=100_000)
    monkeypatch.setattr(FISTASolver, "polish", False)  # first-order steps only
    adaptive = _fit(ConvexReLUClassifier, "fista", **kw).fit(X, labels)
    monkeypatch.setattr(FISTASolver, "step_decrease", 1.0)
    fixed = _fit(ConvexReLUClassifier, "fista", **kw).fit(X, labels)
    assert adaptive.objective_ == pytest.approx(fixed.objective_, rel=1e-5)
    assert adaptive.n_iter_ < fixed.n_iter_ / 2


@pytest.mark.parametrize("case", ["squared", "logistic", "multiclass", "multioutput",
                                  "sample_weight", "no_intercept"])
def test_anderson_matches_cvxpy(case):
    X, y = _data(seed=9)
    cls, target, kw, fit_kw = ConvexReLURegressor, y, {}, {}
    if case == "logistic":
        cls, target, kw = ConvexReLUClassifier, y > 0, {"loss": "logistic"}
    elif case == "multiclass":
        cls, kw = ConvexReLUClassifier, {"loss": "logistic"}
        target = np.digitize(y, np.quantile(y, [0.33, 0.66]))
    elif case == "multioutput":
        target = np.column_stack([y, np.abs(y), X[:, 1]])
    elif case == "sample_weight":
        fit_kw = {"sample_weight": np.random.default_rng(1).random(len(y)) * 3}
    elif case == "no_intercept":
        kw = {"fit_intercept": False}
    ours = _fit(cls, "anderson", activation="gated_relu", max_iter=100_000, **kw)
    ours.fit(X, target, **fit_kw)
    ref = _fit(cls, "clarabel", activation="gated_relu", **kw).fit(X, target, **fit_kw)
    assert ours.solver_ == "anderson"
    assert ours.objective_ == pytest.approx(ref.objective_, rel=1e-5)
    assert ours.duality_gap_ <= ours.tol * ours.objective_ * 1.0001
    assert ours.lower_bound_ <= ref.objective_ * (1 + CLARABEL_RTOL)


def test_anderson_takes_fewer_steps_than_fista(monkeypatch):
    # first-order steps against first-order steps: Anderson is the solver
    # of data too large for FISTA's face polish (which on this small
    # program takes FISTA below Anderson's steps)
    monkeypatch.setattr(FISTASolver, "polish", False)
    X, y = _data(n=60)
    program = _program(X, y, "gated_relu", n_gates=50)
    fista = FISTASolver(tol=1e-8, max_iter=100_000).solve(program)
    ours = AndersonSolver(tol=1e-8, max_iter=100_000).solve(program)
    assert ours.converged and fista.converged
    objective = program.objective(ours.V, None, ours.intercept)
    assert objective - ours.lower_bound <= 1e-8 * objective * 1.0001
    assert objective == pytest.approx(
        program.objective(fista.V, None, fista.intercept), rel=1e-7)
    assert ours.n_iter < fista.n_iter


# -- behaviour -------------------------------------------------------------------


def test_auto_uses_the_native_solvers(monkeypatch):
    X, y = _data()
    est = ConvexReLURegressor(activation="gated_relu", n_arrangements=10,
                              random_state=0).fit(X, y)
    assert est.solver_ == "admm"
    assert get_solver("auto", _program(X, y, "gated_relu")).name == "admm"
    labels = np.sign(y)
    rng = np.random.default_rng(0)
    X_many = rng.standard_normal((FISTA_MIN_SAMPLES, 3))
    y_many = np.maximum(X_many[:, 0], 0) + 0.1 * rng.standard_normal(len(X_many))
    # ReLU: FISTA for a smooth loss that is not quadratic, ADMM otherwise,
    # whatever the number of patterns; never cvxpy
    X_50 = rng.standard_normal((50, 3))
    y_50 = np.maximum(X_50[:, 0], 0) + 0.1 * rng.standard_normal(len(X_50))
    labels_50 = np.sign(y_50 - np.median(y_50))
    # (the squared loss at a small beta: test_polish.py
    # ::test_auto_sends_the_squared_relu_program_by_beta checks the larger
    # ones)
    small = dict(beta=1e-4)
    assert get_solver("auto", _program(X_50, y_50, "relu", **small)).name == "admm"
    wide = _program(X_50, y_50, "relu", n_gates=200, **small)
    assert wide.n_patterns > len(X_50)
    assert get_solver("auto", wide).name == "admm"
    program = _program(X_50, labels_50 > 0, "relu", loss=LogisticLoss())
    assert get_solver("auto", program).name == "fista"
    # ... also when the features are badly conditioned, where FISTA's step
    # may crawl and ADMM's factorization does not: FISTA tries first and
    # hands over to ADMM after FISTA_HANDOFF_STEPS steps, for one output or
    # several (test_auto_hands_badly_conditioned_programs_over)
    program = _program(X_50 + 100, labels_50 > 0, "relu", loss=LogisticLoss())
    assert design_condition(program.X) > FISTA_MAX_CONDITION
    assert get_solver("auto", program).name == "fista"
    assert solvers._hands_over(get_solver("auto", program), program,
                               "auto") == solvers.FISTA_HANDOFF_STEPS
    program = _program(X_50, labels_50, "relu", loss=HingeLoss())
    assert get_solver("auto", program).name == "admm"
    # ... at every size (a few samples, more blocks than samples)
    tiny = _program(X[:12], y[:12], "relu", n_gates=100, beta=1e-4)
    assert tiny.n_patterns > tiny.n_samples
    assert get_solver("auto", tiny).name == "admm"
    # below NATIVE_MIN_TOL interior points are cheaper
    assert get_solver("auto", _program(X, y, "relu"), tol=1e-9).name == "clarabel"
    # gated: FISTA for the logistic loss from FISTA_MIN_SAMPLES samples on,
    # ADMM below and for the hinge (FISTA needs a gradient)
    program = _program(X_many, y_many > 0.5, "gated_relu", loss=LogisticLoss())
    assert get_solver("auto", program).name == "fista"
    program = _program(X, labels > 0, "gated_relu", loss=LogisticLoss())
    assert len(X) < FISTA_MIN_SAMPLES
    assert get_solver("auto", program).name == "admm"
    program = _program(X, labels, "gated_relu", loss=HingeLoss())
    assert get_solver("auto", program).name == "admm"


def test_auto_hands_fista_over_to_admm(monkeypatch):
    # FISTA chosen by "auto" for the logistic ReLU program hands its blocks
    # to ADMM when it has not certified its gap within FISTA_HANDOFF_STEPS
    # steps: the result is ADMM's, certified, at FISTA's own optimum
    X, y = _data(n=80, seed=3)
    program = _program(X, y > np.median(y), "relu", n_gates=40, loss=LogisticLoss(),
                       beta=1e-4)
    monkeypatch.setattr(solvers, "FISTA_HANDOFF_STEPS", 20)
    solver = get_solver("auto", program)
    assert solver.name == "fista"
    result, used = solve_with_fallback(solver, program)
    assert used.name == "admm" and result.converged
    assert result.n_iter > 20
    assert len(result.objective_curve) > 2  # FISTA's checks, then ADMM's
    alone, kept = solve_with_fallback(FISTASolver(), program, requested="fista")
    assert kept.name == "fista" and alone.converged and alone.n_iter > 20
    value = program.objective(result.V, result.W, result.intercept)
    assert value == pytest.approx(
        program.objective(alone.V, alone.W, alone.intercept), rel=1e-5)
    # a warm start that ADMM made (the next beta of a path) goes to ADMM
    smaller = replace(program, beta=5e-5)
    again, used = solve_with_fallback(get_solver("auto", smaller), smaller, init=result)
    assert used.name == "admm" and again.converged
    assert again.n_iter == ADMMSolver().solve(smaller, init=result).n_iter
    # several outputs (softmax) stay with FISTA, and so does a FISTA asked for
    onehot = np.eye(3)[np.digitize(y, np.quantile(y, [0.33, 0.66]))]
    softmax = _program(X, onehot, "relu", n_gates=40, loss=LogisticLoss(), beta=1e-4)
    assert not solvers._hands_over(get_solver("auto", softmax), softmax, "auto")
    assert not solvers._hands_over(FISTASolver(), program, "fista")
    # FISTA that certifies within the steps keeps its result
    monkeypatch.setattr(solvers, "FISTA_HANDOFF_STEPS", alone.n_iter)
    result, used = solve_with_fallback(get_solver("auto", program), program)
    assert used.name == "fista" and result.n_iter == alone.n_iter


@pytest.mark.parametrize("n_outputs", [1, 3])
def test_auto_hands_badly_conditioned_programs_over(monkeypatch, n_outputs):
    # Features far from zero (not standardized): the design matrix's
    # condition is above FISTA_MAX_CONDITION. FISTA tries first, for the
    # softmax too, and hands over to ADMM; the result is ADMM's optimum.
    X, y = _data(n=60, seed=4)
    Y = (y > np.median(y) if n_outputs == 1
         else np.eye(3)[np.digitize(y, np.quantile(y, [0.33, 0.66]))])
    program = _program(X + 50, Y, "relu", n_gates=20, loss=LogisticLoss(), beta=1e-3)
    assert design_condition(program.X) > FISTA_MAX_CONDITION
    solver = get_solver("auto", program)
    assert solver.name == "fista"
    monkeypatch.setattr(solvers, "FISTA_HANDOFF_STEPS", 10)
    result, used = solve_with_fallback(solver, program)
    assert result.converged
    reference = ADMMSolver().solve(program)
    assert reference.converged
    value = program.objective
    assert value(result.V, result.W, result.intercept) == pytest.approx(
        value(reference.V, reference.W, reference.intercept), rel=1e-5)
    if used.name == "fista":  # (certified within its 10 steps)
        assert result.n_iter <= 10
    else:
        assert used.name == "admm" and result.n_iter > 10


@pytest.mark.parametrize("n_outputs", [1, 2])
def test_auto_hands_fista_over_to_admm_for_the_squared_loss(monkeypatch, n_outputs):
    # The squared loss's ReLU program, one output or several (ADMM's loss
    # steps do not couple them), after FISTA_QUADRATIC_HANDOFF_STEPS steps
    X, y = _data(n=80, seed=3)
    Y = y if n_outputs == 1 else np.column_stack([y, X[:, 1] - y])
    program = _program(X, Y, "relu", n_gates=40)
    program = replace(program, beta=0.03 * program_beta_max(program))
    solver = get_solver("auto", program)
    assert solver.name == "fista"
    alone = FISTASolver().solve(program)
    assert alone.converged and alone.n_iter > 20
    monkeypatch.setattr(solvers, "FISTA_QUADRATIC_HANDOFF_STEPS", 20)
    result, used = solve_with_fallback(solver, program)
    assert used.name == "admm" and result.converged and result.n_iter > 20
    value = program.objective
    assert value(result.V, result.W, result.intercept) == pytest.approx(
        value(alone.V, alone.W, alone.intercept), rel=1e-5)
    # within the steps FISTA keeps its result; asked for, it never hands over
    monkeypatch.setattr(solvers, "FISTA_QUADRATIC_HANDOFF_STEPS", alone.n_iter)
    result, used = solve_with_fallback(solver, program)
    assert used.name == "fista" and result.n_iter == alone.n_iter
    assert not solvers._hands_over(FISTASolver(), program, "fista")


def test_handoff_keeps_fista_point_when_admm_stops_above_it(monkeypatch):
    # after a handoff, ADMM stopped at max_iter above the objective FISTA had
    # reached: the better point is returned (FISTA's), with both iterations
    X, y = _data(n=80, seed=3)
    program = _program(X, y > np.median(y), "relu", n_gates=40, loss=LogisticLoss(),
                       beta=1e-4)
    monkeypatch.setattr(solvers, "FISTA_HANDOFF_STEPS", 20)
    first = FISTASolver(max_iter=20).solve(program)
    after = ADMMSolver(max_iter=1).solve(program, init=first)
    value = program.objective
    assert not first.converged and not after.converged
    assert value(first.V, first.W, first.intercept) < value(after.V, after.W,
                                                            after.intercept)
    solver = get_solver("auto", program, max_iter=21)
    result, used = solve_with_fallback(solver, program)
    assert used.name == "fista" and result.n_iter == 21 and not result.converged
    assert value(result.V, result.W, result.intercept) == pytest.approx(
        value(first.V, first.W, first.intercept), rel=1e-12)


@pytest.mark.parametrize("case", ["logistic", "softmax", "squared", "multioutput",
                                  "sample_weight", "no_intercept", "user_loss"])
def test_fista_relu_matches_cvxpy(case):
    # the ReLU program with cone projections in the proximal step
    X, y = _data(seed=11)
    cls, target, kw, fit_kw = ConvexReLUClassifier, y > 0, {"loss": "logistic"}, {}
    if case == "softmax":
        target = np.digitize(y, np.quantile(y, [0.33, 0.66]))
    elif case == "squared":
        cls, target, kw = ConvexReLURegressor, y, {}
    elif case == "multioutput":
        cls, target, kw = ConvexReLURegressor, np.column_stack([y, np.abs(y)]), {}
    elif case == "sample_weight":
        fit_kw = {"sample_weight": np.random.default_rng(1).random(len(y)) * 3}
    elif case == "no_intercept":
        kw["fit_intercept"] = False
    elif case == "user_loss":
        # a differentiable loss of the user's, with no declared curvature:
        # FISTA's step comes from its backtracking alone
        cls, target, kw = ConvexReLURegressor, y, {"loss": _SmoothL1()}
    ours = _fit(cls, "fista", max_iter=100_000, **kw).fit(X, target, **fit_kw)
    ref = _fit(cls, "clarabel", **kw).fit(X, target, **fit_kw)
    assert ours.solver_ == "fista"
    assert ours.objective_ == pytest.approx(ref.objective_, rel=1e-5)
    assert ours.duality_gap_ <= ours.tol * ours.objective_ * 1.0001
    assert ours.lower_bound_ <= ref.objective_ * (1 + CLARABEL_RTOL)


class _SmoothL1(SquaredLoss):
    """``sqrt(1 + r^2) - 1``: a smooth loss with no closed-form prox or curvature."""

    name = "smooth_l1"
    quadratic = False
    curvature = None

    def value(self, P, Y, s):
        return float(s @ np.sum(np.sqrt(1.0 + (P - Y) ** 2) - 1.0, axis=1))

    def gradient(self, P, Y, s):
        R = P - Y
        return s[:, None] * R / np.sqrt(1.0 + R * R)

    def dual(self, Lam, Y, s):
        # per entry: conjugate of s (sqrt(1 + r^2) - 1) at z is
        # s (1 - sqrt(1 - (z/s)^2)) on |z| <= s
        Z = Lam / s[:, None]
        if np.any(np.abs(Z) > 1 + 1e-12):
            return -np.inf
        Z = np.clip(Z, -1, 1)
        return float(np.sum(Lam * Y) - np.sum(s[:, None] * (1 - np.sqrt(1 - Z * Z))))

    def cvxpy_expression(self, P, Y, s):
        import cvxpy as cp

        per = cp.norm(cp.vstack([np.ones(P.size), cp.vec(P - Y, order="F")]), 2, axis=0)
        weights = np.repeat(s[None, :], Y.shape[1], axis=0).ravel()
        return cp.sum(cp.multiply(weights, per)) - float(s.sum()) * Y.shape[1]

    def optimal_intercept(self, P, Y, s):
        from scipy.optimize import minimize

        res = minimize(lambda c: self.value(P + c, Y, s), np.zeros(Y.shape[1]),
                       jac=lambda c: self.gradient(P + c, Y, s).sum(axis=0),
                       method="L-BFGS-B", options={"gtol": 1e-14, "ftol": 1e-16})
        return res.x

    def prox(self, Z, Y, s, rho):
        return Loss.prox(self, Z, Y, s, rho)

    def hessian(self, P, Y, s):
        return None  # (not the squared loss's)


def _program(X, y, activation, n_gates=10, loss=None, beta=1e-2):
    X1 = np.column_stack([X, np.ones(len(X))])
    gates = sample_gates(n_gates, X1.shape[1], np.random.RandomState(0))
    patterns, _ = unique_patterns(patterns_from_gates(X1, gates), gates)
    Y = np.asarray(y, float)
    return ConvexProgram(X=X1, patterns=patterns, Y=Y[:, None] if Y.ndim == 1 else Y,
                         beta=beta, loss=SquaredLoss() if loss is None else loss,
                         activation=activation)


@pytest.mark.parametrize("activation", ["relu", "gated_relu"])
@pytest.mark.parametrize("scale", [1e-3, 1e2])
def test_admm_is_not_thrown_by_the_scale_of_the_features(activation, scale):
    # ADMM runs on rescaled data: features far from unit scale reach the
    # same optimum as Clarabel (and the blocks are mapped back)
    X, y = _data(n=30)
    program = _program(scale * X, y, activation)
    ours = ADMMSolver(tol=1e-7, max_iter=5000).solve(program)
    ref = get_solver("clarabel", program, tol=1e-9).solve(program)
    assert ours.converged
    assert program.objective(ours.V, ours.W, ours.intercept) == pytest.approx(
        program.objective(ref.V, ref.W, ref.intercept), rel=1e-5)


@pytest.mark.parametrize("task", ["regression", "classification"])
def test_default_fits_of_few_samples_are_native_and_optimal(task):
    # a default fit never goes to cvxpy, at any size: on 20 samples (more
    # blocks than samples) the native solver certifies Clarabel's optimum
    X, y = _data(n=20)
    if task == "regression":
        est, ref = ConvexReLURegressor(random_state=0), ConvexReLURegressor
    else:
        y = y > np.median(y)
        est, ref = ConvexReLUClassifier(random_state=0), ConvexReLUClassifier
    est.fit(X, y)
    assert est.solver_ in NATIVE_SOLVERS
    assert est.duality_gap_ <= est.tol * abs(est.objective_)
    gates = est.gates_
    ref = ref(arrangements=gates, beta=est.beta_, solver="clarabel", tol=1e-9).fit(X, y)
    mine = ConvexReLURegressor if task == "regression" else ConvexReLUClassifier
    mine = mine(arrangements=gates, beta=est.beta_).fit(X, y)
    assert mine.solver_ in NATIVE_SOLVERS
    assert mine.objective_ == pytest.approx(ref.objective_, rel=1e-5)
    assert mine.lower_bound_ <= ref.objective_ * (1 + 1e-9)


def test_large_data_go_to_anderson_or_a_clear_error(monkeypatch):
    X, y = _data()
    monkeypatch.setattr(ADMMSolver, "max_samples", 10)
    monkeypatch.setattr(admm_linear, "MAX_PRIMAL", 0)
    assert get_solver("auto", _program(X, y, "gated_relu")).name == "anderson"
    X_50, y_50 = _data(n=50)
    # (a beta of many neurons: ADMM, with conjugate gradients here)
    program = _program(X_50, y_50, "relu")
    program = replace(program, beta=1e-3 * program_beta_max(program))
    assert get_solver("auto", program).name == "admm"
    assert get_solver("fista", _program(X, y, "gated_relu")).name == "fista"
    monkeypatch.setattr(admm, "available_memory_bytes", lambda: 1000)
    with pytest.raises(MemoryError, match="n_arrangements"):
        get_solver("admm", _program(X, y, "relu"))


@pytest.mark.parametrize("activation", ["relu", "gated_relu"])
@pytest.mark.parametrize("case", ["squared", "logistic", "multioutput", "no_intercept"])
def test_admm_conjugate_gradients_match_the_factorization(monkeypatch, activation,
                                                         case):
    # beyond max_samples the least-squares steps are Nystrom-preconditioned
    # CG: the same optimum as the n x n factorization
    X, y = _data(n=50, seed=12)
    Y, loss, fit_intercept = y, None, case != "no_intercept"
    if case == "logistic":
        Y, loss = (y > 0).astype(float), LogisticLoss()
    elif case == "multioutput":
        Y = np.column_stack([y, np.abs(y)])
    program = _program(X, Y, activation, n_gates=20, loss=loss)
    program.fit_intercept = fit_intercept
    direct = ADMMSolver(tol=1e-7, max_iter=20_000).solve(program)
    monkeypatch.setattr(ADMMSolver, "max_samples", 10)
    monkeypatch.setattr(admm_linear, "MAX_PRIMAL", 0)  # no B d factorization either
    assert ADMMSolver.least_squares(program, 1) is admm_linear.IterativeLeastSquares
    iterative = ADMMSolver(tol=1e-7, max_iter=20_000).solve(program)
    assert direct.converged and iterative.converged
    objective = program.objective(iterative.V, iterative.W, iterative.intercept)
    assert objective == pytest.approx(
        program.objective(direct.V, direct.W, direct.intercept), rel=1e-6)
    assert iterative.lower_bound <= objective


@pytest.mark.parametrize("activation", ["relu", "gated_relu"])
@pytest.mark.parametrize("fit_intercept, k", [(True, 1), (False, 1), (True, 2)])
def test_admm_block_factorization_matches_the_sample_one(monkeypatch, activation,
                                                        fit_intercept, k):
    # (A^T C A + I) z = r solved through the B d x B d factor (more samples
    # than block coordinates) and through the n x n one (Woodbury): the
    # same solution, and the same ADMM fit
    from skconvexnn.program import BlockOperator
    X, y = _data(n=300, d=3, seed=4)
    Y = y if k == 1 else np.column_stack([y, np.abs(y)])
    program = _program(X, Y, activation, n_gates=8)
    program.fit_intercept = fit_intercept
    op = BlockOperator(program)
    primal = admm_linear.PrimalLeastSquares
    assert ADMMSolver.least_squares(program, op.n_blocks) is primal
    R = np.random.default_rng(0).standard_normal(op.shape)
    z_block = admm_linear.PrimalLeastSquares(op, fit_intercept).solve(R)[0]
    z_sample = admm_linear.WoodburyLeastSquares(op, fit_intercept).solve(R)[0]
    np.testing.assert_allclose(z_block, z_sample, rtol=0, atol=1e-10 * np.abs(z_sample).max())
    # and the system itself: (A^T C A + I) z = R
    A_z = op.prediction(z_block)
    if fit_intercept:
        A_z = A_z - A_z.mean(axis=0)
    np.testing.assert_allclose(op.adjoint(A_z) + z_block, R, atol=1e-9)
    block = ADMMSolver(tol=1e-7, max_iter=20_000).solve(program)
    monkeypatch.setattr(admm_linear, "MAX_PRIMAL", 0)
    woodbury = admm_linear.WoodburyLeastSquares
    assert ADMMSolver.least_squares(program, op.n_blocks) is woodbury
    sample = ADMMSolver(tol=1e-7, max_iter=20_000).solve(program)
    assert block.converged and sample.converged
    assert program.objective(block.V, block.W, block.intercept) == pytest.approx(
        program.objective(sample.V, sample.W, sample.intercept), rel=1e-6)


@pytest.mark.parametrize("solver, activation", [
    ("admm", "gated_relu"), ("fista", "gated_relu"), ("anderson", "gated_relu"),
    ("admm", "relu"), ("fista", "relu")])
def test_max_iter_gives_convergence_warning(solver, activation):
    X, y = _data()
    est = ConvexReLURegressor(activation=activation, solver=solver, max_iter=1,
                              n_arrangements=10, random_state=0)
    with pytest.warns(ConvergenceWarning, match="max_iter") as caught:
        est.fit(X, y)
    assert est.n_iter_ == 1
    # FISTA's advice names the solver that converges where it crawls
    assert ("solver='admm'" in str(caught[0].message)) == (solver == "fista")


@pytest.mark.parametrize("solver, activation", [
    ("admm", "relu"), ("admm", "gated_relu"), ("anderson", "gated_relu"),
    ("fista", "relu")])
def test_warm_start_along_beta_saves_iterations(monkeypatch, solver, activation):
    # the first-order iterations, which a warm start shortens (with the face
    # polish both fits of this small program end at the second check)
    monkeypatch.setattr(ADMMSolver, "polish", False)
    monkeypatch.setattr(FISTASolver, "polish", False)
    X, y = _data(n=150)
    # (fixed gates: trained patterns depend on the beta they are trained at)
    kw = dict(n_arrangements=15, random_state=0, solver=solver, activation=activation,
              max_iter=100_000, arrangements="bisector")
    warm = ConvexReLURegressor(beta=1e-2, warm_start=True, **kw).fit(X, y)
    warm.set_params(beta=9.5e-3).fit(X, y)
    cold = ConvexReLURegressor(beta=9.5e-3, **kw).fit(X, y)
    assert warm.objective_ == pytest.approx(cold.objective_, rel=1e-5)
    assert warm.n_iter_ < cold.n_iter_
    # the same beta again: already certified, no iteration needed
    assert warm.fit(X, y).n_iter_ == 0


@pytest.mark.parametrize("activation", ["relu", "gated_relu"])
def test_admm_warm_start_is_a_fixed_point(activation):
    # From the blocks of an optimum alone (no state), the multipliers
    # derived from them make it a fixed point of the iteration: a step
    # leaves the blocks where they are (zero multipliers move them).
    from skconvexnn.solvers.admm import _Iteration

    program = _program(*_data(n=60), activation)
    result = ADMMSolver(tol=1e-11, max_iter=100_000).solve(program)
    start = replace(result, state=None)
    moves = []
    for uq_zero in (False, True):
        it = _Iteration(program, start)
        if uq_zero:
            it.uq, it.up = np.zeros_like(it.uq), np.zeros_like(it.up)
        p = it.p.copy()
        it.step()
        moves.append(np.linalg.norm(it.p - p) / np.linalg.norm(p))
    assert moves[0] < 1e-5 < moves[1]


@pytest.mark.parametrize("solver", [ADMMSolver, FISTASolver])
def test_state_carries_the_cones_active_sets(solver, monkeypatch):
    # The projections' active sets travel with the state (restricted to a
    # working set and padded back with -1) and seed the next solve's
    # projections; foreign ones (indices beyond the rows) are ignored.
    import importlib

    from skconvexnn.program.operator import BlockOperator
    from skconvexnn.program.penalties import ConeGroupNorm
    from skconvexnn.solvers.projection_state import seed_projections

    program = _program(*_data(n=60), "relu")
    result = solver(tol=1e-7).solve(program)
    active = result.state.active
    assert active.shape == (1, 2 * program.n_patterns, program.n_features)
    assert active.max() >= 0
    keep = np.arange(program.n_patterns) % 2 == 0
    back = result.state.restrict(keep).pad(keep).active
    both = np.concatenate([keep, keep])
    np.testing.assert_array_equal(back[:, both], active[:, both])
    assert np.all(back[:, ~both] == -1)

    penalty = ConeGroupNorm(BlockOperator(program))
    foreign = replace(result, state=replace(result.state, active=active + 10**6))
    seed_projections(penalty, foreign)
    assert np.all(penalty.active == -1)
    seed_projections(penalty, result)
    np.testing.assert_array_equal(penalty.active, active)

    module = importlib.import_module(solver.__module__)
    seeded = []
    monkeypatch.setattr(module, "seed_projections",
                        lambda penalty, init: seeded.append(init))
    solver(tol=1e-7).solve(replace(program, beta=0.9 * program.beta), result)
    assert seeded[0].state.active is not None


def test_solver_result_certifies_itself():
    X, y = _data()
    program = _program(X, y, "relu")
    result = ADMMSolver(tol=1e-7).solve(program)
    objective = program.objective(result.V, result.W, result.intercept)
    assert result.converged
    assert result.lower_bound <= objective
    assert objective - result.lower_bound <= 1e-7 * objective * 1.0001
    assert program.max_cone_violation(result.V, result.W) <= 1e-8


def test_fista_refuses_hinge():
    X, y = _data()
    est = ConvexReLUClassifier(loss="hinge", activation="gated_relu", solver="fista")
    with pytest.raises(ValueError, match="fista.*admm"):
        est.fit(X, y > 0)
    est.set_params(activation="relu")
    with pytest.raises(ValueError, match="differentiable"):
        est.fit(X, y > 0)


def test_admm_recovers_from_a_stalled_extrapolation():
    # repeated rows: over-relaxed, Anderson-accelerated ADMM used to settle
    # on a point far from the optimum and return the zero network, 4 times
    # above the optimum that anderson and Clarabel reach
    rng = np.random.RandomState(42)
    X, y = rng.rand(15, 30), rng.randint(0, 3, 15).astype(float)
    repeats = rng.randint(0, 5, 15)
    X = np.vstack([X.repeat(repeats, 0), X, X])
    y = np.hstack([y.repeat(repeats), y, y])
    kw = dict(beta=0.0284, n_arrangements=10, activation="gated_relu", random_state=0)
    ours = ConvexReLURegressor(solver="admm", **kw).fit(X, y)
    ref = ConvexReLURegressor(solver="clarabel", **kw).fit(X, y)
    assert ours.n_neurons_ > 0
    assert ours.objective_ == pytest.approx(ref.objective_, rel=1e-5)
    assert ours.duality_gap_ <= ours.tol * ours.objective_ * 1.0001


def test_anderson_returns_the_plain_step_an_astray_extrapolation_replaced():
    # the safeguard goes back to the plain step the stray point replaced,
    # not on from the stray point (from which ADMM once diverged)
    accel = Anderson(2)
    assert accel.update(np.array([0.0]), np.array([1.0]))[0] == 1.0
    stray = accel.update(np.array([1.0]), np.array([1.5]))
    assert stray[0] != 1.5  # extrapolated
    back = accel.update(stray, stray + 100.0)
    assert back[0] == 1.5 and accel.best == 0.5
    # from a plain point a larger residual is taken as it is
    assert accel.update(back, back + 10.0)[0] == 11.5


@pytest.mark.parametrize("solver, activation",
                         [("admm", "relu"), ("fista", "gated_relu")])
def test_verbose_shows_objective_and_a_proven_gap(capsys, solver, activation):
    X, y = _data(n=60)
    ConvexReLURegressor(solver=solver, activation=activation, verbose=2,
                        n_arrangements=10, random_state=0).fit(X, y)
    lines = [line for line in capsys.readouterr().out.splitlines()
             if line.startswith(f"[{solver}]")]
    assert len(lines) >= 3
    gaps = [line.split("gap=")[1].split()[0] for line in lines]
    # a proven gap is shown before the last check, not only at the end
    assert any(g != "n/a" for g in gaps[:-1])
    assert all("obj=" in line and "it=" in line for line in lines)


def test_quadratic_dual_scaling_in_closed_form(monkeypatch):
    # the bound's best scaling of a dual point, in closed form for a
    # quadratic loss, equals the bounded scalar search it replaces
    from skconvexnn.program import ConvexProgram
    from skconvexnn.program.dual import _scaled_bound
    from skconvexnn.losses import SquaredLoss

    rng = np.random.default_rng(8)
    for _ in range(30):
        n, d, P = 30, 3, 8
        X = np.column_stack([rng.standard_normal((n, d - 1)), np.ones(n)])
        patterns = (X @ rng.standard_normal((d, P)) >= 0).astype(float)
        w = rng.random(n)
        program = ConvexProgram(
            X=X, patterns=patterns, Y=rng.standard_normal((n, 2)),
            beta=10 ** rng.uniform(-3, 0), loss=SquaredLoss(), sample_weight=w / w.sum(),
            activation=str(rng.choice(["relu", "gated_relu"])))
        Lam = rng.standard_normal((n, 2)) * 10 ** rng.uniform(-3, 0)
        fast = _scaled_bound(program, Lam)
        with monkeypatch.context() as m:
            m.setattr(SquaredLoss, "quadratic", False)
            searched = _scaled_bound(program, Lam)
        assert fast >= searched - 1e-10 * max(abs(searched), 1e-12)
        assert fast <= searched + 1e-8 * max(abs(searched), 1e-12)


def test_fista_working_set_reaches_the_plain_optimum(monkeypatch):
    # the working set of blocks (sweeps) changes the path, not the
    # solution: the same certified optimum as FISTA with every block in
    # every prox
    from skconvexnn.solvers import fista
    X, y = _data(n=100, d=4, seed=3)
    labels = np.digitize(y, np.quantile(y, [0.25, 0.5, 0.75]))
    program = replace(_program(X, np.eye(4)[labels], "relu", n_gates=30,
                               loss=LogisticLoss()), beta=5e-3)
    sizes = []
    original = fista._Sweeps.mask

    def record(self, it, V, thresh):
        out = original(self, it, V, thresh)
        sizes.append(int(out.sum()))
        return out

    monkeypatch.setattr(fista._Sweeps, "mask", record)
    ours = FISTASolver(tol=1e-6, max_iter=20_000).solve(program)
    # the steps between sweeps ran on a part of the blocks
    assert min(sizes) < 0.5 * 2 * program.n_patterns * program.n_outputs
    monkeypatch.setattr(FISTASolver, "sweep_every", 1)
    monkeypatch.setattr(FISTASolver, "sweep_size", 10**6)
    plain = FISTASolver(tol=1e-6, max_iter=20_000).solve(program)
    assert ours.converged and plain.converged
    objective = program.objective(ours.V, ours.W, ours.intercept)
    assert objective == pytest.approx(program.objective(plain.V, plain.W, plain.intercept),
                                      rel=2e-6)
    assert ours.lower_bound <= objective


def test_sweeps_grow_the_working_set_geometrically():
    from skconvexnn.solvers.fista import _Sweeps
    k, B, d = 2, 50, 3
    sweeps = _Sweeps(every=10, size=4, Z=np.zeros((k, B, d)))
    V = np.random.default_rng(0).standard_normal((k, B, d))
    first = sweeps.mask(1, V, 0.0)
    assert first.sum() == 4 and not sweeps.complete
    # the largest blocks before the prox are those taken in
    norms = np.linalg.norm(V, axis=2)
    assert norms[first].min() >= norms[~first].max()
    Z = np.where(first[:, :, None], V, 0.0)
    sweeps.swept(1, Z)
    assert sweeps.mask(5, V, 0.0) is sweeps.work  # between sweeps
    second = sweeps.mask(11, V, 0.0)
    assert second.sum() == 4 + 8 and second[first].all()
    sweeps.swept(11, np.where(second[:, :, None], V, 0.0))
    # a complete sweep that brings nothing new doubles the interval
    third = sweeps.mask(21, V, np.sort(norms, axis=None)[-13])
    assert sweeps.complete and (third == sweeps.work).all()
    sweeps.swept(21, np.where(third[:, :, None], V, 0.0))
    assert sweeps.next == 21 + 20


@pytest.mark.parametrize("beta", [1e-2, 1.0])
@pytest.mark.parametrize("scale", [0.3, 3.0, 10.0])
def test_scaled_bound_is_the_best_scaling(scale, beta):
    # the bound maximizes the dual over the feasible scalings alpha Lam: at
    # beta = 1e-2 the dual still rises at alpha_max (the shortcut), at
    # beta = 1 its maximizer is inside (the search); both give the maximum
    # of a fine grid, to rounding
    from skconvexnn.program.dual import _scaled_bound, dual_norms
    rng = np.random.default_rng(11)
    X = rng.standard_normal((80, 4))
    labels = (X[:, 0] + 0.5 * rng.standard_normal(80) > 0).astype(float)
    program = _program(X, labels, "relu", n_gates=20, loss=LogisticLoss(), beta=beta)
    Lam = program.dual_point(scale * rng.standard_normal(program.Y.shape))
    biggest = float(np.max(dual_norms(program, Lam)))
    alpha_max = min(1.0, program.beta / biggest)
    grid = max(program.loss.dual(a * Lam, program.Y, program.sample_weight)
               for a in np.linspace(0.0, alpha_max, 2001))
    bound = _scaled_bound(program, Lam)
    assert bound >= grid - 1e-9 * abs(grid)
    assert bound <= grid + 1e-6 * abs(grid)
