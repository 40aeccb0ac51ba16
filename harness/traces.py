"""Traces: the adversarial scenarios, as readable data files under version control.

A trace is a TOML (or JSON) file with a title, the story it tells, the
workload it drives, a seed, optional settings, and its steps, each at a
virtual time::

    title = "Three orders in a row"
    story = "Three customers pay within a millisecond."
    workload = "payments-queue"
    seed = 1

    [[steps]]
    at = 0.0
    publish = { id = "m1", order = "o-1", amount = 30 }

Loading checks every field against the workload's vocabulary; a malformed
file fails with :class:`TraceError` naming the file, the field, and what was
expected.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib


class TraceError(ValueError):
    """A trace file is malformed: the message names the file, the field and the fix."""


@dataclass(frozen=True)
class Step:
    """One step: at virtual time ``at``, do ``action`` with ``args``."""

    at: float
    action: str
    args: Mapping[str, Any]


@dataclass(frozen=True)
class Trace:
    name: str
    title: str
    story: str
    workload: str
    steps: tuple[Step, ...]
    seed: int = 0
    settings: Mapping[str, Any] = field(default_factory=dict)
    source: str = ""

    def without(self, index: int) -> Trace:
        """This trace less one step (used to shrink a failing trace)."""
        steps = self.steps[:index] + self.steps[index + 1 :]
        return Trace(
            self.name,
            self.title,
            self.story,
            self.workload,
            steps,
            self.seed,
            self.settings,
            self.source,
        )


# What a field may hold: a type or tuple of types, how to say it to a person, and
# optionally the least value it may take.
Kind = tuple
STRING: Kind = (str, "a string")
NUMBER: Kind = ((int, float), "a number")
INTEGER: Kind = (int, "an integer")
COUNT: Kind = (int, "an integer >= 0", 0)
POSITIVE: Kind = (int, "an integer >= 1", 1)
BOOLEAN: Kind = (bool, "true or false")


@dataclass(frozen=True)
class Vocabulary:
    """What a workload's traces may say: its actions (with fields) and its settings."""

    actions: Mapping[str, Mapping[str, Kind]]
    settings: Mapping[str, tuple[Kind, Any]]
    optional: Mapping[str, frozenset[str]] = field(default_factory=dict)


def load(path: str | Path) -> Trace:
    """Load and check one trace file (``.toml`` or ``.json``)."""
    from harness.workloads import vocabulary  # the registry knows every workload

    path = Path(path)
    where = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise TraceError(f"{where}: cannot read the trace file ({error.strerror})") from None
    except UnicodeDecodeError as error:
        raise TraceError(
            f"{where}: not UTF-8 text ({error.reason} at byte {error.start})"
        ) from None
    if path.suffix == ".toml":
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as error:
            raise TraceError(f"{where}: not valid TOML: {error}") from None
    elif path.suffix == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise TraceError(f"{where}: not valid JSON: {error}") from None
    else:
        raise TraceError(f"{where}: a trace file ends in .toml or .json")
    return parse(data, name=path.stem, where=where, vocabulary=vocabulary)


def parse(data: Any, *, name: str, where: str, vocabulary) -> Trace:
    """Check a trace's data; ``vocabulary(workload)`` returns that workload's Vocabulary."""
    if not isinstance(data, dict):
        raise TraceError(f"{where}: a trace is a table of fields (title, story, workload, steps)")
    allowed = {"title", "story", "workload", "seed", "settings", "steps"}
    for key in data:
        if key not in allowed:
            raise TraceError(
                f"{where}: unknown field {key!r}; a trace has {', '.join(sorted(allowed))}"
            )
    title = _field(data, "title", STRING, where)
    story = _field(data, "story", STRING, where)
    workload = _field(data, "workload", STRING, where)
    try:
        words: Vocabulary = vocabulary(workload)
    except KeyError as error:
        raise TraceError(f"{where}: workload: {error.args[0]}") from None
    seed = data.get("seed", 0)
    _check(seed, INTEGER, where, "seed")
    if not isinstance(data.get("settings", {}), dict):
        raise TraceError(f"{where}: settings: expected a table of settings")
    settings = dict(data.get("settings", {}))
    for key, value in settings.items():
        if key not in words.settings:
            known = ", ".join(sorted(words.settings)) or "none"
            raise TraceError(f"{where}: settings.{key}: unknown setting (known: {known})")
        _check(value, words.settings[key][0], where, f"settings.{key}")
    merged = {key: default for key, (_, default) in words.settings.items()}
    merged.update(settings)
    raw_steps = data.get("steps")
    if not isinstance(raw_steps, list) or not raw_steps:
        raise TraceError(f"{where}: steps: expected a non-empty list of steps ([[steps]] in TOML)")
    steps = []
    last = 0.0
    for index, raw in enumerate(raw_steps):
        at = f"steps[{index}]"
        if not isinstance(raw, dict):
            raise TraceError(f"{where}: {at}: expected a table with 'at' and one action")
        when = raw.get("at")
        _check(when, NUMBER, where, f"{at}.at")
        if not math.isfinite(when) or when < 0 or when < last:
            raise TraceError(
                f"{where}: {at}.at: expected a time >= {last} (steps are in time order)"
            )
        last = when
        actions = [key for key in raw if key != "at"]
        if len(actions) != 1 or actions[0] not in words.actions:
            known = ", ".join(sorted(words.actions))
            raise TraceError(
                f"{where}: {at}: expected exactly one action of workload {workload!r} ({known}), "
                f"got {', '.join(actions) or 'none'}"
            )
        action = actions[0]
        args = raw[action]
        if not isinstance(args, dict):
            raise TraceError(f"{where}: {at}.{action}: expected a table of fields")
        fields = words.actions[action]
        optional = words.optional.get(action, frozenset())
        for key in args:
            if key not in fields:
                raise TraceError(
                    f"{where}: {at}.{action}.{key}: unknown field (expected: {', '.join(fields)})"
                )
        for key, kind in fields.items():
            if key not in args:
                if key in optional:
                    continue
                raise TraceError(f"{where}: {at}.{action}.{key}: missing; expected {kind[1]}")
            _check(args[key], kind, where, f"{at}.{action}.{key}")
        steps.append(Step(float(when), action, dict(args)))
    return Trace(name, title, story, workload, tuple(steps), seed, merged, where)


def _field(data: Mapping[str, Any], key: str, kind: Kind, where: str) -> Any:
    if key not in data:
        raise TraceError(f"{where}: {key}: missing; expected {kind[1]}")
    _check(data[key], kind, where, key)
    return data[key]


def _check(value: Any, kind: Kind, where: str, field_name: str) -> None:
    types, words = kind[0], kind[1]
    is_bool = isinstance(value, bool)
    ok = isinstance(value, types) and (not is_bool or types is bool)
    if ok and len(kind) > 2:
        ok = value >= kind[2]
    if not ok:
        raise TraceError(f"{where}: {field_name}: expected {words}, got {value!r}")
