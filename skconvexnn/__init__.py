"""skconvexnn: two-layer ReLU networks trained to their global optimum.

The training problem of a two-layer ReLU network with weight decay is
equivalent to a convex program over the hyperplane arrangements of the
data. skconvexnn solves that program and returns the network, behind
scikit-learn estimators.
"""

from ._classification import ConvexReLUClassifier
from ._convolution import ConvexConvReLUClassifier, ConvexConvReLURegressor
from ._copositive import CopositiveMultiOutputRegressor
from ._cv import ConvexReLUClassifierCV, ConvexReLURegressorCV
from ._objective import training_objective
from ._path import BetaPath, beta_grid, beta_max, convex_relu_path
from ._regression import ConvexReLURegressor

__version__ = "0.1.0"

__all__ = [
    "BetaPath",
    "ConvexConvReLUClassifier",
    "ConvexConvReLURegressor",
    "ConvexReLUClassifier",
    "ConvexReLUClassifierCV",
    "ConvexReLURegressor",
    "ConvexReLURegressorCV",
    "CopositiveMultiOutputRegressor",
    "beta_grid",
    "beta_max",
    "convex_relu_path",
    "training_objective",
    "__version__",
]
