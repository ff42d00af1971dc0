"""Make the README's figure (doc/_static/readme_1d_regression.png).

Runs the gallery example plot_1d_regression.py and saves its figure small:

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
fig.set_size_inches(6.4, 4.0)
fig.tight_layout()
out = ROOT / "doc" / "_static" / "readme_1d_regression.png"
fig.savefig(out, dpi=80)
print(f"wrote {out} ({out.stat().st_size / 1024:.0f} kB)")
