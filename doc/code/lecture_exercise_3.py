"""Lecture, exercise 3: read the certificate over the circle of directions."""

import numpy as np

from skconvexnn import ConvexReLURegressor

rng = np.random.default_rng(0)
n = 20
X = np.sort(rng.uniform(-2, 2, n)).reshape(-1, 1)
y = np.sin(2 * X.ravel()) + 0.15 * rng.standard_normal(n)
y = (y - y.mean()) / y.std()
X1 = np.hstack([X, np.ones((n, 1))])  # the design matrix: x and the bias
beta = 2e-2

theta = np.linspace(-np.pi, np.pi, 7201)
U = np.c_[np.cos(theta), np.sin(theta)]  # every direction u on the circle


def curve(model):
    """lambda^T (X1 u)_+ / beta over the circle, lambda = residual / n."""
    lam = (y - model.predict(X)) / n
    return lam @ np.maximum(X1 @ U.T, 0) / beta


# 1. The optimum: the curve stays in [-1, 1] and touches +-1 at the neurons.
best = ConvexReLURegressor(beta=beta, arrangements="exhaustive").fit(X, y)
values = curve(best)
print(f"max |curve| = {np.abs(values).max():.5f} (1 means beta)")
W1, b1, a = best.coefs_[0].ravel(), best.intercepts_[0], best.coefs_[1].ravel()
for w, b, weight in zip(W1, b1, a):
    k = np.argmin(np.abs(theta - np.arctan2(b, w)))
    print(f"neuron at {np.degrees(theta[k]):7.2f} deg: curve {values[k]:+.4f}, "
          f"output weight {weight:+.3f}")
# Each neuron sits at +1 if its output weight is positive, at -1 otherwise.

# 2. Remove the patterns that can hold the strongest neuron and refit. Its
# kink sits on a data point, where its output is zero, so the two cells
# that meet there both hold it: remove every pattern that is on where the
# neuron is on and off where it is off.
strongest = np.argmax(np.abs(a) * np.hypot(W1, b1))
u = np.array([W1[strongest], b1[strongest]])
pre = X1 @ u
patterns = X1 @ best.gates_.T >= 0  # one column per gate
holds = patterns[pre > 1e-9].all(axis=0) & ~patterns[pre < -1e-9].any(axis=0)
fit = ConvexReLURegressor(beta=beta, arrangements=best.gates_[~holds]).fit(X, y)
values = curve(fit)
peak = np.argmax(np.abs(values))
print(f"{holds.sum()} patterns removed: objective {fit.objective_:.6f} "
      f"(optimum {best.objective_:.6f}), max |curve| {np.abs(values).max():.3f} "
      f"at {np.degrees(theta[peak]):.1f} deg; the removed neuron was at "
      f"{np.degrees(np.arctan2(u[1], u[0])):.1f} deg")
# The curve now leaves the band next to the removed neuron's direction: the
# dual points to the missing pattern, which is what arrangements="search"
# adds.
