"""Run every gallery example, so that the examples cannot rot or grow slow.

Each ``examples/plot_*.py`` runs in-process with the non-interactive Agg
backend, as sphinx-gallery runs it when the docs are built, and must make a
figure and finish within ``TIME_LIMIT`` seconds. The solutions of the
lecture's exercises (``doc/code/lecture_exercise_*.py``, shown on
``doc/lecture.rst``) run too, within the same limit.

How the time is measured:

* **CPU time** (:func:`time.process_time`, the CPU seconds of this process),
  not wall time. On a machine shared with other jobs the wall time of the
  same example was measured at twice its CPU time, so a wall-clock limit
  would fail examples spuriously whenever the machine is busy; CPU time is
  what the example itself costs.
* **With one thread** for BLAS and OpenMP (``threadpool_limits(1)``).
  CPU time adds up the seconds of every thread, and idle BLAS threads
  spin: on a busy two-core machine, ``plot_convex_floor.py`` (many small
  MLP fits) counted 16 and 54 CPU seconds in two runs with two BLAS
  threads, and 6.4 in both runs with one. Single threaded, the CPU time is
  close to the example's wall time on an idle core, and the same from one
  run to the next.

The examples and exercises together take about a minute and a half, so
they stay in the default test run; keep new ones short (the whole default
run must stay within the ten minutes of CI).
"""

import runpy
import time
import warnings
from pathlib import Path

import pytest

# The libraries whose thread pools the examples use, loaded before the
# thread limit is set (threadpoolctl limits the pools loaded at that time).
import scipy.linalg
import scipy.optimize  # noqa: F401
import sklearn.ensemble
import sklearn.neural_network  # noqa: F401
from threadpoolctl import threadpool_limits

import skconvexnn  # noqa: F401

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

#: CPU seconds an example may take (time.process_time).
TIME_LIMIT = 60.0

ROOT = Path(__file__).parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("plot_*.py"))
EXERCISES = sorted((ROOT / "doc" / "code").glob("lecture_exercise_*.py"))


def test_examples_found():
    assert len(EXAMPLES) >= 4


def run_timed(path):
    """Run a script as ``__main__``; its CPU seconds, single-threaded."""
    # rc_context: an example's rcParams (font sizes) do not leak into the
    # next one, as sphinx-gallery resets them between examples.
    with warnings.catch_warnings(), matplotlib.rc_context(), \
            threadpool_limits(limits=1):
        # plt.show() under Agg warns that it cannot show anything.
        warnings.filterwarnings("ignore", message=".*non-interactive.*")
        start = time.process_time()
        runpy.run_path(str(path), run_name="__main__")
        return time.process_time() - start


def check_time(path, seconds):
    assert seconds <= TIME_LIMIT, (
        f"{path.name} took {seconds:.1f} s of CPU time, more than the "
        f"{TIME_LIMIT:.0f} s an example may take; make it faster (smaller "
        "data, fewer restarts or patterns)."
    )


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_runs(path, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    try:
        seconds = run_timed(path)
        assert plt.get_fignums(), f"{path.name} made no figure"
    finally:
        plt.close("all")
    check_time(path, seconds)


def test_exercises_found():
    assert len(EXERCISES) == 3


@pytest.mark.parametrize("path", EXERCISES, ids=lambda p: p.name)
def test_lecture_exercise_runs(path, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    try:
        seconds = run_timed(path)
    finally:
        plt.close("all")
    assert capsys.readouterr().out, f"{path.name} printed nothing"
    check_time(path, seconds)
