"""Grade one submission: the kit's pristine tests against the learner's exercise modules.

The steps, each in its own module: the pristine kit (:mod:`grader.pristine`)
names the chapters and the learner's modules; a fresh sandbox holds the kit's
tests with only those modules taken from the submission (:mod:`grader.sandbox`);
the plan, a collection of the pristine tests, says which tests must have an
outcome; the tests run in a limited subprocess (:mod:`grader.runner`), hidden
cases in a second one (:mod:`grader.hidden`); each planned test scores its
points if the kit's plugin recorded it passed, else 0 with the reason; the
integrity section compares the submission with the kit (:mod:`grader.integrity`).
For example::

    result = grade_submission(Path("submissions/alice"), chapters=["ch03"])
    print(result.score, "/", result.max_score)
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from datetime import datetime, timezone
from pathlib import Path

from grader import affinity, edition, integrity, pristine, reaper, runner
from grader import hidden as hidden_cases
from grader import sandbox as sandboxes
from grader.errors import GradingError
from grader.result import STATUSES, ChapterResult, SubmissionResult, TestResult

DEFAULT_TIMEOUT = 300.0
"""Wall-clock seconds one submission may take in all, across its test runs: a backstop
against a hang (tests are limited in CPU time, which a loaded machine does not stretch)."""
DEFAULT_TEST_TIMEOUT = 10.0
"""Wall-clock seconds one test may take when graded (the kit's tests take well under one)."""
DEFAULT_WORKERS = 2
"""Test processes per submission: the chapters are shared among them (2 cores here)."""
MESSAGE_LIMIT = 400
_plans: dict[tuple, list[dict]] = {}
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{6,}")


def grade_submission(
    path: Path,
    *,
    chapters: list[str] | None = None,
    hidden: Path | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    test_timeout: float = DEFAULT_TEST_TIMEOUT,
    workers: int = DEFAULT_WORKERS,
    kit: Path | None = None,
    sandbox: str = "auto",
    shared_plan: Path | None = None,
) -> SubmissionResult:
    """Grade the submission at ``path`` (a checkout of the kit with the learner's work).

    Only the manifest's task modules are taken from ``path``; tests, traces,
    harness and configuration are the kit's own. ``chapters`` limits grading to
    those chapter ids (default: every chapter with tests), ``hidden`` adds a
    teacher's trace folder (``chNN/*.toml``), ``timeout`` bounds the whole grading
    in wall-clock seconds, ``test_timeout`` each test; ``workers`` test processes
    share the chapters (a batch grading submissions in parallel passes 1); ``kit``
    is the pristine kit (default: the grader's own installation); ``sandbox`` is
    ``auto`` (the strongest this machine offers), ``require`` (bubblewrap or a
    GradingError) or ``none`` (see :mod:`harness.isolation.sandbox`);
    ``shared_plan`` is where a batch keeps the tests to score for all its gradings
    (see :func:`_read_plan`). Each test process, and the learner processes it
    starts, runs on one CPU (:mod:`grader.affinity`). Raises
    :class:`grader.errors.GradingError` on bad input. Returns only once every
    process it started, and every process those started, is gone.
    """
    deadline = time.monotonic() + timeout
    protection = _protection(sandbox)
    reaper.become_subreaper()
    before = reaper.descendants()
    the_kit = pristine.load(kit)
    path = Path(path)
    if not (path / "exercises").is_dir():
        raise GradingError(f"{path}: not a checkout of this kit (it has no exercises/ folder)")
    edition.check_stamp(path, the_kit)  # a learner edition of another kit version is refused
    selected = the_kit.select(chapters)
    hidden_traces = hidden_cases.validate(Path(hidden), the_kit) if hidden else {}
    hidden_traces = {c: p for c, p in hidden_traces.items() if c in selected}
    sandbox = sandboxes.build(the_kit, path.resolve(), selected)
    sandbox.mode = protection
    planner = _Planner(the_kit, sandbox, selected, shared_plan)
    lanes = [
        runner.Lane(
            f"visible{n}",
            sandbox,
            None,
            [],
            first=[str(sandbox.kit / p.relative_to(the_kit.root)) for p in group],
        )
        for n, group in enumerate(_groups(the_kit, selected, workers), 1)
    ]
    hidden_lane = None
    try:
        if hidden_traces:
            folder = hidden_cases.copy_to(hidden_traces, sandbox.private / "hidden")
            key = hidden_cases.cache_key(the_kit, hidden_traces, selected)
            hidden_lane = runner.Lane("hidden", sandbox, None, hidden_cases.options(folder))
            hidden_lane.tests = hidden_cases.remembered(key)
            if hidden_lane.tests is None:
                lanes.append(_probe(the_kit, sandbox, hidden_traces, folder))
            else:
                lanes.append(hidden_lane)

        def then(lane: runner.Lane) -> runner.Lane | None:
            if lane.name != "probe":
                return None
            hidden_lane.tests = _probed(lane, sandbox)
            hidden_cases.remember(key, hidden_lane.tests)
            hidden_lane.cpu = lane.cpu
            return hidden_lane

        affinity.pin(lanes)

        def plan(lane: runner.Lane) -> list[str]:
            """The planned tests under the files and folders the lane's first run was given."""
            given = [Path(f).relative_to(sandbox.kit).as_posix() for f in lane.first]
            return [
                test
                for test in planner.wait()
                if any(test.split("::")[0] == g or test.startswith(g + "/") for g in given)
            ]

        runner.run_lanes(
            lanes,
            deadline=deadline,
            budget=timeout,
            test_timeout=test_timeout,
            isolate=runner.isolation_available(the_kit.root),
            then=then,
            plan=plan,
        )
        planned = planner.wait()
        records = {
            t: r
            for lane in lanes
            if lane.name.startswith("visible")
            for t, r in lane.records.items()
        }
        tests = [_scored(planned[t], records[t], sandbox) for t in planned]
        if hidden_lane is not None:
            tests += [
                _scored(planned[t], hidden_lane.records[t], sandbox, hidden=True)
                for t in hidden_lane.tests or ()
            ]
        notes = list(sandbox.notes)
    finally:
        for lane in (*lanes, hidden_lane):
            if lane is not None:
                lane.kill()
        planner.kill()
        reaper.kill_leftovers(before)
        shielded = _shield(protection, sandbox)
        sandbox.remove()
    return _result(the_kit, path, selected, tests, notes, shielded)


def _protection(mode: str) -> str:
    """Check the sandbox mode before grading: a required sandbox that this machine cannot
    give is one clear line, not a run that silently falls back."""
    from harness.isolation import sandbox as learner_sandbox

    try:
        learner_sandbox.use_bubblewrap(mode)
    except learner_sandbox.SandboxUnavailable as error:
        message = str(error).replace("(TWM_SANDBOX=require)", "(--sandbox require)")
        raise GradingError(message) from None
    return learner_sandbox.mode(mode)


def _shield(mode: str, sandbox: sandboxes.Sandbox) -> dict[str, list[str]]:
    from harness.isolation import sandbox as learner_sandbox

    return {
        "held": learner_sandbox.protections([sandbox.target], mode),
        "missing": learner_sandbox.missing_protections([sandbox.target], mode),
    }


def _groups(kit: pristine.Kit, chapters: list[str], workers: int) -> list[list[Path]]:
    """Share the chapters' test files among ``workers`` processes, balanced by an estimate
    of their cost: a test that explores crash schedules costs far more than one run."""

    def cost(path: Path) -> int:
        text = path.read_text(encoding="utf-8")
        explorations = text.count("random_faults(") + text.count("every_single_crash(")
        return 1 + text.count("def test_") + 4 * explorations

    files = [p for c in chapters for p in sorted((kit.exercises / c).glob("test_*.py"))]
    weight = {path: cost(path) for path in files}
    groups: list[list[Path]] = [[] for _ in range(max(1, min(workers, len(files))))]
    for path in sorted(files, key=lambda p: (-weight[p], p)):
        min(groups, key=lambda g: sum(weight[p] for p in g)).append(path)
    return [sorted(group) for group in groups if group]


class _Planner:
    """The plan: the chapter tests to score, in run order, from a collection of the pristine
    tests (no learner code is imported when collecting). Runs alongside the tests; cached in
    this process, and in ``shared`` when given (see :func:`_read_plan`)."""

    def __init__(
        self,
        kit: pristine.Kit,
        sandbox: sandboxes.Sandbox,
        chapters: list[str],
        shared: Path | None = None,
    ) -> None:
        self.key = (kit.root, kit.version, tuple(chapters))
        self.sandbox = sandbox
        self.shared = shared
        self.out = sandbox.private / "plan.json"
        self.process = None
        if self.key not in _plans and shared is not None:
            known = _read_plan(shared, kit.version, chapters)
            if known is not None:
                _plans[self.key] = known
        if self.key not in _plans:
            args = ["--collect-only", "--grader-plan", str(self.out)]
            args += [str(sandbox.target / chapter) for chapter in chapters]
            self.process = subprocess.Popen(
                runner.pytest_command(sandbox, args),
                cwd=sandbox.work,
                env=runner.environment(sandbox),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )

    def wait(self) -> dict[str, dict]:
        if self.key not in _plans:
            output, _ = self.process.communicate()
            if not self.out.is_file():
                tail = " ".join(output.strip().splitlines()[-1:])
                raise GradingError(
                    f"cannot collect the kit's own tests: {self.sandbox.clean(tail)}"
                )
            _plans[self.key] = json.loads(self.out.read_text(encoding="utf-8"))
            if self.shared is not None:
                _write_plan(self.shared, self.key[1], list(self.key[2]), _plans[self.key])
        return {entry["id"]: entry for entry in _plans[self.key]}

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


_PLAN_FIELDS = {"id": str, "chapter": str, "task": int, "max_points": (int, float), "title": str}


def _read_plan(path: Path, version: str, chapters: list[str]) -> list[dict] | None:
    """The plan kept in ``path`` for this kit version and these chapters; None when there is
    none, or it is another's, or it is not a plan at all (then the grading collects its own).

    A batch passes every ``grader run`` it starts the same ``path``, in a folder of its own
    that learner code can neither read nor write: the first grading writes the plan there and
    the others need not collect the kit's tests again (a pytest start each)."""
    try:
        kept = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(kept, dict) or kept.get("kit") != version:
        return None
    tests = kept.get("tests")
    if kept.get("chapters") != chapters or not isinstance(tests, list) or not tests:
        return None
    for entry in tests:
        if not isinstance(entry, dict) or not all(
            isinstance(entry.get(name), kind) for name, kind in _PLAN_FIELDS.items()
        ):
            return None
    return tests


def _write_plan(path: Path, version: str, chapters: list[str], tests: list[dict]) -> None:
    """Keep ``tests``, the plan of ``version`` and ``chapters``, in ``path`` for the next
    grading (readable by this account only; written whole or not at all)."""
    text = json.dumps({"kit": version, "chapters": chapters, "tests": tests})
    part = path.with_name(f".{path.name}.{os.getpid()}")
    try:
        descriptor = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(part, path)
    except OSError:
        part.unlink(missing_ok=True)  # the next grading collects its own plan


def _probe(
    kit: pristine.Kit,
    sandbox: sandboxes.Sandbox,
    traces: dict[str, list[Path]],
    folder: Path,
) -> runner.Lane:
    """A run of the hidden chapters' tests over the hidden traces, on the reference solutions
    (on the stubs where the kit has none): which tests are hidden cases."""
    solutions = kit.root / "solutions"
    reference = all((solutions / chapter).is_dir() for chapter in traces)
    first = [str(sandbox.target / chapter) for chapter in sorted(traces)]
    lane = runner.Lane("probe", sandbox, None, hidden_cases.options(folder), first=first)
    lane.target = solutions if reference else kit.exercises
    lane.reference = reference
    lane.repeat = False  # the kit's own modules: only which tests apply matters here
    return lane


def _probed(lane: runner.Lane, sandbox: sandboxes.Sandbox) -> list[str]:
    if lane.reference:
        failures = hidden_cases.reference_failures(lane.records)
        if failures:
            raise GradingError(
                f"a hidden trace fails the kit's reference solution, so it would fail every "
                f"learner: {sandbox.clean(failures[0])}"
            )
    return hidden_cases.applicable(lane.records, lane.reference)


def _message(record: dict, sandbox: sandboxes.Sandbox) -> str:
    text = " ".join(str(record.get("message") or "").split())
    text = _ADDRESS.sub("0x…", sandbox.clean(text))
    return text if len(text) <= MESSAGE_LIMIT else text[: MESSAGE_LIMIT - 1] + "…"


def _scored(
    entry: dict, record: dict, sandbox: sandboxes.Sandbox, *, hidden: bool = False
) -> TestResult:
    status = record.get("status")
    message = _message(record, sandbox)
    if status == "skipped":
        status, message = "failed", f"skipped: {message}"
    elif status not in STATUSES:
        status, message = "error", f"no outcome recorded ({status}): {message}"
    if status == "timeout" and message == "timed out":
        message = (
            "timed out: the test did not finish in time; the harness never waits, "
            "so this is a loop in the learner's code that never ends"
        )
    points = entry["max_points"] if status == "passed" else 0
    return TestResult(
        id=entry["id"] + (hidden_cases.SUFFIX if hidden else ""),
        chapter=entry["chapter"],
        task=entry["task"],
        status=status,
        points=points,
        max_points=entry["max_points"],
        message="" if status == "passed" else message,
        hidden=hidden,
        promise=record.get("promise"),
        title=entry["title"],
        replay="" if status == "passed" else record.get("replay") or "",
    )


def _result(
    kit: pristine.Kit,
    path: Path,
    chapters: list[str],
    tests: list[TestResult],
    notes: list[str],
    shielded: dict[str, list[str]],
) -> SubmissionResult:
    chapter_results = [
        ChapterResult(
            id=chapter,
            title=kit.title(chapter),
            score=sum(t.points for t in tests if t.chapter == chapter),
            max_score=sum(t.max_points for t in tests if t.chapter == chapter),
        )
        for chapter in chapters
    ]
    return SubmissionResult(
        score=sum(c.score for c in chapter_results),
        max_score=sum(c.max_score for c in chapter_results),
        chapters=chapter_results,
        tests=tests,
        integrity=integrity.check(path.resolve(), kit),
        kit_version=kit.version,
        graded_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        submission=str(path),
        notes=notes,
        sandbox=shielded,
    )
