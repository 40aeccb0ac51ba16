"""Checkers: verdicts as data, with glossary words, a sentence, and marks on the timeline."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.checkers import (
    Verdict,
    duplicates_within,
    no_duplicate,
    no_loss,
    no_swallow,
    settled,
)
from harness.glossary import ANOMALIES
from harness.outcome import Outcome
from harness.timeline import Timeline

ACCEPTED = {"m1": "o-1", "m2": "o-2", "m3": "o-3"}


def outcome(effects, **fields) -> Outcome:
    fields.setdefault("accepted", ACCEPTED)
    return Outcome(effects=effects, effect="charged", **fields)


def test_every_checker_holds_on_a_clean_run():
    """Each order charged once, all settled, nothing swallowed: every verdict holds, no data."""
    clean = outcome({"o-1": [1], "o-2": [4], "o-3": [7]})
    for check in (no_loss, no_duplicate, settled, no_swallow):
        verdict = check(clean)
        assert verdict.holds, check.__name__
        assert verdict.anomalies == {} and verdict.marks == {}


def test_no_loss_names_every_order_never_charged():
    """no_loss fails with 'lost' listing each accepted order without effect, in a sentence."""
    verdict = no_loss(outcome({"o-2": [3]}))
    assert not verdict.holds
    assert verdict.anomalies == {"lost": ["o-1", "o-3"]}
    assert "o-1, o-3" in verdict.observed
    assert "never charged" in verdict.observed and verdict.observed.endswith("(lost)")
    one = no_loss(outcome({"o-1": [1], "o-3": [2]}))
    assert one.anomalies == {"lost": ["o-2"]}
    assert "o-2" in one.observed and "o-1" not in one.observed


def test_no_loss_counts_an_empty_effect_list_as_lost():
    """An order whose list of effects is empty was never charged."""
    assert no_loss(outcome({"o-1": [1], "o-2": [], "o-3": [5]})).anomalies == {"lost": ["o-2"]}


def test_no_duplicate_names_orders_charged_twice_and_marks_the_second_charge():
    """no_duplicate fails with 'duplicated', says how many times, and marks the 2nd+ charges."""
    verdict = no_duplicate(outcome({"o-1": [2, 9], "o-2": [4], "o-3": [5, 11, 14]}))
    assert not verdict.holds
    assert verdict.anomalies == {"duplicated": ["o-1", "o-3"]}
    assert "o-1 was charged 2 times" in verdict.observed
    assert "o-3 was charged 3 times" in verdict.observed
    assert verdict.observed.endswith("(duplicated)")
    assert sorted(verdict.marks) == [9, 11, 14], "only the 2nd and later charges are marked"
    assert "second" in verdict.marks[9] and "o-1" in verdict.marks[9]
    assert "second" in verdict.marks[11] and "o-3" in verdict.marks[11]
    assert "third" in verdict.marks[14] and "o-3" in verdict.marks[14]


def test_no_duplicate_ignores_crashes():
    """no_duplicate allows no extra charge at all, however many crashes the run had."""
    assert not no_duplicate(outcome({"o-1": [1, 2]}, crashes=5)).holds


@pytest.mark.parametrize(
    ("effects", "crashes", "per_crash", "holds"),
    [
        ({"o-1": [1, 2]}, 1, 1, True),
        ({"o-1": [1, 2], "o-2": [3, 4]}, 1, 1, False),
        ({"o-1": [1, 2], "o-2": [3, 4]}, 1, 2, True),
        ({"o-1": [1, 2], "o-2": [3, 4]}, 2, 1, True),
        ({"o-1": [1, 2, 3]}, 1, 1, False),
        ({"o-1": [1, 2]}, 0, 3, False),
        ({"o-1": [1]}, 0, 0, True),
    ],
)
def test_duplicates_within_allows_per_crash_extra_charges_for_each_crash(
    effects, crashes, per_crash, holds
):
    """duplicates_within holds iff the extra charges are at most per_crash times the crashes."""
    verdict = duplicates_within(outcome(effects, crashes=crashes), per_crash=per_crash)
    assert verdict.holds is holds
    if not holds:
        assert list(verdict.anomalies) == ["duplicated"]


def test_duplicates_within_says_how_many_extra_for_how_many_crashes():
    """A failing duplicates_within sentence gives the extra charges, the crashes and the bound."""
    verdict = duplicates_within(outcome({"o-1": [1, 5], "o-2": [3, 6, 8]}, crashes=1), per_crash=2)
    assert not verdict.holds
    assert "3 extra after 1 crash," in verdict.observed
    assert "more than 2 per crash" in verdict.observed
    assert set(verdict.marks) == {5, 6, 8}


def test_settled_names_every_message_stuck():
    """settled fails with 'stuck' listing the unsettled message ids."""
    verdict = settled(outcome({"o-1": [1]}, unsettled=["m2", "m3"]))
    assert not verdict.holds
    assert verdict.anomalies == {"stuck": ["m2", "m3"]}
    assert "m2, m3" in verdict.observed
    assert "never settled" in verdict.observed and verdict.observed.endswith("(stuck)")


def test_no_swallow_counts_the_swallowed_crashes_and_marks_them():
    """no_swallow fails with 'swallowed' and marks the timeline steps where the crash was caught."""
    timeline = Timeline()
    timeline.record(0.0, "broker", "consumer", "deliver m1 (o-1) tag=1")
    timeline.crash(0.001, "consumer", "before charge o-1")
    timeline.crash(0.001, "consumer", "caught the crash and went on (swallowed)")
    timeline.record(0.011, "harness", "consumer", "restart (incarnation 2)")
    verdict = no_swallow(outcome({"o-1": [1]}, swallowed=1, crashes=1, timeline=timeline))
    assert not verdict.holds
    assert list(verdict.anomalies) == ["swallowed"]
    assert "1 crash" in verdict.observed and "(swallowed)" in verdict.observed
    assert list(verdict.marks) == [2], "the step where the crash was caught is marked"


def test_a_verdict_only_speaks_the_glossary():
    """Verdict refuses an anomaly word that is not in the glossary, naming the known words."""
    with pytest.raises(ValueError, match="'missing' is not a glossary word.*lost"):
        Verdict(False, {"missing": ["o-1"]})
    for word in ANOMALIES:
        assert not Verdict(False, {word: ["x"]}).holds


def test_every_anomaly_word_a_checker_uses_is_in_the_glossary():
    """The words the checkers report are glossary words."""
    bad = outcome(
        {"o-1": [1, 2]},
        accepted={"m1": "o-1", "m2": "o-2"},
        unsettled=["m2"],
        swallowed=1,
    )
    words = set()
    for check in (no_loss, no_duplicate, settled, no_swallow):
        words |= set(check(bad).anomalies)
    assert words == {"lost", "duplicated", "stuck", "swallowed"}
    assert words <= set(ANOMALIES)


def test_outcome_counts_applications_lost_and_duplicated():
    """Outcome.applied, .lost and .duplicated read the effects the checkers rely on."""
    o = outcome({"o-1": [1, 2], "o-2": [3]})
    assert (o.applied("o-1"), o.applied("o-2"), o.applied("o-3")) == (2, 1, 0)
    assert o.lost == ["o-3"]
    assert o.duplicated == {"o-1": 2}


def test_the_readme_explains_every_glossary_word():
    """a learner reads the words of a failure in the README before meeting them in one"""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    missing = [word for word in ANOMALIES if f"**{word}**" not in readme]
    assert not missing, f"README.md does not explain {missing}"
