"""Type-II Anderson acceleration of a fixed-point iteration (one implementation).

For a map ``T`` and points ``x_j``, keep the last ``memory + 1`` values
``g_j = T(x_j)`` and residuals ``f_j = g_j - x_j``, oldest first. The
weights ``theta`` minimize ``||f_m - sum_j theta_j (f_{j+1} - f_j)||`` (a
least-squares problem on the residuals' differences, with a relative ridge),
and the next point is ``g_m - sum_j theta_j (g_{j+1} - g_j)`` (Walker and
Ni, "Anderson acceleration for fixed-point iterations", SIAM J. Numer.
Anal. 49, 2011). A quantity linear in the point (a prediction) extrapolates
with the same weights (:meth:`Anderson.extrapolate`).

Used by ADMM (:meth:`Anderson.update`, on its whole state) and by the
Anderson solver (:meth:`Anderson.push`, with its own objective safeguard).
"""

import numpy as np

__all__ = ["Anderson"]

#: Ridge of the weights' normal equations, relative to the mean diagonal:
#: keeps them solvable when the residuals' differences align.
RIDGE = 1e-10


class Anderson:
    """History and weights of type-II Anderson acceleration.

    Parameters
    ----------
    memory : int
        Differences combined (``memory + 1`` past values); 0 turns the
        acceleration off.
    """

    def __init__(self, memory):
        self.memory = memory
        self.reset()

    def reset(self):
        """Forget the history (the next point is a plain step)."""
        self.values, self.residuals, self.extras = [], [], []
        self.best = np.inf
        self.fallback = None

    def push(self, value, residual, extra=None):
        """Record ``g = T(x)``, ``f = g - x`` and ``extra`` (an array linear
        in the point, extrapolated by ``extrapolate(theta, self.extras)``);
        return the weights ``theta``.

        None (a plain step) with fewer than two entries or when the
        normal equations fail, which also clears the history.
        """
        self.values.append(value)
        self.residuals.append(residual)
        self.extras.append(extra)
        if len(self.values) > self.memory + 1:
            del self.values[0], self.residuals[0], self.extras[0]
        if len(self.residuals) < 2:
            return None
        F = np.asarray(self.residuals)
        dF = np.diff(F, axis=0)
        A = dF @ dF.T
        A[np.diag_indices_from(A)] += RIDGE * max(np.trace(A), 1e-300) / len(A)
        try:
            theta = np.linalg.solve(A, dF @ F[-1])
        except np.linalg.LinAlgError:
            theta = None
        if theta is None or not np.all(np.isfinite(theta)):
            self.reset()
            return None
        return theta

    @staticmethod
    def extrapolate(theta, history):
        """``h_m - sum_j theta_j (h_{j+1} - h_j)`` of arrays ``h`` recorded
        alongside the values (the values themselves by default)."""
        return history[-1] - np.tensordot(theta, np.diff(history, axis=0), axes=1)

    def update(self, x, fx):
        """The next point after the plain step ``x -> fx`` (1-D arrays).

        Safeguarded: when the residual ``fx - x`` exceeds twice the smallest
        seen since the last reset, the extrapolation went astray; the
        history is cleared and, where ``x`` was an extrapolated point, the
        plain step it replaced is returned instead (the iteration goes on
        from there), otherwise the plain step ``fx``. Taking ``fx`` from a
        stray point let ADMM diverge on a warm-started fold of 32 samples
        (wide data on its row space, 95 patterns): each astray point
        raised the residual a hundredfold, the next reset accepted it, and
        the objective reached 1e14 at 10,000 iterations where plain ADMM
        certified in 90.
        """
        if self.memory <= 0:
            return fx
        g = fx - x
        size = float(np.sqrt(np.vdot(g, g)))
        if size > 2.0 * self.best:
            fallback = self.fallback
            best = self.best
            self.reset()
            if fallback is not None:
                self.best = best
                return fallback
            self.best = size
            return fx
        self.best = min(self.best, size)
        theta = self.push(fx, g)
        if theta is None:
            self.fallback = None
            return fx
        self.fallback = fx
        return self.extrapolate(theta, self.values)
