"""Cross-validation of beta: each fold's path, its held-out scores, the choice.

As ``LassoCV`` does with ``lasso_path``: each fold fits the path of
:func:`~skconvexnn.fitting.fit_path` on the program of its training part
and scores every beta on its held-out part (:func:`fold_path`); the beta of
best mean score over the folds is chosen (:func:`choose_beta`). The folds
need held-out scores, not certified optima: their fits skip the lower
bounds, and each fold's path stops once its held-out score has not improved
for ``n_no_change`` betas (user guide, "Tuning beta: the path and
cross-validation").

With ``cv=None`` the estimators score each beta of one path on all the
data by approximate leave-one-out outputs instead (:func:`loo_path`,
:mod:`skconvexnn.fitting.loo`), as :class:`~sklearn.linear_model.RidgeCV`
does.
"""

from dataclasses import replace

import numpy as np

from ..solvers import NATIVE_SOLVERS
from .loo import LOO_MIN_SAMPLES, loo_outputs
from .path import fit_path

__all__ = ["fold_path", "loo_path", "loo_applies", "loo_log_loss", "loo_accuracy",
           "choose_beta", "stalled", "rank", "PAST_BEST_DROP"]


#: A path also stops after two betas in a row without improvement when the
#: last one's score is below the best by more than this fraction of the
#: rise from the first beta's score to the best (see :func:`stalled`).
PAST_BEST_DROP = 0.02


def stalled(signed, n_no_change):
    """Whether the path is past its best score.

    ``signed`` are the held-out scores so far, greater is better (NaN counts
    as no improvement). Past the best when the last ``n_no_change`` scores
    are none better than an earlier one, or when the last two are not and
    the last is below the best by more than ``PAST_BEST_DROP`` of the rise
    from the first score (``signed[0]``, the largest beta) to the best: the
    path has turned down, not flattened. The smallest betas of a path are
    its costliest solves: on 27 tables of ``benchmarks/defaults.py`` the
    third beta without improvement took 4 to 77 % of a CV estimator's
    fit (catsup: 10.0 of 12.9 s, fishing: 27 of 51 s), and the best came
    after two betas without improvement only on Boston, where the scores
    had flattened (0.2 % of the rise below the best).
    ``n_no_change=None`` never stops.
    """
    if n_no_change is None:
        return False
    values = np.nan_to_num(np.asarray(signed, dtype=float), nan=-np.inf)
    best = int(np.argmax(values))  # the first best
    since = len(values) - 1 - best
    if since >= n_no_change:
        return True
    if since < 2:
        return False
    rise = values[best] - values[0]
    return bool(values[-1] < values[best] - PAST_BEST_DROP * rise)


def fold_path(program, betas, options, gates, score, greater_is_better=True,
              n_no_change=None):
    """Fit the path of one fold's training program; score each beta.

    Parameters
    ----------
    program : ConvexProgram
        The program of the fold's training part (its ``beta`` is not used).
    betas : ndarray of shape (n_betas,)
        Decreasing.
    options : SolverOptions
    gates : ndarray of shape (n_patterns, n_design_features)
        Gate vectors of the program's patterns.
    score : callable
        ``score(fit)``: the held-out score of a :class:`~skconvexnn.fitting.Fit`.
    greater_is_better : bool, default=True
        The direction of ``score``.
    n_no_change : int or None, default=None
        The path, from the largest beta down and warm started, stops once
        this many betas in a row have not improved on the best held-out
        score (:func:`stalled`).

    Returns
    -------
    scores, neurons : ndarray of shape (n_betas,)
        Held-out score and neurons of each fit, NaN past the beta where the
        path stopped.
    n_fitted : int
        The number of betas fitted.
    """
    return _scored_path(program, betas, options, gates, score, greater_is_better,
                        n_no_change)[:3]


def _scored_path(program, betas, options, gates, score, greater_is_better,
                 n_no_change, beta_max=None):
    """The path of :func:`fold_path` and :func:`loo_path`: ``score(fit)`` is a
    float, or None to stop the path there (unscored). Returns the scores
    and neurons padded with NaN, the number scored and their fits."""
    sign = 1.0 if greater_is_better else -1.0
    scores, neurons, fits = [], [], []

    def on_fit(fit):
        value = score(fit)
        if value is None:
            return True
        fits.append(fit)
        scores.append(value)
        neurons.append(fit.n_neurons)
        return stalled(sign * np.asarray(scores, dtype=float), n_no_change)

    # Scores only predict: no lower bounds beyond the solver's certificate.
    fit_path(program, betas, options, gates, bounds=False, on_fit=on_fit,
             beta_max=beta_max)
    n_fitted = len(scores)
    pad = np.full(len(betas) - n_fitted, np.nan)
    return (np.concatenate([np.asarray(scores, dtype=float), pad]),
            np.concatenate([np.asarray(neurons, dtype=float), pad]), n_fitted, fits)


def loo_applies(program, options):
    """Whether :func:`loo_path` can score ``program``'s path.

    The approximate leave-one-out outputs need the loss's second
    derivatives, a dense program, and solutions on their exact face, which
    the native solvers return (an interior-point solution is only near it).
    They also need more rows than design features: on wide data they are
    far off (150 x 400 regression: every network's scored worse than the
    zero network's, a mean squared error of 43,000 to 56,000 against
    31,000, where five folds gave 29,000 against 30,000 and chose the
    beta of the plain estimator), and the folds decide. So do they below
    ``LOO_MIN_SAMPLES`` samples, where a few neurons' faces leave each
    sample a leverage near one: on the 15 training samples of the
    committee table of statsmodels the leave-one-out errors grew to 100
    times the zero network's, which was chosen (test R^2 -1.35, where five
    folds gave 0.94).
    """
    probe = replace(program, beta=1.0)
    return (probe.pool is None and probe.X.shape[1] <= probe.X.shape[0]
            and probe.n_samples >= LOO_MIN_SAMPLES
            and probe.loss.hessian(np.zeros_like(probe.Y), probe.Y,
                                   probe.sample_weight) is not None
            and options.named(probe).name in NATIVE_SOLVERS)


def loo_path(program, betas, options, gates, score, greater_is_better=True,
             n_no_change=None, beta_max=None, share=None):
    """Fit the path of the whole data's program; score each beta by its
    approximate leave-one-out outputs.

    As :func:`fold_path`, with ``score(outputs)`` the score of the outputs
    (n_samples, n_outputs) of :func:`~skconvexnn.fitting.loo.loo_outputs`.
    The path also stops at a fit that has none (a face larger than
    :data:`~skconvexnn.fitting.loo.LOO_MAX_COLUMNS` columns, or a solve
    that was not native); its score is NaN. ``beta_max``: as in
    :func:`~skconvexnn.fitting.fit_path`; ``share``: as in
    :func:`~skconvexnn.fitting.loo.loo_outputs` (one sample of a row of
    repeats leaves).

    Returns
    -------
    scores, neurons : ndarray of shape (n_betas,)
    n_fitted : int
        The betas fitted and scored.
    fits : list of Fit
        Of the betas scored (warm starts of the refit).
    """
    def scored(fit):
        outputs = (loo_outputs(replace(program, beta=fit.beta), fit.solution,
                               share=share)
                   if fit.solver in NATIVE_SOLVERS else None)
        return None if outputs is None else score(outputs)

    return _scored_path(program, betas, options, gates, scored, greater_is_better,
                        n_no_change, beta_max)


# Scores of approximate leave-one-out outputs (n_samples, n_outputs) of a
# program's fit, the samples weighted as in its loss (merged repeats count
# as often as they occur): the counterparts of the folds' scores.

def loo_log_loss(outputs, program):
    """Minus the mean log-loss (the logistic loss's value)."""
    if not np.all(np.isfinite(outputs)):
        return -np.inf
    return -float(program.loss.value(outputs, program.Y, program.sample_weight))


def loo_accuracy(outputs, program):
    """The accuracy; a sample the fit interpolates counts as wrong."""
    Y = program.Y
    if Y.shape[1] == 1:  # two classes, targets 0/1 or -1/+1
        right = (outputs[:, 0] > 0) == (Y[:, 0] > (Y.max() + Y.min()) / 2)
    else:
        right = outputs.argmax(axis=1) == Y.argmax(axis=1)
    right &= np.all(np.isfinite(outputs), axis=1)
    return float(program.sample_weight @ right)


def choose_beta(betas, scores, neurons, n_fitted, greater_is_better=True):
    """The beta of best mean held-out score among those every fold reached.

    Parameters
    ----------
    betas : ndarray of shape (n_betas,)
        Decreasing.
    scores, neurons : ndarray of shape (n_betas, n_folds)
        Of :func:`fold_path`, one column per fold.
    n_fitted : ndarray of shape (n_folds,)
        Betas each fold fitted: the candidates are the first
        ``n_fitted.min()``.
    greater_is_better : bool, default=True

    Returns
    -------
    best : int
        Index in ``betas`` of the first best candidate (in the decreasing
        order, as :class:`~sklearn.model_selection.GridSearchCV` picks).
    cv_results : dict of ndarrays
        In the layout of :class:`~sklearn.model_selection.GridSearchCV`
        (scores negated when smaller is better), with ``mean_n_neurons``.
    """
    sign = 1.0 if greater_is_better else -1.0
    complete = np.arange(len(betas)) < np.min(n_fitted)
    signed = sign * scores
    mean = np.where(complete, signed.mean(axis=1), np.nan)
    best = int(np.argmax(np.where(complete, mean, -np.inf)))
    cv_results = {
        "param_beta": betas,
        **{f"split{j}_test_score": signed[:, j] for j in range(signed.shape[1])},
        "mean_test_score": mean,
        "std_test_score": np.where(complete, signed.std(axis=1), np.nan),
        "rank_test_score": rank(np.where(complete, mean, -np.inf)),
        "mean_n_neurons": np.array([
            np.nan if np.all(np.isnan(row)) else np.nanmean(row) for row in neurons]),
    }
    return best, cv_results


def rank(mean):
    """Ranks as in GridSearchCV: 1 for the best mean score, ties share the min."""
    order = np.argsort(-mean, kind="stable")
    ranks = np.empty(len(mean), dtype=np.int32)
    ranks[order] = np.arange(1, len(mean) + 1)
    for value in np.unique(mean):  # ties get the smallest rank of the group
        tied = mean == value
        ranks[tied] = ranks[tied].min()
    return ranks
