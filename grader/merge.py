"""``grader merge OUT1 OUT2 ... --out DIR``: join the shards of a batch into one CSV and gradebook.

Each OUT is the output folder of one ``grader batch DIR --shard K/N`` (or of an
unsharded batch). Its records are read as the batch reads them, signature
checked with that folder's own ``batch.key`` (:func:`grader.records.check_records`),
and joined into ``DIR/grades.csv`` and an nbgrader gradebook
(``DIR/gradebook.db``, or ``--gradebook URL``), written as the batch writes them.

Refused, with one line and exit 2: a record whose signature does not hold,
shards graded with different kit versions or settings, a student in two
shards with different results, and a missing shard (the records know K/N).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from grader.batch import SHARD_FILE, _gradebook_url, sync_gradebook
from grader.errors import GradingError
from grader.records import Record, check_records, write_csv


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("shards", type=Path, nargs="+", metavar="OUT", help="shard output folders")
    parser.add_argument("--out", type=Path, required=True, help="where the joined files go")
    parser.add_argument(
        "--gradebook",
        default=None,
        metavar="URL",
        help="the nbgrader gradebook: a SQLAlchemy URL or a file (default: OUT/gradebook.db)",
    )
    parser.add_argument("--no-gradebook", action="store_true", help="write no gradebook")


def _comparable(record: Record) -> dict:
    """What two gradings of one student must agree on (not when, nor from which path)."""
    data = record.to_json()
    if record.result is not None:
        data["result"] = record.result.without_timestamp()
        data["result"].pop("submission", None)
    data.pop("shard")
    return data


def merge(folders: list[Path]) -> dict[str, Record]:
    """Every student's record from ``folders``; GradingError naming what does not fit."""
    merged: dict[str, Record] = {}
    where: dict[str, Path] = {}
    settings: dict[str, Path] = {}
    shards: dict[int, set[int]] = {}
    for folder in folders:
        # An empty slice has no results/ (nor has its CI artifact), only its shard.txt.
        if not (folder / "results").is_dir() and not (folder / SHARD_FILE).is_file():
            raise GradingError(f"{folder}: not a batch's output folder (it has no results/)")
        records, distrusted = check_records(folder)
        marker = folder / SHARD_FILE
        if marker.is_file():
            k, _, n = marker.read_text(encoding="utf-8").strip().partition("/")
            if k.isdigit() and n.isdigit():
                shards.setdefault(int(n), set()).add(int(k))
        if distrusted:
            raise GradingError(
                f"{folder}: {len(distrusted)} records are not signed by the batch that wrote "
                f"this folder ({', '.join(distrusted[:3])}); run that shard's batch again"
            )
        for record in records.values():
            first = settings.setdefault(record.settings, folder)
            if len(settings) > 1:
                kits = {
                    r.result.kit_version
                    for f in (first, folder)
                    for r in check_records(f)[0].values()
                    if r.result is not None
                }
                raise GradingError(
                    f"{next(iter(settings.values()))} and {folder}: graded with different "
                    f"kit versions or settings (kit {', '.join(sorted(kits)) or 'unknown'}); "
                    "grade every shard with the same kit and options"
                )
            if record.shard:
                k, _, n = record.shard.partition("/")
                shards.setdefault(int(n), set()).add(int(k))
            known = merged.get(record.student)
            if known is not None and _comparable(known) != _comparable(record):
                raise GradingError(
                    f"{record.student}: in {where[record.student]} and {folder} with "
                    "different results; grade that student again in one shard only"
                )
            merged.setdefault(record.student, record)
            where.setdefault(record.student, folder)
    if len(shards) > 1:
        raise GradingError(
            f"the folders are slices of different splits ({', '.join(f'N={n}' for n in shards)})"
        )
    for n, present in shards.items():
        missing = [f"{k}/{n}" for k in range(1, n + 1) if k not in present]
        if missing:
            raise GradingError(
                f"missing shards {', '.join(missing)}: give every shard's output folder"
            )
    return merged


def run(args: argparse.Namespace) -> int:
    records = merge(list(args.shards))
    out: Path = args.out
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise GradingError(f"--out {out}: cannot create it ({error.strerror})") from None
    write_csv(out / "grades.csv", records.values())
    lines = [
        f"merged {len(args.shards)} folders: {len(records)} students",
        f"csv: {out / 'grades.csv'}",
    ]
    url = None if args.no_gradebook else _gradebook_url(args.gradebook, out)
    if url is not None:
        written = sync_gradebook(out, url, records)
        lines.append(f"gradebook: {url} ({written} students written)")
    retry = sorted(r.student for r in records.values() if r.retry)
    if retry:
        lines.append(f"not finished ({len(retry)}, see the error column): {', '.join(retry)}")
    print("\n".join(lines))
    return 1 if retry else 0
