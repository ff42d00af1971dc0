"""Old home of the convex program, now :mod:`skconvexnn.program`.

Kept so that existing imports keep working; new code imports from
:mod:`skconvexnn.program`.
"""

from .program.dual import (dual_norms, lower_bound, program_beta_max,
                           shrink_to_zero_sum, zero_network_beta)
from .program.program import ACTIVATIONS, ConvexProgram

__all__ = ["ACTIVATIONS", "ConvexProgram", "dual_norms", "lower_bound",
           "program_beta_max", "shrink_to_zero_sum", "zero_network_beta"]
