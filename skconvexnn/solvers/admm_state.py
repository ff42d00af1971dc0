"""ADMM's point between two solves: what a warm start needs beyond the blocks."""

from dataclasses import dataclass, replace

import numpy as np

from .base import SolverState
from .projection_state import blocks_mask, pad_blocks

__all__ = ["ADMMState"]


@dataclass
class ADMMState(SolverState):
    """ADMM's point: what a warm start needs beyond the blocks.

    ``q`` the loss split, ``p`` the stacked blocks (``V`` then ``W`` for
    ReLU: ``stacked`` is 2, else 1), ``uq`` and ``up`` the scaled
    multipliers, ``rho`` the penalty parameter and ``beta`` the program's;
    ``active``, for the ReLU program, the active constraints of every
    block's last cone projection (guesses for the next solve's, padded
    with ``-1``; see :func:`~skconvexnn.program.cones.project_many`).
    """

    q: np.ndarray
    p: np.ndarray
    uq: np.ndarray
    up: np.ndarray
    rho: float
    beta: float
    stacked: int = 1
    active: np.ndarray = None

    def restrict(self, keep):
        mask = blocks_mask(keep, self.stacked)
        active = None if self.active is None else self.active[:, mask]
        return replace(self, p=self.p[:, mask], up=self.up[:, mask], active=active)

    def pad(self, keep):
        mask = blocks_mask(keep, self.stacked)
        active = None if self.active is None else pad_blocks(self.active, mask, -1)
        return replace(self, p=pad_blocks(self.p, mask), up=pad_blocks(self.up, mask),
                       active=active)

    def dual_points(self):
        # The loss split is a prediction; -rho uq is minus a (sub)gradient
        # of the loss at q, a dual point.
        return [self.q], [-self.rho * self.uq]
