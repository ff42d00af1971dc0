"""
=========================
The certificate, seen
=========================

Every fit of skconvexnn reports a lower bound, ``lower_bound_``, proven by a
point of the dual of its convex program. This example draws that dual
point's constraint, the object behind the certificate.

For the squared loss the dual point is the residual divided by the number
of samples, :math:`\\lambda = (y - f(X)) / n`. It certifies optimality over
*every* network when, for every neuron direction :math:`u` with
:math:`\\|u\\| = 1`,

.. math::

    -\\beta \\;\\le\\; \\lambda^\\top (\\tilde X u)_+ \\;\\le\\; \\beta ,

where :math:`\\tilde X = [X, \\mathbf 1]` holds the ones column of the
hidden biases, as the estimators build it. Read it as: no new neuron
pointing in direction :math:`u`, added with a small output weight, lowers
the objective, because the loss it would remove (:math:`\\lambda^\\top`
times its output) is smaller than the weight decay it costs
(:math:`\\beta` per unit of :math:`\\|u\\|\\,|a|`). Directions that are
already neurons sit exactly on :math:`\\pm\\beta`.

With one feature, :math:`\\tilde x_j = (x_j, 1)` lies in the plane, so the
directions form a circle, :math:`u = (\\cos\\theta, \\sin\\theta)`, and the
constraint is a curve over the angle :math:`\\theta`. (Two features with
a bias would make :math:`u` a point of a sphere, and the curve a surface.)
The neuron of direction :math:`u` is :math:`(x\\cos\\theta +
\\sin\\theta)_+`: its kink is at :math:`x = -\\tan\\theta`, and it is on to
the right of the kink when :math:`\\cos\\theta > 0`, to the left otherwise.
"""

# %%
# The optimal network and its dual point
# --------------------------------------
# The data of :ref:`sphx_glr_auto_examples_plot_1d_regression.py`. We
# standardize ``y`` ourselves, so that the regressor's own target scaling
# (user guide, "Target scaling") changes nothing and its ``beta`` is the
# ``beta`` of the formula above.
import matplotlib.pyplot as plt
import numpy as np

from skconvexnn import ConvexReLURegressor

plt.rcParams.update({"font.size": 14})

rng = np.random.default_rng(0)
n = 20
X = np.sort(rng.uniform(-2, 2, n)).reshape(-1, 1)
y = np.sin(2 * X.ravel()) + 0.15 * rng.standard_normal(n)
y = (y - y.mean()) / y.std()
X1 = np.hstack([X, np.ones((n, 1))])
beta = 2e-2

# (extrapolation="linear": the fit is drawn as the network itself beyond the
# data too; by default predict clips each feature to its training range)
best = ConvexReLURegressor(beta=beta, arrangements="exhaustive",
                           extrapolation="linear").fit(X, y)
print(f"global optimum {best.objective_:.6f}, lower bound {best.lower_bound_:.6f}, "
      f"{best.n_neurons_} neurons")

theta = np.linspace(-np.pi, np.pi, 3601)
directions = np.c_[np.cos(theta), np.sin(theta)]
relu_features = np.maximum(X1 @ directions.T, 0)  # (X1 u)_+ for every angle
# The cells of the arrangement are arcs of the circle; they end where a
# direction is orthogonal to some row (x_j, 1), at -atan(x_j) and 180 deg on.
boundaries = np.degrees(np.r_[-np.arctan(X.ravel()), -np.arctan(X.ravel()) + np.pi])
boundaries = np.sort((boundaries + 180) % 360 - 180)


def constraint(model):
    """lambda^T (X1 u)_+ at every angle, for the fitted model's dual point."""
    lam = (y - model.predict(X)) / n
    return lam @ relu_features


def neurons_of(model):
    """Angle, knot and output weight of each neuron, twins merged.

    A neuron whose kink sits on a data point belongs to the two cells that
    meet there; the program may split it into two blocks of the same
    direction, which are one neuron.
    """
    w, b = model.coefs_[0].ravel(), model.intercepts_[0]
    a = model.coefs_[1].ravel()
    angle = np.degrees(np.arctan2(b, w))
    merged = []
    for j in np.argsort(angle):
        if merged and abs(angle[j] - merged[-1][0]) < 1e-3 \
                and np.sign(a[j]) == np.sign(merged[-1][2]):
            merged[-1][2] += a[j] * np.hypot(w[j], b[j])
            continue
        merged.append([angle[j], -b[j] / w[j], a[j] * np.hypot(w[j], b[j])])
    return np.array(merged)


neurons = neurons_of(best)
curve = constraint(best)
print(f"largest |lambda^T (X1 u)_+| / beta over the circle: "
      f"{np.abs(curve).max() / beta:.5f}")
for angle, knot, weight in neurons:
    u = np.array([np.cos(np.radians(angle)), np.sin(np.radians(angle))])
    value = (y - best.predict(X)) / n @ np.maximum(X1 @ u, 0)
    print(f"neuron at {angle:7.2f} deg (knot x = {knot:+.3f}, output weight "
          f"{weight:+.3f}): lambda^T (X1 u)_+ = {value / beta:+.5f} beta")


# %%
# The curve touches beta at the neurons
# -------------------------------------
# Top: the fit, each neuron drawn at its knot as the half disc on the side
# where it is on. Bottom: the dual constraint over the circle of directions,
# in units of :math:`\beta`; the ticks at the bottom cut the circle into the
# arcs of the arrangement's cells (each arc is one activation pattern). The
# curve
# stays inside the band :math:`[-\beta, \beta]` everywhere: that is the
# certificate that no network of any width does better. Where it touches
# :math:`+\beta` sits a neuron with a positive output weight, where it
# touches :math:`-\beta` one with a negative weight, and only there.
colors = plt.cm.tab10(np.arange(len(neurons)) % 10)


def draw_constraint(ax, values, active_gates=None, added=None):
    """The curve over the angle and the band; the program's cells in blue.

    Ticks at the bottom mark the ends of the cells (each arc between two
    ticks is one activation pattern).
    """
    edges = np.r_[-180, boundaries, 180]
    if active_gates is not None:
        for left, right in zip(edges[:-1], edges[1:]):
            middle = np.radians((left + right) / 2)
            pattern = X1 @ [np.cos(middle), np.sin(middle)] >= 0
            if any(np.array_equal(pattern, X1 @ g >= 0) for g in active_gates):
                ax.axvspan(left, right, color="tab:blue", alpha=0.3, lw=0)
    if added is not None:
        ax.axvspan(*added, facecolor="none", edgecolor="tab:orange", hatch="//",
                   lw=2)
    ax.axhline(1, color="black", ls="--", lw=1.5)
    ax.axhline(-1, color="black", ls="--", lw=1.5)
    outside = np.abs(values) > beta * (1 + 1e-3)
    ax.plot(np.degrees(theta), values / beta, color="black", lw=2)
    ax.plot(np.degrees(theta), np.where(outside, values / beta, np.nan),
            color="tab:red", lw=4)
    ax.plot(boundaries, np.zeros_like(boundaries), "|", color="0.3", ms=12,
            transform=ax.get_xaxis_transform())
    ax.set_xlim(-180, 180)
    ax.set_xticks([-180, -90, 0, 90, 180])


fig, (ax_fit, ax) = plt.subplots(2, 1, figsize=(9.5, 9),
                                 gridspec_kw={"height_ratios": [1, 1.15]})
grid = np.linspace(-2.2, 2.2, 400).reshape(-1, 1)
ax_fit.scatter(X, y, color="0.4", s=40, zorder=2, label="data")
ax_fit.plot(grid, best.predict(grid), color="black", lw=2.5, label="optimal fit")
# Two neurons may share a knot (one on to its left, one on to its right):
# each is drawn as the half disc on the side where it is on.
for color, (angle, knot, weight) in zip(colors, neurons):
    if abs(knot) < 2.2:
        side = "right" if np.cos(np.radians(angle)) > 0 else "left"
        ax_fit.plot(knot, best.predict([[knot]])[0], "o", ms=20, color=color,
                    fillstyle=side, markerfacecoloralt="none", mec="black",
                    zorder=3)
ax_fit.set_xlim(-2.2, 2.2)
ax_fit.set_xlabel("x")
ax_fit.set_ylabel("y (standardized)")
ax_fit.set_title(f"The optimal fit: {len(neurons)} neurons, drawn at their knots")
ax_fit.legend(loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)

draw_constraint(ax, curve)
for color, (angle, knot, weight) in zip(colors, neurons):
    ax.plot(angle, np.sign(weight), "o", ms=14, color=color, mec="black", zorder=3)
ax.text(0, -1.55, "neurons on to the right of their kink", ha="center",
        va="center", fontsize=13)
ax.text(-135, -1.55, "on to the left", ha="center", va="center", fontsize=13)
ax.text(135, -1.55, "on to the left", ha="center", va="center", fontsize=13)
ax.axvline(-90, color="gray", lw=1)
ax.axvline(90, color="gray", lw=1)
ax.set_ylim(-1.8, 1.5)
ax.set_yticks([-1, 0, 1], [r"$-\beta$", "0", r"$+\beta$"])
ax.set_xlabel(r"direction $\theta$ of the neuron (degrees)")
ax.set_ylabel(r"$\lambda^\top (\tilde X u)_+$")
ax.set_title("Dual constraint over the circle of directions")
fig.tight_layout()

# %%
# Before the search adds a pattern
# --------------------------------
# Now fit the program on a single pattern, that of the gate vector
# :math:`(1, 0)`: the points with :math:`x \ge 0` (``arrangements=`` given
# as an array of gate vectors). The program is solved exactly
# over *its* patterns, so on their arcs (blue) the curve stays inside the
# band. Elsewhere it leaves the band (red): each red stretch is a pattern
# missing from the program, along which a new neuron would lower the
# objective. A cutting-plane step adds the pattern of the highest point
# (hatched arc) and solves again; ``arrangements="search"`` does the same
# in any dimension, finding the high points by local ascent. On the circle
# we can check every direction, so when the curve is back inside the band
# the fit is the global optimum.
gates = np.array([[1.0, 0.0]])  # the neuron (x)_+: on where x >= 0
rounds = []
for step in range(10):
    fit = ConvexReLURegressor(beta=beta, arrangements=gates).fit(X, y)
    values = constraint(fit)
    peak = np.argmax(np.abs(values))
    edges = np.r_[-180, boundaries, 180]
    i = np.searchsorted(edges, np.degrees(theta[peak]))
    rounds.append((fit, values, gates.copy(), (edges[i - 1], edges[i])))
    print(f"round {step}: {len(fit.gates_)} patterns, objective {fit.objective_:.6f}, "
          f"largest |lambda^T (X1 u)_+| = {np.abs(values).max() / beta:.3f} beta")
    if np.abs(values).max() <= beta * (1 + 1e-3):
        break
    gates = np.vstack([gates, directions[peak]])

fig, axes = plt.subplots(2, 2, figsize=(10, 8.5), sharex=True)
shown = [0, 1, len(rounds) - 2, len(rounds) - 1] if len(rounds) > 4 else range(len(rounds))
for ax, k in zip(axes.ravel(), shown):
    fit, values, active, cell = rounds[k]
    last = k == len(rounds) - 1
    draw_constraint(ax, values, active_gates=active, added=None if last else cell)
    top = np.abs(values).max() / beta
    plural = "s" if len(fit.gates_) > 1 else ""
    ax.set_title(f"round {k}: {len(fit.gates_)} pattern{plural}, objective "
                 f"{fit.objective_:.4f}\nlargest value {top:.2f} " + r"$\beta$",
                 fontsize=14)
    ax.set_ylim(-1.15 * max(top, 1.2), 1.15 * max(top, 1.2))
for ax in axes[1]:
    ax.set_xlabel(r"direction $\theta$ (degrees)")
for ax in axes[:, 0]:
    ax.set_ylabel(r"$\lambda^\top (\tilde X u)_+ / \beta$")
fig.legend(
    [plt.Rectangle((0, 0), 1, 1, color="tab:blue", alpha=0.3),
     plt.Line2D([], [], color="tab:red", lw=4),
     plt.Rectangle((0, 0), 1, 1, facecolor="none", edgecolor="tab:orange",
                   hatch="//", lw=2),
     plt.Line2D([], [], color="black", ls="--", lw=1.5)],
    ["cells (patterns) in the program", "violated: outside the band",
     "the pattern added next", r"$\pm\beta$"],
    loc="lower center", ncol=2, frameon=False)
fig.tight_layout(rect=(0, 0.09, 1, 1))

# %%
# The arrangement search on the same data
# ---------------------------------------
# ``arrangements="search"`` seeds its first patterns from ordinary training
# and then adds violated patterns round by round, as above. Its
# ``lower_bound_`` covers the patterns it examined; here it reaches the
# global optimum that the exhaustive fit certifies.
search = ConvexReLURegressor(beta=beta, arrangements="search", n_arrangements=10,
                             random_state=0).fit(X, y)
report = search.search_report_
print(f"search: objective {search.objective_:.6f} after {report['n_rounds']} "
      f"solve(s), {report['n_examined']} patterns examined; largest "
      f"|lambda^T (X1 u)_+| / beta over the circle "
      f"{np.abs(constraint(search)).max() / beta:.4f}")
print(f"exhaustive: objective {best.objective_:.6f}; cutting planes above: "
      f"{rounds[-1][0].objective_:.6f} in {len(rounds)} solves")
plt.show()

# %%
# The lower bound itself is the dual objective at :math:`\lambda` (scaled
# down a little if the curve leaves the band): for the squared loss it is
# :math:`\lambda^\top y - \tfrac n2 \|\lambda\|^2`. When the curve is inside
# the band it is a lower bound on the training objective of every network,
# and equals the objective at the optimum: that is the ``duality_gap_`` of
# zero that the exhaustive fit reports.
