"""Trace files: loading TOML and JSON, and clear errors naming the file and the field."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from harness.traces import Step, TraceError, load
from harness.workloads import names

ROOT = Path(__file__).resolve().parents[2]

VALID_TOML = """
title = "Two orders"
story = "Two customers pay; the second one's gateway times out once."
workload = "payments-queue"
seed = 3
settings = { prefetch = 2 }

[[steps]]
at = 0.0
publish = { id = "m1", order = "o-1", amount = 30 }

[[steps]]
at = 0.5
publish = { id = "m2", order = "o-2", amount = 12.5 }

[[steps]]
at = 0.5
fail = { order = "o-2", times = 1 }
"""

VALID = {
    "title": "Two orders",
    "story": "Two customers pay; the second one's gateway times out once.",
    "workload": "payments-queue",
    "seed": 3,
    "settings": {"prefetch": 2},
    "steps": [
        {"at": 0.0, "publish": {"id": "m1", "order": "o-1", "amount": 30}},
        {"at": 0.5, "publish": {"id": "m2", "order": "o-2", "amount": 12.5}},
        {"at": 0.5, "fail": {"order": "o-2", "times": 1}},
    ],
}

EXPECTED_STEPS = (
    Step(0.0, "publish", {"id": "m1", "order": "o-1", "amount": 30}),
    Step(0.5, "publish", {"id": "m2", "order": "o-2", "amount": 12.5}),
    Step(0.5, "fail", {"order": "o-2", "times": 1}),
)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def write_json(tmp_path: Path, data, name: str = "bad.json") -> Path:
    return write(tmp_path, name, json.dumps(data))


def test_a_valid_toml_trace_loads(tmp_path):
    """A well-formed TOML trace loads with its title, story, workload, seed, settings and steps."""
    path = write(tmp_path, "two-orders.toml", VALID_TOML)
    trace = load(path)
    assert trace.name == "two-orders"
    assert trace.title == "Two orders"
    assert trace.story.startswith("Two customers")
    assert trace.workload == "payments-queue"
    assert trace.seed == 3
    assert dict(trace.settings) == {"prefetch": 2}
    assert trace.steps == EXPECTED_STEPS
    assert all(isinstance(step.at, float) for step in trace.steps)
    assert trace.source == str(path)


def test_a_valid_json_trace_loads_the_same(tmp_path):
    """The same trace as JSON loads to the same steps and settings."""
    trace = load(write_json(tmp_path, VALID, "two-orders.json"))
    toml = load(write(tmp_path, "two-orders.toml", VALID_TOML))
    assert (trace.name, trace.steps, trace.seed) == ("two-orders", EXPECTED_STEPS, 3)
    assert (trace.title, trace.story, dict(trace.settings)) == (
        toml.title,
        toml.story,
        dict(toml.settings),
    )


def test_omitted_seed_and_settings_take_their_defaults(tmp_path):
    """Without seed or settings, the seed is 0 and each setting has the workload's default."""
    data = {k: v for k, v in VALID.items() if k not in ("seed", "settings")}
    trace = load(write_json(tmp_path, data, "t.json"))
    assert trace.seed == 0
    assert dict(trace.settings) == {"prefetch": 1}


SHIPPED = sorted(ROOT.glob("exercises/*/traces/*"))


@pytest.mark.parametrize("path", SHIPPED, ids=[f"{p.parent.parent.name}/{p.name}" for p in SHIPPED])
def test_every_shipped_trace_loads(path):
    """Every trace file shipped with the exercises loads without error."""
    trace = load(path)
    assert trace.title and trace.story and trace.steps
    assert trace.workload in names()


def test_there_are_shipped_traces():
    """The glob above finds the shipped traces (an empty parametrization would prove nothing)."""
    assert len(SHIPPED) >= 5


def _without(*keys):
    def change(data):
        for key in keys:
            del data[key]

    return change


def _set(path, value):
    """Set data[path...] = value, creating nothing: path is a tuple of keys and indexes."""

    def change(data):
        target = data
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return change


def _drop(path):
    def change(data):
        target = data
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]

    return change


MALFORMED = {
    "missing title": (_without("title"), ["title: missing", "a string"]),
    "title not a string": (_set(("title",), 3), ["title: expected a string, got 3"]),
    "missing story": (_without("story"), ["story: missing"]),
    "missing workload": (_without("workload"), ["workload: missing"]),
    "unknown top-level field": (
        _set(("tittle",), "x"),
        ["unknown field 'tittle'", "settings", "steps", "title"],
    ),
    "unknown workload": (
        _set(("workload",), "payments-kafka"),
        ["workload", "'payments-kafka'", "payments-log", "payments-queue"],
    ),
    "seed not an integer": (_set(("seed",), "1"), ["seed: expected an integer"]),
    "bool seed": (_set(("seed",), True), ["seed: expected an integer, got True"]),
    "settings not a table": (_set(("settings",), []), ["settings: expected a table"]),
    "unknown setting": (
        _set(("settings", "prefetc"), 1),
        ["settings.prefetc: unknown setting", "prefetch"],
    ),
    "ill-typed setting": (
        _set(("settings", "prefetch"), "2"),
        ["settings.prefetch: expected an integer >= 0, got '2'"],
    ),
    "missing steps": (_without("steps"), ["steps: expected a non-empty list"]),
    "steps not a list": (_set(("steps",), {"at": 0}), ["steps: expected a non-empty list"]),
    "empty steps": (_set(("steps",), []), ["steps: expected a non-empty list", "[[steps]]"]),
    "step not a table": (_set(("steps", 1), 3), ["steps[1]: expected a table"]),
    "step without action": (
        _set(("steps", 1), {"at": 0.5}),
        ["steps[1]: expected exactly one action", "fail, publish", "got none"],
    ),
    "step with two actions": (
        _set(("steps", 2, "publish"), {"id": "m3", "order": "o-3", "amount": 1}),
        ["steps[2]: expected exactly one action", "fail, publish", "got fail, publish"],
    ),
    "unknown action": (
        _set(("steps", 1), {"at": 0.5, "append": {"id": "m2", "order": "o-2", "amount": 1}}),
        ["steps[1]:", "'payments-queue'", "fail, publish", "got append"],
    ),
    "action not a table": (_set(("steps", 0, "publish"), "m1"), ["steps[0].publish: expected"]),
    "missing field": (
        _drop(("steps", 1, "publish", "amount")),
        ["steps[1].publish.amount: missing; expected a number"],
    ),
    "unknown field": (
        _set(("steps", 1, "publish", "colour"), "red"),
        ["steps[1].publish.colour: unknown field", "id, order, amount"],
    ),
    "string where a number is expected": (
        _set(("steps", 1, "publish", "amount"), "30"),
        ["steps[1].publish.amount: expected a number, got '30'"],
    ),
    "bool where a number is expected": (
        _set(("steps", 1, "publish", "amount"), True),
        ["steps[1].publish.amount: expected a number, got True"],
    ),
    "number where a string is expected": (
        _set(("steps", 0, "publish", "id"), 1),
        ["steps[0].publish.id: expected a string, got 1"],
    ),
    "float where an integer is expected": (
        _set(("steps", 2, "fail", "times"), 1.5),
        ["steps[2].fail.times: expected an integer >= 0, got 1.5"],
    ),
    "bool where an integer is expected": (
        _set(("steps", 2, "fail", "times"), False),
        ["steps[2].fail.times: expected an integer >= 0, got False"],
    ),
    "missing time": (_drop(("steps", 0, "at")), ["steps[0].at: expected a number"]),
    "bool time": (_set(("steps", 0, "at"), True), ["steps[0].at: expected a number, got True"]),
    "negative time": (_set(("steps", 0, "at"), -1), ["steps[0].at: expected a time >= 0"]),
    "times going backwards": (
        _set(("steps", 2, "at"), 0.25),
        ["steps[2].at: expected a time >= 0.5", "time order"],
    ),
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_a_malformed_trace_names_the_file_the_field_and_the_fix(tmp_path, case):
    """A malformed trace fails with TraceError naming the file, the field and what was expected."""
    change, fragments = MALFORMED[case]
    data = copy.deepcopy(VALID)
    change(data)
    path = write_json(tmp_path, data)
    with pytest.raises(TraceError) as caught:
        load(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: ")
    for fragment in fragments:
        assert fragment in message


def test_a_trace_that_is_not_a_table_is_refused(tmp_path):
    """A JSON list instead of an object fails with TraceError naming the file."""
    path = write_json(tmp_path, [VALID])
    with pytest.raises(TraceError, match="a trace is a table"):
        load(path)


def test_invalid_toml_syntax_is_reported_with_the_file(tmp_path):
    """A TOML syntax error fails with TraceError naming the file and saying 'not valid TOML'."""
    path = write(tmp_path, "bad.toml", VALID_TOML.replace("amount = 30 }", "amount = 30"))
    with pytest.raises(TraceError) as caught:
        load(path)
    assert str(caught.value).startswith(f"{path}: not valid TOML")


def test_invalid_json_syntax_is_reported_with_the_file(tmp_path):
    """A JSON syntax error fails with TraceError naming the file and saying 'not valid JSON'."""
    path = write(tmp_path, "bad.json", json.dumps(VALID)[:-1])
    with pytest.raises(TraceError) as caught:
        load(path)
    assert str(caught.value).startswith(f"{path}: not valid JSON")


def test_a_toml_field_error_has_the_same_path_as_in_json(tmp_path):
    """Field paths are the same in TOML: steps[1].publish.amount."""
    path = write(tmp_path, "bad.toml", VALID_TOML.replace("amount = 12.5", 'amount = "12.5"'))
    with pytest.raises(TraceError, match=r"steps\[1\]\.publish\.amount: expected a number"):
        load(path)


@pytest.mark.parametrize("kind", ["missing", "directory"])
def test_an_unreadable_file_is_reported_with_its_path(tmp_path, kind):
    """A missing file, or a directory, fails with TraceError naming the path."""
    path = tmp_path / "nowhere.toml"
    if kind == "directory":
        path.mkdir()
    with pytest.raises(TraceError) as caught:
        load(path)
    assert str(caught.value).startswith(f"{path}: cannot read the trace file")


@pytest.mark.parametrize("name", ["trace.yaml", "trace.txt", "trace"])
def test_a_wrong_suffix_is_refused(tmp_path, name):
    """Only .toml and .json are trace files; anything else says so."""
    path = write(tmp_path, name, VALID_TOML)
    with pytest.raises(TraceError, match=r"\.toml or \.json"):
        load(path)


def test_a_file_that_is_not_utf8_is_reported_with_its_path(tmp_path):
    """A trace saved in Latin-1 fails with TraceError naming the file, not a UnicodeDecodeError."""
    path = tmp_path / "latin1.toml"
    path.write_bytes(VALID_TOML.replace("Two orders", "Deux commandes réglées").encode("latin-1"))
    with pytest.raises(TraceError, match="latin1.toml"):
        load(path)


@pytest.mark.parametrize("settings", [5, "prefetch"])
def test_settings_that_are_not_a_table_fail_with_a_trace_error(tmp_path, settings):
    """settings = 5 (or a string) fails with TraceError naming the file and 'settings'."""
    data = copy.deepcopy(VALID)
    data["settings"] = settings
    path = write_json(tmp_path, data)
    with pytest.raises(TraceError, match="settings: expected a table"):
        load(path)


def test_a_nan_time_is_refused(tmp_path):
    """at = nan is not a time: TraceError naming steps[0].at."""
    path = write(tmp_path, "nan.toml", VALID_TOML.replace("at = 0.0", "at = nan"))
    with pytest.raises(TraceError, match=r"steps\[0\]\.at"):
        load(path)


@pytest.mark.parametrize(
    ("workload", "setting", "step"),
    [
        ("payments-queue", {"prefetch": -1}, {"at": 0, "fail": {"order": "o-1", "times": 1}}),
        ("payments-queue", {}, {"at": 0, "fail": {"order": "o-1", "times": -1}}),
        ("payments-log", {"partitions": 0}, {"at": 0, "fail": {"order": "o-1", "times": 1}}),
    ],
    ids=["prefetch=-1", "times=-1", "partitions=0"],
)
def test_out_of_range_numbers_are_refused_when_the_trace_loads(tmp_path, workload, setting, step):
    """A value no run can use (negative prefetch or times, no partition) fails at load time."""
    data = {"title": "t", "story": "s", "workload": workload, "settings": setting, "steps": [step]}
    with pytest.raises(TraceError):
        load(write_json(tmp_path, data))
