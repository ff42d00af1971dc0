"""Fit ConvexReLURegressor on the diabetes data with each cvxpy solver.

Standardized features and target, beta = 1e-3, 100 Gaussian gates
(random_state=0), ReLU and gated ReLU; MLPRegressor (100 units, the same
weight decay on its weights, alpha = n * beta) on the same data for the
fit time. Run: ``python benchmarks/diabetes_cvxpy.py``.
"""

import time
import warnings

import numpy as np
from sklearn.datasets import load_diabetes
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPRegressor
from sklearn.preprocessing import StandardScaler

from skconvexnn import ConvexReLURegressor


def main():
    X, y = load_diabetes(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    y = (y - y.mean()) / y.std()
    beta = 1e-3
    print(f"diabetes n={len(X)} d={X.shape[1]} beta={beta}, 100 Gaussian gates")
    print(f"{'model':<34}{'objective':>12}{'neurons':>9}{'gap':>10}{'time (s)':>10}")
    for activation in ["relu", "gated_relu"]:
        for solver in ["clarabel", "ecos", "scs"]:
            est = ConvexReLURegressor(beta=beta, activation=activation, solver=solver,
                                      n_arrangements=100, random_state=0)
            start = time.perf_counter()
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", ConvergenceWarning)
                est.fit(X, y)
            seconds = time.perf_counter() - start
            flag = " (ConvergenceWarning)" if caught else ""
            print(f"{activation + ' / ' + solver:<34}{est.objective_:>12.6f}"
                  f"{est.n_neurons_:>9}{est.duality_gap_:>10.1e}{seconds:>10.2f}{flag}")
    mlp = MLPRegressor(hidden_layer_sizes=(100,), alpha=beta * len(X), max_iter=2000,
                       random_state=0)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        mlp.fit(X, y)
    seconds = time.perf_counter() - start
    # Its network scored with our objective (hidden biases penalized too).
    (W1, W2), (b1, _) = mlp.coefs_, mlp.intercepts_
    objective = 0.5 * np.mean((mlp.predict(X) - y) ** 2) + 0.5 * beta * (
        np.sum(W1**2) + np.sum(b1**2) + np.sum(W2**2))
    print(f"{'MLPRegressor (100 units, adam)':<34}{objective:>12.6f}{100:>9}{'-':>10}"
          f"{seconds:>10.2f}")


if __name__ == "__main__":
    main()
