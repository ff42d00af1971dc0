"""Patterns of one short training run (``arrangements="trained"``).

One L-BFGS run of the nonconvex weight-decay objective (the estimators'
objective at the fit's beta, :mod:`skconvexnn._nonconvex`) gives a
network; the activation patterns of its hidden units are the patterns of
the convex program, which is solved from that network written as blocks
over them (user guide, "Patterns from a training run"). The network is a
feasible point of that program (Pilanci and Ergen, 2020), so the fit is
never worse than it; the certificate covers those patterns.
"""

import dataclasses

import numpy as np

from .._nonconvex import train_networks, weight_decay_objective
from ..arrangements import patterns_from_gates, unique_patterns
from .candidates import PatternPool
from .certify import certify, zero_fit
from .seeds import beats_zero, seed_active_set, solve_from

__all__ = ["fit_trained", "trained_program", "TRAINED_MAX_ITER"]

#: L-BFGS iterations of the training run. Measured with 100 units per
#: output (``benchmarks/trained_gates.py``): the run took 0.2 to 6.6 s on
#: tables of 300 to 15,000 rows, and its patterns raised the test score
#: over the default gates on 13 of 16 tables.
TRAINED_MAX_ITER = 300
#: The run sees the targets rounded to this fraction of their root mean
#: square, and beta to this many significant digits: the same data in
#: other units (a regression target scaled or shifted) standardize to
#: targets, and scale beta by a noise, that differ in their last bits, and
#: L-BFGS from the same start took such differences to other networks
#: (diabetes, y, 1e4 y, 1e-6 y and y + 1e6: betas 2.17e-2 to 2.24e-2 after
#: the noise scaling, test R^2 0.314 to 0.323); rounded, they train the
#: same network.
TRAINED_TARGET_GRID = 1e-6
TRAINED_BETA_DIGITS = 8


def fit_trained(template, options, n_units, rng, max_patterns=10_000):
    """The certified fit over the patterns of one trained network.

    Parameters
    ----------
    template, options
        As in :func:`~skconvexnn.fitting.search.search_arrangements`.
    n_units : int
        Hidden units of the network trained, shared among the outputs:
        ``ceil(n_units / n_outputs)`` each, so that the program has about
        ``n_units`` patterns whatever the number of outputs, but at least
        a tenth of ``n_units`` each (``units_per_output``).
    rng : RandomState
        Its starting point.
    max_patterns : int
        At most this many of its distinct patterns are kept.

    Returns
    -------
    Fit
        With ``trained_objective``, the network's weight-decay objective:
        the fit's objective is at most that.
    """
    program, gates, net, start = _trained(template, n_units, rng, max_patterns)
    if not beats_zero(program, net.objective, options.tol):
        start = None  # from the zero network
    if not len(gates):  # no unit's pattern is a pattern of the data
        fit = zero_fit(program, options, gates)
    else:
        result, solver = solve_from(program, options, start)
        fit = certify(program, result, solver, options, gates)
    return dataclasses.replace(fit, trained_objective=float(net.objective))


def trained_program(template, n_units, rng, max_patterns=10_000, rows=None):
    """The program of ``template`` over the patterns of one trained network.

    The network is trained at ``template.beta``, as in :func:`fit_trained`;
    a beta path then keeps its patterns at every beta (user guide,
    "Patterns from a training run").

    Parameters
    ----------
    template, n_units, rng, max_patterns
        As in :func:`fit_trained`.
    rows : ndarray of int, optional
        Train the network on these samples only (their weights rescaled to
        sum to one). The program keeps every sample, over the patterns of
        the network's gate vectors on all of them; the other samples' fits
        then do not take part in the choice of the patterns (the approximate
        leave-one-out scores of the CV estimators).

    Returns
    -------
    program : ConvexProgram
    gates : ndarray of shape (n_patterns, n_features)
        One gate vector of each pattern.
    """
    if rows is None:
        program, gates, _, _ = _trained(template, n_units, rng, max_patterns)
        return program, gates
    s = template.sample_weight[rows]
    part = dataclasses.replace(template, X=template.X[rows], Y=template.Y[rows],
                               sample_weight=s / s.sum(),
                               patterns=template.patterns[rows])
    _, gates, _, _ = _trained(part, n_units, rng, max_patterns)
    patterns, gates = unique_patterns(patterns_from_gates(template.X, gates), gates)
    return dataclasses.replace(template, patterns=patterns), gates


#: The trained units are shared among at most this many outputs: beyond,
#: each output keeps a tenth of them (see :func:`units_per_output`).
MAX_SHARING = 10


def units_per_output(n_units, n_outputs):
    """Hidden units per output of a network of ``n_units`` units: shared
    equally among the outputs, but at least ``n_units / MAX_SHARING``
    each (and at least one).

    Every output gets a block over every unit's pattern, so the program
    has about ``n_units`` patterns whatever the number of outputs (up to
    ``MAX_SHARING`` of them), as with ``n_units`` drawn gates. With
    ``n_units`` per output it grew with the square of the outputs (digits'
    ten classes: 1,000 patterns). With too few units a class cannot carve
    its region: on a ``make_classification`` table of 26 classes (5,000
    samples, 16 features; the MLP 0.692 in 9.5 s) the classifier's 50
    units scored 0.521 shared (two a class, 14.7 s), 0.635 with three,
    0.683 with four and 0.716 with five (32.0 s).
    """
    sharing = min(int(n_outputs), MAX_SHARING)
    return max(1, -(-int(n_units) // sharing))


def _trained(template, n_units, rng, max_patterns):
    """The trained network, its distinct patterns (program and gates) and
    the network written as blocks over them."""
    X, Y, loss, s = template.X, template.Y, template.loss, template.sample_weight
    net = train_networks(
        X, _on_grid(Y), loss, s, float(f"{template.beta:.{TRAINED_BETA_DIGITS}g}"),
        units_per_output(n_units, template.n_outputs), 1, rng,
        fit_intercept=template.fit_intercept, max_iter=TRAINED_MAX_ITER)[0]
    # its objective on the program's own targets and beta
    net = dataclasses.replace(net, objective=float(weight_decay_objective(
        X, Y, loss, s, template.beta, net.U, net.A, net.c)))
    pool = PatternPool(template.X)
    active, start = seed_active_set(template, pool, [net], max_patterns)
    program = dataclasses.replace(template, patterns=pool.patterns[:, active])
    return program, pool.gates[active], net, start


def _on_grid(Y):
    """``Y`` rounded to about TRAINED_TARGET_GRID times its root mean square
    (per output; labels and zeros stay as they are). The step is a power of
    two, so that the rounding is exact: a step from a root mean square
    differing in its last bit gave targets differing in theirs, and other
    networks."""
    big = np.max(np.abs(Y), axis=0, initial=0.0)
    big = np.where(big > 0, big, 1.0)
    rms = big * np.sqrt(np.mean((Y / big) ** 2, axis=0))  # no overflow at 1e200
    with np.errstate(divide="ignore"):
        step = np.exp2(np.floor(np.log2(TRAINED_TARGET_GRID * rms)))
    usable = np.isfinite(step) & (step > 0)  # (zeros, subnormal spreads: as given)
    step = np.where(usable, step, 1.0)
    return np.where(usable, np.round(Y / step) * step, Y)
