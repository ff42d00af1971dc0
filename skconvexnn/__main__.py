"""Fit a convex ReLU network on the diabetes data and compare with an MLP.

Run ``python -m skconvexnn``. The data ship with scikit-learn; features and
target are standardized, and a quarter of the samples is held out.
"""

import argparse
import time
import warnings

from sklearn.compose import TransformedTargetRegressor
from sklearn.datasets import load_diabetes
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from . import ConvexReLURegressor


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m skconvexnn", description=__doc__)
    parser.add_argument("--beta", type=float, default=1e-2)
    parser.add_argument("--n-arrangements", type=int, default=100)
    parser.add_argument("--activation", default="relu",
                        choices=["relu", "gated_relu"])
    parser.add_argument("--solver", default="auto")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    X, y = load_diabetes(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, random_state=args.seed
    )

    def standardized(estimator):
        return TransformedTargetRegressor(
            make_pipeline(StandardScaler(), estimator), transformer=StandardScaler()
        )

    convex = ConvexReLURegressor(
        beta=args.beta, n_arrangements=args.n_arrangements,
        activation=args.activation, solver=args.solver, random_state=args.seed,
    )
    mlp = MLPRegressor(hidden_layer_sizes=(100,), alpha=args.beta * len(X_train),
                       max_iter=2000, random_state=args.seed)
    print(f"diabetes: {len(X_train)} training and {len(X_test)} test samples, "
          f"{X.shape[1]} features; beta = {args.beta}")
    rows = []
    for name, est in [("ConvexReLURegressor", convex), ("MLPRegressor", mlp)]:
        model = standardized(est)
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(X_train, y_train)
        seconds = time.perf_counter() - start
        rows.append((name, seconds, model.score(X_test, y_test)))
        if est is convex:
            fitted = model.regressor_[-1]
            print(f"  solver {fitted.solver_}: objective {fitted.objective_:.6f}, "
                  f"{fitted.n_neurons_} neurons, duality gap "
                  f"{fitted.duality_gap_:.2e} (lower bound "
                  f"{fitted.lower_bound_:.6f})")
    print(f"  {'model':<22}{'fit time (s)':>14}{'test R^2':>10}")
    for name, seconds, score in rows:
        print(f"  {name:<22}{seconds:>14.2f}{score:>10.3f}")


if __name__ == "__main__":
    main()
