"""Targets: which tree of learner modules the chapter tests run against.

``exercises`` (the learner's own work, the default), ``solutions`` (the
reference), or a path to any tree with the same layout, such as a mutant.
Tests never import learner modules themselves; they ask the target, which
loads ``chNN/module.py`` from its tree under a private module name, so two
targets never mix in one process.

>>> resolve("solutions", Path("/kit")).name
'solutions'
"""

from __future__ import annotations

import importlib.util
import itertools
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from harness.errors import LearnerError, NotDone, TargetError
from harness.timeline import Timeline

NAMED = ("exercises", "solutions")
_serial = itertools.count()


def resolve(value: str, root: Path) -> Path:
    """Turn ``--target`` into a directory, or raise ValueError listing the valid ones."""
    if value in NAMED:
        return root / value
    path = Path(value).expanduser()
    if not path.is_absolute():
        path = Path.cwd() / path
    if path.is_dir():
        return path.resolve()
    raise ValueError(
        f"unknown target {value!r}: use 'exercises' (your work, the default), 'solutions' "
        "(the reference), or the path of a directory laid out like exercises/ (e.g. a mutant)"
    )


class Target:
    """A tree of learner modules, loaded on demand and cached."""

    def __init__(self, root: Path, label: str) -> None:
        self.root = root
        self.label = label
        self._modules: dict[str, ModuleType] = {}

    def module(self, relative: str) -> ModuleType:
        """Load ``relative`` (e.g. ``ch03/at_most_once.py``) from this tree."""
        if relative in self._modules:
            return self._modules[relative]
        path = self.root / relative
        if not path.is_file():
            raise TargetError(
                f"the target {self.label!r} ({self.root}) has no module {relative}; "
                "it should be there with the names the chapter's README gives"
            )
        name = f"_twm_target_{next(_serial)}_{relative.replace('/', '_').removesuffix('.py')}"
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except NotImplementedError as error:
            raise NotDone(error, relative) from error
        except (Exception, SystemExit) as error:
            del sys.modules[name]
            raise LearnerError(error, f"importing {relative}", Timeline()) from error
        self._modules[relative] = module
        return module

    def component(self, relative: str, name: str) -> Any:
        """The object ``name`` (a class or function) of module ``relative``."""
        module = self.module(relative)
        try:
            return getattr(module, name)
        except AttributeError:
            raise TargetError(
                f"{relative} in target {self.label!r} has no {name!r}; keep the names the "
                "stub gave (the chapter's README lists them)"
            ) from None
