"""Classroom 50 autograder for this kit: copy it to CLASSROOM/autograders/ASSIGNMENT/autograder.py.

Classroom 50's runner runs this file once per submission with ``python``, in
the student's checkout (the working directory), with ``CLASSROOM``,
``ASSIGNMENT``, ``SUBMISSION_TAG``, ``COMMIT_URL``, ``RELEASE_URL`` and
``REVIEW_URL`` set. This script checks out the kit's pristine copy at
``KIT_REF``, installs it in a virtual environment of its own, runs
``grader run`` on the checkout (only the learner's exercise modules are taken
from it) and converts the result into ``./result.json`` and
``./release-body.md`` (``python -m grader.formats.classroom50``). It exits 0
once grading ran, whatever the score; a non-zero exit (the kit could not be
fetched or installed) is what the runner reports as an infrastructure error.

Set the three values below. ``KIT_REPOSITORY`` is the kit's learner edition
(what ``grader release`` writes), public: this file is served from the
classroom's Pages site and the job runs in the student's repository, so
neither can hold a token or the hidden traces. The points here are feedback;
the grade of record comes from the teacher's own run (``grader batch``).

``KIT_DIR`` (a checkout of the kit to use as it is), ``KIT_PYTHON`` (an
interpreter with the kit installed) and ``KIT_CHAPTERS`` replace the checkout,
the installation and ``CHAPTERS``, for a dry run on your machine.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

KIT_REPOSITORY = "your-organisation/talking-with-messages"
"""owner/name of the kit's learner edition on GitHub (public)."""
KIT_REF = "main"
"""A tag or commit of it: pin it, and move it when you update the exercises."""
CHAPTERS = ""
"""The chapters this assignment grades (``ch00,ch01``); empty: every chapter."""


def run(command: list[str], **options) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, text=True, check=False, **options)


def fail(message: str) -> int:
    print(f"::error::{message}")
    return 1


def fetch_kit(scratch: Path) -> Path | None:
    """The kit's pristine copy at KIT_REF: a shallow fetch of that one commit."""
    kit = scratch / "kit"
    url = f"{os.environ.get('GITHUB_SERVER_URL', 'https://github.com')}/{KIT_REPOSITORY}.git"
    for command in (
        ["git", "init", "--quiet", str(kit)],
        ["git", "-C", str(kit), "fetch", "--quiet", "--depth", "1", url, KIT_REF],
        ["git", "-C", str(kit), "checkout", "--quiet", "FETCH_HEAD"],
    ):
        if run(command).returncode != 0:
            return None
    return kit


def install(kit: Path, scratch: Path) -> str | None:
    """An interpreter with the kit installed in a virtual environment of its own."""
    venv = scratch / "venv"
    if run([sys.executable, "-m", "venv", str(venv)]).returncode != 0:
        return None
    python = str(venv / "bin" / "python")
    if run([python, "-m", "pip", "install", "--quiet", str(kit)]).returncode != 0:
        return None
    return python


def main() -> int:
    checkout = Path.cwd()
    scratch = Path(tempfile.mkdtemp(prefix="kit-", dir=os.environ.get("RUNNER_TEMP")))
    kit = Path(os.environ["KIT_DIR"]) if os.environ.get("KIT_DIR") else fetch_kit(scratch)
    if kit is None:
        return fail(f"cannot fetch {KIT_REPOSITORY} at {KIT_REF}: check KIT_REPOSITORY and KIT_REF")
    python = os.environ.get("KIT_PYTHON") or install(kit, scratch)
    if python is None:
        return fail(f"cannot install the kit from {KIT_REPOSITORY} at {KIT_REF}")
    graded = scratch / "grade.json"  # outside the checkout: nothing there is ever read back
    command = [python, "-m", "grader.cli", "run", str(checkout), "--format", "json"]
    command += ["--out", str(graded)]
    chapters = os.environ.get("KIT_CHAPTERS") or CHAPTERS
    if chapters:
        command += ["--chapters", chapters]
    done = run(command, cwd=kit, capture_output=True)
    if done.returncode != 0 or not graded.is_file():
        reason = (done.stderr.strip().splitlines() or [f"exit code {done.returncode}"])[-1]
        return fail(f"grader run could not grade this submission: {reason}")
    convert = [python, "-m", "grader.formats.classroom50", str(graded)]
    convert += ["--out", str(checkout / "result.json")]
    convert += ["--release-body", str(checkout / "release-body.md")]
    if run(convert, cwd=kit).returncode != 0:
        return fail("cannot write result.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
