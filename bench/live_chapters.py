"""What a learner waits for under ``--world live``, as ratios taken in the same run.

    python bench/live_chapters.py          # ch03 to ch07: live once, the others best of 3
    python bench/live_chapters.py --only ch03,ch07 --repeat 2

For each chapter it times, alternating, three runs of the kit's pytest as a learner types
them: the *floor* (pytest running one trivial test with the same interpreter, plugins and
ini file, as ``bench/ratios.py`` takes it), ``pytest exercises/chNN --target solutions``
on the simulator, and the same with ``--world live`` on RabbitMQ (and PostgreSQL for ch05).
Each keeps its best wall time; the table gives the live run over the simulator's and over
the floor. Live runs wait on real servers in real time, so their figures drift with the
machine's load more than the simulator's do.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

KIT = Path(__file__).resolve().parent.parent
CHAPTERS = ("ch03", "ch04", "ch05", "ch06", "ch07")
FLOOR_TEST = "def test_floor():\n    assert True\n"


def wall(command: list[str]) -> float:
    """Seconds ``command`` takes, run in the kit; it must pass."""
    started = time.perf_counter()
    done = subprocess.run(command, cwd=KIT, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"{' '.join(command)} failed (exit {done.returncode}):\n{done.stdout[-3000:]}")
    return seconds


def pytest(*args: str) -> list[str]:
    return [sys.executable, "-m", "pytest", *args, "-q", "-p", "no:cacheprovider"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default=",".join(CHAPTERS), help="chapters, e.g. ch03,ch07")
    parser.add_argument("--repeat", type=int, default=3, help="runs of the floor and the sim")
    parser.add_argument("--live-repeat", type=int, default=1, help="runs of each live chapter")
    options = parser.parse_args(argv)
    chapters = [c for c in options.only.split(",") if c]
    with tempfile.TemporaryDirectory() as tmp:
        floor_test = Path(tmp) / "test_floor.py"
        floor_test.write_text(FLOOR_TEST)
        floor = pytest("-c", str(KIT / "pyproject.toml"), str(floor_test))
        floors: list[float] = []
        rows = []
        for chapter in chapters:
            sim = pytest(f"exercises/{chapter}", "--target", "solutions")
            live = [*sim, "--world", "live"]
            sims, lives = [], []
            for n in range(max(options.repeat, options.live_repeat)):
                floors.append(wall(floor))
                if n < options.repeat:
                    sims.append(wall(sim))
                if n < options.live_repeat:
                    lives.append(wall(live))
            rows.append((chapter, min(lives), min(sims)))
    best_floor = min(floors)
    print(f"floor {best_floor:.2f} s (best of {len(floors)})")
    print(f"{'chapter':<8} {'live':>8} {'sim':>7} {'live/sim':>9} {'live/floor':>11}")
    for chapter, live_s, sim_s in rows:
        print(
            f"{chapter:<8} {live_s:7.1f}s {sim_s:6.2f}s {live_s / sim_s:9.1f} "
            f"{live_s / best_floor:11.1f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
