"""Time each method of CopositiveMultiOutputRegressor on the same patterns.

Settings: the paper's (n = 25, d = 2, k = 5, targets of a random
100-neuron ReLU network, beta = 1e-2 / 25, 150 Gaussian gates), a larger
one (n = 200, d = 5, k = 3, the same kind of targets, beta = 1e-3, 10
Gaussian gates: the relaxation has n (n + 1) / 2 constraints per pattern),
and whitened one-hot data (n = 20, d = 30, k = 3, no intercept), where the
closed form applies. Each method sees the same gates (random_state=0).
``--sweep`` also times the relaxation and Frank-Wolfe against n (d = 2,
k = 3, 10 gates). ``--targets NAME`` times one default fit (``method="auto"``)
of the speed targets: ``make_regression`` (500 x 10, 3 targets, noise 5,
standardized), ``linnerud`` (standardized), ``large`` (n = 5,000, d = 20,
k = 5, ReLU targets); run each under ``timeout``.

Run: ``OPENBLAS_NUM_THREADS=1 python benchmarks/copositive_methods.py [--sweep]``,
``OPENBLAS_NUM_THREADS=1 timeout 300 python benchmarks/copositive_methods.py
--targets make_regression``.
"""

import sys
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from skconvexnn import CopositiveMultiOutputRegressor


def relu_targets(n, d, k, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    U0, A0 = rng.standard_normal((100, d + 1)), rng.standard_normal((100, k))
    return X, np.maximum(np.c_[X, np.ones(n)] @ U0.T, 0) @ A0 / 10


def whitened_one_hot(n=20, d=30, k=3, seed=0):
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((d, n)))
    return Q.T, np.eye(k)[np.r_[np.arange(k), rng.integers(0, k, n - k)]]


def run(name, X, Y, methods, **params):
    for method in methods:
        est = CopositiveMultiOutputRegressor(method=method, random_state=0, **params)
        start = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            est.fit(X, Y)
        seconds = time.perf_counter() - start
        note = "max_iter" if any(issubclass(w.category, ConvergenceWarning)
                                 for w in caught) else ""
        oracle = getattr(est, "oracle_", "")
        print(f"{name:<28}{method:<13}{seconds:>9.2f}{est.objective_:>13.7f}"
              f"{est.lower_bound_:>13.7f}{str(est.certified_):>7}{est.n_neurons_:>6}"
              f"{est.n_iter_:>7}  {oracle} {note}")


def target_data(name):
    from sklearn.datasets import load_linnerud, make_regression
    from sklearn.preprocessing import StandardScaler

    if name == "make_regression":
        X, Y = make_regression(500, 10, n_targets=3, noise=5, random_state=0)
    elif name == "linnerud":
        X, Y = load_linnerud(return_X_y=True)
    else:
        X, Y = relu_targets(5000, 20, 5)
    return (StandardScaler().fit_transform(X),
            StandardScaler().fit_transform(Y))


def main():
    if "--targets" in sys.argv:
        name = sys.argv[sys.argv.index("--targets") + 1]
        X, Y = target_data(name)
        print(f"{'setting':<28}{'method':<13}{'time (s)':>9}{'objective':>13}"
              f"{'bound':>13}{'cert':>7}{'units':>6}{'iters':>7}", flush=True)
        run(name, X, Y, ["auto"])
        return
    print(f"{'setting':<28}{'method':<13}{'time (s)':>9}{'objective':>13}"
          f"{'bound':>13}{'cert':>7}{'units':>6}{'iters':>7}")
    X, Y = relu_targets(25, 2, 5)
    run("paper n=25 d=2 k=5", X, Y, ["relaxation", "frank_wolfe"],
        beta=1e-2 / 25, n_arrangements=150)
    X, Y = relu_targets(200, 5, 3)
    run("n=200 d=5 k=3", X, Y, ["relaxation", "frank_wolfe"],
        beta=1e-3, n_arrangements=10)
    X, Y = whitened_one_hot()
    run("whitened one-hot n=20 k=3", X, Y, ["svd", "relaxation", "frank_wolfe"],
        beta=1e-2, n_arrangements=20, fit_intercept=False)
    if "--sweep" in sys.argv:
        for n in (20, 30, 40, 60, 80):
            X, Y = relu_targets(n, 2, 3)
            run(f"sweep n={n} d=2 k=3", X, Y, ["relaxation", "frank_wolfe"],
                beta=1e-3, n_arrangements=10)


if __name__ == "__main__":
    main()
