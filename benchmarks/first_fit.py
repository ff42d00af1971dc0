"""The regressors' first fit of ``beta="auto"``, timed alone.

``ConvexReLURegressor(beta="auto")`` scales the size rule's beta by the
noise of a first fit, the gated program at that beta (user guide,
"Default parameters"). This times that first fit
(``ConvexReLURegressor._noise_scaled_beta``) on the training part of
split seed 0 of each dataset of ``benchmarks/defaults.py``, features
standardized: the fastest of ``--repeats`` runs, CPU seconds of this
process, and the beta it gives.

Run: ``OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 python
benchmarks/first_fit.py [--datasets diabetes,star98,...] [--repeats 3]``.
To compare two versions, run it through ``PYTHONPATH`` for each, one after
the other, alternating.
"""

import argparse
import os
import sys
import time
import warnings

from sklearn.preprocessing import StandardScaler

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from defaults import split_dataset  # noqa: E402

from skconvexnn import ConvexReLURegressor  # noqa: E402

DATASETS = ["diabetes", "star98", "friedman1_300", "friedman1_700", "friedman2_700",
            "friedman3_700", "linear_700", "wages"]


def first_fit(dataset, repeats):
    """The fastest CPU seconds of the first fit on ``dataset``, and its beta."""
    X, _, y, _, task = split_dataset(dataset, 0)
    if task != "reg":
        raise ValueError(f"{dataset} is not a regression")
    X = StandardScaler().fit_transform(X)
    est = ConvexReLURegressor(random_state=0)
    X, Y, _ = est._training_data(X, y, None)
    times = []
    for _ in range(repeats):
        start = time.process_time()
        beta = est._noise_scaled_beta(X, y, Y, None)
        times.append(time.process_time() - start)
    return min(times), beta


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    print(f"{'dataset':<16}{'CPU s':>8}  beta", flush=True)
    for dataset in args.datasets.split(","):
        seconds, beta = first_fit(dataset, args.repeats)
        print(f"{dataset:<16}{seconds:>8.3f}  {beta:.10g}", flush=True)


if __name__ == "__main__":
    main()
