#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder's image.
# /autograder/source holds the zip: these scripts, autograde.py, kit/ (the kit at the
# version that grades) and hidden/ (the teacher's hidden traces, if any). The
# kit goes into its own virtual environment, so no submission can change it.
set -euo pipefail

source_dir="${AUTOGRADER_ROOT:-/autograder}/source"
venv="${AUTOGRADER_ROOT:-/autograder}/venv"

if ! command -v python3 >/dev/null || ! python3 -c 'import sys, venv; assert sys.version_info >= (3, 10)' 2>/dev/null; then
    apt-get update
    apt-get install -y --no-install-recommends python3 python3-venv python3-pip
fi
# bubblewrap lets the grader put learner code in a sandbox of its own (its PID and
# network namespaces, a read-only view); where the image cannot run it, the
# grader falls back and the results say which protections held.
if ! command -v bwrap >/dev/null; then
    apt-get update && apt-get install -y --no-install-recommends bubblewrap ||
        echo "bubblewrap could not be installed: grading runs without it" >&2
fi
python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --upgrade pip
"$venv/bin/python" -m pip install --quiet "$source_dir/kit"
chmod +x "$source_dir/run_autograder"
