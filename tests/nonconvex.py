"""Nonconvex weight-decay training with scipy, the reference for the tests."""

import numpy as np
from scipy.optimize import minimize


def train_nonconvex(X1, Y, beta, n_neurons, loss_value, loss_grad, n_restarts=20,
                    seed=0, scale=1.0, per_output=False, pool=None,
                    intercept=True):
    """Best objective of L-BFGS on the weight-decay problem from random starts.

    The network is ``(X1 U^T)_+ A + c`` with ``X1`` the design matrix (column
    of ones included); ``loss_value(P)`` and ``loss_grad(P)`` are the mean
    loss and its gradient in the prediction ``P`` of shape (n, k).

    With ``per_output=True`` every output has its own ``n_neurons`` hidden
    neurons (``A`` is block diagonal, the architecture of
    ``ConvexReLUClassifier`` with several outputs); otherwise the ``k``
    outputs share ``n_neurons`` neurons.

    With ``pool`` (n_samples, n_rows), the rows of ``X1`` are image patches
    and the network is a CNN with pooling: ``Pool (X1 U^T)_+ A + c``.
    ``intercept=False`` keeps ``c`` at zero.
    """
    n, d = X1.shape
    k = Y.shape[1]
    m = n_neurons * k if per_output else n_neurons
    mask = np.ones((m, k))
    if per_output:
        mask = np.kron(np.eye(k), np.ones((n_neurons, 1)))
    rng = np.random.default_rng(seed)

    def unpack(z):
        U = z[: m * d].reshape(m, d)
        A = z[m * d: m * d + m * k].reshape(m, k)
        return U, A, z[m * d + m * k:]

    def fun(z):
        U, A, c = unpack(z)
        pre = X1 @ U.T
        H = np.maximum(pre, 0)
        Hp = H if pool is None else pool @ H
        P = Hp @ A + c
        G = loss_grad(P)
        dA = (Hp.T @ G + beta * A) * mask
        GA = G @ A.T
        dH = (GA if pool is None else pool.T @ GA) * (pre > 0)
        dU = dH.T @ X1 + beta * U
        value = loss_value(P) + 0.5 * beta * (np.sum(U**2) + np.sum(A**2))
        dc = G.sum(axis=0) if intercept else np.zeros(k)
        return value, np.concatenate([dU.ravel(), dA.ravel(), dc])

    best = np.inf
    for _ in range(n_restarts):
        U0 = scale * rng.standard_normal(m * d)
        A0 = mask * rng.standard_normal((m, k)) / np.sqrt(n_neurons)
        z0 = np.concatenate([U0, scale * A0.ravel(), np.zeros(k)])
        res = minimize(fun, z0, jac=True, method="L-BFGS-B",
                       options={"maxiter": 5000, "gtol": 1e-10, "ftol": 1e-14})
        best = min(best, res.fun)
    return best



def standardized(est, y):
    """The targets as a fitted regressor's solvers saw them.

    The regressors fit ``(y - y_mean_) / y_scale_`` per output; their
    ``objective_``, ``lower_bound_`` and ``duality_gap_`` are of that
    problem, whose network has the output layer ``coefs_[1] / y_scale_``.
    """
    y = np.asarray(y, dtype=float)
    if y.ndim == 1:
        return (y - est.y_mean_[0]) / est.y_scale_[0]
    return (y - est.y_mean_) / est.y_scale_
