"""The cones' active sets of a solver's last projections, kept between solves.

The ReLU program's proximal steps project blocks onto their cones
(:func:`~skconvexnn.program.cones.project_many`), each from a guess of its
active constraints (:attr:`~skconvexnn.program.penalties.ConeGroupNorm.active`).
Along a beta path the cones do not change, so the last solve's active sets
are the next one's guesses; a solve that starts from empty ones rebuilds
them constraint by constraint.
"""

from dataclasses import dataclass, replace

import numpy as np

from .base import SolverState

__all__ = ["ProjectionState", "blocks_mask", "pad_blocks", "seed_projections"]


def blocks_mask(keep, stacked):
    """The blocks of the patterns ``keep``: ``stacked`` blocks per pattern."""
    return np.concatenate([keep] * stacked)


def pad_blocks(A, mask, fill=0.0):
    """``A`` (blocks on axis 1) at the blocks ``mask`` of a larger program."""
    out = np.full((A.shape[0], len(mask), *A.shape[2:]), fill, dtype=A.dtype)
    out[:, mask] = A
    return out


def seed_projections(penalty, init):
    """Start ``penalty``'s projections from the active sets of ``init``'s state.

    Kept only when they have the penalty's shape and their constraints
    are rows of its program (a warm start from other data is ignored).
    """
    active = getattr(penalty, "active", None)
    state = None if init is None else init.state
    guesses = getattr(state, "active", None)
    if (active is not None and guesses is not None and guesses.shape == active.shape
            and guesses.max(initial=-1) < penalty.op.X.shape[0]):
        active[...] = guesses


@dataclass
class ProjectionState(SolverState):
    """A solver's state when it is only the active sets of its projections.

    ``active`` of shape (n_outputs, n_blocks, n_features), padded with
    ``-1``, with ``stacked`` blocks per pattern (2 for ReLU).
    """

    active: np.ndarray
    stacked: int = 2

    def restrict(self, keep):
        return replace(self, active=self.active[:, blocks_mask(keep, self.stacked)])

    def pad(self, keep):
        mask = blocks_mask(keep, self.stacked)
        return replace(self, active=pad_blocks(self.active, mask, fill=-1))
