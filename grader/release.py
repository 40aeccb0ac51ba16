"""``grader release DIR``: write the learner edition a teacher publishes.

The edition holds what a learner needs (stubs, chapter tests, visible traces,
the harness, the chapters' READMEs, ``exercises/info.toml``, ``grader
progress`` and ``grader hint``, ``pyproject.toml``, the classroom workflow)
and nothing that gives the answers away; :mod:`grader.edition` says which
files those are. It is written to ``DIR`` (make it a template repository)
and, with ``--zip FILE``, also as a zip whose entries sit under ``DIR``'s name.

When the kit is a git checkout, the edition is the committed revision
(``--ref``, default ``HEAD``), read with ``git archive``: a teacher's
uncommitted edits never ship, and the command says how many it left out.
Otherwise it is the working tree, and the command says so. The stamp
``.twm-edition.toml`` names the kit version of what was written (a digest of
its harness, manifest, tests and traces, as ``grader run`` reports it), so
grading tells which kit an edition came from.

    grader release ../orders-kit-learners --zip ../orders-kit-learners.zip
"""

from __future__ import annotations

import argparse
import io
import subprocess
import tarfile
import tempfile
import zipfile
from pathlib import Path

from grader import edition, pristine, stubs
from grader.errors import GradingError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dir", type=Path, metavar="DIR", help="a new or empty folder to write")
    parser.add_argument("--zip", type=Path, default=None, metavar="FILE", help="also write a zip")
    parser.add_argument(
        "--ref", default=None, help="the commit, tag or branch to release (default: HEAD)"
    )
    parser.add_argument("--kit", type=Path, default=None, help=argparse.SUPPRESS)


def _git(root: Path, *args: str) -> subprocess.CompletedProcess[bytes] | None:
    try:
        return subprocess.run(["git", *args], cwd=root, capture_output=True, check=False)
    except OSError:
        return None


def _is_git_checkout(root: Path) -> bool:
    done = _git(root, "rev-parse", "--show-toplevel")
    return done is not None and done.returncode == 0


def committed(root: Path, ref: str) -> tuple[str, dict[str, tuple[bytes, int]]]:
    """The commit id of ``ref`` and the kit's regular files in it: ``{path: (content, mode)}``."""
    found = _git(root, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    if found is None or found.returncode != 0:
        raise GradingError(f"--ref {ref}: no such commit in {root} (give a tag, branch or commit)")
    commit = found.stdout.decode().strip()
    top = Path(_git(root, "rev-parse", "--show-toplevel").stdout.decode().strip()).resolve()
    below = root.resolve().relative_to(top).as_posix()
    tree = commit if below == "." else f"{commit}:{below}"
    archived = _git(root, "archive", "--format=tar", tree)
    if archived.returncode != 0:
        raise GradingError(f"git archive {tree} failed: {archived.stderr.decode().strip()}")
    files: dict[str, tuple[bytes, int]] = {}
    with tarfile.open(fileobj=io.BytesIO(archived.stdout)) as tar:
        for member in tar.getmembers():
            if member.isfile():  # symbolic links never ship
                data = tar.extractfile(member)
                files[member.name] = (data.read() if data else b"", member.mode)
    return commit, files


def working_tree(root: Path) -> dict[str, tuple[bytes, int]]:
    """The kit's regular files as they are on disk, tool folders aside."""
    return {
        path.relative_to(root).as_posix(): (path.read_bytes(), path.stat().st_mode)
        for path in pristine.walk(root)
        if path.is_file() and not path.is_symlink()
    }


def uncommitted(root: Path) -> list[str]:
    """The kit's tracked files whose working copy differs from the last commit."""
    status = _git(root, "status", "--porcelain", "--untracked-files=no", "--", ".")
    if status is None:
        return []
    return [line[3:] for line in status.stdout.decode().splitlines() if line.strip()]


def _check_target(target: Path, kit_root: Path, zip_file: Path | None) -> None:
    if target.exists() and not target.is_dir():
        raise GradingError(f"{target}: exists and is not a folder; give a new or empty folder")
    if target.is_dir() and any(target.iterdir()):
        raise GradingError(
            f"{target}: the folder is not empty; give a new or empty folder, so that nothing "
            f"of an older edition stays in the new one"
        )
    resolved = target.resolve()
    if resolved == kit_root or kit_root in resolved.parents:
        raise GradingError(f"{target}: inside the kit at {kit_root}; write the edition outside it")
    if zip_file is not None:
        if zip_file.is_dir():
            raise GradingError(f"--zip {zip_file}: a folder; give the path of the zip file")
        if not zip_file.resolve().parent.is_dir():
            raise GradingError(f"--zip {zip_file}: the folder {zip_file.parent} does not exist")
        if resolved in zip_file.resolve().parents:
            raise GradingError(f"--zip {zip_file}: inside DIR; write the zip next to it")


def release(
    target: Path, *, kit: Path | None = None, ref: str | None = None, zip_file: Path | None = None
) -> tuple[edition.Stamp, list[str], list[str]]:
    """Write the learner edition of ``kit`` (default: the grader's own) to ``target``.

    Returns its stamp, the files written (relative to ``target``, stamp included)
    and the kit's uncommitted changes that were left out. GradingError on bad input.
    """
    root = (kit or pristine.default_root()).resolve()
    pristine.load(root)  # a kit at all: exercises/info.toml and harness/
    _check_target(target, root, zip_file)
    if _is_git_checkout(root):
        commit, files = committed(root, ref or "HEAD")
        source, left_out = f"commit {commit}", uncommitted(root) if ref is None else []
    elif ref is not None:
        raise GradingError(f"--ref {ref}: the kit at {root} is not a git checkout")
    else:
        files, source, left_out = working_tree(root), "working tree", []
    _refuse_solved_stubs(files, source)
    shipped = {
        name: (edition.for_learners(name, content), mode)
        for name, (content, mode) in files.items()
        if edition.is_learner_file(name) and name != edition.STAMP
    }
    target.mkdir(parents=True, exist_ok=True)
    for name, (content, mode) in sorted(shipped.items()):
        path = target / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        path.chmod(0o755 if mode & 0o111 else 0o644)
    pristine.load.cache_clear()  # the new folder is a kit of its own; read it afresh
    try:
        stamp = edition.Stamp(pristine.load(target.resolve()).version, source)
    finally:
        pristine.load.cache_clear()
    edition.write_stamp(target, stamp)
    names = sorted([*shipped, edition.STAMP])
    if zip_file is not None:
        _write_zip(zip_file, target, names)
    return stamp, names, left_out


def _refuse_solved_stubs(files: dict[str, tuple[bytes, int]], source: str) -> None:
    """GradingError when a learner module is not the stub ``exercises/stubs.toml`` records:
    a solved stub committed by mistake would hand its answer to every learner."""
    recorded = files.get(stubs.RECORD.as_posix())
    record = stubs.StubRecord.parse(recorded[0].decode("utf-8", "replace")) if recorded else None
    if record is None:
        return
    for module, blob in sorted(record.modules.items()):
        content = files.get(f"exercises/{module}")
        if content is not None and stubs.blob_id(content[0]) != blob:
            raise GradingError(
                f"exercises/{module} in the kit's {source} is not the stub that "
                f"{stubs.RECORD.as_posix()} records, so it may hold an answer: put the stub back "
                f"(grader reset), or if you changed the stub on purpose, run `{stubs.UPDATE}` "
                "and commit"
            )


def _write_zip(zip_file: Path, target: Path, names: list[str]) -> None:
    """Write the zip next to its final place, then move it there: never half a zip."""
    folder = target.resolve().name
    handle, temporary = tempfile.mkstemp(dir=zip_file.resolve().parent, suffix=".zip.partial")
    try:
        with open(handle, "wb") as raw, zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as archive:
            for name in names:
                path = target / name
                info = zipfile.ZipInfo(f"{folder}/{name}", date_time=(2026, 1, 1, 0, 0, 0))
                info.external_attr = (path.stat().st_mode & 0o777) << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, path.read_bytes())
        Path(temporary).replace(zip_file)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def run(args: argparse.Namespace) -> int:
    stamp, names, left_out = release(args.dir, kit=args.kit, ref=args.ref, zip_file=args.zip)
    print(f"{args.dir}: the learner edition, {len(names)} files, from the kit's {stamp.source}")
    print(f"  kit version {stamp.version} (in {edition.STAMP}; grading checks it)")
    if stamp.source == "working tree":
        print("  the kit is not a git checkout, so its files were taken as they are on disk")
    if left_out:
        print(
            f"  {len(left_out)} uncommitted change(s) are not in it (e.g. {left_out[0]}); "
            f"commit them and release again to ship them"
        )
    if args.zip is not None:
        print(f"  {args.zip}: the same files under {args.dir.resolve().name}/")
    print(
        "  no solutions, mutants, own tests, benchmarks, teacher's grading files or hidden traces"
    )
    return 0
