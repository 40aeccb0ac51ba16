"""The batch's records: one JSON file per student, with the fingerprint of what was graded.

A record is written atomically the moment its grading finishes
(``OUT/results/STUDENT.json``); the CSV and the gradebook are rebuilt from the
records, so an interrupted batch loses nothing it had finished, and a student
has one record, never two. A fingerprint hashes every file of the submission
(caches and ``.git`` aside) with the grading settings (the kit's tests and
harness, the chapters, the hidden traces): a rerun grades a submission again
only when its fingerprint changed.

Records are signed: an HMAC-SHA256 keyed by a secret the batch creates in its
output folder on its first run (``OUT/batch.key``, mode 0600). A record that
does not parse, lacks a field, is filed under another student's name or whose
signature does not match (forged, or rewritten by a process left over from a
grading) is *distrusted*: it is never read as a result, and its student is
graded again.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import json
import os
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from grader.pristine import walk
from grader.result import SubmissionResult

RECORD_VERSION = 2
KEY_FILE = "batch.key"


@dataclass(frozen=True)
class Record:
    """What the batch knows of one student: a result, or why there is none.

    ``error`` without ``retry`` is a submission that cannot be graded (not a kit
    checkout): kept until the submission changes. ``retry`` marks a grading that
    did not finish (it ran out of time): its row says why, and the next run grades
    that student again.
    """

    student: str
    fingerprint: str
    result: SubmissionResult | None = None
    error: str = ""
    retry: bool = False
    settings: str = ""
    """The :func:`settings_key` it was graded with (``grader merge`` compares them)."""
    shard: str = ""
    """``K/N`` when a sharded batch (``--shard K/N``) wrote it."""

    def to_json(self) -> dict:
        return {
            "version": RECORD_VERSION,
            "student": self.student,
            "fingerprint": self.fingerprint,
            "settings": self.settings,
            "shard": self.shard,
            "retry": self.retry,
            "result": self.result.to_json() if self.result else None,
            "error": self.error,
        }

    @classmethod
    def from_json(cls, data: dict) -> Record:
        """The record of :meth:`to_json`; KeyError or TypeError when a field is missing."""
        if data["version"] != RECORD_VERSION:
            raise ValueError(f"record version {data['version']!r}")
        result = data["result"]
        for name, kind in (
            ("student", str),
            ("fingerprint", str),
            ("settings", str),
            ("shard", str),
            ("retry", bool),
            ("error", str),
        ):
            if not isinstance(data[name], kind):
                raise TypeError(f"{name}: expected {kind.__name__}")
        return cls(
            data["student"],
            data["fingerprint"],
            SubmissionResult.from_json(result) if result is not None else None,
            data["error"],
            data["retry"],
            data["settings"],
            data["shard"],
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


def batch_key(out: Path, *, create: bool = False) -> bytes | None:
    """The secret that signs ``out``'s records; made (mode 0600) when ``create`` and absent."""
    path = out / KEY_FILE
    try:
        key = bytes.fromhex(path.read_text(encoding="ascii").strip())
        if len(key) < 16:
            raise ValueError("too short")
        return key
    except FileNotFoundError:
        if not create:
            return None
    except (OSError, ValueError):
        if not create:
            return None  # unreadable or mangled: no record is trusted under it
        path.unlink(missing_ok=True)  # a new secret: every record signed with the old is regraded
    out.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another batch on this folder made it first
        return batch_key(out)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(secrets.token_hex(32) + "\n")
    return batch_key(out)


def _signature(key: bytes, data: dict) -> str:
    body = json.dumps(data, sort_keys=True, separators=(",", ":")).encode()
    return hmac.new(key, body, hashlib.sha256).hexdigest()


def check_records(out: Path, key: bytes | None = None) -> tuple[dict[str, Record], list[str]]:
    """``out``'s trusted records by student, and the names of the files it distrusted.

    ``key`` defaults to ``out``'s own secret; without one, no record is trusted.
    """
    key = batch_key(out) if key is None else key
    records: dict[str, Record] = {}
    distrusted: list[str] = []
    for path in sorted((out / "results").glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            signature = data.pop("signature")
            if key is None or not hmac.compare_digest(str(signature), _signature(key, data)):
                raise ValueError("signature")
            record = Record.from_json(data)
            if record.student != path.stem:
                raise ValueError("filed under another name")
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            distrusted.append(path.name)  # its student is graded again
            continue
        records[record.student] = record
    return records, distrusted


def load_records(out: Path) -> dict[str, Record]:
    """``out``'s trusted records by student (see :func:`check_records`)."""
    return check_records(out)[0]


def save_record(out: Path, record: Record) -> None:
    """Write one signed record atomically: a crash leaves the old record or the new, never half."""
    folder = out / "results"
    folder.mkdir(parents=True, exist_ok=True)
    key = batch_key(out, create=True)
    assert key is not None
    data = record.to_json()
    data["signature"] = _signature(key, data)
    temporary = folder / f".{record.student}.json.tmp"
    temporary.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    temporary.replace(folder / f"{record.student}.json")


def write_csv(path: Path, records: Iterable[Record]) -> None:
    """One row per student: a column per chapter, the total, the maximum, integrity, error,
    then each chapter's maximum (``chNN_max_score``), so that a spreadsheet can turn any
    column into a share of what it was out of. Columns are only ever added at the end."""
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
        writer.writerow(
            [
                "student",
                *chapters,
                "total",
                "max_score",
                "integrity",
                "error",
                *(f"{chapter}_max_score" for chapter in chapters),
            ]
        )
        for record in records:
            result = record.result
            scores = {c.id: f"{c.score:g}" for c in result.chapters} if result else {}
            maxima = {c.id: f"{c.max_score:g}" for c in result.chapters} if result else {}
            writer.writerow(
                [
                    record.student,
                    *(scores.get(chapter, "") for chapter in chapters),
                    f"{result.score:g}" if result else "0",
                    f"{result.max_score:g}" if result else "",
                    _integrity(result) if result else "",
                    record.error,
                    *(maxima.get(chapter, "") for chapter in chapters),
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
            ("copied", integrity.copied),
        )
        if files
    ]
    return "; ".join(parts) or "clean"
