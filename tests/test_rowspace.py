"""Wide data (more design features than rows): the program in the row space."""

from dataclasses import replace

import numpy as np
import pytest

from skconvexnn import ConvexReLURegressorCV
from skconvexnn.arrangements import patterns_from_gates, sample_gates, unique_patterns
from skconvexnn.fitting.cv import loo_applies
from skconvexnn.fitting.options import SolverOptions
from skconvexnn.losses import LogisticLoss, SquaredLoss
from skconvexnn.program import ConvexProgram
from skconvexnn.program.dual import program_beta_max
from skconvexnn.program.rowspace import row_space
from skconvexnn.solvers import CvxpySolver, FISTASolver


def _wide_program(n=24, d=40, loss="squared", k=1, activation="relu", seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    Y = (np.maximum(X[:, :3] @ rng.standard_normal((3, k)), 0)
         + 0.1 * rng.standard_normal((n, k)))
    if loss == "logistic":
        Y = np.eye(k)[np.argmax(Y, axis=1)] if k > 1 else (Y > np.median(Y)) * 1.0
    X1 = np.column_stack([X, np.ones(n)])
    gates = sample_gates(8, d + 1, np.random.RandomState(seed))
    patterns, _ = unique_patterns(patterns_from_gates(X1, gates), gates)
    program = ConvexProgram(X=X1, patterns=patterns, Y=Y, beta=1.0,
                            loss=SquaredLoss() if loss == "squared" else LogisticLoss(),
                            activation=activation)
    return replace(program, beta=0.1 * program_beta_max(program))


CASES = [dict(), dict(loss="logistic", k=3), dict(activation="gated_relu")]


@pytest.mark.parametrize("case", CASES)
def test_wide_programs_match_clarabel(case):
    """The solve on the row space (SolverOptions), and FISTA on all the
    columns (its projections keep n x n inverses), reach Clarabel's optimum
    of the program as given, in design space, with a bound below it."""
    program = _wide_program(**case)
    ref = CvxpySolver("clarabel", tol=1e-9).solve(program)
    best = program.objective(ref.V, ref.W, ref.intercept)
    reduced, _ = SolverOptions(solver="fista", tol=1e-8, max_iter=50_000).solve(program)
    full = FISTASolver(tol=1e-8, max_iter=50_000).solve(program)
    for result in (reduced, full):
        assert result.V.shape == ref.V.shape
        value = program.objective(result.V, result.W, result.intercept)
        assert value <= best * (1 + 1e-5)
        assert result.lower_bound <= best * (1 + 1e-7)
    # the solve on the row space returns blocks in the row space of X
    _, Q = row_space(program)
    blocks = reduced.V if reduced.W is None else np.concatenate([reduced.V, reduced.W])
    assert np.allclose(blocks @ Q @ Q.T, blocks, atol=1e-10)


def test_row_space_only_for_wide_design_matrices():
    wide = _wide_program()
    reduced, Q = row_space(wide)
    assert Q.shape == (41, 24) and reduced.X.shape == (24, 24)
    # the same Gram matrix of the rows: predictions and cone rows are kept
    assert np.allclose(reduced.X @ reduced.X.T, wide.X @ wide.X.T)
    tall = _wide_program(n=60, d=10)
    assert row_space(tall) == (tall, None)


@pytest.mark.filterwarnings("error::sklearn.exceptions.ConvergenceWarning")
def test_cv_scores_wide_data_by_folds():
    """The approximate leave-one-out outputs are not used on wide data: the
    CV estimator fits its folds (five columns of scores, not one). Every
    fold's path converges: warm-started ADMM once diverged at the smallest
    beta of one fold (Anderson's safeguard went on from a stray point)."""
    wide, tall = _wide_program(), _wide_program(n=60, d=10)
    assert not loo_applies(wide, SolverOptions())
    assert loo_applies(tall, SolverOptions())
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 60))
    y = X[:, 0] - X[:, 1] + 0.1 * rng.standard_normal(40)
    est = ConvexReLURegressorCV(n_betas=3, random_state=0).fit(X, y)
    assert est.mse_path_.shape == (3, 5)
