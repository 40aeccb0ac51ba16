"""The constants cache a sandbox starts with gives Hypothesis what it would have parsed."""

from __future__ import annotations

import hashlib
from pathlib import Path

from hypothesis.internal.constants_ast import _constants_from_source

from grader import constants_cache

KIT = Path(__file__).resolve().parents[2]


def test_every_cached_file_reads_back_as_the_constants_of_its_source(tmp_path):
    """each file names its source's hash, and reads back as the constants parsed from it"""
    sources = constants_cache.sources(KIT / "harness", KIT / "exercises", [])
    written = constants_cache.fill(tmp_path, sources)
    assert written > 50, f"only {written} cache files for {len(sources)} sources"
    folder = tmp_path / ".hypothesis" / "constants"
    for source in sources:
        content = source.read_bytes()
        cached = folder / hashlib.sha1(content).hexdigest()[:16]
        assert cached.is_file(), f"no cache file for {source}"
        from_source = _constants_from_source(content, limit=True)
        from_cache = _constants_from_source(cached.read_bytes(), limit=True)
        assert set(from_cache) == set(from_source), source


def test_learner_modules_are_left_to_the_runs(tmp_path):
    """a learner's module is never parsed by the grader: the test runs parse it"""
    learner = KIT / "exercises" / "ch03" / "at_least_once.py"
    sources = constants_cache.sources(KIT / "harness", KIT / "exercises", [learner])
    assert learner not in sources
    assert KIT / "exercises" / "ch03" / "test_at_least_once.py" in sources
