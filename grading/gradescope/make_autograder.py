"""Build the Gradescope autograder zip of this kit from a committed revision.

    python grading/gradescope/make_autograder.py --out autograder.zip [--ref v1.2] [--hidden DIR]

The zip holds, at its root, what Gradescope's specification asks for
(``setup.sh`` and ``run_autograder``) and the script they run
(``autograde.py``); under ``kit/`` the kit as committed at ``--ref`` (default
``HEAD``), read with ``git archive`` so that uncommitted edits never ship;
under ``hidden/`` the teacher's hidden traces (``DIR/chNN/*.toml``).

The kit in the zip has no ``solutions/`` (nor ``tests/mutants/`` or
``bench/``): learner code runs on Gradescope's machine, so nothing there may
hold an answer. The grader needs none of them: hidden cases are probed on the
stubs, and copy detection reads ``kit/reference-digests.json`` instead, the
digests of the committed solutions written here by the committed copy detector.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
KIT = HERE.parent.parent
SCRIPTS = ("setup.sh", "run_autograder", "autograde.py")
EXCLUDED = ("solutions/", "tests/mutants/", "bench/")
"""Folders of the kit that never go into the zip: answers, and what only authors need."""
DIGESTS = "reference-digests.json"
"""Where copy detection finds the reference solutions' digests when ``solutions/`` is absent."""


class BuildError(Exception):
    """The zip cannot be built: the message is one line for the teacher."""


def _git(kit: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(["git", *args], cwd=kit, capture_output=True, check=False)
    except OSError as error:
        raise BuildError(
            f"cannot run git ({error.strerror}): install git to build the zip"
        ) from None


def committed_files(
    kit: Path = KIT, ref: str = "HEAD", *, excluded: tuple[str, ...] = EXCLUDED
) -> tuple[str, dict[str, tuple[bytes, int]]]:
    """The commit id of ``ref`` and the kit's files in it: ``{path: (content, mode)}``.

    Symbolic links are left out; so is everything under ``excluded``.
    """
    top = _git(kit, "rev-parse", "--show-toplevel")
    if top.returncode != 0:
        raise BuildError(
            f"{kit} is not a git checkout: the zip is built from a committed revision, so "
            f"build it from a clone of the kit (or run git init, git add and git commit there)"
        )
    from grader.errors import GradingError
    from grader.release import committed  # the learner edition reads a commit the same way

    try:
        commit, files = committed(kit, ref)
    except GradingError as error:
        raise BuildError(str(error)) from None
    return commit, {name: entry for name, entry in files.items() if not name.startswith(excluded)}


_WRITE_DIGESTS = """
import sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
try:
    from grader.copies import write_reference_digests
except ImportError:
    sys.exit(3)
write_reference_digests(Path(sys.argv[1]), Path(sys.argv[2]))
"""


def reference_digests(files: dict[str, tuple[bytes, int]]) -> bytes | None:
    """``reference-digests.json`` from the committed solutions, by the committed copy
    detector (``grader.copies.write_reference_digests``), so that the digests match the
    grader in the zip; None when that revision has no copy detector.

    This is the one place the zip learns about the reference solutions: their
    digests, never their text.
    """
    with tempfile.TemporaryDirectory(prefix="autograder-") as folder:
        root = Path(folder) / "kit"
        for name, (content, _) in files.items():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_bytes(content)
        target = Path(folder) / DIGESTS
        # -S: no site packages, so no installed copy of the grader is imported instead.
        done = subprocess.run(
            [sys.executable, "-S", "-c", _WRITE_DIGESTS, str(root), str(target)],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode == 3:
            return None
        if done.returncode != 0 or not target.is_file():
            lines = done.stderr.strip().splitlines() or [f"exit code {done.returncode}"]
            raise BuildError(f"cannot write {DIGESTS} from the committed solutions: {lines[-1]}")
        return target.read_bytes()


def uncommitted(kit: Path) -> list[str]:
    """The kit's files whose working copy differs from the last commit (none leave in the zip)."""
    status = _git(kit, "status", "--porcelain", "--untracked-files=no", "--", ".")
    return [line[3:] for line in status.stdout.decode().splitlines() if line.strip()]


def build(
    out: Path, *, hidden: Path | None = None, kit: Path = KIT, ref: str = "HEAD"
) -> tuple[str, list[str]]:
    """Write the zip to ``out``; return the commit it holds and the names in it."""
    commit, files = committed_files(kit, ref)
    digests = reference_digests(committed_files(kit, commit, excluded=())[1])
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for script in SCRIPTS:
            info = zipfile.ZipInfo(script)
            info.external_attr = 0o755 << 16  # executable once unzipped
            archive.writestr(info, (HERE / script).read_bytes())
        for name, (content, mode) in sorted(files.items()):
            info = zipfile.ZipInfo(f"kit/{name}")
            info.external_attr = (mode & 0o777 or 0o644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, content)
        if digests is not None:
            archive.writestr(f"kit/{DIGESTS}", digests)
        if hidden is not None:
            for path in sorted(hidden.rglob("*")):
                if path.suffix in (".toml", ".json") and path.is_file() and not path.is_symlink():
                    archive.write(path, f"hidden/{path.relative_to(hidden).as_posix()}")
        return commit, archive.namelist()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("autograder.zip"))
    parser.add_argument("--ref", default="HEAD", help="the commit, tag or branch to pack")
    parser.add_argument("--hidden", type=Path, default=None, help="DIR/chNN/*.toml")
    parser.add_argument("--kit", type=Path, default=KIT, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.hidden is not None and not args.hidden.is_dir():
        print(f"--hidden {args.hidden}: not a folder (expected DIR/chNN/*.toml)", file=sys.stderr)
        return 2
    try:
        commit, names = build(args.out, hidden=args.hidden, kit=args.kit, ref=args.ref)
    except BuildError as error:
        print(error, file=sys.stderr)
        return 2
    except OSError as error:
        print(f"cannot write {args.out}: {error.strerror}", file=sys.stderr)
        return 2
    if args.ref == "HEAD" and (changed := uncommitted(args.kit)):
        print(
            f"note: {len(changed)} uncommitted change(s) are not in the zip (e.g. {changed[0]}); "
            f"commit them and build again to ship them",
            file=sys.stderr,
        )
    print(
        f"{args.out}: {len(names)} files, the kit at commit {commit[:12]}; "
        f"upload it as the assignment's autograder"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
