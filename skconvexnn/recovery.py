"""From a convex solution to a ReLU network: recovery, pruning, evaluation.

Recovery (user guide, "Recovering the network, and pruning"): every nonzero
block ``v`` of output ``t``
gives a neuron ``u = v / sqrt(||v||)`` with output weight
``a_t = sqrt(||v||)``; a block ``w`` gives ``a_t = -sqrt(||w||)``. Then
``||u||^2 = a_t^2 = ||v||``, so the weight-decay penalty
``beta/2 (||u||^2 + ||a||^2)`` equals the group-norm penalty ``beta ||v||``,
and on the training data ``(X u)_+ = D X u`` by the cone constraint: the
network's training objective equals the convex objective.

Networks are stored as ``U`` (n_neurons, n_features) hidden weights in the
design-matrix space (last entry the bias when there is a column of ones),
``A`` (n_neurons, n_outputs) output weights, ``c`` (n_outputs,) output
intercept, and for gated ReLU the gate of each neuron.

For a convolutional network the rows of ``X`` are patches and a ``pool``
matrix (n_samples x n_patches) sums or averages each sample's patches after
the hidden layer: the output is ``Pool (X U^T)_+ A + c`` (user
guide, "Convolutional networks"). Recovery is unchanged, since pooling is linear.
"""

import numpy as np

__all__ = [
    "recover_neurons",
    "recover_best_network",
    "hidden_activations",
    "network_predict",
    "network_objective",
    "prune_weights",
    "prune_network",
]


def recover_neurons(program, V, W, gates=None, rtol=1e-4):
    """Neurons of the network that realizes the convex solution ``(V, W)``.

    Parameters
    ----------
    program : ConvexProgram
    V, W : ndarray of shape (n_outputs, n_patterns, n_features)
        ``W`` is None for gated ReLU.
    gates : ndarray of shape (n_patterns, n_features) or None
        Gate vector of each pattern (needed for gated ReLU).
    rtol : float
        Blocks whose norm is below ``rtol`` times the largest block norm are
        zero up to the solver's accuracy and give no neuron.

    Returns
    -------
    U : ndarray of shape (n_neurons, n_features)
    A : ndarray of shape (n_neurons, n_outputs)
    neuron_gates : ndarray of shape (n_neurons, n_features) or None
    """
    k = V.shape[0]
    blocks = [(V, 1.0)] + ([(W, -1.0)] if W is not None else [])
    largest = max(float(np.linalg.norm(B, axis=2).max(initial=0.0)) for B, _ in blocks)
    U, A, G = [], [], []
    for B, sign in blocks:
        norms = np.linalg.norm(B, axis=2)
        t_idx, i_idx = np.nonzero(norms > rtol * largest) if largest > 0 else ((), ())
        for t, i in zip(t_idx, i_idx):
            root = np.sqrt(norms[t, i])
            U.append(B[t, i] / root)
            a = np.zeros(k)
            a[t] = sign * root
            A.append(a)
            if gates is not None:
                G.append(gates[i])
    d = V.shape[2]
    U = np.array(U).reshape(-1, d)
    A = np.array(A).reshape(-1, k)
    neuron_gates = None
    if program.activation == "gated_relu":
        neuron_gates = np.array(G).reshape(-1, d)
    return U, A, neuron_gates


def recover_best_network(program, result, gates=None, rtols=(1e-6, 1e-4, 1e-2)):
    """Recover the network, choosing how to read near-zero blocks.

    A solver returns blocks that are zero at the optimum as small nonzero
    values, on a scale set by its tolerance, not by the largest block (when
    every block should be zero, a relative threshold keeps them all). Each
    relative threshold in ``rtols`` and the empty network are tried; the
    network with the lowest training objective (output intercept refitted)
    is returned.

    Returns
    -------
    U, A, neuron_gates, intercept
    """
    c0 = np.asarray(result.intercept, dtype=float)
    loss, Y, s = program.loss, program.Y, program.sample_weight

    def refit(U, A, G):
        if not program.fit_intercept:
            return c0
        P = network_predict(program.X, U, A, 0.0, G, program.pool)
        return loss.optimal_intercept(P, Y, s)

    V, W = result.V, result.W
    candidates = [recover_neurons(program, V, W, gates, rtol) for rtol in rtols]
    candidates = [(U, A, G, c0) for U, A, G in candidates[:1]] + [
        (U, A, G, refit(U, A, G)) for U, A, G in candidates
    ]
    empty = recover_neurons(program, 0 * V, None if W is None else 0 * W, gates)
    candidates.append((*empty, refit(*empty)))
    return min(candidates, key=lambda cand: network_objective(program, *cand[:2],
                                                              cand[3], cand[2]))


def hidden_activations(X, U, neuron_gates=None):
    """Hidden layer ``(X u_j)_+``, or ``1[X g_j >= 0] (X u_j)`` when gated."""
    XU = X @ U.T
    if neuron_gates is None:
        return np.maximum(XU, 0.0)
    return (X @ neuron_gates.T >= 0) * XU


def network_predict(X, U, A, c, neuron_gates=None, pool=None):
    """Output of the two-layer network, shape (n_samples, n_outputs).

    With ``pool`` (n_samples, n_rows), the rows of ``X`` are patches and the
    hidden layer is pooled per sample: ``Pool h(X) A + c``.
    """
    out = hidden_activations(X, U, neuron_gates) @ A
    return (out if pool is None else pool @ out) + c


def network_objective(program, U, A, c, neuron_gates=None):
    """Training objective ``F(f(X)) + beta/2 (||U||^2 + ||A||^2)``.

    As in the user guide, "The nonconvex training problem".
    """
    P = network_predict(program.X, U, A, c, neuron_gates, program.pool)
    data = program.loss.value(P, program.Y, program.sample_weight)
    return data + 0.5 * program.beta * (np.sum(U**2) + np.sum(A**2))


def prune_weights(Q, w, rtol=1e-12, max_dense=2e8):
    """Drop neurons without changing the fit or the penalty.

    The network's output is ``sum_j w_j q_j`` (rows of ``Q``) and its penalty
    ``beta * sum_j w_j``. While the vectors ``[q_j; 1]`` are linearly
    dependent (always when there are more of them than ``len(q_j) + 1``),
    a null-space direction ``c`` changes neither, and moving ``w`` along it
    until a weight reaches zero removes a neuron (a Caratheodory argument).

    Parameters
    ----------
    Q : ndarray of shape (n_neurons, n_values)
    w : ndarray of shape (n_neurons,)
        Nonnegative weights.
    rtol : float
        Relative singular-value threshold for numerically exact dependence.
    max_dense : float
        Beyond ``n_values * n_neurons**2`` of this size only the dependence
        forced by the dimension is removed (the rank test is skipped).

    Returns
    -------
    w : ndarray of shape (n_neurons,)
        New weights, some of them zero.
    """
    w = np.array(w, dtype=float)
    while True:
        idx = np.flatnonzero(w > 0)
        m = idx.size
        if m == 0:
            break
        M = np.vstack([Q[idx].T, np.ones(m)])
        forced = m > M.shape[0]
        if not forced and M.shape[0] * m * m > max_dense:
            break
        # Only V is needed: the full U of a tall M (many values, few
        # neurons) would cost O(n_values^2) memory and O(n_values^3) time.
        _, s, Vt = np.linalg.svd(M, full_matrices=forced)
        if not forced and s[-1] > rtol * s[0]:
            break
        c = Vt[-1]
        if c.max() <= 0:
            c = -c
        pos = c > 0
        ratios = w[idx][pos] / c[pos]
        j = np.argmin(ratios)
        w[idx] = np.maximum(w[idx] - ratios[j] * c, 0.0)
        w[idx[np.flatnonzero(pos)[j]]] = 0.0
    return w


def prune_network(X, U, A, neuron_gates=None, groups=None, pool=None):
    """Prune a network with :func:`prune_weights`, keeping its output.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    U, A, neuron_gates
        The network, as returned by :func:`recover_neurons`; neurons are
        balanced (``||u_j|| = ||a_j||``).
    groups : ndarray of shape (n_neurons,) or None
        Neurons of different groups never combine (independent units per
        output); None prunes all neurons together (shared units).
    pool : sparse matrix of shape (n_samples, n_rows) or None
        Pooling of the rows of ``X`` (patches) into samples; the neurons'
        contributions are then their pooled activations.

    Returns
    -------
    U, A, neuron_gates
        The pruned network, balanced.
    """
    if U.shape[0] == 0:
        return U, A, neuron_gates
    H = hidden_activations(X, U, neuron_gates)
    if pool is not None:
        H = pool @ H
    w = np.linalg.norm(U, axis=1) * np.linalg.norm(A, axis=1)
    groups = np.zeros(len(w), dtype=int) if groups is None else np.asarray(groups)
    new_w = w.copy()
    for g in np.unique(groups):
        sel = np.flatnonzero((groups == g) & (w > 0))
        # Contribution of neuron j per unit of penalty: (X u_j)_+ a_j^T / w_j.
        Q = np.einsum("nj,jk->jnk", H[:, sel], A[sel]).reshape(len(sel), -1)
        Q /= w[sel, None]
        new_w[sel] = prune_weights(Q, w[sel])
    keep = new_w > 0
    scale = np.sqrt(new_w[keep] / w[keep])[:, None]
    U, A = U[keep] * scale, A[keep] * scale
    if neuron_gates is not None:
        neuron_gates = neuron_gates[keep]
    return U, A, neuron_gates
