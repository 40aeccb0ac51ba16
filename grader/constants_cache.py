"""The cache of source constants that a sandbox's test runs find already filled.

Hypothesis draws, now and then, a constant found in the source of the modules
under test: it parses every local module it has not seen (the harness and the
kit's tests among them, some seventy files) and keeps what it found in
``.hypothesis/constants/``, one file per source, named by the source's hash.
A learner's checkout keeps that folder from one run to the next; a sandbox's
is new at every grading, so each test process parsed the whole harness again,
about half a second each.

:func:`fill` writes those files before the first test process starts, from
the grader's own memory of them, for every source of the harness and every kit
file of the sandbox that is not a learner module. Each file is what Hypothesis
itself writes for that source, so the runs draw exactly the same cases; the
learner's modules are parsed by the runs, as before. On a Hypothesis whose
cache works otherwise, nothing is written and the runs parse as they did.

>>> from pathlib import Path
>>> import tempfile
>>> work = Path(tempfile.mkdtemp())
>>> fill(work, [Path(__file__)]) >= 0
True
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

SOURCE_LIMIT = 512 * 1024
"""Hypothesis skips a source larger than this (bytes), and writes no file for it."""
_known: dict[tuple[str, int, int], tuple[str, str] | None] = {}
"""path, mtime, size -> (file name, content) of its cache file, or None: none to write."""


def sources(harness: Path, kit: Path, learner_modules: Iterable[Path]) -> list[Path]:
    """The harness's Python files and the kit's, less the learner's modules."""
    learner = {p.resolve() for p in learner_modules}
    found = sorted(harness.rglob("*.py")) + sorted(kit.rglob("*.py"))
    return [p for p in found if p.resolve() not in learner and "__pycache__" not in p.parts]


def fill(work: Path, paths: Iterable[Path]) -> int:
    """Write Hypothesis's constants cache for ``paths`` under ``work/.hypothesis``.

    ``work`` is the test runs' working folder, where Hypothesis keeps its cache.
    Returns how many files it wrote (0 when this Hypothesis caches otherwise).
    """
    try:
        from hypothesis import __version__
        from hypothesis.internal.constants_ast import _constants_file_str, _constants_from_source
    except ImportError:
        return 0
    folder = work / ".hypothesis" / "constants"
    written = 0
    for path in paths:
        entry = _entry(path, __version__, _constants_from_source, _constants_file_str)
        if entry is None:
            continue
        name, content = entry
        folder.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(content, encoding="utf-8")
        written += 1
    return written


def _entry(path: Path, version: str, parse, as_text) -> tuple[str, str] | None:
    """The cache file Hypothesis would write for ``path`` (as ``constants_from_module`` does)."""
    try:
        stat = path.stat()
    except OSError:
        return None
    key = (str(path), stat.st_mtime_ns, stat.st_size)
    if key in _known:
        return _known[key]
    entry = None
    try:
        source = path.read_bytes()
        if len(source) <= SOURCE_LIMIT:
            constants = parse(source, limit=True)
            name = hashlib.sha1(source).hexdigest()[:16]
            header = f"# file: {path}\n# hypothesis_version: {version}\n\n"
            entry = (name, header + as_text(constants))
    except Exception:  # Hypothesis writes nothing for a source it cannot parse
        entry = None
    _known[key] = entry
    return entry
