"""Speed as ratios: every goal measured against a floor taken in the same run.

    python bench/ratios.py                    # best of 3, every ratio, as a table
    python bench/ratios.py --json now.json    # ... and the ratios as JSON
    python bench/ratios.py --quick            # best of 1, the grader on ch00 only (the CI check)
    python bench/ratios.py --quick --against bench/baseline.json   # ... and any 2x regression

Absolute times drift from one machine, and one minute, to the next; ratios taken
in the same run, with the floor and the measured runs alternating, drift much less.

- **chNN wall, chNN cpu**: ``pytest exercises/chNN --target solutions`` over the
  floor, a pytest run of one trivial test with the same interpreter, plugins
  (Hypothesis, the kit's) and ini file. Wall time and CPU time of the child
  processes, best of N each. Goal: 1.3 at most.
- **grader run cpu**: ``grader run`` of a copy of the kit with every solution in
  place, over the floor's CPU time. Goal: 2.5 at most. ``grader run ch00 cpu``
  grades ch00 only: the quick mode's stand-in, with no goal of its own.
- **simulator**: deliveries per second of ``bench/throughput.py``'s payments
  queue over the least per-delivery work in plain Python (a deque, a tag, a
  handler call, an ack), alternating, best of N. Goal: 0.10 at least.
- **pairs chNN::TEST**: each chapter test's ``kit.every_pair_of_crashes``, timed by
  ``bench/pair_probe.py``. Goal: under 1 s; its ratio (over the floor's CPU time)
  is what the regression check compares.

``TWM_BENCH_SLOWER=NAME*K`` (NAME a chapter such as ch03, or grader, simulator, pairs)
does that measured work K times (default 2) per sample: a planted slowdown, for
showing that the regression check catches one.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import throughput
from compare import regressions

import grading

BENCH = Path(__file__).resolve().parent
KIT = BENCH.parent

CHAPTERS = sorted(p.name for p in (KIT / "exercises").glob("ch*") if any(p.glob("test_*.py")))
QUICK_GRADER_CHAPTERS = "ch00"
DELIVERIES = 50_000
LIMIT_DELIVERIES = 500_000  # the same rate, timed over as long a stretch
FLOOR_TEST = "def test_floor():\n    assert True\n"


@dataclass(frozen=True)
class Sample:
    """Wall and CPU seconds of one measured run (CPU: user + system, child processes)."""

    wall: float
    cpu: float


@dataclass(frozen=True)
class Ratio:
    """One measured ratio, which way is better, and its goal (met: None when it has none)."""

    name: str
    value: float
    better: str  # "lower" or "higher"
    goal: str
    met: bool | None
    detail: str


def within(value: float, limit: float | None) -> bool | None:
    return None if limit is None else value <= limit


def planted(name: str) -> int:
    """How many times ``TWM_BENCH_SLOWER`` asks to repeat the measured work ``name`` (1: none)."""
    spec = os.environ.get("TWM_BENCH_SLOWER", "")
    target, _, times = spec.partition("*")
    return (int(times) if times else 2) if target == name else 1


def child(command: list[str], *, cwd: Path, env: dict[str, str] | None = None) -> Sample:
    """Run ``command`` to its end; its wall time and the CPU time of its process tree."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        sys.exit(
            f"{' '.join(command)} failed (exit {done.returncode}); a benchmark measures "
            f"passing runs only:\n{done.stdout[-3000:]}\n{done.stderr[-2000:]}"
        )
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Sample(wall, cpu)


def repeated(name: str, measure: Callable[[], Sample]) -> Sample:
    """``measure`` once, or as many times as a planted slowdown asks, summed."""
    samples = [measure() for _ in range(planted(name))]
    return Sample(sum(s.wall for s in samples), sum(s.cpu for s in samples))


def best(samples: list[Sample]) -> Sample:
    return Sample(min(s.wall for s in samples), min(s.cpu for s in samples))


def pytest_command(*args: str) -> list[str]:
    """pytest as a learner types it, with this interpreter."""
    return [sys.executable, "-m", "pytest", *args]


class Bench:
    """One benchmark run: the floor and every measured run, alternating."""

    def __init__(self, tmp: Path, *, repetitions: int, quick: bool, only: set[str]) -> None:
        self.tmp = tmp
        self.repetitions = repetitions
        self.quick = quick
        self.only = only
        self.floors: list[Sample] = []
        self.samples: dict[str, list[Sample]] = {}
        self.rates: list[float] = []
        self.limits: list[float] = []
        self.pairs: dict[str, dict] = {}
        (tmp / "floor").mkdir()
        self.floor_test = tmp / "floor" / "test_floor.py"
        self.floor_test.write_text(FLOOR_TEST)
        self.submission = tmp / "submission"

    def wanted(self, name: str) -> bool:
        return not self.only or name in self.only

    def floor(self) -> None:
        command = pytest_command("-c", str(KIT / "pyproject.toml"), str(self.floor_test))
        self.floors.append(child(command, cwd=KIT))

    def measure(self, key: str, name: str, command: list[str]) -> None:
        self.floor()
        sample = repeated(name, lambda: child(command, cwd=KIT))
        self.samples.setdefault(key, []).append(sample)

    def run(self) -> None:
        if self.wanted("grader"):
            grading.copy_kit(self.submission)
            grading.solve(self.submission)
        for _ in range(self.repetitions):
            for chapter in CHAPTERS:
                if self.wanted(chapter):
                    command = pytest_command(f"exercises/{chapter}", "--target", "solutions")
                    self.measure(chapter, chapter, command)
            if self.wanted("grader"):
                self.grade()
            if self.wanted("simulator"):
                self.simulate()
            if self.wanted("pairs"):
                self.explore_pairs()
        if not self.floors:
            self.floor()

    def grade(self) -> None:
        out = self.tmp / "grades.json"
        grader = shutil.which("grader", path=str(Path(sys.executable).parent)) or "grader"
        command = [grader, "run", str(self.submission), "--out", str(out)]
        scopes = [("grader run ch00", ["--chapters", QUICK_GRADER_CHAPTERS])]
        if not self.quick:
            scopes.insert(0, ("grader run", []))
        for key, chapters in scopes:
            self.measure(key, "grader", [*command, *chapters])
            result = json.loads(out.read_text())
            if result["score"] != result["max_score"]:
                sys.exit(
                    f"{key}: the solved submission scored {result['score']} of "
                    f"{result['max_score']}; the benchmark measures a fully solved one"
                )

    def simulate(self) -> None:
        times = planted("simulator")
        for _ in range(3):
            self.limits.append(throughput.plain_python_limit(LIMIT_DELIVERIES)[0])
            elapsed = sum(throughput.deliveries_per_second(DELIVERIES)[1] for _ in range(times))
            self.rates.append(DELIVERIES / elapsed)

    def explore_pairs(self) -> None:
        probe = self.tmp / "pairs.jsonl"
        probe.unlink(missing_ok=True)
        times = str(planted("pairs"))
        env = dict(os.environ, TWM_PAIR_PROBE=str(probe), TWM_PAIR_REPEAT="3", TWM_PAIR_TIMES=times)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(BENCH), env.get("PYTHONPATH")]))
        command = pytest_command("-p", "pair_probe", "exercises", "--target", "solutions")
        child(command, cwd=KIT, env=env)
        for line in probe.read_text().splitlines():
            record = json.loads(line)
            kept = self.pairs.get(record["test"])
            if kept is not None:
                record["seconds"] = min(record["seconds"], kept["seconds"])
                record["cpu"] = min(record["cpu"], kept["cpu"])
            self.pairs[record["test"]] = record

    def ratios(self) -> list[Ratio]:
        floor = best(self.floors)
        found: list[Ratio] = []
        for chapter in CHAPTERS:
            if chapter in self.samples:
                run = best(self.samples[chapter])
                for kind, now, base in (
                    ("wall", run.wall, floor.wall),
                    ("cpu", run.cpu, floor.cpu),
                ):
                    ratio = now / base
                    detail = f"{now:.2f} s vs {base:.2f} s"
                    found.append(
                        Ratio(
                            f"{chapter} {kind}", ratio, "lower", "≤ 1.3", within(ratio, 1.3), detail
                        )
                    )
        for key, goal in (("grader run", 2.5), ("grader run ch00", None)):
            if key in self.samples:
                run = best(self.samples[key])
                ratio = run.cpu / floor.cpu
                detail = f"{run.cpu:.1f} s vs {floor.cpu:.2f} s (wall {run.wall:.1f} s)"
                found.append(
                    Ratio(
                        f"{key} cpu",
                        ratio,
                        "lower",
                        "≤ 2.5" if goal else "-",
                        within(ratio, goal),
                        detail,
                    )
                )
        if self.rates:
            rate, limit = max(self.rates), max(self.limits)
            share = rate / limit
            detail = f"{rate:,.0f}/s vs {limit:,.0f}/s"
            found.append(Ratio("simulator", share, "higher", "≥ 0.10", share >= 0.10, detail))
        for test, record in sorted(self.pairs.items()):
            detail = f"{record['seconds'] * 1000:.0f} ms, {record['runs']} runs (cpu over floor's)"
            chapter = test.removeprefix("exercises/").split("/")[0]
            found.append(
                Ratio(
                    f"pairs {chapter}::{test.rsplit('::', 1)[-1]}",
                    record["cpu"] / floor.cpu,
                    "lower",
                    "< 1 s",
                    record["seconds"] < 1.0,
                    detail,
                )
            )
        return found


def as_json(ratios: list[Ratio], bench: Bench, load_before: tuple[float, ...]) -> dict:
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "cores": os.cpu_count(),
        "load average (1, 5, 15 min) before": [round(x, 2) for x in load_before],
        "load average (1, 5, 15 min) after": [round(x, 2) for x in os.getloadavg()],
        "python": sys.version.split()[0],
        "mode": "quick" if bench.quick else "full",
        "repetitions": bench.repetitions,
        "floor": {
            "wall": best(bench.floors).wall,
            "cpu": best(bench.floors).cpu,
            "runs": len(bench.floors),
        },
        "ratios": {
            r.name: {
                "value": round(r.value, 4),
                "better": r.better,
                "goal": r.goal,
                "met": r.met,
                "detail": r.detail,
            }
            for r in ratios
        },
    }


def table(ratios: list[Ratio]) -> str:
    width = max(len(r.name) for r in ratios)
    lines = [f"{'ratio':<{width}}  {'value':>7}  {'goal':<7} {'met':<4} detail"]
    for r in ratios:
        met = {True: "yes", False: "NO", None: ""}[r.met]
        lines.append(f"{r.name:<{width}}  {r.value:>7.3f}  {r.goal:<7} {met:<4} {r.detail}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="best of 1, the grader on ch00 only: what the CI check runs",
    )
    parser.add_argument(
        "--repetitions",
        type=int,
        default=None,
        help="measured runs of each kind (default 3, 1 with --quick)",
    )
    parser.add_argument(
        "--only",
        default="",
        help="measure only these, comma-separated: chapters (ch00, ch01, ...), grader, "
        "simulator, pairs (the floor is always measured)",
    )
    parser.add_argument("--json", metavar="FILE", help="also write the ratios to FILE")
    parser.add_argument(
        "--against",
        metavar="BASELINE",
        help="then list every ratio twice as bad as in BASELINE (e.g. bench/baseline.json) "
        "and exit 1 if there is one",
    )
    args = parser.parse_args(argv)
    only = set(filter(None, args.only.split(",")))
    unknown = only - {*CHAPTERS, "grader", "simulator", "pairs"}
    if unknown:
        parser.error(
            f"--only: unknown {', '.join(sorted(unknown))}; use chapters "
            f"({', '.join(CHAPTERS)}), grader, simulator or pairs"
        )
    repetitions = args.repetitions or (1 if args.quick else 3)
    load = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="twm-ratios-") as tmp:
        bench = Bench(Path(tmp), repetitions=repetitions, quick=args.quick, only=only)
        bench.run()
        ratios = bench.ratios()
    result = as_json(ratios, bench, load)
    print(table(ratios))
    print(
        f"floor: {result['floor']['wall']:.2f} s wall, {result['floor']['cpu']:.2f} s cpu "
        f"(best of {len(bench.floors)}); {result['cores']} cores, load average "
        f"{load[0]:.1f} before, {result['load average (1, 5, 15 min) after'][0]:.1f} after"
    )
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    if args.against:
        found = regressions(json.loads(Path(args.against).read_text()), result)
        print(
            "\n".join(["twice as bad as in the baseline:", *found])
            if found
            else f"no ratio is twice as bad as in {args.against}"
        )
        return 1 if found else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
