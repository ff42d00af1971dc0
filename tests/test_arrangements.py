import itertools

import numpy as np
import pytest
from scipy.optimize import linprog

from skconvexnn.arrangements import (
    bisector_gates,
    enumerate_gates,
    max_pattern_count,
    patterns_from_gates,
    sample_gates,
    unique_patterns,
)


def _pattern_set(P):
    return {tuple(col) for col in P.T.astype(int)}


def _brute_force(X):
    """Every sign pattern of the samples that some direction realizes strictly.

    Pattern ``p`` is realizable iff the LP ``s_j x_j . u >= 1`` (with
    ``s_j = +-1``) is feasible; zero rows are always active (``0 >= 0``).
    """
    zero = np.linalg.norm(X, axis=1) == 0
    live = np.flatnonzero(~zero)
    found = []
    for bits in itertools.product([0, 1], repeat=len(live)):
        s = 2.0 * np.array(bits) - 1.0
        res = linprog(np.zeros(X.shape[1]), A_ub=-(s[:, None] * X[live]),
                      b_ub=-np.ones(len(live)), bounds=(None, None))
        if res.status == 0:
            col = np.ones(len(X))
            col[live] = bits
            found.append(col)
    P = np.array(found).T
    return P[:, P.any(axis=0)]


@pytest.mark.parametrize("n, d", [(6, 1), (7, 2), (5, 2), (9, 2), (8, 3)])
def test_exhaustive_matches_brute_force(n, d):
    rng = np.random.default_rng(n + d)
    X = np.c_[rng.standard_normal((n, d)), np.ones(n)]
    gates = enumerate_gates(X)
    P = patterns_from_gates(X, gates)
    found = _pattern_set(P)
    assert len(found) == P.shape[1], "a pattern was listed twice"
    assert found == _pattern_set(_brute_force(X))
    assert len(found) <= max_pattern_count(n, d + 1)


def test_exhaustive_degenerate_data():
    # Repeated points, collinear points and a point at the origin.
    rng = np.random.default_rng(3)
    pts = np.repeat(rng.standard_normal((3, 2)), 2, axis=0)
    pts = np.vstack([pts, [[0, 0], [1, 1], [2, 2], [-1, -1]]])
    X = np.c_[pts, np.ones(len(pts))]
    P = patterns_from_gates(X, enumerate_gates(X))
    assert _pattern_set(P) == _pattern_set(_brute_force(X))


def test_exhaustive_low_rank_in_high_dimension():
    # Rank-2 data in 5 dimensions: the count is that of the rank.
    rng = np.random.default_rng(0)
    X = rng.standard_normal((8, 2)) @ rng.standard_normal((2, 5))
    P = patterns_from_gates(X, enumerate_gates(X))
    assert _pattern_set(P) == _pattern_set(_brute_force(X))
    assert P.shape[1] <= max_pattern_count(8, 2)


def test_exhaustive_refuses_too_many():
    X = np.random.default_rng(0).standard_normal((200, 6))
    with pytest.raises(ValueError, match="max_patterns"):
        enumerate_gates(X, max_patterns=1000)


def test_unique_patterns_drops_empty_and_duplicates():
    X = np.array([[1.0, 0.0], [0.0, 1.0]])
    gates = np.array([[1.0, 1.0], [2.0, 2.0], [-1.0, -1.0], [1.0, -1.0]])
    P, G = unique_patterns(patterns_from_gates(X, gates), gates)
    assert P.shape == (2, 2)
    np.testing.assert_array_equal(G, gates[[0, 3]])


def test_sample_gates_reproducible():
    np.testing.assert_array_equal(sample_gates(5, 3, 1), sample_gates(5, 3, 1))
    assert sample_gates(5, 3, 1).shape == (5, 3)


def test_bisector_gates_split_their_pair():
    # each gate's hyperplane is the bisector of two distinct rows: they are on
    # opposite sides at equal distance, and the pattern holds the samples
    # nearer the first
    rng = np.random.default_rng(0)
    X = rng.standard_normal((30, 4))
    X1 = np.column_stack([X, np.ones(30)])
    G = bisector_gates(X1, 50, 0)
    assert G.shape == (50, 5)
    np.testing.assert_array_equal(G, bisector_gates(X1, 50, 0))
    values = X1 @ G.T
    D = patterns_from_gates(X1, G)
    for g in range(50):
        pair = np.flatnonzero(np.isclose(values[:, g], -values[:, g][:, None]).any(0))
        assert len(pair) >= 2
        u, v = pair[:2]
        da, db = (np.linalg.norm(X - X[i], axis=1) for i in (u, v))
        near = da <= db if values[u, g] > 0 else db <= da
        np.testing.assert_array_equal(D[:, g].astype(bool), near)


def test_bisector_gates_without_intercept_pass_through_origin():
    X = np.random.default_rng(1).standard_normal((10, 3))
    G = bisector_gates(X, 20, 0, intercept=False)
    # x_a - x_b for distinct rows: every gate is a difference of two rows
    diffs = (X[:, None] - X[None]).reshape(-1, 3)
    for g in G:
        assert np.isclose(diffs, g).all(axis=1).any()


def test_bisector_gates_fall_back_to_gaussian():
    # equal rows (or a single row) have no bisector: Gaussian gates instead
    X1 = np.ones((5, 3))
    G = bisector_gates(X1, 4, 0)
    assert G.shape == (4, 3) and np.all(np.abs(G) > 0)
    assert bisector_gates(np.ones((1, 3)), 2, 0).shape == (2, 3)
    assert bisector_gates(X1, 0, 0).shape == (0, 3)
