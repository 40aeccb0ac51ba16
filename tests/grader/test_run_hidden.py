"""Hidden cases (``grader run --hidden DIR``): the teacher's own traces, graded apart."""

from __future__ import annotations

import shutil
from pathlib import Path

import pristine_copy
import pytest

from grader.errors import GradingError
from grader.grade import grade_submission
from grader.pristine import default_root

KIT = default_root()
MODULES = ("at_most_once.py", "at_least_once.py", "commit_first.py", "commit_after.py")

SECRET = """\
title = "Two orders nobody has seen"
story = "Orders with ids that no visible trace uses."
workload = "payments-queue"

[[steps]]
at = 0.0
publish = { id = "m71", order = "o-71", amount = 7 }

[[steps]]
at = 0.0
publish = { id = "m72", order = "o-72", amount = 8 }
"""

UNFAIR = SECRET.replace(
    '[[steps]]\nat = 0.0\npublish = { id = "m71"',
    '[[steps]]\nat = 0.0\nfail = { order = "o-71", times = 1000000 }\n\n[[steps]]\nat = 0.0\n'
    'publish = { id = "m71"',
)
"""A gateway that times out on o-71 for ever: no consumer, the reference included, settles it."""

CHEAT = '''
VISIBLE = {f"o-{n}" for n in range(1, 21)}


class AtLeastOnceConsumer(AtLeastOnceConsumer):
    """Correct on the orders the visible traces use; drops every other one."""

    def on_message(self, delivery):
        if delivery.body["order_id"] in VISIBLE:
            return super().on_message(delivery)
        self.channel.ack(delivery.tag)
'''


def submission(tmp_path: Path, *, cheat: bool = False) -> Path:
    sub = tmp_path / "sub"
    shutil.copytree(pristine_copy.exercises() / "ch03", sub / "exercises" / "ch03")
    for module in MODULES + ("guarantee.py",):
        shutil.copyfile(KIT / "solutions/ch03" / module, sub / "exercises/ch03" / module)
    if cheat:
        path = sub / "exercises/ch03/at_least_once.py"
        path.write_text(path.read_text() + CHEAT)
    return sub


def hidden(tmp_path: Path, text: str = SECRET) -> Path:
    folder = tmp_path / "hidden"
    (folder / "ch03").mkdir(parents=True)
    (folder / "ch03" / "queue-secret.toml").write_text(text, encoding="utf-8")
    return folder


def test_hidden_cases_are_separate_tests_that_a_correct_solution_passes(tmp_path: Path):
    result = grade_submission(submission(tmp_path), chapters=["ch03"], hidden=hidden(tmp_path))
    secret = [t for t in result.tests if t.hidden]
    assert secret and all(t.id.endswith("[hidden]") for t in secret)
    assert {t.task for t in secret} == {1, 2}  # the tests that draw traces with queue-*
    assert result.score == result.max_score
    visible = sum(t.max_points for t in result.tests if not t.hidden)
    assert result.max_score == visible + sum(t.max_points for t in secret)


def test_special_casing_the_visible_traces_fails_the_hidden_ones(tmp_path: Path):
    result = grade_submission(
        submission(tmp_path, cheat=True), chapters=["ch03"], hidden=hidden(tmp_path)
    )
    task2 = [t for t in result.tests if t.task == 2]
    assert all(t.status == "passed" for t in task2 if not t.hidden and "many" not in t.id)
    secret = [t for t in task2 if t.hidden]
    assert secret and all(t.status == "failed" and t.points == 0 for t in secret)
    assert all("(lost)" in t.message and t.promise == "no-loss" for t in secret), secret


def test_a_hidden_trace_the_reference_fails_is_refused_up_front(tmp_path: Path):
    with pytest.raises(GradingError, match="fails the kit's reference solution"):
        grade_submission(submission(tmp_path), chapters=["ch03"], hidden=hidden(tmp_path, UNFAIR))
