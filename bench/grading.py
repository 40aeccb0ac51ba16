"""How long grading takes: one full submission, and a batch of generated submissions.

    python bench/grading.py                  # 20 submissions, --jobs 2
    python bench/grading.py --count 6 --jobs 2 --chapters ch03

Each generated submission is a copy of this kit whose exercise modules are the
stubs, the reference solutions, or the solutions with one known-wrong module
(a mutant from tests/mutants) swapped in, in turn. Prints wall times.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

KIT = Path(__file__).resolve().parent.parent
SKIP = {".git", ".twm", ".hypothesis", ".pytest_cache", ".ruff_cache", "__pycache__"}


def copy_kit(where: Path) -> None:
    shutil.copytree(KIT, where, ignore=lambda _dir, names: [n for n in names if n in SKIP])


def solve(student: Path) -> None:
    """Put every reference solution module in place of its stub in the copy ``student``."""
    for chapter in (KIT / "solutions").glob("ch*"):
        for module in chapter.glob("*.py"):
            shutil.copy(module, student / "exercises" / chapter.name / module.name)


def make_submissions(root: Path, count: int) -> None:
    mutants = sorted(p.parent for p in (KIT / "tests" / "mutants").glob("ch*/*/mutant.toml"))
    for index in range(count):
        student = root / f"student-{index + 1:02d}"
        copy_kit(student)
        kind = index % 3
        if kind == 0:
            continue  # untouched stubs
        solve(student)
        if kind == 2 and mutants:
            mutant = mutants[index % len(mutants)]
            for module in mutant.glob("ch*/*.py"):
                shutil.copy(module, student / "exercises" / module.parent.name / module.name)


def timed(command: list[str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(command, cwd=KIT, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode not in (0, 1):
        sys.exit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=20, help="submissions in the batch")
    parser.add_argument("--jobs", type=int, default=2, help="submissions graded at once")
    parser.add_argument("--chapters", default=None, help="e.g. ch03,ch04 (default: all)")
    args = parser.parse_args()
    chapters = ["--chapters", args.chapters] if args.chapters else []
    with tempfile.TemporaryDirectory(prefix="twm-bench-") as tmp:
        root = Path(tmp) / "class"
        make_submissions(root, args.count)
        one = timed(
            ["grader", "run", str(root / "student-02"), "--out", f"{tmp}/one.json", *chapters]
        )
        print(f"grader run, one solved submission: {one:.1f} s")
        batch = timed(
            ["grader", "batch", str(root), "--jobs", str(args.jobs), "--quiet", *chapters]
        )
        print(f"grader batch, {args.count} submissions, --jobs {args.jobs}: {batch:.1f} s")
        again = timed(
            ["grader", "batch", str(root), "--jobs", str(args.jobs), "--quiet", *chapters]
        )
        print(f"grader batch again, nothing changed: {again:.1f} s")
        print((root.parent / "class.grades" / "grades.csv").read_text()[:2000])


if __name__ == "__main__":
    main()
