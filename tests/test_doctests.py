"""Run the examples in the docstrings of every module of the installed package."""

import doctest
import importlib
import pkgutil

import pytest

import skconvexnn

MODULES = sorted(
    name
    for _, name, _ in pkgutil.walk_packages(skconvexnn.__path__, "skconvexnn.")
    if not name.endswith("__main__")
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
