"""Old home of the block operator, penalties and certificate, now in
:mod:`skconvexnn.program`. Kept so that existing imports keep working.
"""

from ..program.dual import Certificate, screen_estimate
from ..program.operator import BlockOperator, signed_adjoint, signed_prediction
from ..program.penalties import ConeProx, block_norms, group_soft_threshold
from .base import trivial_result

__all__ = ["BlockOperator", "Certificate", "ConeProx", "block_norms",
           "group_soft_threshold", "screen_estimate", "signed_adjoint",
           "signed_prediction", "trivial_result"]
