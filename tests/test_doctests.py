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


@pytest.mark.parametrize("name", MODULES)
def test_every_exported_name_exists(name):
    # a name left in __all__ after its object went breaks ``import *``
    module = importlib.import_module(name)
    missing = [n for n in getattr(module, "__all__", ()) if not hasattr(module, n)]
    assert not missing
