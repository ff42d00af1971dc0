"""Lecture, exercise 1: count the cells of the arrangement."""

import numpy as np

from skconvexnn.arrangements import (
    enumerate_gates,
    max_pattern_count,
    patterns_from_gates,
    sample_gates,
    unique_patterns,
)

rng = np.random.default_rng(0)

# 1. Points on a line, with the bias column: rank r = 2, 2n cells.
for n in (5, 10, 20):
    x = rng.uniform(-1, 1, (n, 1))
    design = np.hstack([x, np.ones((n, 1))])
    found = len(enumerate_gates(design)) + 1  # + the empty pattern
    print(f"line,  n={n:2d}: {found:4d} patterns, Cover's count "
          f"{max_pattern_count(n, 2)}")

# 2. Points in the plane: r = 3, n^2 - n + 2 cells in general position.
for n in (5, 10, 20):
    X = rng.uniform(-1, 1, (n, 2))
    design = np.hstack([X, np.ones((n, 1))])
    found = len(enumerate_gates(design)) + 1
    print(f"plane, n={n:2d}: {found:4d} patterns, Cover's count "
          f"{max_pattern_count(n, 3)}, n^2 - n + 2 = {n * n - n + 2}")

# 3. Three of the ten points on one line: no longer in general position.
X = rng.uniform(-1, 1, (10, 2))
X[:3] = [[-0.5, -0.5], [0.0, 0.0], [0.5, 0.5]]
design = np.hstack([X, np.ones((10, 1))])
print(f"plane, 3 points collinear: {len(enumerate_gates(design)) + 1} patterns "
      f"(general position: {max_pattern_count(10, 3)})")
# Fewer: no line separates the middle point from the other two, so the
# patterns that would need it are missing.

# 4. How many Gaussian gates find every pattern of ten points in the plane?
X = rng.uniform(-1, 1, (10, 2))
design = np.hstack([X, np.ones((10, 1))])
total = len(enumerate_gates(design))
for m in (10, 100, 1000, 10_000, 100_000):
    gates = sample_gates(m, 3, random_state=0)
    found = unique_patterns(patterns_from_gates(design, gates), gates)[1].shape[0]
    print(f"{m:6d} Gaussian gates: {found:3d} of {total} nonempty patterns")
# The small cells need many draws: a gate hits a cell with probability
# equal to the cell's share of the sphere of directions.
