"""Lecture, exercise 2: try to beat the convex floor with MLPRegressor."""

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPRegressor

from skconvexnn import ConvexReLURegressor, training_objective

rng = np.random.default_rng(0)
n = 20
X = np.sort(rng.uniform(-2, 2, n)).reshape(-1, 1)
raw = np.sin(2 * X.ravel()) + 0.15 * rng.standard_normal(n)
y = (raw - raw.mean()) / raw.std()  # standardized: objective_ is then on this y
beta = 1e-2

floor = ConvexReLURegressor(beta=beta, arrangements="exhaustive").fit(X, y)
print(f"convex optimum {floor.objective_:.6f}, lower bound {floor.lower_bound_:.6f}")

for seed in range(10):
    mlp = MLPRegressor(hidden_layer_sizes=(50,), alpha=n * beta, solver="lbfgs",
                       max_iter=5000, tol=1e-10, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        mlp.fit(X, y)
    ours = training_objective(X, y, mlp.coefs_, mlp.intercepts_, beta)
    free = training_objective(X, y, mlp.coefs_, mlp.intercepts_, beta,
                              penalize_hidden_biases=False)
    print(f"seed {seed}: our objective {ours:.6f} (>= floor: "
          f"{ours >= floor.lower_bound_}), mlp.loss_ {mlp.loss_:.6f} "
          f"(= ours without the biases: {np.isclose(free, mlp.loss_)})")

# Every run has our objective above the lower bound; mlp.loss_ is below
# it (here in every run), because scikit-learn leaves the hidden biases out
# of the weight decay: it minimizes another objective.

# Bonus: on the raw target, objective_ is still the objective on the
# standardized target, so comparing it with an objective on the raw y
# compares two different problems.
fit = ConvexReLURegressor(beta=beta, arrangements="exhaustive").fit(X, raw)
print(f"raw y: objective_ {fit.objective_:.6f}, objective on raw y at its "
      f"weights {training_objective(X, raw, fit.coefs_, fit.intercepts_, beta):.6f}")
