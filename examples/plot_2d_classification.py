"""
===========================================================
2-D classification: decision regions and neuron hyperplanes
===========================================================

A two-layer ReLU network cuts the plane with one line per hidden neuron,
:math:`x^\\top u_j + b_j = 0`: on one side the neuron is off, on the other it
adds :math:`a_j (x^\\top u_j + b_j)` to the output. The decision boundary is
made of pieces of straight segments between those lines.

:class:`~skconvexnn.ConvexReLUClassifier` finds the weights by solving a
convex program, then reads the neurons off its solution. Here we draw its
decision regions on the two-moons data together with the lines of its
neurons, next to :class:`~sklearn.neural_network.MLPClassifier` trained on
the same weight-decay problem from two random seeds.
"""

# %%
# Data and the convex fit
# -----------------------
# The convex program is built from 200 sampled activation patterns (gates
# that bisect random pairs of samples), which keeps the program small;
# ``arrangements="exhaustive"`` would use every pattern of these 100
# points, about ten thousand of them.
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import make_moons
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier

from skconvexnn import ConvexReLUClassifier, training_objective

plt.rcParams.update({"font.size": 14})

X, y = make_moons(n_samples=100, noise=0.2, random_state=0)
n = len(y)
beta = 1e-3
# extrapolation="linear": the decision regions below are the network's
# beyond the data too (by default predict clips each feature to its
# training range; user guide, "Predictions beyond the training data")
convex = ConvexReLUClassifier(loss="logistic", beta=beta, n_arrangements=200,
                              arrangements="bisector", extrapolation="linear",
                              random_state=0).fit(X, y)
print(f"convex fit: {convex.n_neurons_} neurons, objective {convex.objective_:.4f}, "
      f"lower bound {convex.lower_bound_:.4f}, training accuracy "
      f"{convex.score(X, y):.2f}")


# %%
# The same objective for the MLPs
# -------------------------------
# Our training objective is the mean logistic loss plus
# :math:`\frac{\beta}{2}\sum_j (\|u_j\|^2 + b_j^2 + a_j^2)`.
# ``MLPClassifier`` penalizes :math:`\frac{\alpha}{2n}\|W\|^2` without the
# biases, so ``alpha = n * beta`` gives it the same weight decay on the
# weights. :func:`~skconvexnn.training_objective` evaluates our objective at
# its weights, to compare. The convex value is the optimum over the sampled
# patterns: an MLP can land below it when it uses a pattern that was not
# sampled, or above it in a poor local minimum.
def our_objective(model):
    return training_objective(X, y, model.coefs_, model.intercepts_, beta,
                              loss="logistic")


mlps = []
for seed in (0, 1):
    mlp = MLPClassifier(hidden_layer_sizes=(10,), alpha=n * beta, solver="lbfgs",
                        max_iter=3000, tol=1e-8, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        mlp.fit(X, y)
    mlps.append(mlp)
    print(f"MLP seed {seed}: our objective {our_objective(mlp):.4f}, "
          f"training accuracy {mlp.score(X, y):.2f}")


# %%
# Decision regions and hyperplanes
# --------------------------------
# Solid lines are neurons with a positive output weight (they push towards
# class 1, red), dashed lines neurons with a negative one; thicker lines
# carry larger weights :math:`|a_j|\,\|u_j\|`. The convex network needs only
# the neurons its solution selects; the MLPs use all ten, some of them with
# hyperplanes far from the data.
def draw(ax, model, title):
    x0, x1 = np.meshgrid(np.linspace(-1.6, 2.6, 300), np.linspace(-1.2, 1.7, 300))
    grid = np.c_[x0.ravel(), x1.ravel()]
    proba = model.predict_proba(grid)[:, 1].reshape(x0.shape)
    ax.contourf(x0, x1, proba, levels=np.linspace(0, 1, 11), cmap="RdBu_r",
                alpha=0.35)
    ax.contour(x0, x1, proba, levels=[0.5], colors="black", linewidths=2.5)
    ax.scatter(X[:, 0], X[:, 1], c=y, cmap="RdBu_r", edgecolors="k", s=40)
    W1, W2 = model.coefs_
    b1 = model.intercepts_[0]
    strength = np.abs(W2[:, 0]) * np.linalg.norm(W1, axis=0)
    xs = np.linspace(-1.6, 2.6, 2)
    for j in range(W1.shape[1]):
        u, b = W1[:, j], b1[j]
        style = "-" if W2[j, 0] > 0 else "--"
        width = 1 + 3 * strength[j] / strength.max()
        if abs(u[1]) > abs(u[0]):  # x1 = -(u0 x0 + b) / u1
            ax.plot(xs, -(u[0] * xs + b) / u[1], style, color="tab:green", lw=width)
        else:
            ys = np.array([-1.2, 1.7])
            ax.plot(-(u[1] * ys + b) / u[0], ys, style, color="tab:green", lw=width)
    ax.set_xlim(-1.6, 2.6)
    ax.set_ylim(-1.2, 1.7)
    ax.set_title(title)
    ax.set_xticks([])
    ax.set_yticks([])


fig, axes = plt.subplots(2, 2, figsize=(10, 8.4))
draw(axes[0, 0], convex, f"convex: {convex.n_neurons_} neurons\n"
     f"objective {convex.objective_:.4f}")
for ax, (seed, mlp) in zip([axes[0, 1], axes[1, 0]], enumerate(mlps)):
    draw(ax, mlp, f"MLPClassifier, seed {seed}: 10 neurons\n"
         f"objective {our_objective(mlp):.4f}")
key = axes[1, 1]
key.axis("off")
key.legend(
    [plt.Line2D([], [], color="black", lw=2.5),
     plt.Line2D([], [], color="tab:green", lw=3),
     plt.Line2D([], [], color="tab:green", lw=3, ls="--"),
     plt.Line2D([], [], color="tab:green", lw=1),
     plt.Line2D([], [], ls="", marker="o", ms=8, color=plt.cm.RdBu_r(1.0), mec="k"),
     plt.Line2D([], [], ls="", marker="o", ms=8, color=plt.cm.RdBu_r(0.0), mec="k")],
    ["decision boundary", "neuron, output weight > 0", "neuron, output weight < 0",
     "thinner: smaller weight", "class 1", "class 0"],
    loc="center", frameon=False)
fig.tight_layout()
plt.show()

# %%
# Each green line is where one neuron switches on. Where the decision
# boundary bends, a neuron line crosses it: the network can only bend there.
# The patterns of the convex program are exactly the ways such lines can
# split the training points, which is why the program is built from them
# (:ref:`sphx_glr_auto_examples_plot_hyperplane_arrangement.py`).
