"""A Huber loss for skconvexnn: the code of the tutorial "Add a loss".

tests/test_losses_tutorial.py runs this file, so the tutorial cannot rot.
"""

import numpy as np
from scipy.optimize import minimize_scalar

from skconvexnn.losses import Loss


class HuberLoss(Loss):
    """Huber loss of the residual ``r = p - y``, summed over outputs.

    ``h(r) = r**2 / 2`` for ``|r| <= delta`` and ``delta * (|r| - delta / 2)``
    beyond: quadratic near zero, linear (robust to outliers) far away.
    """

    name = "huber"
    cones = frozenset()  # cvxpy writes it with second-order cones only
    curvature = 1.0  # h'' is 1 on |r| < delta, 0 beyond: FISTA's step bound

    def __init__(self, delta=1.0):
        self.delta = delta

    def value(self, P, Y, s):
        r = np.abs(P - Y)
        h = np.where(r <= self.delta, 0.5 * r**2, self.delta * (r - 0.5 * self.delta))
        return float(s @ h.sum(axis=1))

    def gradient(self, P, Y, s):
        return s[:, None] * np.clip(P - Y, -self.delta, self.delta)

    def dual(self, Lam, Y, s):
        # Conjugate of h: h*(z) = z**2 / 2 on |z| <= delta, +inf outside. For
        # the weighted sum, -F*(-Lam) = sum Lam * Y - Lam**2 / (2 s) on the
        # box |Lam_jt| <= delta * s_j (the estimators pass s_j > 0).
        bound = self.delta * s[:, None]
        if np.any(np.abs(Lam) > bound * (1 + 1e-9)):
            return -np.inf
        return float(np.sum(Lam * Y) - 0.5 * np.sum(Lam**2 / s[:, None]))

    def cvxpy_expression(self, P, Y, s):
        import cvxpy as cp

        # cvxpy's huber(x, M) is x**2 for |x| <= M and 2M|x| - M**2 beyond:
        # twice ours.
        return 0.5 * cp.sum(cp.multiply(s[:, None], cp.huber(P - Y, self.delta)))

    def optimal_intercept(self, P, Y, s):
        # One smooth convex problem per output, in one variable.
        c = np.empty(Y.shape[1])
        for t in range(Y.shape[1]):
            r = Y[:, t] - P[:, t]
            res = minimize_scalar(
                lambda ct: self.value(P[:, [t]] + ct, Y[:, [t]], s),
                bounds=(r.min(), r.max()), method="bounded",
                options={"xatol": 1e-12},
            )
            c[t] = res.x
        return c


# -- usage ---------------------------------------------------------------
if __name__ == "__main__":
    from skconvexnn import ConvexReLURegressor

    rng = np.random.default_rng(0)
    X = np.sort(rng.uniform(-2, 2, 40)).reshape(-1, 1)
    y = np.sin(2 * X.ravel()) + 0.1 * rng.standard_normal(40)
    y[::8] += 3.0  # five outliers

    for loss in ["squared", HuberLoss(delta=0.3)]:
        reg = ConvexReLURegressor(loss=loss, beta=1e-3, arrangements="exhaustive")
        reg.fit(X, y)
        print(f"{getattr(loss, 'name', loss)}: objective {reg.objective_:.5f}, "
              f"duality gap {reg.duality_gap_:.1e}, {reg.n_neurons_} neurons")
