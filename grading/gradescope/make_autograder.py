"""Build the Gradescope autograder zip of this kit: the file a teacher uploads.

    python grading/gradescope/make_autograder.py --out autograder.zip [--hidden DIR]

The zip holds, at its root, what Gradescope's specification asks for
(``setup.sh`` and ``run_autograder``), the kit as it is now under ``kit/``
(its files under version control; every file when it is not a git checkout),
and the teacher's hidden traces under ``hidden/`` (``DIR/chNN/*.toml``).
Students never see the zip's contents; they see the results.json it writes.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
KIT = HERE.parent.parent
_SKIPPED = {".git", "__pycache__", ".pytest_cache", ".hypothesis", ".twm", ".ruff_cache"}


def kit_files(kit: Path = KIT) -> list[Path]:
    """The kit's files, relative: what git tracks, or every file outside tool caches."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=kit,
            capture_output=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        listed = b""
    if listed:
        names = [Path(n) for n in listed.decode().split("\0") if n]
        return sorted(n for n in names if (kit / n).is_file() and not _skipped(n))
    every = (p.relative_to(kit) for p in kit.rglob("*") if p.is_file())
    return sorted(name for name in every if not _skipped(name))


def _skipped(name: Path) -> bool:
    return any(part in _SKIPPED or part.endswith(".egg-info") for part in name.parts) or (
        name.suffix in (".pyc", ".pyo")
    )


def build(out: Path, *, hidden: Path | None = None, kit: Path = KIT) -> list[str]:
    """Write the zip to ``out``; return the names it holds."""
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for script in ("setup.sh", "run_autograder"):
            info = zipfile.ZipInfo(script)
            info.external_attr = 0o755 << 16  # executable once unzipped
            archive.writestr(info, (HERE / script).read_bytes())
        for name in kit_files(kit):
            archive.write(kit / name, f"kit/{name.as_posix()}")
        if hidden is not None:
            for path in sorted(hidden.rglob("*.toml")):
                archive.write(path, f"hidden/{path.relative_to(hidden).as_posix()}")
        return archive.namelist()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("autograder.zip"))
    parser.add_argument("--hidden", type=Path, default=None, help="DIR/chNN/*.toml")
    args = parser.parse_args(argv)
    if args.hidden is not None and not args.hidden.is_dir():
        print(f"--hidden {args.hidden}: not a folder (expected DIR/chNN/*.toml)", file=sys.stderr)
        return 2
    try:
        names = build(args.out, hidden=args.hidden)
    except OSError as error:
        print(f"cannot write {args.out}: {error.strerror}", file=sys.stderr)
        return 2
    print(f"{args.out}: {len(names)} files; upload it as the assignment's autograder")
    return 0


if __name__ == "__main__":
    sys.exit(main())
