"""From a convex program to a fitted network: solve, recover, certify.

Nothing here sees an estimator. The estimators validate their data, build
the :class:`~skconvexnn.program.ConvexProgram` (user guide, "The convex
program") and set the :class:`Fit` these functions return:

- :func:`~skconvexnn.fitting.certify.certify`: a solver's result to a fit (recovery, pruning, lower
  bound, the convergence verdict);
- :func:`fit_path`: fits along a decreasing sequence of betas, warm started
  on working sets of patterns; :func:`fit_beta`, one beta, is a path of
  length one;
- :func:`fit_search`: the arrangement search, which chooses the patterns
  for one beta; :func:`fit_trained`, the patterns of one trained network
  (:func:`trained_program`, those patterns for a path).
- :mod:`skconvexnn.fitting.cv`: each fold's path scored on its held-out
  part, and the choice of beta of the CV estimators.
"""

from .certify import Fit
from .options import SolverOptions
from .path import fit_beta, fit_path
from .search import fit_search
from .trained import fit_trained, trained_program

__all__ = [
    "Fit",
    "SolverOptions",
    "fit_beta",
    "fit_path",
    "fit_search",
    "fit_trained",
    "trained_program",
]
