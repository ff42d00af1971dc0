import sys
from pathlib import Path

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture(autouse=True, scope="session")
def _one_blas_thread():
    """Every test on one BLAS thread.

    The programs of the tests are small: on a two-core machine, BLAS
    threads spin more than they compute (one CNN test took 47 s with the
    default threads against 15 s with one). Worker processes of the dask
    tests are not affected.
    """
    with threadpool_limits(limits=1, user_api="blas"):
        yield


@pytest.fixture
def small_regression():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((30, 3))
    y = np.maximum(X @ [1.0, -2.0, 0.5], 0) + 0.1 * rng.standard_normal(30)
    return X, y
