"""The integrity section: every file that differs from the kit outside the learner's modules."""

from __future__ import annotations

import shutil
from pathlib import Path

import pristine_copy

from grader import integrity, pristine

KIT = pristine.load()


def checkout(tmp_path: Path) -> Path:
    """A copy of the kit's learner-facing part: exercises/, harness/, pyproject.toml."""
    sub = tmp_path / "sub"
    pristine_copy.copy_exercises(sub / "exercises")
    shutil.copytree(
        KIT.root / "harness", sub / "harness", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copyfile(KIT.root / "pyproject.toml", sub / "pyproject.toml")
    return sub


def near(files: list[str]) -> list[str]:
    """Entries under exercises/ch03, harness/ and the top level (other chapters may be
    edited by authors while the suite runs)."""
    return [
        f
        for f in files
        if f.startswith(("exercises/ch03/", "harness/"))
        or f.count("/") == 0
        or f == "exercises/conftest.py"
    ]


def test_the_learner_modules_are_never_flagged(tmp_path: Path):
    sub = checkout(tmp_path)
    for module in ("at_most_once.py", "guarantee.py"):
        shutil.copyfile(KIT.root / "solutions/ch03" / module, sub / "exercises/ch03" / module)
    found = integrity.check(sub, KIT)
    assert near(found.modified) == [] and near(found.unexpected) == []


def test_tampering_is_listed_by_kind(tmp_path: Path):
    sub = checkout(tmp_path)
    (sub / "exercises/ch03/test_guarantee.py").write_text("def test_x():\n    pass\n")
    (sub / "harness/kit.py").write_text("# replaced\n")
    (sub / "exercises/conftest.py").write_text("# added\n")
    (sub / "sitecustomize.py").write_text("# added\n")
    (sub / "pytest.ini").write_text("[pytest]\n")
    (sub / "exercises/ch03/traces/queue-one-order.toml").unlink()
    found = integrity.check(sub, KIT)
    assert near(found.modified) == ["exercises/ch03/test_guarantee.py", "harness/kit.py"]
    assert near(found.unexpected) == ["exercises/conftest.py", "pytest.ini", "sitecustomize.py"]
    assert "exercises/ch03/traces/queue-one-order.toml" in found.missing
    assert not found.clean


def test_a_missing_folder_is_one_entry_and_tool_caches_are_ignored(tmp_path: Path):
    sub = checkout(tmp_path)
    shutil.rmtree(sub / "harness")
    for cache in (".git", "__pycache__", ".pytest_cache", ".hypothesis", ".venv"):
        (sub / "exercises/ch03" / cache).mkdir()
        (sub / "exercises/ch03" / cache / "junk.py").write_text("x = 1\n")
    found = integrity.check(sub, KIT)
    assert "harness/" in found.missing
    assert not any(entry.startswith("harness/") and entry != "harness/" for entry in found.missing)
    assert near(found.unexpected) == []


def test_windows_line_endings_are_not_a_change(tmp_path: Path):
    sub = checkout(tmp_path)
    test_file = sub / "exercises/ch03/test_guarantee.py"
    test_file.write_bytes(test_file.read_bytes().replace(b"\n", b"\r\n"))
    assert "exercises/ch03/test_guarantee.py" not in integrity.check(sub, KIT).modified


def test_a_symbolic_link_in_place_of_a_kit_file_is_modified(tmp_path: Path):
    sub = checkout(tmp_path)
    test_file = sub / "exercises/ch03/test_guarantee.py"
    test_file.unlink()
    test_file.symlink_to(KIT.root / "exercises/ch03/test_guarantee.py")
    assert "exercises/ch03/test_guarantee.py" in integrity.check(sub, KIT).modified
