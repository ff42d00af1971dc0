import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture
def small_regression():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((30, 3))
    y = np.maximum(X @ [1.0, -2.0, 0.5], 0) + 0.1 * rng.standard_normal(30)
    return X, y
