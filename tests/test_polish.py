"""The quasi-Newton polish on the face of the cones (FISTA's last steps)."""

from dataclasses import replace

import numpy as np
import pytest

from skconvexnn.program import ConvexProgram
from skconvexnn.program.dual import program_beta_max
from skconvexnn.arrangements import patterns_from_gates, sample_gates, unique_patterns
from skconvexnn.losses import LogisticLoss, SquaredLoss
from skconvexnn.fitting.options import SolverOptions
from skconvexnn.solvers import (FISTA_LARGE_BETA_RATIO, FISTA_LARGE_SAMPLES,
                                FISTA_MIN_BETA_RATIO, FISTA_WARM_BETA_RATIO,
                                CvxpySolver, FISTASolver, few_neurons, get_solver,
                                trivial_result)
from skconvexnn.program import BlockOperator, Certificate
from skconvexnn.solvers._face import leaving_block
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


def _first_order_point(program, tol):
    """The block operator and FISTA's blocks at ``tol``, without the polish."""
    op = BlockOperator(program)
    start = _solve(program, polish=False, tol=tol)
    return op, op.stack(start.V, start.W)


def _relative_gap(op, Z):
    """Certified relative gap of the network of ``Z`` (exact bound), and its
    best output intercept."""
    cert = Certificate(op.program, 1e-14)
    penalty = op.program.group_norm(op)
    cert(op.network(op.products(Z)), Z, penalty.max_dual_norm, final=True)
    return cert.gap / cert.objective, cert.intercept


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
    op, Z = _first_order_point(program, tol=1e-3)
    before, intercept = _relative_gap(op, Z)
    found = FacePolish(op)(Z, intercept)
    assert found is not None
    after, _ = _relative_gap(op, found[0])
    assert after <= min(1e-6, before / 100)


@pytest.mark.parametrize("n, ratio", [(200, FISTA_MIN_BETA_RATIO),
                                      (FISTA_LARGE_SAMPLES, FISTA_LARGE_BETA_RATIO)])
def test_auto_sends_the_squared_relu_program_by_beta(n, ratio):
    # FISTA with the polish where the optimum has few neurons, ADMM below;
    # the threshold is lower from FISTA_LARGE_SAMPLES samples on (where
    # 2 * ratio still goes to ADMM with fewer samples)
    program = _program(n=n)
    largest = program_beta_max(program)
    above = replace(program, beta=2 * ratio * largest)
    below = replace(program, beta=0.5 * ratio * largest)
    assert few_neurons(above) and not few_neurons(below)
    assert get_solver("auto", above).name == "fista"
    assert get_solver("auto", below).name == "admm"


def test_a_warm_start_keeps_fista_further_down_on_many_samples():
    # from blocks that FISTA made (the previous beta of a path), "auto"
    # keeps FISTA down to FISTA_WARM_BETA_RATIO from FISTA_LARGE_SAMPLES on;
    # from ADMM's state, or from the zero network, the cold rule holds
    large = _program(n=FISTA_LARGE_SAMPLES)
    beta = 2 * FISTA_WARM_BETA_RATIO * program_beta_max(large)
    assert beta < FISTA_LARGE_BETA_RATIO * program_beta_max(large)
    at = replace(large, beta=beta)
    assert few_neurons(at, warm=True) and not few_neurons(at)
    options = SolverOptions(tol=1e-3)
    previous = replace(large, beta=2 * beta)
    fista, solver = options.solve(previous)
    assert solver.name == "fista" and np.any(fista.V)
    assert options.solve(at, fista)[1].name == "fista"
    admm, _ = SolverOptions(solver="admm", tol=1e-3).solve(previous)
    assert options.solve(at, admm)[1].name == "admm"
    assert options.solve(at, trivial_result(at))[1].name == "admm"
    # with fewer samples, the cold rule holds for a warm start too
    small = _program(n=200)
    at = replace(small, beta=2 * FISTA_WARM_BETA_RATIO * program_beta_max(small))
    assert not few_neurons(at, warm=True)


@pytest.mark.parametrize("loss, k", [(SquaredLoss(), 1), (SquaredLoss(), 2),
                                     (LogisticLoss(), 1), (LogisticLoss(), 3)])
def test_loss_hessian_is_the_derivative_of_the_gradient(loss, k):
    # the Newton steps' second derivatives, against central differences
    rng = np.random.default_rng(k)
    n = 30
    P = rng.standard_normal((n, k))
    Y = (rng.random((n, 1)) < 0.5).astype(float) if k == 1 else np.eye(k)[rng.integers(0, k, n)]
    s = rng.random(n) / n
    H = loss.hessian(P, Y, s)
    assert H.shape == (n, k, k)
    eps = 1e-6
    for t in range(k):
        E = np.zeros((n, k))
        E[:, t] = eps
        diff = (loss.gradient(P + E, Y, s) - loss.gradient(P - E, Y, s)) / (2 * eps)
        np.testing.assert_allclose(H[:, :, t], diff, rtol=1e-6, atol=1e-12)


def test_newton_steps_take_the_face_to_the_last_digits(monkeypatch):
    # on the face found from a first-order point, quasi-Newton steps alone
    # leave a certified gap that Newton steps close (or that they match)
    program = _program(n=200, beta=None)
    program = replace(program, beta=0.005 * program_beta_max(program))
    op, Z = _first_order_point(program, tol=1e-4)
    _, intercept = _relative_gap(op, Z)
    with_newton = FacePolish(op)(Z, intercept)
    monkeypatch.setattr(FacePolish, "newton_steps", 0)
    without = FacePolish(op)(Z, intercept)
    assert with_newton is not None and without is not None
    gap_newton = _relative_gap(op, with_newton[0])[0]
    assert gap_newton <= min(1e-8, _relative_gap(op, without[0])[0])


@pytest.mark.parametrize("case", [dict(), dict(k=2), dict(weights=True), dict(loss="logistic")])
def test_admm_keeps_only_a_certified_polish(monkeypatch, case):
    # ADMM at a small beta (many neurons): the polish, kept only when
    # certified, ends the solve sooner at the same optimum
    from skconvexnn.solvers import ADMMSolver
    program = _program(n=200, **case)
    program = replace(program, beta=0.005 * program_beta_max(program))
    polished = ADMMSolver(tol=1e-6, max_iter=50_000).solve(program)
    monkeypatch.setattr(ADMMSolver, "polish", False)
    plain = ADMMSolver(tol=1e-6, max_iter=50_000).solve(program)
    ref = CvxpySolver("clarabel", tol=1e-9).solve(program)
    assert polished.converged and plain.converged
    objective = _objective(program, polished)
    assert objective == pytest.approx(_objective(program, ref), rel=1e-5)
    assert polished.lower_bound <= _objective(program, ref) * (1 + 1e-9)
    assert objective - polished.lower_bound <= 1e-6 * objective
    assert program.max_cone_violation(polished.V, polished.W) <= 1e-9
    assert polished.n_iter < plain.n_iter


def test_a_block_newton_drives_to_zero_leaves_the_support(monkeypatch):
    # The Newton steps may drive a block to zero (the face's optimum has it
    # at zero, where the block norm has no gradient): the block leaves the
    # support and the rounds go on without it, instead of ending there.
    program = _program(n=200)
    program = replace(program, beta=0.005 * program_beta_max(program))
    op, Z = _first_order_point(program, tol=1e-4)
    _, intercept = _relative_gap(op, Z)
    supports, minimize = [], FacePolish._minimize

    def shrinking(self, Z, c, ts, bs, bases, newton=False, **kwargs):
        supports.append((newton, len(ts)))
        Z_new, c_new = minimize(self, Z, c, ts, bs, bases, newton=newton, **kwargs)
        if newton and Z_new is not None and sum(n for n, _ in supports) == 1:
            j = int(np.argmin(np.linalg.norm(Z_new[ts, bs], axis=1)))
            Z_new = Z_new.copy()
            Z_new[ts[j], bs[j]] *= 1e-9
        return Z_new, c_new

    monkeypatch.setattr(FacePolish, "_minimize", shrinking)
    assert FacePolish(op)(Z, intercept) is not None
    first = [i for i, (newton, _) in enumerate(supports) if newton][0]
    assert len(supports) > first + 1  # the rounds went on
    assert supports[first + 1][1] == supports[first][1] - 1


def test_attempts_are_rearmed_as_the_iterations_double():
    # after its attempts, the polish is allowed once more each time the
    # iteration count doubles, on a face tried before too
    program = _program(n=200)
    op, Z = _first_order_point(program, tol=1e-4)
    polish = FacePolish(op, max_attempts=1)
    assert not polish.ready(Z, 10)  # the face is seen for the first time
    assert polish.ready(Z, 20)
    polish(Z, np.zeros(1))
    assert not polish.ready(Z, 30) and not polish.ready(Z, 39)
    assert not polish.ready(Z, 40)  # its face is seen again here
    assert polish.ready(Z, 50)
    polish(Z, np.zeros(1))
    assert not polish.ready(Z, 90)
    assert not polish.ready(Z, 100) and polish.ready(Z, 110)


def _reference_blocks(op):
    """The optimum of ``op``'s program by Clarabel, stacked, its tiny blocks
    (an interior-point solver's zeros) set to zero; and the blocks' norms
    before that."""
    ref = CvxpySolver("clarabel", tol=1e-10).solve(op.program)
    Z = op.stack(ref.V, ref.W).copy()
    norms = np.linalg.norm(Z, axis=2)
    Z[norms <= 1e-6 * norms.max()] = 0.0
    return Z, norms


def _without_smallest(Z, norms, count):
    """``Z`` with its ``count`` shortest nonzero blocks set to zero."""
    live = np.where(Z.any(axis=2), norms, np.inf)
    Z = Z.copy()
    Z[np.unravel_index(np.argsort(live, axis=None, kind="stable")[:count],
                       norms.shape)] = 0.0
    return Z


def _short_of_the_optimum(case, count):
    """The program of ``case`` (200 samples, beta at 0.005 of beta_max), its
    operator, Clarabel's optimum without its ``count`` smallest blocks and
    that point's best intercept."""
    program = _program(n=200, **case)
    program = replace(program, beta=0.005 * program_beta_max(program))
    op = BlockOperator(program)
    Z = _without_smallest(*_reference_blocks(op), count)
    _, intercept = _relative_gap(op, Z)
    return program, op, Z, intercept


@pytest.mark.parametrize("case", [dict(), dict(loss="logistic"), dict(k=2),
                                  dict(activation="gated_relu")])
def test_a_block_left_out_of_the_support_enters(case):
    # From the optimum without its smallest block, the face's optimum is not
    # the program's: the block (or another one) whose dual constraint that
    # point violates enters, and the polish ends certified.
    program, op, Z, intercept = _short_of_the_optimum(case, 1)
    found = FacePolish(op)(Z, intercept)
    assert found is not None
    V, W = op.split(found[0])
    assert program.max_cone_violation(V, W) <= 1e-9
    assert _relative_gap(op, found[0])[0] <= 1e-8


def test_a_row_the_newton_steps_cross_joins_the_face(monkeypatch):
    # A Newton step stopped by a row left out of the face is not the face's
    # optimum: the row joins the face and the rounds go on (they ended there)
    program = _program(n=200)
    program = replace(program, beta=0.005 * program_beta_max(program))
    op, Z = _first_order_point(program, tol=1e-4)
    _, intercept = _relative_gap(op, Z)
    calls, minimize, feasible = [], FacePolish._minimize, FacePolish._feasible

    def recorded(self, Z, c, ts, bs, bases, newton=False, **kwargs):
        calls.append(newton)
        return minimize(self, Z, c, ts, bs, bases, newton=newton, **kwargs)

    def stopped(self, Z, c, Z_new, c_new, ts, bs):
        Z_t, c_t, reached = feasible(self, Z, c, Z_new, c_new, ts, bs)
        if calls.count(True) == 1 and calls[-1] and reached is None:
            reached = np.zeros((len(op.X), len(ts)), dtype=bool)
            reached[0, 0] = True  # as if row 0 had stopped the first block
        return Z_t, c_t, reached

    monkeypatch.setattr(FacePolish, "_minimize", recorded)
    monkeypatch.setattr(FacePolish, "_feasible", stopped)
    monkeypatch.setattr(FacePolish, "_entering", lambda *args: None)
    FacePolish(op)(Z, intercept)
    first = calls.index(True)
    assert len(calls) > first + 1 and calls[first + 1] is False


def test_each_block_stops_at_its_first_crossing_and_that_row_joins():
    # A step from a feasible point that violates rows of two blocks: each
    # block stops at the first row it crosses (a bent path), the point is
    # feasible and no worse than the segment's first crossing, and the
    # rows joining are the first of each block that stopped, which it lies on
    program = _program(n=80)
    op = BlockOperator(program)
    X1 = program.X
    gates = sample_gates(20, X1.shape[1], np.random.RandomState(0))
    _, gates = unique_patterns(patterns_from_gates(X1, gates), gates)
    ts, bs = np.array([0, 0]), np.array([0, 1])
    Z, Z_new = np.zeros(op.shape), np.zeros(op.shape)
    noise = np.random.default_rng(0).standard_normal((2, len(gates[0])))
    for j in range(2):
        Z[0, j] = gates[j]
        Z_new[0, j] = -gates[j] + 0.3 * noise[j]  # rows cross at different steps
    K = op.cone_signs[:, :2] * (X1 @ Z[0, :2].T)
    K_new = op.cone_signs[:, :2] * (X1 @ Z_new[0, :2].T)
    bad = K_new < 0
    assert bad.sum(axis=0).min() >= 2 and np.all(K >= 0)
    polish, c = FacePolish(op), np.zeros(program.n_outputs)
    Z_s, _, reached = polish._feasible(Z, c, Z_new, c, ts, bs)
    K_s = op.cone_signs[:, :2] * (X1 @ Z_s[0, :2].T)
    assert np.all(K_s >= -1e-9)
    steps = np.where(bad, K / np.where(bad, K - K_new, 1.0), np.inf)
    t = steps.min()
    segment = Z + t * (Z_new - Z)
    assert polish._value(Z_s, c) <= polish._value(segment, c) + 1e-15
    for j in range(2):
        rows = np.flatnonzero(reached[:, j])
        if len(rows):
            np.testing.assert_array_equal(rows, [np.argmin(steps[:, j])])
            assert abs(K_s[rows[0], j]) <= 1e-9
    assert reached.any()


def _counted_factorizations(monkeypatch):
    """A list that gets one item per Cholesky factorization of the polish."""
    import skconvexnn.solvers._polish as module
    calls, factor = [], module.cho_factor

    def counted(*args, **kwargs):
        calls.append(1)
        return factor(*args, **kwargs)

    monkeypatch.setattr(module, "cho_factor", counted)
    return calls


def test_newton_steps_stop_once_converged(monkeypatch):
    # Newton steps stop at a decrement below the rounding of the objective:
    # fewer factorizations than steps down to a step of 1e-13 (logistic loss:
    # 2 against 8), and still a gap far below any tol
    program = _program(n=200, loss="logistic")
    program = replace(program, beta=0.005 * program_beta_max(program))
    op, Z = _first_order_point(program, tol=1e-4)
    _, intercept = _relative_gap(op, Z)
    solves = _counted_factorizations(monkeypatch)
    results = {}
    for decrement in (FacePolish.newton_decrement, 0.0):
        monkeypatch.setattr(FacePolish, "newton_decrement", decrement)
        solves.clear()
        found = FacePolish(op)(Z, intercept)
        results[decrement] = len(solves), _relative_gap(op, found[0])[0]
    (fewer, gap), (more, _) = results.values()
    assert 0 < fewer < more
    assert gap <= 1e-8


def test_one_tight_row_a_block_is_released_the_most_negative():
    # At a face's optimum the tight rows of negative multiplier could all
    # leave; as in an active-set method, only the most negative one of each
    # block does (releasing them all at once let the next step cross and
    # collapse the face: make_friedman1's search program, 600 patterns)
    program = _program(n=60, d=4, beta=1e-3)
    op = BlockOperator(program)
    Z = np.zeros(op.shape)
    bs = np.array([0, 1, 2])
    ts = np.zeros(3, dtype=int)
    rng = np.random.default_rng(1)
    for b in bs:
        Z[0, b] = rng.standard_normal(op.shape[2])
    c = np.zeros(program.n_outputs)
    tight = np.zeros((program.n_samples, 3), dtype=bool)
    rows = rng.choice(program.n_samples, size=(3, 4), replace=False)
    tight[rows, np.arange(3)[:, None]] = True
    released = FacePolish(op)._released(Z, c, ts, bs, tight)
    G = program.loss.gradient(op.prediction(Z) + c, program.Y, program.sample_weight)
    grads = op.adjoint(G)[ts, bs]
    grads += program.beta * Z[ts, bs] / np.linalg.norm(Z[ts, bs], axis=1)[:, None]
    several = 0
    for j, b in enumerate(bs):
        rows = np.flatnonzero(tight[:, j])
        A = program.X[rows] * op.cone_signs[rows, b, None]
        mu = np.linalg.lstsq(A.T, grads[j], rcond=None)[0]
        several += (mu < 0).sum() >= 2
        expected = rows[[np.argmin(mu)]] if mu.min() < 0 else []
        np.testing.assert_array_equal(np.flatnonzero(released[:, j]), expected)
    assert several  # the case the rule is about


def test_face_bases_never_form_the_tall_left_factor(monkeypatch):
    # With ties in the data (repeated rows, discrete features) a block can
    # have far more tight rows than coordinates. Only the right factor of
    # their SVD is needed: the full left one is rows x rows, which made a
    # 15,000-sample fit of a table with discrete features run for minutes.
    rng = np.random.default_rng(0)
    base = rng.integers(0, 3, size=(20, 3)).astype(float)
    X = np.repeat(base, 30, axis=0)
    y = np.maximum(X @ [1.0, -1.0, 0.5] - 0.5, 0) + 0.1 * rng.standard_normal(len(X))
    calls = []
    svd = np.linalg.svd

    def recording(A, full_matrices=True, **kw):
        if np.ndim(A) == 2 and kw.get("compute_uv", True):
            calls.append((*np.shape(A), full_matrices))
        return svd(A, full_matrices=full_matrices, **kw)

    monkeypatch.setattr(np.linalg, "svd", recording)
    from skconvexnn import ConvexReLURegressor
    ConvexReLURegressor(beta=1e-3, solver="fista", random_state=0).fit(X, y)
    tall = [full for rows, cols, full in calls if rows > cols]
    assert tall and not any(tall)


def test_a_block_a_newton_step_carries_through_zero_leaves_at_once(monkeypatch):
    # The optimum plus a tiny block outside its support (as a warm start from
    # a neighbouring beta may have): the face's optimum has that block at
    # zero, where its norm has no curvature along it, so the first Newton
    # step overshoots zero by far. The block leaves after that one
    # factorization (backtracking crawled towards zero for all 8 Newton
    # steps) and the polish certifies.
    # (the quasi-Newton rounds: faces of any size, as before Newton rounds)
    monkeypatch.setattr(FacePolish, "newton_round_columns", 0)
    import skconvexnn.solvers._polish as module
    program = _program(n=200, activation="gated_relu")
    op = BlockOperator(program)
    Z, norms = _reference_blocks(op)
    _, intercept = _relative_gap(op, Z)
    t, b = np.argwhere(~Z.any(axis=2))[0]
    Z[t, b] = 1e-6 * norms.max() / np.sqrt(op.shape[2])
    events, minimize, factor = [], FacePolish._minimize, module.cho_factor

    def recorded(self, Z, c, ts, bs, bases, newton=False, proximal=False):
        events.append(("newton" if newton else "lbfgs", len(ts)))
        return minimize(self, Z, c, ts, bs, bases, newton=newton, proximal=proximal)

    def counted(*args, **kwargs):
        events.append(("factor", 0))
        return factor(*args, **kwargs)

    monkeypatch.setattr(FacePolish, "_minimize", recorded)
    monkeypatch.setattr(FacePolish, "max_iter", 1)  # the block stays for Newton
    monkeypatch.setattr(module, "cho_factor", counted)
    found = FacePolish(op)(Z, intercept)
    assert found is not None and _relative_gap(op, found[0])[0] <= 1e-8
    blocks = events[0][1]
    assert events[:4] == [("lbfgs", blocks), ("newton", blocks), ("factor", 0),
                          ("lbfgs", blocks - 1)]


def test_the_first_block_a_newton_step_takes_to_zero_leaves_alone():
    # Of the blocks a step takes through zero, only the first on the segment
    # leaves: here the tiny second block (at 1e-3 of the step), not the
    # first (at half of it), nor the third, which the step only shortens.
    widths, vanish = np.array([2, 2, 2]), FacePolish.vanish
    y = np.array([1.0, 0.0, 1e-6, 1e-6, 0.0, 1.0])
    step = np.array([-2.0, 0.0, -1e-3, -1e-3, 0.0, -0.5])
    assert leaving_block(y, step, widths, vanish) == 1
    step[2:4] = 0.0
    assert leaving_block(y, step, widths, vanish) == 0
    step[:2] = [-0.5, 0.1]
    assert leaving_block(y, step, widths, vanish) is None


@pytest.mark.parametrize("case", [dict(), dict(loss="logistic")])
def test_a_converged_full_newton_step_needs_no_new_factorization(monkeypatch, case):
    # After a full Newton step the last Hessian's factorization shows the
    # decrement below rounding: one factorization, where a second one only
    # served that test (from a point a few L-BFGS steps short of the face's
    # optimum), and the same point
    # (the quasi-Newton rounds: faces of any size, as before Newton rounds)
    monkeypatch.setattr(FacePolish, "newton_round_columns", 0)
    program = _program(n=200, **case)
    program = replace(program, beta=0.005 * program_beta_max(program))
    op, Z = _first_order_point(program, tol=1e-4)
    _, intercept = _relative_gap(op, Z)
    factors = _counted_factorizations(monkeypatch)
    monkeypatch.setattr(FacePolish, "max_iter", 5)
    found = FacePolish(op)(Z, intercept)
    assert len(factors) == 1
    monkeypatch.setattr(FacePolish, "_converged", lambda *args: False)
    factors.clear()
    fresh = FacePolish(op)(Z, intercept)
    assert len(factors) == 2
    np.testing.assert_allclose(found[0], fresh[0], rtol=0, atol=1e-12)


@pytest.mark.parametrize("case", [dict(), dict(loss="logistic"),
                                  dict(activation="gated_relu")])
def test_every_block_whose_dual_constraint_is_violated_enters(case):
    # From the optimum without its three smallest blocks: every zero block
    # whose projected gradient is longer than beta enters, together, in its
    # cone, and the objective falls (one block a round took most of the
    # rounds of the polishes of make_friedman1's search program)
    from skconvexnn.program.cones import project
    from skconvexnn.solvers._face import entering_blocks
    program, op, Z, c = _short_of_the_optimum(case, 3)
    ts, bs = np.nonzero(np.linalg.norm(Z, axis=2) > 0)
    P = op.prediction(Z) + c
    G = -op.adjoint(program.loss.gradient(P, program.Y, program.sample_weight))
    violated = set()
    for t, b in zip(*np.nonzero(np.linalg.norm(Z, axis=2) == 0)):
        g = G[t, b]
        if op.cone_signs is not None:
            g = project(g, program.X * op.cone_signs[:, [b]])[0]
        if np.linalg.norm(g) > program.beta * (1 + 1e-6):
            violated.add((t, b))
    Z_new, value = entering_blocks(op, Z, c, ts, bs)
    entered = np.nonzero((np.linalg.norm(Z_new, axis=2) > 0)
                         & (np.linalg.norm(Z, axis=2) == 0))
    assert len(violated) >= 2  # the case the rule is about
    assert violated <= set(zip(*entered))
    V, W = op.split(Z_new)
    assert program.max_cone_violation(V, W) <= 1e-9
    assert value == pytest.approx(program.objective(V, W, c), rel=1e-12)
    assert value < program.objective(*op.split(Z), c)


def test_rows_the_newton_steps_crossed_are_not_released(monkeypatch):
    # A row a Newton step crossed lies on the face's optimum, where the sign
    # of its multiplier is rounding's: released, the next Newton steps
    # crossed it again, round after round (make_friedman1's search). Such a
    # release is not made: the rounds take the Newton steps again instead.
    program = _program(n=200)
    program = replace(program, beta=0.005 * program_beta_max(program))
    op, Z = _first_order_point(program, tol=1e-4)
    _, intercept = _relative_gap(op, Z)
    events, stopped_block = [], []
    minimize, feasible = FacePolish._minimize, FacePolish._feasible

    def recorded(self, Z, c, ts, bs, bases, newton=False, **kwargs):
        events.append("newton" if newton else "quasi-newton")
        return minimize(self, Z, c, ts, bs, bases, newton=newton, **kwargs)

    def stopped(self, Z, c, Z_new, c_new, ts, bs):
        Z_t, c_t, reached = feasible(self, Z, c, Z_new, c_new, ts, bs)
        if events[-1] == "newton" and not stopped_block:
            reached = np.zeros((len(op.X), len(ts)), dtype=bool)
            reached[0, 0] = True  # as if row 0 had stopped the first block
            stopped_block.append((ts[0], bs[0]))
        return Z_t, c_t, reached

    def crossed_row(self, Z, c, ts, bs, tight):
        if not stopped_block or "release" in events:
            return None
        j = np.flatnonzero((ts == stopped_block[0][0]) & (bs == stopped_block[0][1]))
        rows = np.zeros_like(tight)
        rows[0, j] = True
        events.append("release")
        return rows

    monkeypatch.setattr(FacePolish, "_minimize", recorded)
    monkeypatch.setattr(FacePolish, "_feasible", stopped)
    monkeypatch.setattr(FacePolish, "_released", crossed_row)
    monkeypatch.setattr(FacePolish, "_entering", lambda *args: None)
    FacePolish(op)(Z, intercept)
    first = events.index("release")
    assert events[first + 1] == "newton"


def _polish_events(monkeypatch, op, Z, intercept, lbfgs_only=False):
    """The polish of ``(Z, intercept)``, and its rounds: ("newton",
    "proximal" or "lbfgs", number of blocks). ``lbfgs_only``: no proximal
    round (L-BFGS ones, as before them)."""
    events, minimize = [], FacePolish._minimize

    def recorded(self, Z, c, ts, bs, bases, newton=False, proximal=False):
        proximal = proximal and not lbfgs_only
        m = sum(N.shape[1] for N in bases)
        kind = ("newton" if newton else
                "proximal" if proximal and self._proximal(m) else "lbfgs")
        events.append((kind, len(ts)))
        return minimize(self, Z, c, ts, bs, bases, newton=newton, proximal=proximal)

    with monkeypatch.context() as patch:
        patch.setattr(FacePolish, "_minimize", recorded)
        found = FacePolish(op)(Z, intercept)
    return found, events


@pytest.mark.parametrize("case", [dict(), dict(k=2), dict(weights=True),
                                  dict(fit_intercept=False)])
def test_blocks_that_entered_together_leave_in_proximal_rounds(monkeypatch, case):
    # A gated program's optimum without its largest blocks: at the face's
    # optimum every block whose dual constraint is violated enters, more
    # than the optimum keeps. The round after that takes proximal gradient
    # steps, which set blocks exactly to zero, and the polish certifies. On
    # the first case L-BFGS rounds instead (as before) left the blocks to
    # the Newton steps, which stop at each block they take to zero: 9
    # Newton phases against 5 (on the others 9 against 6, 9 against 6, and
    # 5 against 6 with the weights).
    # (the quasi-Newton rounds: faces of any size, as before Newton rounds)
    monkeypatch.setattr(FacePolish, "newton_round_columns", 0)
    program = _program(n=200, activation="gated_relu", n_gates=60, seed=3, **case)
    op = BlockOperator(program)
    Z, norms = _reference_blocks(op)
    support = int(Z.any(axis=2).sum())
    live = np.where(Z.any(axis=2), norms, -np.inf)
    Z = Z.copy()
    Z[np.unravel_index(np.argsort(live, axis=None)[-3:], norms.shape)] = 0.0
    _, intercept = _relative_gap(op, Z)
    found, events = _polish_events(monkeypatch, op, Z, intercept)
    assert found is not None and _relative_gap(op, found[0])[0] <= 1e-8
    kinds = [kind for kind, _ in events]
    assert events[kinds.index("proximal")][1] > support  # more entered than stay
    if not case:
        found, before = _polish_events(monkeypatch, op, Z, intercept,
                                       lbfgs_only=True)
        assert found is not None and "proximal" not in [k for k, _ in before]
        assert kinds.count("newton") < [k for k, _ in before].count("newton")


def test_a_face_of_many_rows_counts_as_settled_with_a_few_rows_flipped():
    # from settled_min_rows rows on, the polish need not wait for an exact
    # repeat of the tight rows (some row near its hyperplane flips at almost
    # every check); below, it does
    polish = FacePolish.__new__(FacePolish)
    ts, bs = np.array([0, 0]), np.array([1, 3])
    tight = np.zeros((polish.settled_min_rows + 1000, 2), dtype=bool)
    tight[:1000] = True  # 2,000 tight rows
    polish._last_face = (ts, bs, tight)
    flipped = tight.copy()
    flipped[1000:1010, 0] = True  # 10 more: within 1 %
    assert polish._settled(ts, bs, flipped)
    flipped[1000:1100, 0] = True  # 100 more
    assert not polish._settled(ts, bs, flipped)
    assert not polish._settled(ts, np.array([1, 2]), tight)  # other blocks
    few = tight[:polish.settled_min_rows - 1]
    polish._last_face = (ts, bs, few)
    one = few.copy()
    one[-1, 1] = True
    assert not polish._settled(ts, bs, one)
    assert polish._settled(ts, bs, few.copy())


@pytest.mark.parametrize("loss", ["squared", "logistic"])
def test_small_faces_take_newton_rounds_to_the_same_optimum(monkeypatch, loss):
    # A face of at most newton_round_columns columns takes Newton steps in
    # its rounds, no L-BFGS; the fit is the quasi-Newton rounds' optimum
    import skconvexnn.solvers._polish as module
    from skconvexnn import ConvexReLUClassifier, ConvexReLURegressor
    rng = np.random.default_rng(3)
    X = rng.standard_normal((150, 3))
    y = np.maximum(X @ rng.standard_normal((3, 5)), 0) @ rng.standard_normal(5)
    cls = ConvexReLURegressor
    if loss == "logistic":
        cls, y = ConvexReLUClassifier, y > np.median(y)
    kw = dict(solver="fista", beta=1e-3, arrangements="gaussian", n_arrangements=15,
              random_state=0, tol=1e-8)
    calls, minimize = [], module.minimize

    def recorded(*args, **kwargs):
        calls.append(len(args[1]))
        return minimize(*args, **kwargs)

    monkeypatch.setattr(module, "minimize", recorded)
    newton = cls(**kw).fit(X, y)
    assert newton.duality_gap_ <= newton.tol * abs(newton.objective_)
    assert all(m > FacePolish.newton_round_columns for m in calls)
    monkeypatch.setattr(FacePolish, "newton_round_columns", 0)
    quasi = cls(**kw).fit(X, y)
    assert calls  # the quasi-Newton rounds ran
    assert newton.objective_ == pytest.approx(quasi.objective_, rel=1e-7)
