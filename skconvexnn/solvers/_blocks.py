"""Old home of the block operator, penalties and certificate, now in
:mod:`skconvexnn.program`. Kept so that existing imports keep working.
"""

from ..program.dual import Certificate
from ..program.operator import BlockOperator, signed_adjoint, signed_prediction
from ..program.penalties import (ConeGroupNorm, GroupNorm, block_norms,
                                 group_soft_threshold, screen_estimate)
from .base import trivial_result

__all__ = ["BlockOperator", "Certificate", "ConeGroupNorm", "GroupNorm",
           "block_norms", "group_soft_threshold", "screen_estimate",
           "signed_adjoint", "signed_prediction", "trivial_result"]
