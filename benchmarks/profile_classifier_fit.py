"""One ConvexReLUClassifier fit on standardized data (digits by default), timed.

The 70/30 split of benchmarks/classifiers.py (random_state=0), features
standardized on the training part. The first argument is the estimator's
keyword arguments as Python source, the optional second one the dataset
(digits, breast_cancer, wine or iris); prints the solver, iterations, wall
and CPU time, objective, relative gap, neurons and test accuracy. Examples
(from the repository root)::

    OPENBLAS_NUM_THREADS=1 PYTHONPATH=. python benchmarks/profile_classifier_fit.py \
        "n_arrangements=20, activation='gated_relu', solver='fista', beta=1e-4"
    OPENBLAS_NUM_THREADS=1 PYTHONPATH=. python benchmarks/profile_classifier_fit.py ""
    OPENBLAS_NUM_THREADS=1 PYTHONPATH=. python benchmarks/profile_classifier_fit.py "" wine
"""
import sys, time, warnings
import numpy as np
from sklearn.datasets import load_breast_cancer, load_digits, load_iris, load_wine
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from sklearn.exceptions import ConvergenceWarning
from skconvexnn import ConvexReLUClassifier

kw = eval("dict(" + sys.argv[1] + ")")
LOADERS = dict(digits=load_digits, breast_cancer=load_breast_cancer, wine=load_wine,
               iris=load_iris)
X, y = LOADERS[sys.argv[2] if len(sys.argv) > 2 else "digits"](return_X_y=True)
Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.3, random_state=0)
sc = StandardScaler().fit(Xtr); Xtr, Xte = sc.transform(Xtr), sc.transform(Xte)
est = ConvexReLUClassifier(random_state=0, **kw)
t0 = time.perf_counter(); c0 = time.process_time()
with warnings.catch_warnings(record=True) as w:
    warnings.simplefilter("always", ConvergenceWarning)
    est.fit(Xtr, ytr)
wall, cpu = time.perf_counter() - t0, time.process_time() - c0
print(kw, f"solver={est.solver_} n_iter={est.n_iter_} wall={wall:.2f}s cpu={cpu:.2f}s "
      f"per_iter={1e3*wall/max(est.n_iter_,1):.2f}ms obj={est.objective_:.8g} "
      f"relgap={est.duality_gap_/est.objective_:.2e} neurons={est.n_neurons_} "
      f"acc={est.score(Xte, yte):.3f} warns={len(w)}")
