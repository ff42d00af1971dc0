"""The exact ReLU program over the patterns of one trained network, against
the default's Gaussian gates and the MLP.

For each classification dataset (70/30 split, features standardized on the
training part), one L-BFGS run of the nonconvex weight-decay objective at the
classifier's default ``beta`` (``UNITS`` hidden units per class, at most
``ITERATIONS`` steps) gives a network; the activation patterns of its units
are a pattern set whose convex program contains that network (each unit is
a feasible point of its own pattern's cone), so the convex optimum over them
is at most the network's objective. The script solves that program with
``solver="auto"`` and prints, next to the default
``ConvexReLUClassifier(random_state=seed)`` (100 Gaussian gates) and
``MLPClassifier(random_state=seed)``: the training objective (the convex
program's; the network's for the L-BFGS row), the test accuracy, the CPU
seconds and, for the convex fits, the solver's steps. Run from the
repository root, one BLAS thread::

    OPENBLAS_NUM_THREADS=1 python benchmarks/seeded_patterns.py
    OPENBLAS_NUM_THREADS=1 python benchmarks/seeded_patterns.py --datasets digits --seeds 0
"""

import argparse
import time
import warnings

import numpy as np
from sklearn.datasets import load_breast_cancer, load_digits, load_iris, load_wine
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler

from skconvexnn import ConvexReLUClassifier
from skconvexnn._nonconvex import network_blocks, train_networks
from skconvexnn.losses import LogisticLoss
from skconvexnn.program import ConvexProgram
from skconvexnn.solvers import get_solver

LOADERS = dict(breast_cancer=load_breast_cancer, wine=load_wine, iris=load_iris,
               digits=load_digits)
#: Hidden units per class of the trained network, and its L-BFGS steps.
UNITS = dict(breast_cancer=50, wine=10, iris=10, digits=10)
ITERATIONS = 300


def split(name, seed):
    X, y = LOADERS[name](return_X_y=True)
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.3, random_state=seed)
    scaler = StandardScaler().fit(Xtr)
    return scaler.transform(Xtr), scaler.transform(Xte), ytr, yte


def seeded_fit(Xtr, ytr, beta, units, seed):
    """The trained network and the convex fit over its units' patterns."""
    X1 = np.column_stack([Xtr, np.ones(len(Xtr))])
    classes = np.unique(ytr)
    Y = ((ytr[:, None] == classes).astype(float) if len(classes) > 2
         else (ytr == classes[1]).astype(float)[:, None])
    s, loss = np.full(len(X1), 1 / len(X1)), LogisticLoss()
    start = time.process_time()
    net = train_networks(X1, Y, loss, s, beta, units, 1, np.random.RandomState(seed),
                         max_iter=ITERATIONS)[0]
    t_net = time.process_time() - start
    gates, _, _ = network_blocks(X1, net, True)
    program = ConvexProgram(X=X1, patterns=(X1 @ gates.T >= 0).astype(float), Y=Y,
                            beta=beta, loss=loss, activation="relu",
                            sample_weight=s)
    start = time.process_time()
    solver = get_solver("auto", program)
    result = solver.solve(program)
    t_fit = time.process_time() - start
    objective = program.objective(result.V, result.W, result.intercept)
    return net, t_net, program, result, objective, t_fit, classes, solver.name


def seeded_accuracy(result, classes, Xte, yte):
    """Test accuracy of the convex fit's network: ``sum_b (X v_b)_+ - (X w_b)_+``."""
    X1 = np.column_stack([Xte, np.ones(len(Xte))])
    P = (np.maximum(np.einsum("nd,kbd->nkb", X1, result.V), 0.0)
         - np.maximum(np.einsum("nd,kbd->nkb", X1, result.W), 0.0)).sum(axis=2)
    P = P + result.intercept
    if P.shape[1] > 1:
        pred = classes[P.argmax(axis=1)]
    else:
        pred = classes[(P[:, 0] > 0).astype(int)]
    return float(np.mean(pred == yte))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", default="breast_cancer,wine,iris")
    parser.add_argument("--seeds", default="0,1")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    print(f"{'data':<14}{'seed':>5}  {'model':<30}{'objective':>11}{'test acc':>10}"
          f"{'cpu s':>9}{'steps':>7}", flush=True)
    for name in args.datasets.split(","):
        for seed in map(int, args.seeds.split(",")):
            Xtr, Xte, ytr, yte = split(name, seed)
            start = time.process_time()
            default = ConvexReLUClassifier(random_state=seed).fit(Xtr, ytr)
            t_default = time.process_time() - start
            start = time.process_time()
            mlp = MLPClassifier(random_state=seed).fit(Xtr, ytr)
            t_mlp = time.process_time() - start
            net, t_net, program, result, objective, t_fit, classes, solver = seeded_fit(
                Xtr, ytr, default.beta, UNITS[name], seed)
            rows = [
                ("default, 100 Gaussian gates", default.objective_, default.score(Xte, yte),
                 t_default, default.n_iter_),
                (f"L-BFGS network, {UNITS[name]} units/class", net.objective, None,
                 t_net, net.n_iter),
                (f"convex over its patterns ({solver})", objective,
                 seeded_accuracy(result, classes, Xte, yte), t_fit,
                 result.n_iter),
                ("MLPClassifier", None, mlp.score(Xte, yte), t_mlp, mlp.n_iter_),
            ]
            for label, obj, acc, secs, steps in rows:
                print(f"{name:<14}{seed:>5}  {label:<30}"
                      f"{'--' if obj is None else f'{obj:.5f}':>11}"
                      f"{'--' if acc is None else f'{acc:.3f}':>10}{secs:>9.2f}{steps:>7}",
                      flush=True)


if __name__ == "__main__":
    main()
