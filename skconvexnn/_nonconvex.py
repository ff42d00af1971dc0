"""Nonconvex weight-decay training, the seed of the arrangement search.

The network of the estimators, in design space (``X`` with its column of
ones), is ``f(X) = (X U^T)_+ A + c`` where output ``t`` has its own hidden
units (``A`` is block diagonal: unit ``j`` feeds only output ``owner_j``),
and the training objective is the one of the convex program (user guide,
"Objective")::

    F((X U^T)_+ A + c) + beta/2 * (||U||_F^2 + ||A||_F^2)

with ``F`` the mean loss of :mod:`skconvexnn.losses`. :func:`train_networks`
runs L-BFGS on it from a few random starts. Each unit ``(u_j, a_j)`` of such a
network is a feasible point of the convex program over its own pattern
``D_j = 1[X u_j >= 0]``: ``v = |a_j| u_j`` lies in the cone of ``D_j``, in the
``v`` block when ``a_j > 0`` and the ``w`` block otherwise, and its penalty
``beta |a_j| ||u_j||`` is at most ``beta/2 (a_j^2 + ||u_j||^2)``
(Pilanci and Ergen, 2020). :func:`network_blocks` builds that point, so the
convex program over the patterns of a trained network is at least as good as
the network.

For the hinge loss the gradient is a subgradient; L-BFGS then stops at a
point that is good enough to seed the search, not necessarily a local
minimum.
"""

import dataclasses
import time

import numpy as np
from scipy.optimize import minimize

__all__ = ["TrainedNetwork", "train_networks", "network_blocks"]


@dataclasses.dataclass
class TrainedNetwork:
    """A network ``(X U^T)_+ A + c`` with block-diagonal ``A``.

    Attributes
    ----------
    U : ndarray of shape (n_units, n_features)
    A : ndarray of shape (n_units, n_outputs)
        Row ``j`` is zero except at the output its unit feeds.
    c : ndarray of shape (n_outputs,)
    objective : float
        The weight-decay objective of the network.
    n_iter : int
        L-BFGS iterations.
    seconds : float
        Wall time of its training.
    """

    U: np.ndarray
    A: np.ndarray
    c: np.ndarray
    objective: float
    n_iter: int = 0
    seconds: float = 0.0


def weight_decay_objective(X, Y, loss, s, beta, U, A, c):
    """``F((X U^T)_+ A + c) + beta/2 (||U||^2 + ||A||^2)``."""
    P = np.maximum(X @ U.T, 0.0) @ A + c
    return loss.value(P, Y, s) + 0.5 * beta * (np.sum(U * U) + np.sum(A * A))


def train_networks(X, Y, loss, s, beta, n_units, n_starts, rng, fit_intercept=True,
                   max_iter=2000, time_limit=None):
    """L-BFGS on the weight-decay objective from ``n_starts`` random starts.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Design matrix (with its column of ones for hidden biases).
    Y : ndarray of shape (n_samples, n_outputs)
        Encoded targets.
    loss : Loss
    s : ndarray of shape (n_samples,)
        Sample weights summing to one.
    beta : float
    n_units : int
        Hidden units per output.
    n_starts : int
    rng : RandomState
    fit_intercept : bool
        Whether the output intercept ``c`` is trained (otherwise zero).
    max_iter : int
        L-BFGS iterations per start.
    time_limit : float or None
        Seconds after which no new start begins (one start always runs).

    Returns
    -------
    networks : list of TrainedNetwork
        In the order trained.
    """
    n, d = X.shape
    k = Y.shape[1]
    m = n_units * k
    mask = np.kron(np.eye(k), np.ones((n_units, 1)))  # (m, k): unit -> output

    def unpack(z):
        U = z[: m * d].reshape(m, d)
        A = z[m * d: m * (d + 1)].reshape(m, 1) * mask
        c = z[m * (d + 1):] if fit_intercept else np.zeros(k)
        return U, A, c

    def fun(z):
        U, A, c = unpack(z)
        pre = X @ U.T
        H = np.maximum(pre, 0.0)
        P = H @ A + c
        loss_value, G = loss.value_and_gradient(P, Y, s)
        a = A.sum(axis=1)  # each unit's only output weight
        dU = ((G @ A.T) * (pre > 0)).T @ X + beta * U
        da = np.sum((H.T @ G) * mask, axis=1) + beta * a
        value = loss_value + 0.5 * beta * (np.sum(U * U) + np.sum(a * a))
        parts = [dU.ravel(), da]
        if fit_intercept:
            parts.append(G.sum(axis=0))
        return value, np.concatenate(parts)

    start = time.perf_counter()
    networks = []
    for _ in range(n_starts):
        if networks and time_limit is not None and (
                time.perf_counter() - start >= time_limit):
            break
        t0 = time.perf_counter()
        # Balanced start (||u_j|| = |a_j|), where weight decay is at its
        # least for the function the unit computes.
        U0 = rng.standard_normal((m, d)) / np.sqrt(d)
        a0 = rng.choice([-1.0, 1.0], m) * np.linalg.norm(U0, axis=1)
        z0 = [U0.ravel(), a0]
        if fit_intercept:
            z0.append(loss.optimal_intercept(np.zeros_like(Y), Y, s).reshape(-1))
        res = minimize(fun, np.concatenate(z0), jac=True, method="L-BFGS-B",
                       options={"maxiter": max_iter, "gtol": 1e-9, "ftol": 1e-13})
        U, A, c = unpack(res.x)
        networks.append(TrainedNetwork(
            U=U, A=A, c=np.array(c, dtype=float),
            objective=float(weight_decay_objective(X, Y, loss, s, beta, U, A, c)),
            n_iter=int(res.nit), seconds=time.perf_counter() - t0,
        ))
    return networks


def network_blocks(X, network, cone_constrained):
    """The network as a feasible point of the convex program over its patterns.

    Returns
    -------
    gates : ndarray of shape (n_units, n_features)
        The hidden weights of the live units (``|a_j| ||u_j||`` above
        ``1e-10`` of the largest; dropping the others changes the objective
        by less than that): the
        pattern of unit ``j`` is ``1[X u_j >= 0]``.
    V, W : ndarray of shape (n_outputs, n_units, n_features)
        ``V[t, j] = a_tj u_j`` where ``a_tj > 0`` and ``W[t, j] = -a_tj u_j``
        where ``a_tj < 0`` (ReLU); gated ReLU puts ``a_tj u_j`` in ``V`` and
        returns ``W=None``. Units sharing a pattern are left as separate
        columns; the caller merges them (their sum stays in the cone and its
        norm is at most the sum of theirs).
    """
    U, A = network.U, network.A
    # Units of negligible weight (weight decay drives unused ones to zero
    # only asymptotically) would be patterns of zero blocks.
    size = np.linalg.norm(U, axis=1) * np.abs(A).max(axis=1)
    live = size > 1e-10 * max(size.max(initial=0.0), 1e-300)
    U, A = U[live], A[live]
    blocks = A.T[:, :, None] * U[None, :, :]  # (k, m, d)
    if not cone_constrained:
        return U, blocks, None
    pos = (A.T > 0)[:, :, None]
    return U, np.where(pos, blocks, 0.0), np.where(pos, 0.0, -blocks)
