"""Arrangement search versus Gaussian gates on the diabetes data.

Standardized features and target, beta = 1e-3. For each activation: 100
Gaussian gates (random_state=0) and ``arrangements="search"`` with
``n_arrangements=100`` (a pool of 1000 Gaussian gates plus those found by
ascent, 10 patterns added per round; same seed), both with
``solver="auto"``; then
sklearn's MLPRegressor (50 and 100 units, adam and lbfgs, weight decay
alpha = n * beta on its weights) scored with our objective, hidden biases
penalized too. Run: ``python benchmarks/diabetes_search.py [relu|gated_relu]``.
"""

import sys
import time
import warnings

import numpy as np
from sklearn.datasets import load_diabetes
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPRegressor
from sklearn.preprocessing import StandardScaler

from skconvexnn import ConvexReLURegressor


def our_objective(mlp, X, y, beta):
    """MLPRegressor's network under the objective of DESIGN.md section 1."""
    (W1, W2), (b1, _) = mlp.coefs_, mlp.intercepts_
    return 0.5 * np.mean((mlp.predict(X) - y) ** 2) + 0.5 * beta * (
        np.sum(W1**2) + np.sum(b1**2) + np.sum(W2**2))


def main(activations):
    X, y = load_diabetes(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    y = (y - y.mean()) / y.std()
    beta = 1e-3
    print(f"diabetes n={len(X)} d={X.shape[1]} beta={beta}")
    print(f"{'model':<36}{'objective':>11}{'bound':>11}{'neurons':>8}{'patterns':>9}"
          f"{'examined':>9}{'time (s)':>9}")
    for activation in activations:
        for arrangements in ["gaussian", "search"]:
            est = ConvexReLURegressor(beta=beta, activation=activation,
                                      arrangements=arrangements, n_arrangements=100,
                                      random_state=0)
            start = time.perf_counter()
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", ConvergenceWarning)
                est.fit(X, y)
            seconds = time.perf_counter() - start
            examined = len(getattr(est, "examined_gates_", est.gates_))
            flag = " (ConvergenceWarning)" if caught else ""
            print(f"{activation + ' / ' + arrangements + ' / ' + est.solver_:<36}"
                  f"{est.objective_:>11.5f}{est.lower_bound_:>11.5f}{est.n_neurons_:>8}"
                  f"{len(est.gates_):>9}{examined:>9}{seconds:>9.1f}{flag}")
    for units in [50, 100]:
        for algo in ["adam", "lbfgs"]:
            mlp = MLPRegressor(hidden_layer_sizes=(units,), alpha=beta * len(X),
                               solver=algo, max_iter=5000, random_state=0)
            start = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                mlp.fit(X, y)
            seconds = time.perf_counter() - start
            print(f"{f'MLPRegressor ({units} units, {algo})':<36}"
                  f"{our_objective(mlp, X, y, beta):>11.5f}{'-':>11}{units:>8}"
                  f"{'-':>9}{'-':>9}{seconds:>9.1f}")


if __name__ == "__main__":
    main(sys.argv[1:] or ["gated_relu", "relu"])
