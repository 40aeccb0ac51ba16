"""Hidden cases: a teacher's own traces, graded as separate tests that learners never see.

A hidden folder holds ``chNN/NAME.toml`` (or ``.json``) trace files in the same
format as a chapter's visible ``traces/``. Each chapter test that draws its
traces with ``kit.traces(PATTERN)`` is run a second time over the hidden traces
of its chapter matching PATTERN (``--hidden-traces``), as the test
``ID[hidden]``; a test that no hidden trace fits is not a hidden case.

Which tests are hidden cases is decided once per folder, without learner code:
the tests run over the hidden traces against the kit's reference solutions.
A hidden trace that the reference fails is refused up front, since it would
fail every learner.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from grader.errors import GradingError
from grader.pristine import Kit
from harness import traces as trace_files

SUFFIX = "[hidden]"
_probes: dict[tuple, list[str]] = {}


def validate(folder: Path, kit: Kit) -> dict[str, list[Path]]:
    """Check every hidden trace up front; return them by chapter. Bad input: GradingError."""
    if not folder.is_dir():
        raise GradingError(f"--hidden {folder}: not a folder (expected {folder}/chNN/NAME.toml)")
    found: dict[str, list[Path]] = {}
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith("."):
            continue
        if not entry.is_dir() or entry.name not in kit.chapters:
            known = ", ".join(kit.chapters)
            raise GradingError(
                f"--hidden {entry}: expected only chapter folders ({known}) holding trace files"
            )
        for path in sorted(entry.iterdir()):
            if path.name.startswith("."):
                continue
            if path.suffix not in (".toml", ".json") or not path.is_file():
                raise GradingError(f"{path}: a hidden trace is a .toml or .json trace file")
            try:
                trace_files.load(path)
            except (trace_files.TraceError, KeyError) as error:
                raise GradingError(" ".join(str(error).split())) from None
            found.setdefault(entry.name, []).append(path)
    if not found:
        raise GradingError(f"--hidden {folder}: no trace files in its chNN/ folders")
    return found


def digest(traces: dict[str, list[Path]]) -> str:
    sha = hashlib.sha256()
    for chapter, paths in sorted(traces.items()):
        for path in paths:
            sha.update(f"{chapter}/{path.name}".encode() + b"\0" + path.read_bytes() + b"\0")
    return sha.hexdigest()


def applicable(records: dict[str, dict], reference: bool) -> list[str]:
    """The tests of a probe run that are hidden cases, from their records."""
    chosen = []
    for test, record in records.items():
        if record.get("status") == "skipped":
            continue
        if record.get("hidden_traces", 0) or not reference and record.get("status") != "passed":
            chosen.append(test)
    return chosen


def reference_failures(records: dict[str, dict]) -> list[str]:
    return [
        f"{test}: {' '.join(str(r.get('message', '')).split())[:200]}"
        for test, r in records.items()
        if r.get("status") not in ("passed", "skipped")
    ]


def cache_key(kit: Kit, traces: dict[str, list[Path]], chapters: list[str]) -> tuple:
    return (kit.root, kit.version, digest(traces), tuple(chapters))


def remembered(key: tuple) -> list[str] | None:
    return _probes.get(key)


def remember(key: tuple, tests: list[str]) -> None:
    _probes[key] = tests


def options(folder: Path) -> list[str]:
    """The pytest options of a run over the hidden traces in ``folder``, and over nothing
    else: the visible run has already drawn the generated traces."""
    return ["--hidden-traces", str(folder), "--hidden-only"]


def copy_to(traces: dict[str, list[Path]], destination: Path) -> Path:
    """Copy the hidden traces into ``destination`` (private to the grader); return it."""
    for chapter, paths in traces.items():
        (destination / chapter).mkdir(parents=True, exist_ok=True)
        for path in paths:
            (destination / chapter / path.name).write_bytes(path.read_bytes())
    return destination
