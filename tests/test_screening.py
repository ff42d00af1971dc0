"""Working sets of patterns along the beta path (skconvexnn/_screening.py)."""

from dataclasses import replace

import numpy as np
import pytest
from sklearn.base import clone

import skconvexnn.fitting.path as fitting_path
from skconvexnn import ConvexReLURegressor, convex_relu_path
from skconvexnn._screening import pattern_norms, solve_on_working_set
from skconvexnn.fitting.options import SolverOptions
from skconvexnn.program.dual import dual_norms


@pytest.fixture
def relu_data():
    # 60 samples: the ReLU program goes to the native solvers (not Clarabel).
    rng = np.random.default_rng(1)
    X = rng.standard_normal((60, 6))
    y = np.maximum(X[:, :3] @ [1.0, -2.0, 0.5], 0) + 0.1 * rng.standard_normal(60)
    return X, y


def _program(est, X, y, beta):
    Xv, Yv, loss = est._training_data(X, y, None)
    program, _, _ = est._path_program(Xv, Yv, loss, None)
    return replace(program, beta=beta)


@pytest.mark.parametrize("solver", ["fista", "admm"])
def test_working_sets_certify_every_fit(relu_data, solver, monkeypatch):
    # Betas whose working set leaves patterns out, and betas whose working
    # set is every pattern: each fit's lower bound holds for the whole
    # program (below the independent fit's objective) and certifies it.
    X, y = relu_data
    # (fixed gates: trained patterns depend on the beta they are trained at)
    est = ConvexReLURegressor(n_arrangements=12, random_state=0, solver=solver,
                              tol=1e-7, arrangements="bisector")
    sizes = []
    solve_on_working_set = fitting_path.solve_on_working_set

    def recorded(program, solve, *args, **kw):
        def sized(sub, init):
            sizes.append(sub.n_patterns < program.n_patterns)
            return solve(sub, init)
        return solve_on_working_set(program, sized, *args, **kw)

    monkeypatch.setattr(fitting_path, "solve_on_working_set", recorded)
    path = convex_relu_path(X, y, estimator=est, n_betas=8, beta_ratio=0.05)
    assert any(sizes) and not all(sizes)  # both cases
    for beta, fitted in zip(path.betas[1:], path.estimators[1:]):
        alone = clone(est).set_params(beta=beta).fit(X, y)
        assert fitted.objective_ == pytest.approx(alone.objective_, rel=1e-6)
        assert fitted.lower_bound_ <= alone.objective_ * (1 + 1e-10)
        assert fitted.duality_gap_ <= 1e-7 * fitted.objective_


def test_whole_working_set_keeps_the_solvers_bound(relu_data):
    # When every pattern is in the working set, the program itself is
    # solved and the solver's bound (over every pattern) is kept; the
    # dual norms are computed for the zero blocks only.
    X, y = relu_data
    est = ConvexReLURegressor(n_arrangements=12, random_state=0,
                              arrangements="bisector")
    program = _program(est, X, y, 1e-2)
    options = SolverOptions(solver="admm", tol=1e-7)
    seen = []

    def solve(sub, init):
        seen.append(sub)
        result, solver = options.solve(sub, init)
        return replace(result, lower_bound=-123.0), solver

    init, _ = options.solve(replace(program, beta=2e-2))
    norms = np.full(program.n_patterns, np.inf)
    result, _, new_norms = solve_on_working_set(program, solve, init, norms, 2e-2)
    new_norms = new_norms()  # computed when the next beta's rule needs them
    assert len(seen) == 1 and seen[0] is program
    assert result.lower_bound == -123.0
    active = np.any(result.V != 0, axis=(0, 2)) | np.any(result.W != 0, axis=(0, 2))
    assert active.any() and not active.all()
    assert np.all(np.isinf(new_norms[active]))
    Lam = program.dual_point(program.predict(result.V, result.W))
    exact = dual_norms(program, Lam).reshape(-1, program.n_patterns).max(axis=0)
    np.testing.assert_allclose(new_norms[~active], exact[~active], rtol=1e-10)
    np.testing.assert_array_equal(pattern_norms(program, result, ~active), new_norms)


def test_rule_keeping_every_pattern_needs_no_norms(relu_data):
    # At 2 beta <= the previous beta the rule keeps every pattern whatever
    # their dual norms (they are nonnegative): they are not computed.
    X, y = relu_data
    est = ConvexReLURegressor(n_arrangements=12, random_state=0)
    program = _program(est, X, y, 1e-2)
    options = SolverOptions(solver="admm", tol=1e-7)
    init, _ = options.solve(replace(program, beta=2.5e-2))

    def norms():
        raise AssertionError("the rule needs no norms here")

    result, _, _ = solve_on_working_set(program, options.solve, init, norms, 2.5e-2)
    alone, _ = options.solve(program)
    assert program.objective(result.V, result.W, result.intercept) == pytest.approx(
        program.objective(alone.V, alone.W, alone.intercept), rel=1e-6)
