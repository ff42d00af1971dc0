"""The rules of the estimators' ``"auto"`` defaults that depend on the data's size.

``beta="auto"`` (:func:`auto_beta`); each estimator has its own base beta
and shrinkage power (:class:`~skconvexnn._base.ConvexReLUMixin`).
``arrangements="auto"`` takes the patterns of a trained network at every
size. The measurements behind them are in the user guide, "Default
parameters".
"""

__all__ = ["AUTO_BETA_SAMPLES", "AUTO_BETA_FLOOR", "AUTO_SCALED_BETA_FLOOR",
           "AUTO_SCALED_MIN_RATIO", "auto_beta"]

#: ``beta="auto"``, the estimators' default: their base beta (``_auto_beta``)
#: up to this many samples per output, then the base times
#: ``AUTO_BETA_SAMPLES / samples per output``: with more samples the
#: network can follow more of the data, and each output (a class of the
#: softmax) has its own neurons (user guide, "Default parameters")...
AUTO_BETA_SAMPLES = 1_000
#: ... down to this fraction of the base, reached at ten times
#: AUTO_BETA_SAMPLES: smaller betas make more neurons and slower solves.
AUTO_BETA_FLOOR = 0.1


def auto_beta(base, n_samples, n_outputs=1, power=1.0):
    """The beta of ``beta="auto"`` on ``n_samples`` samples and ``n_outputs``
    outputs (see AUTO_BETA_SAMPLES): the base times ``(AUTO_BETA_SAMPLES /
    samples per output) ** power`` between AUTO_BETA_FLOOR and 1."""
    per_output = n_samples / max(n_outputs, 1)
    shrink = (AUTO_BETA_SAMPLES / max(per_output, 1)) ** power
    return base * min(1.0, max(AUTO_BETA_FLOOR, shrink))


#: The regressors' ``beta="auto"`` scales the size rule's beta by the root
#: mean square of the leave-one-out residuals of a first fit at it (the
#: noise, relative to the targets' spread), down to this beta: smaller ones
#: make more neurons and slower solves (user guide, "Default parameters").
AUTO_SCALED_BETA_FLOOR = 3e-3
#: No first fit for the noise when the scaling could lower the size rule's
#: beta by less than this factor (from about 3,500 samples per output):
#: half a step of the CV grid's (three betas a decade), within which the
#: test scores did not move (star_math's 4,311 training rows: 0.118 at
#: the size rule's 3.35e-3, 0.117 at the scaled 3.21e-3), while the first
#: fit took 3.9 s of 6.5 (user guide, "Default parameters").
AUTO_SCALED_MIN_RATIO = 1.5
