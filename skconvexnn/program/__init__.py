"""What is solved: the convex program of a two-layer ReLU network.

- :class:`ConvexProgram` (:mod:`.program`): data, loss, beta and
  activation of one program (user guide, "The convex program");
- :class:`BlockOperator` (:mod:`.operator`): the linear map
  ``Z -> sum_b sigma_b D_b X z_b``, its adjoint and the products ``X z_b``;
- :mod:`.penalties`: the group norm of the blocks and, for ReLU, the
  indicators of their cones (:mod:`.cones`): value, prox and dual norm;
- :mod:`.dual`: the dual, its lower bounds, ``beta_max`` and the
  certificate of the solvers.
"""

from .dual import Certificate, lower_bound, program_beta_max, zero_network_beta
from .operator import BlockOperator
from .penalties import ConeGroupNorm, GroupNorm
from .program import ACTIVATIONS, ConvexProgram

__all__ = [
    "ACTIVATIONS",
    "BlockOperator",
    "Certificate",
    "ConeGroupNorm",
    "ConvexProgram",
    "GroupNorm",
    "lower_bound",
    "program_beta_max",
    "zero_network_beta",
]
