"""Fit a convex ReLU network on the diabetes data and compare with an MLP.

Run ``python -m skconvexnn``. The data ship with scikit-learn; features and
target are standardized, and a quarter of the samples is held out.

Both models minimize the same training objective: the mean squared error
over 2 plus (beta / 2) times the sum of the squared weights (hidden biases
included for the convex fit; MLPRegressor does not penalize biases).
"""

import argparse
import time
import warnings

import numpy as np
from sklearn.compose import TransformedTargetRegressor
from sklearn.datasets import load_diabetes
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from . import ConvexReLURegressor, training_objective
from ._defaults import auto_beta
from .solvers import solver_names

#: Printed after the results: what the certificate means.
EXPLANATION = """\
What the numbers mean:
  objective     the training objective of the returned network (on the
                standardized training data).
  lower bound   a value that no network whose neurons use the {patterns}
                activation patterns of this fit can go below (weak duality,
                from a dual-feasible point). With arrangements="exhaustive",
                over every pattern, so over every network of any width.
  duality gap   objective - lower bound: how far from optimal over those
                patterns the fit can be, at most. A gap of 0 is a proof of
                optimality over them, not of the best test score. A network
                using other patterns (the MLP's) can go below the bound;
                arrangements="search" looks for such patterns.
The MLP's objective is evaluated at its weights with the same formula
(skconvexnn.training_objective, its biases penalized as well); it is an
upper bound found by local descent, with no bound to go with it."""


def _parser():
    """The command line's arguments."""
    # The regressor's default (beta="auto") on the 331 training samples:
    # 1e-3 overfits them (seed 0: test R^2 0.10 convex, -0.04 MLP).
    default_beta = auto_beta(ConvexReLURegressor._auto_beta, 331)
    parser = argparse.ArgumentParser(
        prog="python -m skconvexnn", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--beta", type=float, default=default_beta,
        help="weight decay; the data term is a mean, so beta means the same "
             "on any number of samples (the papers' regularization is "
             "n_samples * beta, MLPRegressor's alpha with solver='lbfgs' is "
             "n_samples * beta). Default %(default)g, the size rule of the "
             "regressor's default (beta='auto') on these 331 samples, before "
             "a fit scales it by its noise; 1e-3 overfits them (test R^2 "
             "0.10 and -0.04 with seed 0).",
    )
    parser.add_argument(
        "--n-arrangements", type=int, default=100,
        help="number of gate vectors (the hidden units of the network "
             "trained for the patterns), hence of activation patterns at "
             "most, in the convex program (default %(default)s)",
    )
    parser.add_argument(
        "--activation", default="relu", choices=["relu", "gated_relu"],
        help="relu: the exact ReLU program with cone constraints; "
             "gated_relu: fixed gates, a group lasso, faster "
             "(default %(default)s)",
    )
    parser.add_argument(
        "--solver", default="auto", choices=solver_names(), metavar="SOLVER",
        help="'auto', a native solver ('admm', 'anderson', 'fista') or an "
             "installed cvxpy solver ('clarabel', 'scs', ...) "
             "(default %(default)s)",
    )
    parser.add_argument(
        "--seed", type=int, default=0,
        help="seed of the train/test split, the gates and the MLP's "
             "initialization (default %(default)s)",
    )
    return parser


def main(argv=None):
    args = _parser().parse_args(argv)

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
    # Full batch (lbfgs): alpha = n * beta is then the same weight decay.
    mlp = MLPRegressor(hidden_layer_sizes=(100,), alpha=args.beta * len(X_train),
                       solver="lbfgs", max_iter=2000, random_state=args.seed)
    print(f"diabetes: {len(X_train)} training and {len(X_test)} test samples, "
          f"{X.shape[1]} features; beta = {args.beta:g}")
    rows, patterns = [], "sampled"
    for name, est in [("ConvexReLURegressor", convex), ("MLPRegressor", mlp)]:
        model = standardized(est)
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(X_train, y_train)
        seconds = time.perf_counter() - start
        fitted = model.regressor_[-1]
        Xs = model.regressor_[0].transform(X_train)
        ys = model.transformer_.transform(y_train.reshape(-1, 1)).ravel()
        if est is convex:
            objective = fitted.objective_
            patterns = len(fitted.gates_)
            print(f"  convex fit, solver {fitted.solver_}: objective "
                  f"{objective:.6f}, lower bound {fitted.lower_bound_:.6f}, "
                  f"duality gap {fitted.duality_gap_:.2e}, "
                  f"{fitted.n_neurons_} neurons")
        else:
            objective = training_objective(Xs, ys, fitted.coefs_,
                                           fitted.intercepts_, args.beta)
        rows.append((name, seconds, objective, model.score(X_test, y_test)))
    print(f"  {'model':<22}{'fit time (s)':>14}{'objective':>12}{'test R^2':>10}")
    for name, seconds, objective, score in rows:
        print(f"  {name:<22}{seconds:>14.2f}{objective:>12.6f}{score:>10.3f}")
    print(EXPLANATION.format(patterns=patterns))
    return np.array([row[2] for row in rows])


if __name__ == "__main__":
    main()
