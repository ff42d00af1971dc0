"""The base of the shared-unit estimator: parameters, gates, the fitted network.

:class:`CopositiveRegressorBase` holds what
:class:`~skconvexnn.CopositiveMultiOutputRegressor` needs besides choosing
and running a solver: the parameter constraints, the gates, ``predict`` and
one setter that turns a
:class:`~skconvexnn.solvers.shared_units.SharedUnitsResult` into fitted
attributes.
"""

import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from ._base import CaseInsensitiveOptions, add_ones, gate_array
from ._dask import dask_rows
from .arrangements import (
    enumerate_gates,
    patterns_from_gates,
    sample_gates,
    unique_patterns,
)
from .recovery import network_predict
from .solvers import solver_names
from .solvers.shared_units import shared_objective

__all__ = ["CopositiveRegressorBase"]

#: Fitted attributes that only some fits set: every fit first deletes them,
#: so that a refit with other settings never keeps what the previous fit left.
OPTIONAL_FITTED_ATTRIBUTES = (
    "oracle_", "objective_curve_", "relaxation_value_", "relaxation_status_",
    "factorization_exact_", "certified_", "solver_", "method_", "n_local_moves_",
)


class CopositiveRegressorBase(RegressorMixin, BaseEstimator):
    """Parameters, gates, ``predict`` and the fitted network of a shared-unit fit.

    Subclasses choose the solver; their ``fit`` calls :meth:`_clear_fitted`
    first, sets ``y_mean_`` and ``y_scale_`` (the targets the solvers see are
    ``(y - y_mean_) / y_scale_``), ``method_`` and ``_tol`` (the tolerance
    of the certificate), and ends with :meth:`_set_result`.
    """

    _parameter_constraints = {
        "beta": [Interval(Real, 0, None, closed="neither")],
        "n_arrangements": [Interval(Integral, 1, None, closed="left")],
        "arrangements": [StrOptions({"gaussian", "exhaustive", "search"}),
                         "array-like"],
        "max_patterns": [Interval(Integral, 1, None, closed="left")],
        "fit_intercept": ["boolean"],
        "solver": [CaseInsensitiveOptions(set(solver_names()))],
        "tol": [Interval(Real, 0, None, closed="neither"), None],
        "max_iter": [Interval(Integral, 1, None, closed="left"), None],
        "warm_start": ["boolean"],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "extrapolation": [StrOptions({"clip", "linear"})],
    }

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    @dask_rows
    def predict(self, X):
        """Output of the shared-unit network for ``X`` (n_samples, n_features),
        each feature clipped to its training range first with
        ``extrapolation="clip"``: shape (n_samples,) for a 1-D ``y``, else
        (n_samples, n_outputs)."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float64)
        if self.extrapolation == "clip":
            X = np.clip(X, self.data_min_, self.data_max_)
        (W1, A), (b1, c) = self.coefs_, self.intercepts_
        U = np.hstack([W1.T, b1[:, None]]) if self.fit_intercept else W1.T
        out = network_predict(add_ones(X, self.fit_intercept), U, A, c)
        return out.ravel() if self._y_1d else out

    # -- gates -------------------------------------------------------------

    def _gate_key(self):
        """Settings under which sampled gates may be reused by a warm start."""
        sampled = isinstance(self.arrangements, str) and self.arrangements != "exhaustive"
        return (self.arrangements, self.n_arrangements) if sampled else None

    def _patterns(self, X1, rng):
        """Deduplicated patterns and gates of the fixed ``arrangements``.

        A warm start reuses the previous fit's sampled gates when the
        settings and the width of ``X1`` are the same.
        """
        d1 = X1.shape[1]
        key = self._gate_key()
        if (self.warm_start and key is not None
                and getattr(self, "_gate_source", None) == (key, d1)):
            gates = self._sampled_gates
        elif isinstance(self.arrangements, str) and self.arrangements == "exhaustive":
            gates = enumerate_gates(X1, max_patterns=self.max_patterns)
        elif isinstance(self.arrangements, str):
            gates = self._sampled_gates = sample_gates(self.n_arrangements, d1, rng)
        else:
            gates = gate_array(self.arrangements, d1)
        return unique_patterns(patterns_from_gates(X1, gates), gates)

    # -- the fitted network ------------------------------------------------

    def _clear_fitted(self):
        """Delete the fitted attributes that only some fits set."""
        for name in OPTIONAL_FITTED_ATTRIBUTES:
            self.__dict__.pop(name, None)

    def _set_result(self, X1, Y, beta, res):
        """Fitted attributes of the network of ``res`` (a SharedUnitsResult).

        ``objective_`` is recomputed from the network; ``certified_`` is the
        relative test of the gap against ``_tol``. A ConvergenceWarning
        follows when it fails, unless the fit warned already (``_warned``).
        """
        U, A, c = res.U, res.A, np.asarray(res.intercept, dtype=float)
        d = X1.shape[1] - self.fit_intercept
        self.coefs_ = [U[:, :d].T.copy(), A]
        self.intercepts_ = [U[:, d].copy() if self.fit_intercept else np.zeros(len(U)),
                            c]
        self.n_neurons_ = len(U)
        self.n_outputs_ = Y.shape[1]
        self.n_iter_ = res.n_iter
        self.objective_ = float(shared_objective(X1, Y, beta, U, A, c))
        # ``Y`` is (y - y_mean_) / y_scale_: the output layer in the user's units
        self.coefs_[1] = A * self.y_scale_
        self.intercepts_[1] = c * self.y_scale_ + self.y_mean_
        self.lower_bound_ = float(res.lower_bound)
        # Every method returns a network whose neurons lie in the cones of
        # the patterns in gates_, which the bound covers: the gap is >= 0 up
        # to rounding, and certified_ is a relative test.
        self.duality_gap_ = max(self.objective_ - self.lower_bound_, 0.0)
        tiny = np.finfo(float).tiny
        self.certified_ = bool(np.isfinite(self.lower_bound_) and self.duality_gap_
                               <= self._tol * max(abs(self.objective_), tiny))
        if not self.certified_ and not self._warned:
            gap = self.duality_gap_ / max(abs(self.objective_), tiny)
            why = (" The oracle was approximate: the bound is proven but loose; "
                   "the fit stopped on its estimated gap."
                   if getattr(self, "oracle_", None) == "approximate" else "")
            warnings.warn(
                f"method={self.method_!r}: relative gap {gap:.3g} to the proven "
                f"lower bound > tol={self._tol}.{why} Increase max_iter, or use "
                "fewer features (the exact oracle needs a small rank).",
                ConvergenceWarning,
            )
        if not all(np.all(np.isfinite(a)) for a in [*self.coefs_, *self.intercepts_]) \
                or not np.isfinite(self.objective_):
            raise FloatingPointError(
                "The fitted network has non-finite weights; the solver failed. "
                "Try another solver or rescale the data."
            )
        if self.verbose:
            print(f"[{type(self).__name__}] method={self.method_} neurons="
                  f"{self.n_neurons_} objective={self.objective_:.6g} "
                  f"bound={self.lower_bound_:.6g} certified={self.certified_}")
