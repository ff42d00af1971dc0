"""Old home of the cone projections, now :mod:`skconvexnn.program.cones`.

Kept so that existing imports keep working.
"""

from .program.cones import cone_norms, project, project_many

__all__ = ["cone_norms", "project", "project_many"]
