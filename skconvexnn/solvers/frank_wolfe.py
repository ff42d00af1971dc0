"""Former home of the Frank-Wolfe solver: now :mod:`skconvexnn.solvers.shared_units`.

Kept so that ``from skconvexnn.solvers.frank_wolfe import ...`` still works.
"""

from .shared_units import (  # noqa: F401
    ConePCAOracle,
    PatternPool,
    SharedUnitsResult,
    cone_dual_norm_bound,
    dual_point_bound,
    frank_wolfe,
    group_lasso,
    group_lasso_ipm,
    in_some_cone,
    merge_atoms,
    shared_ascent,
    spectral_dual_norm,
    train_shared,
)
