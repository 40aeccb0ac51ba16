"""Grade one Gradescope submission: what ``run_autograder`` runs, once per upload.

Gradescope's layout (``AUTOGRADER_ROOT``, default ``/autograder``, moves it for a
dry run): ``source/`` holds the zip (``kit/``, ``hidden/``), ``submission/`` the
student's upload, and ``results/results.json`` is what Gradescope reads.

From the upload only the learner's task modules are taken, the ``module`` of
every task in the kit's ``exercises/info.toml``, one by one, and only as
regular files: a module that is a symbolic link, or that lies inside a linked
folder, is refused (and its tests score 0, with the reason); nothing else in
the upload is ever copied or read as code. The upload may be a checkout of the
kit (``exercises/chNN/x.py``), the same inside one folder (a zip of the
repository), or bare ``chNN/`` folders. The modules are laid into a fresh
folder that ``grader run`` grades with the kit's own tests; the integrity
section compares the upload itself with the kit.

``CHAPTERS`` (``ch03,ch04``) grades only those chapters.
"""

from __future__ import annotations

import dataclasses
import json
import os
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(os.environ.get("AUTOGRADER_ROOT", "/autograder"))
SOURCE = ROOT / "source"
KIT = SOURCE / "kit"
UPLOAD = ROOT / "submission"
RESULTS = ROOT / "results" / "results.json"
MAX_MODULE_BYTES = 1_000_000
"""A module larger than this is not taken (a learner's module is a few kilobytes)."""


def write_results(text: str, results: Path = RESULTS) -> None:
    """Write ``results.json`` atomically: Gradescope never reads half a file."""
    results.parent.mkdir(parents=True, exist_ok=True)
    partial = results.with_name(results.name + ".partial")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, results)


def fail(reason: str, results: Path = RESULTS) -> int:
    """Score 0 with the reason shown to the student: better than an autograder that failed."""
    data = {"score": 0, "output": reason, "output_format": "text", "tests": []}
    data["stdout_visibility"] = "hidden"
    write_results(json.dumps(data, indent=2) + "\n", results)
    print(reason, file=sys.stderr)
    return 0


def read_module(base: Path, relative: str) -> tuple[bytes | None, str | None]:
    """The content of ``base/relative`` as a regular file, or why it was not taken.

    Every step of the path is looked at without following it: a link on the
    way is a refusal, never a detour. ``(None, None)``: the upload lacks it.
    """
    here = base
    for part in relative.split("/"):
        here = here / part
        try:
            mode = os.lstat(here).st_mode
        except FileNotFoundError:
            return None, None
        except OSError as error:
            return None, f"could not be read ({error.strerror})"
        if stat.S_ISLNK(mode):
            return None, "is (or lies behind) a symbolic link; only regular files are taken"
    if not stat.S_ISREG(mode):
        return None, "is not a regular file"
    if os.lstat(here).st_size > MAX_MODULE_BYTES:
        return None, f"is larger than {MAX_MODULE_BYTES} bytes"
    fd = os.open(here, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    with os.fdopen(fd, "rb") as opened:
        return opened.read(MAX_MODULE_BYTES + 1), None


def locate(upload: Path, modules: list[str]) -> tuple[Path, str] | None:
    """Where the upload keeps its modules: ``(base, "repository" | "chapters")``.

    A checkout (``exercises/chNN/x.py``), the same one folder down, or bare
    ``chNN/`` folders, tried in that order; the first that holds a module wins.
    """
    bases = [upload]
    try:
        inside = sorted(p for p in upload.iterdir() if p.is_dir() and not p.is_symlink())
    except OSError:
        inside = []
    if len(inside) == 1:
        bases.append(inside[0])
    for layout, prefix in (("repository", "exercises/"), ("chapters", "")):
        for base in bases:
            if any(_exists(base, prefix + module) for module in modules):
                return base, layout
    return None


def _exists(base: Path, relative: str) -> bool:
    try:
        os.lstat(base / relative)
    except OSError:
        return False
    return True


def lay(
    upload: Path, modules: list[str], folder: Path, *, stamp: str | None = None
) -> tuple[Path, str, list[str]] | None:
    """Copy the upload's modules into ``folder/exercises/``: the base, its layout, the notes.

    ``stamp``: the learner edition's stamp file, taken too (the same way) so that
    grading refuses an edition of another kit version."""
    found = locate(upload, modules)
    if found is None:
        return None
    base, layout = found
    prefix = "exercises/" if layout == "repository" else ""
    notes = []
    for module in modules:
        content, refused = read_module(base, prefix + module)
        if refused:
            notes.append(f"exercises/{module}: {refused}, so it was not taken: its tests score 0")
        elif content is not None:
            target = folder / "exercises" / module
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
    (folder / "exercises").mkdir(parents=True, exist_ok=True)
    if stamp and layout == "repository":
        content, _ = read_module(base, stamp)
        if content is not None:
            (folder / stamp).write_bytes(content)
    return base, layout, notes


def grade(laid: Path, out: Path) -> str | None:
    """``grader run`` on the laid modules, with the kit's tests; why it failed, if it did."""
    command = [sys.executable, "-m", "grader.cli", "run", str(laid), "--format", "json"]
    command += ["--out", str(out)]
    if (SOURCE / "hidden").is_dir():
        command += ["--hidden", str(SOURCE / "hidden")]
    if os.environ.get("CHAPTERS"):
        command += ["--chapters", os.environ["CHAPTERS"]]
    done = subprocess.run(command, cwd=KIT, capture_output=True, text=True, check=False)
    if done.returncode != 0 or not out.is_file():
        lines = done.stderr.strip().splitlines() or [f"exit code {done.returncode}"]
        return lines[-1]
    return None


def main() -> int:
    sys.path.insert(0, str(KIT))
    from grader import edition, integrity, pristine
    from grader.errors import GradingError
    from grader.formats import gradescope
    from grader.result import SubmissionResult

    try:
        kit = pristine.load(KIT)
    except GradingError as error:
        return fail(f"The autograder has no usable kit: {error}")
    modules = kit.modules(kit.manifest_chapters())
    with tempfile.TemporaryDirectory(prefix="gradescope-") as work:
        laid = Path(work) / "submission"
        placed = lay(UPLOAD, modules, laid, stamp=edition.STAMP)
        if placed is None:
            return fail(
                "No exercise module in the submission (no exercises/chNN/ and no chNN/ folder): "
                "upload your repository, or its chNN/ folders."
            )
        base, layout, notes = placed
        refused = {note.split(":")[0] for note in notes}
        out = Path(work) / "result.json"
        why = grade(laid, out)
        if why is not None:
            return fail(f"The grader could not grade this submission: {why}")
        result = SubmissionResult.from_json(out.read_text(encoding="utf-8"))
    if layout == "repository":
        seen = integrity.check(base, kit)
        changes = {"modified": seen.modified, "unexpected": seen.unexpected}
        changes["missing"] = seen.missing
    else:  # bare chapter folders: nothing else was uploaded to compare
        changes = {"modified": [], "unexpected": [], "missing": []}
    result = dataclasses.replace(
        result,
        integrity=dataclasses.replace(result.integrity, **changes),
        submission="submission",
        # A refused module is also missing to the grader: one note says why.
        notes=notes + [n for n in result.notes if n.split(":")[0] not in refused],
    )
    write_results(gradescope.render(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
