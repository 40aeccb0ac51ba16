"""The batch's records: one JSON file per student, with the fingerprint of what was graded.

A record is written atomically the moment its grading finishes
(``OUT/results/STUDENT.json``); the CSV and the gradebook are rebuilt from the
records, so an interrupted batch loses nothing it had finished, and a student
has one record, never two. A fingerprint hashes every file of the submission
(caches and ``.git`` aside) with the grading settings (the kit's tests and
harness, the chapters, the hidden traces): a rerun grades a submission again
only when its fingerprint changed.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from grader.pristine import walk
from grader.result import SubmissionResult

RECORD_VERSION = 1


@dataclass(frozen=True)
class Record:
    """What the batch knows of one student: a result, or why there is none (bad submission)."""

    student: str
    fingerprint: str
    result: SubmissionResult | None = None
    error: str = ""

    def to_json(self) -> dict:
        return {
            "version": RECORD_VERSION,
            "student": self.student,
            "fingerprint": self.fingerprint,
            "result": self.result.to_json() if self.result else None,
            "error": self.error,
        }

    @classmethod
    def from_json(cls, data: dict) -> Record:
        result = data.get("result")
        return cls(
            data["student"],
            data["fingerprint"],
            SubmissionResult.from_json(result) if result else None,
            data.get("error", ""),
        )


def _hash_tree(digest: hashlib._Hash, base: Path, root: Path) -> None:
    """Hash the files under ``base`` the way the grader sees them (tool caches and .git aside)."""
    for path in walk(base):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update((b"<link>" if path.is_symlink() else path.read_bytes()) + b"\0")


def settings_key(
    kit_version: str, chapters: list[str] | None, hidden: Path | None, timeout: float = 0.0
) -> str:
    """A hash of what grades every submission: the kit's version (a digest of its tests,
    traces, manifest and harness), the chapters, the time limit and the hidden traces."""
    digest = hashlib.sha256(json.dumps([kit_version, chapters, timeout]).encode())
    if hidden is not None and hidden.is_dir():
        digest.update(b"hidden\0")
        _hash_tree(digest, hidden, hidden)
    return digest.hexdigest()


def fingerprint(submission: Path, settings: str) -> str:
    """A hash of every file of ``submission`` (caches and .git aside) and of ``settings``."""
    digest = hashlib.sha256(settings.encode() + b"\0")
    _hash_tree(digest, submission, submission)
    return digest.hexdigest()


# -- records --------------------------------------------------------------------------------------


def submissions(root: Path, out: Path) -> list[Path]:
    """The submission folders directly under ``root``, by name (hidden folders and OUT aside)."""
    found = []
    for path in sorted(root.iterdir()):
        if path.is_dir() and not path.name.startswith(".") and path.resolve() != out.resolve():
            found.append(path)
    return found


def load_records(out: Path) -> dict[str, Record]:
    records = {}
    for path in sorted((out / "results").glob("*.json")):
        try:
            record = Record.from_json(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, KeyError, TypeError):
            continue  # unreadable: that student is graded again
        records[record.student] = record
    return records


def save_record(out: Path, record: Record) -> None:
    """Write one record atomically: a crash leaves the old record or the new, never half."""
    folder = out / "results"
    folder.mkdir(parents=True, exist_ok=True)
    temporary = folder / f".{record.student}.json.tmp"
    temporary.write_text(json.dumps(record.to_json(), indent=1) + "\n", encoding="utf-8")
    temporary.replace(folder / f"{record.student}.json")


def write_csv(path: Path, records: Iterable[Record]) -> None:
    """One row per student: a column per chapter, the total, the maximum, integrity, error."""
    records = sorted(records, key=lambda r: r.student)
    chapters: list[str] = []
    for record in records:
        for chapter in record.result.chapters if record.result else []:
            if chapter.id not in chapters:
                chapters.append(chapter.id)
    chapters.sort()
    temporary = path.with_name(f".{path.name}.tmp")
    with temporary.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["student", *chapters, "total", "max_score", "integrity", "error"])
        for record in records:
            result = record.result
            scores = {c.id: f"{c.score:g}" for c in result.chapters} if result else {}
            writer.writerow(
                [
                    record.student,
                    *(scores.get(chapter, "") for chapter in chapters),
                    f"{result.score:g}" if result else "0",
                    f"{result.max_score:g}" if result else "",
                    _integrity(result) if result else "",
                    record.error,
                ]
            )
    temporary.replace(path)


def _integrity(result: SubmissionResult) -> str:
    integrity = result.integrity
    parts = [
        f"{label}: {' '.join(files)}"
        for label, files in (
            ("modified", integrity.modified),
            ("unexpected", integrity.unexpected),
            ("missing", integrity.missing),
        )
        if files
    ]
    return "; ".join(parts) or "clean"
