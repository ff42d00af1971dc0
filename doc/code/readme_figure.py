"""Make the README's figure (doc/_static/readme_1d_regression.png).

Runs the gallery example plot_1d_regression.py and saves its figure at the
size the example draws it (9 x 7 inches, 14-point text, legend below the
axes), 100 dots per inch, so that the text stays readable on a projector:

    python doc/code/readme_figure.py
"""

import runpy
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
runpy.run_path(str(ROOT / "examples" / "plot_1d_regression.py"), run_name="__main__")
fig = plt.gcf()
out = ROOT / "doc" / "_static" / "readme_1d_regression.png"
fig.savefig(out, dpi=100)
print(f"wrote {out} ({out.stat().st_size / 1024:.0f} kB)")
