"""A package front whose names are imported when first asked for (PEP 562).

>>> import types
>>> front = types.ModuleType("front")
>>> front.__getattr__, front.__dir__ = names_of(front.__dict__, {"sqrt": "math"})
>>> front.sqrt(9.0), "sqrt" in front.__dir__()
(3.0, True)
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def names_of(
    space: dict[str, Any], homes: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` of a package whose globals are ``space``: each name
    of ``homes`` comes from its module on first use, and is kept in ``space`` from then on."""
    package = space.get("__name__", "module")

    def __getattr__(name: str) -> Any:
        home = homes.get(name)
        if home is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(home), name)
        space[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(set(space) | set(homes))

    return __getattr__, __dir__
