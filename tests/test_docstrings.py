"""The examples in the harness's docstrings run and say what they show."""

import doctest
import importlib
import pkgutil

import pytest

import harness

MODULES = sorted(
    info.name for info in pkgutil.walk_packages(harness.__path__, "harness.") if not info.ispkg
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    """every docstring example of the module runs as written"""
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0, f"{result.failed} docstring example(s) of {name} failed"
