"""Former home of the copositive relaxation: now
:mod:`skconvexnn.solvers.shared_units.relaxation`.

Kept so that ``from skconvexnn.solvers.copositive_relaxation import ...``
still works.
"""

from .shared_units.relaxation import (  # noqa: F401
    check_sdp_solver,
    estimate_relaxation_size,
    factor_lifted_block,
    relaxation_dual_bound,
    solve_relaxation,
)
