"""Speed against the committed baseline: no ratio of bench/ratios.py may get twice as bad.

The check runs ``python bench/ratios.py --quick`` (every chapter once against its
solution, ``grader run`` on ch00, the simulator, the crash pairs; about 60 s on a
quiet machine) and compares each ratio with ``bench/baseline.json``. Only ratios
are compared, never absolute times: the floor is measured in the same run. A
ratio that looks twice as bad is measured again, twice at most, keeping its best,
so one busy moment on a shared machine is not taken for a regression.

The own suite leaves it out (``-m "not bench"`` in the ini file): it measures best
on a machine doing nothing else, so CI runs it on its own, before the suite, with
``pytest -m bench tests/bench`` (about 90 s). After a change that is meant to cost
time, measure a new baseline on a quiet machine::

    python bench/ratios.py --json bench/baseline.json
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.bench

KIT = Path(__file__).resolve().parents[2]
BASELINE = KIT / "bench" / "baseline.json"
REFRESH = "python bench/ratios.py --json bench/baseline.json"


CHAPTERS = sorted(p.name for p in (KIT / "exercises").glob("ch*") if any(p.glob("test_*.py")))


def _compare_module():
    spec = importlib.util.spec_from_file_location("twm_bench_compare", KIT / "bench" / "compare.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


compare = _compare_module()


def measure(where: Path, *only: str, env: dict[str, str] | None = None) -> dict:
    """What ``bench/ratios.py --quick [--only ...] --json`` measures, as a dict."""
    out = where / f"ratios-{len(list(where.glob('ratios-*.json')))}.json"
    command = [sys.executable, str(KIT / "bench" / "ratios.py"), "--quick", "--json", str(out)]
    if only:
        command += ["--only", ",".join(only)]
    done = subprocess.run(command, cwd=KIT, capture_output=True, text=True, env=env)
    assert done.returncode == 0, f"bench/ratios.py failed:\n{done.stdout}\n{done.stderr}"
    return json.loads(out.read_text())


def baseline() -> dict:
    return json.loads(BASELINE.read_text())


def test_no_ratio_is_twice_as_bad_as_in_the_baseline(tmp_path):
    """every chapter run, the grader, the simulator and the crash pairs keep their speed"""
    base = baseline()
    measured = measure(tmp_path)
    for _ in range(2):
        suspects = compare.regressions(base, measured)
        if not suspects:
            break
        works = sorted({compare.work_of(line.split(":")[0]) for line in suspects})
        measured = compare.better_of(measured, measure(tmp_path, *works))
    found = compare.regressions(base, measured)
    assert not found, (
        "These ratios are twice as bad as in bench/baseline.json (measured "
        f"{base['date']} on {base['cores']} cores), three measurements in a row:\n  "
        + "\n  ".join(found)
        + "\nFind the change that slowed them (docs/performance.md says where the time goes); "
        f"if the cost is meant, measure a new baseline on a quiet machine: {REFRESH}"
    )


def test_the_baseline_has_every_chapter_and_says_when_and_where_it_was_measured():
    """the baseline covers every chapter, the grader, the simulator and the crash pairs"""
    base = baseline()
    assert base["date"] and base["cores"] >= 1, "bench/baseline.json lacks its date or cores"
    wanted = [f"{chapter} {kind}" for chapter in CHAPTERS for kind in ("wall", "cpu")]
    wanted += ["grader run cpu", "grader run ch00 cpu", "simulator"]
    missing = [name for name in wanted if name not in base["ratios"]]
    assert not missing, f"bench/baseline.json has no ratio {missing}; measure it again: {REFRESH}"
    assert any(name.startswith("pairs ") for name in base["ratios"]), (
        f"bench/baseline.json times no crash-pair exploration; measure it again: {REFRESH}"
    )


@pytest.mark.parametrize("name", sorted(baseline()["ratios"]))
def test_a_ratio_twice_as_bad_fails_the_check_and_one_not_quite_passes(name):
    """the check fails on 2x worse, in the ratio's own direction, and only then"""
    base = baseline()

    def worse_by(factor: float) -> dict:
        ratio = dict(base["ratios"][name])
        ratio["value"] *= factor if ratio["better"] == "lower" else 1 / factor
        return {"ratios": {name: ratio}}

    found = compare.regressions(base, worse_by(2.0))
    assert len(found) == 1 and found[0].startswith(f"{name}: "), found
    assert compare.regressions(base, worse_by(1.9)) == []
    assert compare.regressions(base, worse_by(0.5)) == []


def test_a_planted_slowdown_of_the_crash_pairs_is_caught(tmp_path):
    """TWM_BENCH_SLOWER makes one measured path slower, and the check names that ratio"""
    env = dict(os.environ, TWM_BENCH_SLOWER="pairs*4")
    measured = measure(tmp_path, "pairs", env=env)
    found = compare.regressions(baseline(), measured)
    assert found and all(line.startswith("pairs ") for line in found), found
