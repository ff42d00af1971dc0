"""Run every gallery example, so that the examples cannot rot.

Each ``examples/plot_*.py`` runs in-process with the non-interactive Agg
backend, as sphinx-gallery runs it when the docs are built. All four take
about a minute together, so they stay in the default test run.
"""

import runpy
import warnings
from pathlib import Path

import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

EXAMPLES = sorted((Path(__file__).parents[1] / "examples").glob("plot_*.py"))


def test_examples_found():
    assert len(EXAMPLES) >= 4


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_runs(path, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    try:
        with warnings.catch_warnings():
            # plt.show() under Agg warns that it cannot show anything.
            warnings.filterwarnings("ignore", message=".*non-interactive.*")
            runpy.run_path(str(path), run_name="__main__")
        assert plt.get_fignums(), f"{path.name} made no figure"
    finally:
        plt.close("all")
