"""The quasi-Newton polish on the face of the cones (FISTA's last steps)."""

from dataclasses import replace

import numpy as np
import pytest

from skconvexnn._program import ConvexProgram, program_beta_max
from skconvexnn.arrangements import patterns_from_gates, sample_gates, unique_patterns
from skconvexnn.losses import LogisticLoss, SquaredLoss
from skconvexnn.solvers import (FISTA_MIN_BETA_RATIO, CvxpySolver, FISTASolver,
                                few_neurons, get_solver)
from skconvexnn.solvers._blocks import BlockOperator, Certificate, ConeProx
from skconvexnn.solvers._polish import FacePolish


def _program(loss="squared", n=120, d=4, k=1, n_gates=20, activation="relu",
             beta=None, seed=0, weights=False, fit_intercept=True):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    H = np.maximum(X @ rng.standard_normal((d, 6)), 0) @ rng.standard_normal((6, k))
    Y = H + 0.1 * rng.standard_normal((n, k))
    if loss == "logistic":  # labels: 0/1 for one output, one-hot for several
        Y = ((Y > np.median(Y)).astype(float) if k == 1
             else np.eye(k)[np.argmax(Y, axis=1)])
    X1 = np.column_stack([X, np.ones(n)])
    gates = sample_gates(n_gates, d + 1, np.random.RandomState(seed))
    patterns, _ = unique_patterns(patterns_from_gates(X1, gates), gates)
    w = rng.random(n) + 0.5 if weights else np.ones(n)
    program = ConvexProgram(
        X=X1, patterns=patterns, Y=Y, beta=1.0,
        loss=SquaredLoss() if loss == "squared" else LogisticLoss(),
        activation=activation, fit_intercept=fit_intercept,
        sample_weight=w / w.sum())
    if beta is None:
        beta = 0.05 * program_beta_max(program)
    return replace(program, beta=beta)


def _solve(program, polish, **kw):
    solver = FISTASolver(tol=kw.pop("tol", 1e-6), max_iter=kw.pop("max_iter", 50_000))
    solver.polish = polish
    return solver.solve(program, **kw)


def _objective(program, result):
    return program.objective(result.V, result.W, result.intercept)


CASES = [dict(), dict(loss="logistic"), dict(k=2), dict(weights=True),
         dict(fit_intercept=False), dict(activation="gated_relu"),
         dict(loss="logistic", k=3)]


@pytest.mark.parametrize("case", CASES)
def test_polished_fista_matches_clarabel(case):
    program = _program(**case)
    ours = _solve(program, polish=True)
    ref = CvxpySolver("clarabel", tol=1e-9).solve(program)
    objective = _objective(program, ours)
    reference = _objective(program, ref)
    assert ours.converged
    # at most Clarabel's objective (which stops up to 1e-4 above the
    # optimum on the softmax loss's exponential cones), and a lower bound,
    # certified over every block, at most Clarabel's
    assert objective <= reference * (1 + 1e-5)
    assert objective == pytest.approx(reference, rel=1e-4)
    assert ours.lower_bound <= reference * (1 + 1e-9)
    assert objective - ours.lower_bound <= 1e-6 * objective
    assert program.max_cone_violation(ours.V, ours.W) <= 1e-9


@pytest.mark.parametrize("case", [dict(), dict(loss="logistic"), dict(k=2)])
def test_polish_saves_iterations(case):
    program = _program(**case)
    plain = _solve(program, polish=False)
    polished = _solve(program, polish=True)
    assert plain.converged and polished.converged
    assert polished.n_iter < plain.n_iter
    assert _objective(program, polished) == pytest.approx(_objective(program, plain),
                                                          rel=2e-6)


@pytest.mark.parametrize("case", CASES)
def test_polish_is_feasible_and_never_worse(case):
    # from a loose point (the face not settled yet) as from a close one
    program = _program(**case)
    op = BlockOperator(program)
    for max_iter in (20, 200):
        start = _solve(program, polish=False, tol=1e-12, max_iter=max_iter)
        Z = op.stack(start.V, start.W)
        polish = FacePolish(op)
        found = polish(Z, start.intercept)
        before = polish._value(Z, start.intercept)
        if found is None:
            continue
        Z_new, c_new = found
        V, W = op.split(Z_new)
        assert program.max_cone_violation(V, W) <= 1e-9
        assert program.objective(V, W, c_new) <= before


@pytest.mark.parametrize("case", [dict(), dict(loss="logistic"), dict(k=2)])
def test_one_polish_closes_most_of_the_gap(case):
    # from a first-order point at a relative gap near 1e-3, one polish on
    # its face (rows added or released on the way) lowers the certified gap
    # below 1e-6: the step that FISTA's last hundreds of iterations take
    program = _program(n=200, **case)
    op = BlockOperator(program)
    start = _solve(program, polish=False, tol=1e-3)
    Z = op.stack(start.V, start.W)
    prox = ConeProx(op)

    def relative_gap(Z):
        cert = Certificate(program, 1e-12)
        cert(op.network(op.products(Z)), Z, prox.max_dual_norm, final=True)
        return cert.gap / cert.objective, cert.intercept

    before, intercept = relative_gap(Z)
    found = FacePolish(op)(Z, intercept)
    assert found is not None
    after, _ = relative_gap(found[0])
    assert after <= min(1e-6, before / 100)


def test_auto_sends_the_squared_relu_program_by_beta():
    # FISTA with the polish where the optimum has few neurons, ADMM below
    program = _program(n=200)
    largest = program_beta_max(program)
    above = replace(program, beta=2 * FISTA_MIN_BETA_RATIO * largest)
    below = replace(program, beta=0.5 * FISTA_MIN_BETA_RATIO * largest)
    assert few_neurons(above) and not few_neurons(below)
    assert get_solver("auto", above).name == "fista"
    assert get_solver("auto", below).name == "admm"
