"""``grader run PATH``: grade one submission and print or write the result."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from grader import affinity
from grader.errors import GradingError
from grader.formats import FORMATS, render
from grader.grade import DEFAULT_TEST_TIMEOUT, DEFAULT_TIMEOUT, DEFAULT_WORKERS, grade_submission


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", type=Path, help="the submission: a checkout of this kit")
    parser.add_argument("--format", choices=FORMATS, default="json", help="default: json")
    parser.add_argument("--out", type=Path, default=None, help="write to FILE, not stdout")
    parser.add_argument(
        "--chapters",
        default=None,
        metavar="LIST",
        help="grade only these chapters, comma-separated (e.g. ch03,ch04); default: all",
    )
    parser.add_argument(
        "--hidden",
        type=Path,
        default=None,
        metavar="DIR",
        help="a folder of hidden traces, DIR/chNN/*.toml, graded as separate tests",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        help=f"wall-clock seconds for the whole submission (default {DEFAULT_TIMEOUT:g})",
    )
    parser.add_argument(
        "--test-timeout",
        type=float,
        default=DEFAULT_TEST_TIMEOUT,
        help=f"seconds of CPU time for one test (default {DEFAULT_TEST_TIMEOUT:g})",
    )
    parser.add_argument(
        "--sandbox",
        choices=("auto", "require", "none"),
        default="auto",
        help="where learner code runs: auto (the strongest sandbox this machine offers; "
        "the result says which protections held), require (bubblewrap, or stop), none",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=DEFAULT_WORKERS,
        help=f"test processes sharing the chapters (default {DEFAULT_WORKERS}; "
        "1 when grading several submissions at once)",
    )
    parser.add_argument(
        "--cpus",
        default=None,
        metavar="LIST",
        help="the CPUs this grading and every process it starts run on, e.g. 0,1 or 0-3 "
        "(default: all it may use); each test process is given one of them, in turn",
    )

    # Between grader batch and the gradings it starts: where the plan is kept for all of them.
    parser.add_argument("--shared-plan", type=Path, default=None, help=argparse.SUPPRESS)


def chapters_of(value: str | None) -> list[str] | None:
    """``--chapters ch03,ch04`` as a list (None: every chapter)."""
    if value is None:
        return None
    return [part.strip() for part in value.split(",") if part.strip()]


def check_writable(out: Path | None) -> None:
    """Refuse an output path that cannot be written, before spending time grading."""
    if out is None:
        return
    folder = out.parent if str(out.parent) else Path(".")
    try:
        out.exists()
    except OSError as error:
        raise GradingError(f"--out {out}: cannot reach it ({error.strerror})") from None
    if out.is_dir():
        raise GradingError(f"--out {out}: is a folder; give a file name")
    if not folder.is_dir():
        raise GradingError(f"--out {out}: the folder {folder} does not exist")
    existed = out.exists()
    try:
        with open(out, "a", encoding="utf-8"):
            pass
    except OSError as error:
        raise GradingError(f"--out {out}: cannot write it ({error.strerror})") from None
    if not existed:
        out.unlink()  # only a check: the file is written when the grade is known


def run(args: argparse.Namespace) -> int:
    check_writable(args.out)
    if args.cpus is not None:
        affinity.confine(affinity.parse(args.cpus))
    result = grade_submission(
        args.path,
        chapters=chapters_of(args.chapters),
        hidden=args.hidden,
        timeout=args.timeout,
        test_timeout=args.test_timeout,
        workers=args.workers,
        sandbox=args.sandbox,
        shared_plan=args.shared_plan,
    )
    text = render(args.format, result)
    if args.out is None:
        sys.stdout.write(text)
    else:
        args.out.write_text(text, encoding="utf-8")
    return 0
