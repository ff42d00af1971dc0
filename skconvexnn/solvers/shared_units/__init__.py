"""Solvers of the shared-unit (copositive) program.

A network whose hidden units feed every output is the solution of a
copositive program (Sahiner et al., ICLR 2021; user guide, "Multiple
outputs and classification"). Every solver here returns a
:class:`SharedUnitsResult`:

- :func:`frank_wolfe`: fully corrective Frank-Wolfe with the
  cone-constrained PCA oracle (:mod:`.oracles`), its corrective group lasso
  (:mod:`.group_lasso`) and the pattern search (:mod:`.local`);
- :func:`solve_relaxation`: the semidefinite relaxation, its network
  recovered and polished by Frank-Wolfe (:mod:`.relaxation`);
- :func:`svd_closed_form`: the closed form for whitened data;
- :func:`zero_network`: the zero network at or above ``beta_max``.
"""

from .closed_form import is_whitened, svd_closed_form
from .frank_wolfe import frank_wolfe, merge_atoms
from .group_lasso import group_lasso, group_lasso_ipm
from .local import PatternPool, shared_ascent, train_shared
from .oracles import (
    ConePCAOracle,
    cone_dual_norm_bound,
    dual_point_bound,
    in_some_cone,
    spectral_dual_norm,
    zero_network,
)
from .relaxation import (
    check_sdp_solver,
    estimate_relaxation_size,
    factor_lifted_block,
    relaxation_dual_bound,
    solve_relaxation,
)
from .result import SharedUnitsResult, shared_objective

__all__ = [
    "ConePCAOracle",
    "PatternPool",
    "SharedUnitsResult",
    "check_sdp_solver",
    "cone_dual_norm_bound",
    "dual_point_bound",
    "estimate_relaxation_size",
    "factor_lifted_block",
    "frank_wolfe",
    "group_lasso",
    "group_lasso_ipm",
    "in_some_cone",
    "is_whitened",
    "merge_atoms",
    "relaxation_dual_bound",
    "shared_ascent",
    "shared_objective",
    "solve_relaxation",
    "spectral_dual_norm",
    "svd_closed_form",
    "train_shared",
    "zero_network",
]
