"""FISTA against ADMM on the gated program with the logistic loss.

breast_cancer, iris and wine, standardized, 20 gates, the default tol=1e-6,
beta in {1e-4, 1e-3, 1e-2}; prints the CPU time, iterations, objective and
relative gap of each fit. Command (from the repository root)::

    OPENBLAS_NUM_THREADS=1 PYTHONPATH=. python benchmarks/gated_logistic_solvers.py
"""
import sys, time, warnings
from sklearn.datasets import load_breast_cancer, load_iris, load_wine
from sklearn.preprocessing import StandardScaler
from sklearn.exceptions import ConvergenceWarning
from skconvexnn import ConvexReLUClassifier
for name, load in [("breast_cancer", load_breast_cancer), ("iris", load_iris), ("wine", load_wine)]:
    X, y = load(return_X_y=True); X = StandardScaler().fit_transform(X)
    for beta in [1e-4, 1e-3, 1e-2]:
        for solver in ["admm", "fista"]:
            est = ConvexReLUClassifier(activation="gated_relu", n_arrangements=20, solver=solver, beta=beta, random_state=0)
            c0 = time.process_time()
            with warnings.catch_warnings(record=True) as w:
                warnings.simplefilter("always", ConvergenceWarning)
                est.fit(X, y)
            print(f"{name:14s} beta={beta:g} {solver:6s} cpu={time.process_time()-c0:7.2f}s n_iter={est.n_iter_:6d} obj={est.objective_:.9g} relgap={est.duality_gap_/est.objective_:.1e} warn={len(w)}", flush=True)
