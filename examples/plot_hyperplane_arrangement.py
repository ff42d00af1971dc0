"""
=============================
The hyperplane arrangement
=============================

The convex program of a ReLU network has one block of variables per
*activation pattern*: the set of training points a neuron switches on. This
example draws those patterns for ten points in the plane, counts them
against Cover's bound, shows which of them the optimal network uses, and
compares listing them all (``arrangements="exhaustive"``) with drawing
random gates (``arrangements="gaussian"``).

A neuron :math:`(x^\\top w + b)_+` is on at the points on one side of its
line :math:`x^\\top w + b = 0`. Its pattern depends only on the direction of
:math:`(w, b)`, which we write as the angle :math:`\\varphi` of the normal
:math:`w` and the signed offset :math:`t = -b / \\|w\\|` of the line: the
neuron is on at :math:`x_j` when :math:`x_j^\\top (\\cos\\varphi,
\\sin\\varphi) \\ge t`. So in the :math:`(\\varphi, t)` plane each data point
draws the curve :math:`t = x_j^\\top (\\cos\\varphi, \\sin\\varphi)`, a
sinusoid, and crossing it flips that point's bit. The sinusoids cut the
plane into **cells**, one per pattern: this is the hyperplane arrangement of
the data, :math:`\\{\\tilde u : \\tilde x_j^\\top \\tilde u = 0\\}` with
:math:`\\tilde x_j = (x_j, 1)`, drawn in coordinates a student can read.
"""

# %%
# Ten points and the network that fits them best
# ----------------------------------------------
# The target is :math:`|x_1 - x_2|` plus a little noise: two ReLUs,
# :math:`(x_1 - x_2)_+ + (x_2 - x_1)_+`, whose lines are the diagonal. With
# every pattern of the data (``arrangements="exhaustive"``) the convex fit is
# the global optimum of the weight-decay problem.
import matplotlib.pyplot as plt
import numpy as np

from skconvexnn import ConvexReLURegressor
from skconvexnn.arrangements import (
    enumerate_gates,
    max_pattern_count,
    patterns_from_gates,
    sample_gates,
    unique_patterns,
)

plt.rcParams.update({"font.size": 14})

rng = np.random.default_rng(1)
n = 10
X = rng.uniform(-1, 1, (n, 2))
y = np.abs(X[:, 0] - X[:, 1]) + 0.05 * rng.standard_normal(n)
X1 = np.hstack([X, np.ones((n, 1))])  # the design matrix: a ones column for b

gates = enumerate_gates(X1)  # one gate vector per nonempty pattern
print(f"{len(gates)} nonempty patterns (Cover's count for n={n} points in the "
      f"plane: {max_pattern_count(n, 3)}, the empty one included)")

net = ConvexReLURegressor(beta=3e-3, arrangements="exhaustive").fit(X, y)
print(f"optimal network: {net.n_neurons_} neurons, objective {net.objective_:.5f}, "
      f"lower bound {net.lower_bound_:.5f}")

# %%
# The neurons in :math:`(\varphi, t)` coordinates. A neuron whose line passes
# through a data point sits *on* that point's sinusoid: its output there is
# zero, so it belongs to both neighbouring cells, and the convex program may
# split it into two blocks of the same direction. We merge such twins.
W1, b1 = net.coefs_[0], net.intercepts_[0]
a = net.coefs_[1].ravel()
phi_neuron = np.arctan2(W1[1], W1[0])
t_neuron = -b1 / np.linalg.norm(W1, axis=0)
direction = np.c_[W1.T, b1] / np.linalg.norm(np.c_[W1.T, b1], axis=1)[:, None]
neurons = []  # (phi, t, sign of a, how many twins)
for j in np.argsort(-np.abs(a)):
    for k, (p, t, s, count) in enumerate(neurons):
        if np.sign(a[j]) == s and abs(np.cos(p - phi_neuron[j]) - 1) < 1e-6 \
                and abs(t - t_neuron[j]) < 1e-4:
            neurons[k] = (p, t, s, count + 1)
            break
    else:
        neurons.append((phi_neuron[j], t_neuron[j], np.sign(a[j]), 1))
for k, (p, t, s, count) in enumerate(neurons, 1):
    print(f"neuron {k}: angle {np.degrees(p):6.1f} deg, offset {t:+.3f}, "
          f"output weight {'positive' if s > 0 else 'negative'}"
          + (f" ({count} blocks)" if count > 1 else ""))

# %%
# The cells, one colour per pattern
# ---------------------------------
# Top: every pixel of the :math:`(\varphi, t)` plane is coloured by the
# pattern of its neuron (a random colour per pattern), with the ten
# sinusoids in black. Above all sinusoids the neuron is off everywhere (the
# empty pattern, which the program leaves out); below them it is on
# everywhere. The point :math:`(\varphi + 180°, -t)` is the same line with
# the other side switched on, the complementary pattern. The stars are the
# optimal network's neurons. Below: the same neurons as lines in the data
# plane, the arrow pointing to the side where the neuron is on.
R = 1.15 * np.linalg.norm(X, axis=1).max()
phi = np.linspace(-np.pi, np.pi, 721)
t = np.linspace(-R, R, 481)
sinusoids = np.c_[np.cos(phi), np.sin(phi)] @ X.T  # (angles, points)


def cell_ids(mask):
    """An integer per pixel naming its pattern (rows of mask: the bits)."""
    keys = np.packbits(mask, axis=-1).reshape(-1, (n + 7) // 8)
    _, ids = np.unique(keys, axis=0, return_inverse=True)
    return ids.reshape(mask.shape[:-1])


on = sinusoids[None, :, :] >= t[:, None, None]  # (offsets, angles, points)
ids = cell_ids(on)
palette = np.random.default_rng(3).uniform(0.45, 0.95, (ids.max() + 1, 3))
colors = ["tab:red", "tab:blue", "tab:purple", "tab:brown", "tab:olive"]


def draw_cells(ax, image):
    ax.imshow(image, origin="lower", extent=[-180, 180, -R, R], aspect="auto",
              interpolation="nearest")
    ax.plot(np.degrees(phi), sinusoids, color="black", lw=1)
    ax.set_xlim(-180, 180)
    ax.set_ylim(-R, R)
    ax.set_xticks([-180, -90, 0, 90, 180])
    ax.set_xlabel(r"angle $\varphi$ of the normal $w$ (degrees)")
    ax.set_ylabel(r"offset $t = -b/\|w\|$")


fig = plt.figure(figsize=(9, 10.5))
layout = fig.add_gridspec(2, 2, height_ratios=[1, 1.05], width_ratios=[1.15, 1])
ax = fig.add_subplot(layout[0, :])
ax_data = fig.add_subplot(layout[1, 0])
ax_key = fig.add_subplot(layout[1, 1])
draw_cells(ax, palette[ids])
ax.text(0, 0.93 * R, "all off (empty pattern)", ha="center", va="top",
        bbox={"fc": "white", "ec": "none", "alpha": 0.8})
ax.text(0, -0.93 * R, "all on", ha="center", va="bottom",
        bbox={"fc": "white", "ec": "none", "alpha": 0.8})
for k, (p, off, s, count) in enumerate(neurons):
    ax.plot(np.degrees(p), off, "*", ms=22, color=colors[k], mec="black", mew=1.2)
    ax.annotate(str(k + 1), (np.degrees(p), off), xytext=(10, 6),
                textcoords="offset points", fontsize=16, fontweight="bold")
ax.set_title(f"{len(gates) + 1} cells = {len(gates) + 1} patterns")

box = np.array([-1.1, 1.1])
ax_data.scatter(X[:, 0], X[:, 1], s=60, color="black", zorder=3)
for k, (p, off, s, count) in enumerate(neurons):
    normal = np.array([np.cos(p), np.sin(p)])
    foot = off * normal  # the point of the line closest to the origin
    along = np.array([-normal[1], normal[0]])
    ends = foot + np.outer([-3, 3], along)
    ax_data.plot(ends[:, 0], ends[:, 1], color=colors[k], lw=3)
    # the arrow at the point of the line farthest from the data, the label
    # at its head, on the side where the neuron is on
    candidates = foot + np.outer(np.linspace(-1.4, 1.4, 57), along)
    candidates = candidates[np.all(np.abs(candidates) < 0.8, axis=1)]
    distance = np.linalg.norm(candidates[:, None] - X[None], axis=2).min(axis=1)
    tail = candidates[np.argmax(distance)]
    head = tail + 0.28 * normal
    ax_data.annotate("", xy=head, xytext=tail,
                     arrowprops={"arrowstyle": "-|>", "color": colors[k], "lw": 2.5,
                                 "mutation_scale": 20})
    ax_data.text(*(head + 0.13 * normal), str(k + 1), color=colors[k], fontsize=16,
                 fontweight="bold", ha="center", va="center")
ax_data.set_xlim(*box)
ax_data.set_ylim(*box)
ax_data.set_aspect("equal")
ax_data.set_xlabel("$x_1$")
ax_data.set_ylabel("$x_2$")
ax_data.set_title("the neurons' lines")
ax_key.axis("off")
ax_key.legend(
    [plt.Line2D([], [], ls="", marker="*", ms=20, color="white", mec="black"),
     plt.Line2D([], [], color="black", lw=1),
     plt.Line2D([], [], ls="", marker="o", ms=8, color="black"),
     plt.Line2D([], [], color="gray", lw=3),
     plt.Line2D([], [], ls="", marker=r"$\rightarrow$", ms=20, color="gray")],
    ["a neuron of the optimal\nnetwork, at its cell",
     "sinusoid of a data point:\ncrossing it flips its bit",
     "a data point", "a neuron's line", "the side where it is on"],
    loc="center", frameon=False, labelspacing=1.2)
fig.tight_layout()

# %%
# The optimal neurons sit on the corners and edges of cells: their lines
# pass through data points. Neurons 1 and 2 are (close to) the two ReLUs of
# :math:`|x_1 - x_2|`, one the other turned by 180 degrees. A network can
# use any cell; the convex program has one block for each, and weight decay
# (a group lasso over the blocks) keeps only a few.
#
# How many patterns? Cover's count and the papers' bound
# ------------------------------------------------------
# With :math:`r = \operatorname{rank}(\tilde X)`, the number of cells is at
# most Cover's count :math:`2\sum_{k<r}\binom{n-1}{k}` (exactly that for
# points in general position), below the bound
# :math:`2r\,(e(n-1)/r)^r` of the papers. For data in the plane
# (:math:`r = 3`) that is :math:`n^2 - n + 2`: polynomial in :math:`n`, not
# :math:`2^n`. On a line (:math:`r = 2`) it is :math:`2n`. We enumerate the
# patterns of random data sets of growing size and count them (adding the
# empty pattern, which the enumeration leaves out).
sizes = [3, 5, 8, 12, 20, 30, 45, 60]
counts = {2: [], 3: []}
for m in sizes:
    points = np.random.default_rng(m).uniform(-1, 1, (m, 2))
    for r, design in ((3, np.c_[points, np.ones(m)]), (2, np.c_[points[:, :1], np.ones(m)])):
        counts[r].append(len(enumerate_gates(design)) + 1)


def papers_bound(m, r):
    return 2 * r * (np.e * (m - 1) / r) ** r


grid = np.arange(3, 61)
fig, ax = plt.subplots(figsize=(9, 6))
for r, color, where in ((3, "tab:blue", "plane"), (2, "tab:green", "line")):
    ax.plot(grid, [max_pattern_count(m, r) for m in grid], color=color, lw=2.5)
    ax.plot(grid, papers_bound(grid, r), color=color, ls="--", lw=2.5)
    ax.plot(sizes, counts[r], "o", ms=11, mfc="white", mec=color, mew=2.5)
    ax.text(66, max_pattern_count(60, r), f"points on a {where}\n($r = {r}$)",
            color=color, va="center")
    ax.text(66, papers_bound(60, r), f"bound, $r = {r}$", color=color, va="center")
ax.plot(grid, 2.0**grid, color="gray", ls=":", lw=2.5)
ax.text(15.5, 1e5, "$2^n$: every subset", color="gray", ha="right", va="center")
# a legend of line styles only; the colours are labelled on the curves
styles = [plt.Line2D([], [], color="black", lw=2.5),
          plt.Line2D([], [], color="black", lw=2.5, ls="--"),
          plt.Line2D([], [], ls="", marker="o", ms=11, mfc="white", mec="black", mew=2.5)]
ax.legend(styles, ["Cover's count", r"bound $2r(e(n-1)/r)^r$", "enumerated"],
          loc="lower right")
ax.set_xscale("log")
ax.set_yscale("log")
ax.set_xticks([3, 5, 10, 20, 30, 60], ["3", "5", "10", "20", "30", "60"])
ax.minorticks_off()
ax.set_xlim(2.7, 60)
ax.set_ylim(1, 3e6)
ax.set_xlabel("number of points $n$")
ax.set_ylabel("number of patterns")
ax.set_title("Patterns grow polynomially in $n$")
fig.tight_layout()
print("enumerated counts, plane:", counts[3], "line:", counts[2])

# %%
# The enumerated counts lie on Cover's curve: random points are in general
# position. The papers' bound is looser (it grows like :math:`n^r` rather
# than :math:`n^{r-1}`) but makes the same point: for data of low rank the
# convex program is of polynomial size. The rank is what hurts: ten features
# and a bias give :math:`r = 11` and :math:`n^{10}` patterns.
#
# Exhaustive enumeration versus sampling
# --------------------------------------
# ``arrangements="gaussian"`` draws gate vectors :math:`g \sim N(0, I)` and
# keeps their distinct patterns :math:`1[\tilde X g \ge 0]`. A gate lands in
# a cell with probability proportional to the cell's solid angle on the
# sphere of directions, so the big cells are found at once and the small
# ones late. Many gates land in the all-on and all-off cells (their line
# misses the data).
draws = np.unique(np.logspace(0, 3.5, 30).astype(int))
found = np.empty((5, len(draws)))
for seed in range(5):
    pool = sample_gates(draws[-1], 3, random_state=seed)
    for i, m in enumerate(draws):
        found[seed, i] = unique_patterns(patterns_from_gates(X1, pool[:m]), pool[:m])[1].shape[0]

m_show = 30
sampled = sample_gates(m_show, 3, random_state=0)
kept = unique_patterns(patterns_from_gates(X1, sampled), sampled)[1]
keys_kept = {bytes(np.packbits(col.astype(bool))) for col in patterns_from_gates(X1, kept).T}
print(f"{m_show} Gaussian gates give {len(kept)} of the {len(gates)} nonempty patterns")

# Which neurons of the optimal network could the sampled patterns hold? A
# pattern holds neuron u when it is on where u is on and off where u is off
# (points on the neuron's line may go either way).
kept_patterns = patterns_from_gates(X1, kept).astype(bool)
for k, (p, off, s, count) in enumerate(neurons, 1):
    pre = X1 @ np.array([np.cos(p), np.sin(p), -off])
    fits = (kept_patterns[pre > 1e-6].all(axis=0)
            & ~kept_patterns[pre < -1e-6].any(axis=0))
    print(f"neuron {k}: {'in' if fits.any() else 'not in'} a sampled pattern")

pixel_keys = np.packbits(on, axis=-1).reshape(-1, (n + 7) // 8)
hit = np.array([bytes(k) in keys_kept for k in pixel_keys]).reshape(ids.shape)
image = np.where(hit[..., None], palette[ids], 1.0)
off_picture = int(np.sum(np.abs(-sampled[:, 2] / np.linalg.norm(sampled[:, :2], axis=1)) >= R))
print(f"{off_picture} of the {m_show} gates fall in the all-on or all-off cell")

fig, (ax0, ax1) = plt.subplots(2, 1, figsize=(9, 10))
ax0.plot(draws, found.T, color="tab:blue", alpha=0.4, lw=1)
ax0.plot(draws, found.mean(axis=0), "o-", color="tab:blue", lw=2, ms=6,
         label="sampled (5 seeds)")
ax0.axhline(len(gates), color="black", ls="--", lw=2, label="exhaustive")
ax0.axvline(m_show, color="gray", ls=":", lw=2)
ax0.text(m_show * 1.15, 80, f"{m_show} gates:\nthe map below", color="gray", va="top")
ax0.set_xscale("log")
ax0.set_xlabel("Gaussian gates drawn")
ax0.set_ylabel("distinct nonempty patterns")
ax0.set_title("The big cells come first")
ax0.legend(loc="upper left", bbox_to_anchor=(0, 0.92))

draw_cells(ax1, image)
gate_phi = np.degrees(np.arctan2(sampled[:, 1], sampled[:, 0]))
gate_t = -sampled[:, 2] / np.linalg.norm(sampled[:, :2], axis=1)
inside = np.abs(gate_t) < R
ax1.plot(gate_phi[inside], gate_t[inside], "o", ms=7, color="black", mfc="white")
for k, (p, off, s, count) in enumerate(neurons):
    ax1.plot(np.degrees(p), off, "*", ms=22, color=colors[k], mec="black", mew=1.2)
ax1.text(0, 0.93 * R, "all off (not in the program)", ha="center", va="top")
ax1.set_title(f"{m_show} gates: {len(kept)} patterns (white: missed)")
fig.tight_layout()
plt.show()

# %%
# Six of the 30 gates fell in the all-on or all-off cell: their lines miss
# the data. The others found 18 patterns, several of them landing in the
# same big cells, and neuron 1 of the optimal network is in a cell they
# missed: no fit on these 30 gates can have that neuron. Even 3000 gates
# miss about 15 of the 91 patterns, the thin slivers between nearly parallel
# sinusoids. That is why the sampled fit of
# :ref:`sphx_glr_auto_examples_plot_exhaustive_vs_sampled.py` approaches the
# global optimum only slowly, and why ``arrangements="search"`` asks the
# dual which patterns are missing
# (:ref:`sphx_glr_auto_examples_plot_certificate_seen.py`).
