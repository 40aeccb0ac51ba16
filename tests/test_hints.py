"""Which hint a failure shows (harness.hints), and how the manifest states it."""

from __future__ import annotations

import pytest

from harness.hints import Failure, choose
from harness.manifest import Manifest, ManifestError


def _manifest(*tasks: dict) -> Manifest:
    return Manifest.parse(
        {"chapters": [{"id": "ch02", "title": "c", "tasks": list(tasks)}]}, where="info.toml"
    )


def _task(number: int, module: str, hints: int, **hint_for: int) -> dict:
    return {
        "task": number,
        "title": f"task {number}",
        "module": module,
        "hints": [f"hint {number}.{k}" for k in range(1, hints + 1)],
        "hint_for": hint_for,
    }


SHARED = _manifest(
    _task(
        1,
        "ch02/shipping.py",
        3,
        **{"promise:committed-processed": 2, "promise:no-loss anomaly:lost": 3},
    ),
    _task(2, "ch02/shipping.py", 2, **{"promise:no-loss": 2, "error:InvalidCommit": 1}),
    _task(3, "ch02/shipping.py", 2, **{"test:test_hand_over": 2}),
    _task(4, "ch02/history.py", 2, **{"promise:no-loss": 2}),
)


def test_a_failure_gets_the_hint_of_another_task_of_its_module_that_fits_it():
    hint = choose(SHARED, "ch02", 3, Failure(promise="committed-processed"))
    assert (hint.id, hint.text) == ("ch02.1#2", "hint 1.2")


def test_the_selector_that_matches_more_terms_wins():
    hint = choose(SHARED, "ch02", 2, Failure(promise="no-loss", anomalies=("lost",)))
    assert hint.id == "ch02.1#3"


def test_on_a_tie_the_failing_tasks_own_rule_wins():
    assert choose(SHARED, "ch02", 2, Failure(promise="no-loss")).id == "ch02.2#2"
    assert choose(SHARED, "ch02", 1, Failure(promise="no-loss")).id == "ch02.2#2"


def test_tasks_of_another_module_are_never_asked():
    assert choose(SHARED, "ch02", 4, Failure(promise="committed-processed")).id == "ch02.4#1"


def test_a_failure_nothing_matches_gets_its_own_tasks_first_hint():
    assert (
        choose(SHARED, "ch02", 3, Failure(promise="settled", anomalies=("stuck",))).id == "ch02.3#1"
    )


def test_a_test_selector_fits_a_direct_assertion_of_that_test():
    assert choose(SHARED, "ch02", 1, Failure(test="test_hand_over")).id == "ch02.3#2"


def test_an_error_gets_the_hint_about_it_or_none():
    class InvalidCommit(Exception):
        pass

    assert choose(SHARED, "ch02", 3, Failure.of_exception(InvalidCommit("p9"))).id == "ch02.2#1"
    assert choose(SHARED, "ch02", 1, Failure.of_exception(SyntaxError("bad"))) is None


def test_an_error_hint_never_fits_a_broken_promise():
    assert choose(SHARED, "ch02", 2, Failure(promise="settled")).id == "ch02.2#1"
    assert not any(kind == "error" for kind, _ in SHARED.task("ch02", 1).hint_for[0].terms)


def test_an_error_hint_names_a_base_class_too():
    manifest = _manifest(_task(1, "ch03/a.py", 2, **{"error:LookupError": 2}))
    assert choose(manifest, "ch02", 1, Failure.of_exception(KeyError("o-1"))).id == "ch02.1#2"


@pytest.mark.parametrize(
    "hint_for, message",
    [
        ({"promise:no-loss": 3}, "hint_for.'promise:no-loss': expected a hint number from 1 to 2"),
        ({"colour:red": 1}, "'colour:red' is not a selector term"),
        ({"anomaly:misplaced": 1}, "'misplaced' is not a glossary word"),
        ({"promise": 1}, "'promise' is not a selector term: write KIND:VALUE"),
        ({"": 1}, "an empty selector matches nothing"),
    ],
)
def test_a_malformed_selector_is_refused_naming_its_field(hint_for, message):
    with pytest.raises(ManifestError, match="tasks\\[0\\]") as error:
        _manifest(_task(1, "ch03/a.py", 2, **hint_for))
    assert message in str(error.value)


def test_the_former_promise_hints_table_is_refused_with_its_replacement():
    task = _task(1, "ch03/a.py", 2)
    task["promise_hints"] = {"no-loss": 2}
    with pytest.raises(ManifestError, match='write hint_for = { "promise:ID" = N } instead'):
        _manifest(task)
