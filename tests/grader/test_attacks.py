"""What a clever student tries against ``grader run``, each as a real submission in tmp_path.

Every attack lives in ch00's first module, ``chain_availability``, which
answers correctly *only if the attack worked* (it found the reference
solution, the results, the hidden traces, the test process's memory, the
network...) and otherwise raises like the stub. So the score is the oracle:
an attack that got through earns ch00.1's points. Each submission is graded
on ch00 alone, under the strongest sandbox this machine offers, as the root
grader of Gradescope or CI would, and again as an unprivileged user. Each
must earn nothing, leave the grader's installation as it was, leave no
process behind, and leave the next submission's grade unchanged.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pristine_copy
import pytest

from grader.grade import grade_submission
from grader.pristine import default_root
from harness.isolation import sandbox as learner_sandbox

KIT = default_root()
TASK1 = "exercises/ch00/test_availability.py"
BOOTSTRAP_MARK = "harness.isolation.host"

ORACLE = """
import math, os, sys
from pathlib import Path


def _attack():
{body}


def chain_availability(availabilities):
    try:
        worked = bool(_attack())
    except BaseException:
        worked = False
    if worked:
        return math.prod(availabilities)
    raise NotImplementedError("TODO(ch00.1): the attack did not work")
"""

ATTACKS = {
    # The control: an "attack" that always works must earn the points, or the oracle is blind.
    "control": "return True",
    "reference_solution": """
roots = {Path(sys.modules["harness"].__file__).resolve().parents[1], Path.cwd(), Path("/work")}
roots |= {Path(p) for p in sys.path}
for root in list(roots):
    for parent in [root, *root.parents]:
        found = parent / "solutions" / "ch00" / "availability.py"
        if found.is_file():
            return "math.prod" in found.read_text()
return False
""",
    "results_and_hidden_traces": """
import glob
for pattern in ("/tmp/twm-results-*/**", "/tmp/*/twm-results-*/**", "/tmp/**/hidden/**"):
    for name in glob.glob(pattern, recursive=True):
        if os.path.isfile(name) and os.access(name, os.R_OK):
            return True
return False
""",
    "test_process_arguments_and_memory": """
for pid in os.listdir("/proc"):
    if not pid.isdigit() or int(pid) == os.getpid():
        continue
    try:
        cmdline = open(f"/proc/{pid}/cmdline", "rb").read()
    except OSError:
        continue
    if b"--results-stream" in cmdline or b"--results-json" in cmdline:
        return True
    try:
        with open(f"/proc/{pid}/mem", "rb") as memory:
            return len(memory.read(1)) >= 0
    except OSError:
        pass
return any("--results" in arg for arg in sys.argv)
""",
    "inherited_files": """
import json
forged = json.dumps({"id": "exercises/ch00/test_availability.py::x", "status": "passed"})
wrote = False
for fd in range(3, 256):
    try:
        os.write(fd, (forged + "\\n").encode())
        wrote = True
    except OSError:
        pass
return wrote and False  # forging is tried; the score must not move
""",
    "network": """
import socket
for port in (5432, 5672, 22, 80):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return True
    except OSError:
        pass
return False
""",
    "grader_installation": """
import site
targets = [Path(p) for p in sys.path if p.endswith("site-packages")]
targets += [Path(sys.modules["harness"].__file__).parent, Path(__file__).parent]
targets += [Path(p) for p in INSTALLATION]
for folder in targets:
    for name in ("zz_twm_attack.pth", "conftest.py", "sitecustomize.py"):
        try:
            (folder / name).write_text("import os; os.environ['TWM_OWNED'] = '1'\\n")
        except OSError:
            pass
return False
""",
    "outlive_the_test": """
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        import time
        while True:  # tries, for ever, to rewrite what the grader writes next
            for name in OUTPUTS:
                try:
                    Path(name).write_text('{"score": 100}')
                except OSError:
                    pass
            time.sleep(0.05)
    os._exit(0)
return False
""",
    "fork_bomb_and_disk": """
import tempfile
children = 0
try:
    for _ in range(5000):
        if os.fork() == 0:
            import time
            time.sleep(30)
            os._exit(0)
        children += 1
except OSError:
    pass
try:
    with open(os.path.join(tempfile.gettempdir(), "hoard"), "wb") as hoard:
        for _ in range(512):
            hoard.write(b"x" * 1024 * 1024)
except OSError:
    pass
return False
""",
}


def _sandbox_mode() -> str:
    if os.environ.get("CI") == "true":
        return "require"  # CI installs bubblewrap: a missing one is a failure there
    if learner_sandbox.bubblewrap() is None:
        pytest.skip(f"the sandbox is not available here: {learner_sandbox.bubblewrap_problem()}")
    return "require"


def _installation() -> list[str]:
    import harness

    return sorted({str(Path(harness.__file__).resolve().parents[1])} | set(sys.path[1:3]))


def submission(folder: Path, attack: str, *, outputs: list[str] = ()) -> Path:
    """A learner's checkout of ch00 with the attack in ``availability.py``."""
    pristine_copy.copy_exercises(folder / "exercises")
    body = ATTACKS[attack].replace("INSTALLATION", repr(_installation()))
    body = body.replace("OUTPUTS", repr(list(outputs)))
    source = ORACLE.format(body=textwrap.indent(textwrap.dedent(body).strip(), "    "))
    (folder / "exercises" / "ch00" / "availability.py").write_text(source)
    return folder


def task1_points(result) -> float:
    return sum(t.points for t in result.tests if t.id.startswith(TASK1))


def learner_processes() -> list[int]:
    """Processes below this one still running the learner host's code, but for the host this
    test process keeps for its own isolated tests: none may outlive a grading. (This process
    is a subreaper, so an orphan that learner code left would be below it.)"""
    from grader import reaper
    from harness.isolation import launch

    own = launch._running.get("host")
    keep = set() if own is None else {own.process.pid} | reaper.descendants(own.process.pid)
    found = []
    for pid in map(str, sorted(reaper.descendants() - keep)):
        try:
            if BOOTSTRAP_MARK.encode() in Path(f"/proc/{pid}/cmdline").read_bytes():
                found.append(int(pid))
        except OSError:
            pass
    return found


def installation_files() -> set[Path]:
    folders = [Path(p) for p in _installation()] + [KIT / "harness", KIT / "exercises" / "ch00"]
    names = ("zz_twm_attack.pth", "conftest.py", "sitecustomize.py")
    return {folder / name for folder in folders for name in names if (folder / name).exists()}


@pytest.fixture(scope="module")
def mode():
    from grader import reaper

    reaper.become_subreaper()
    return _sandbox_mode()


@pytest.fixture(scope="module")
def honest_score(mode, tmp_path_factory):
    """The baseline: the kit's stubs, untouched."""
    folder = tmp_path_factory.mktemp("honest")
    pristine_copy.copy_exercises(folder / "exercises")
    return grade_submission(folder, chapters=["ch00"], sandbox=mode).score


def test_the_oracle_sees_an_attack_that_works(mode, tmp_path):
    """the control attack, which always 'works', earns task 1's points: the oracle is not blind"""
    result = grade_submission(submission(tmp_path, "control"), chapters=["ch00"], sandbox=mode)
    assert task1_points(result) > 0


@pytest.mark.parametrize(
    "attack",
    [
        "reference_solution",
        "results_and_hidden_traces",
        "test_process_arguments_and_memory",
        "inherited_files",
        "network",
        "grader_installation",
        "fork_bomb_and_disk",
    ],
)
def test_an_attack_earns_nothing_and_leaves_nothing(mode, honest_score, tmp_path, attack):
    """the attack scores what the stub scores, changes nothing of the grader's, and no
    process of it survives the grading"""
    before = installation_files()
    hidden = None
    if attack == "results_and_hidden_traces":  # the teacher's hidden traces are in play too
        hidden = tmp_path / "hidden"
        (hidden / "ch00").mkdir(parents=True)
        shutil.copyfile(KIT / "exercises/ch00/traces/all-up.toml", hidden / "ch00/secret.toml")
    result = grade_submission(
        submission(tmp_path / "submission", attack),
        chapters=["ch00"],
        sandbox=mode,
        hidden=hidden,
    )
    assert task1_points(result) == 0, [t.message for t in result.tests if t.points]
    assert result.score == honest_score
    assert installation_files() == before
    assert learner_processes() == []
    assert result.sandbox["missing"] == [] or os.geteuid() != 0


def test_a_process_left_running_cannot_rewrite_the_result(mode, tmp_path):
    """a daemon started by learner code is gone before the grader writes its output"""
    out = tmp_path / "result.json"
    folder = submission(tmp_path / "submission", "outlive_the_test", outputs=[str(out)])
    done = subprocess.run(
        [sys.executable, "-m", "grader.cli", "run", str(folder), "--chapters", "ch00"]
        + ["--sandbox", mode, "--out", str(out)],
        capture_output=True,
        text=True,
        cwd=KIT,
    )
    assert done.returncode == 0, done.stderr
    written = out.read_text()
    time.sleep(0.3)  # a survivor would rewrite the file within 0.05 s
    assert out.read_text() == written
    assert json.loads(written)["score"] == 0
    assert learner_processes() == []


def test_the_next_submission_is_graded_as_if_nothing_happened(mode, honest_score, tmp_path):
    """after a hostile submission, the stubs score exactly what they scored before it"""
    grade_submission(
        submission(tmp_path / "a", "grader_installation"), chapters=["ch00"], sandbox=mode
    )
    grade_submission(
        submission(tmp_path / "b", "fork_bomb_and_disk"), chapters=["ch00"], sandbox=mode
    )
    folder = tmp_path / "honest"
    pristine_copy.copy_exercises(folder / "exercises")
    assert grade_submission(folder, chapters=["ch00"], sandbox=mode).score == honest_score


# -- as an unprivileged grader ------------------------------------------------------------------


def _unprivileged_user() -> tuple[int, int]:
    if os.geteuid() != 0:
        return os.getuid(), os.getgid()  # already unprivileged: grade as ourselves
    import pwd

    name = "twm-grader-test"
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--user-group", name], check=True
        )
        entry = pwd.getpwnam(name)
    return entry.pw_uid, entry.pw_gid


@pytest.fixture
def shared_tmp():
    """A folder other users can reach (pytest's own tmp_path is private to root)."""
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="twm-attack-", dir="/tmp"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def test_an_unprivileged_grader_keeps_the_reference_out_of_reach(mode, shared_tmp):
    """graded by a user without privileges (bubblewrap in a user namespace), the attack that
    looks for the reference solution still earns nothing"""
    uid, gid = _unprivileged_user()
    needed = [Path(sys.executable), Path(sys.base_prefix), KIT / "harness", KIT / "grader"]
    blocked = [p for p in needed if not learner_sandbox.world_readable(p)]
    if blocked and os.geteuid() == 0:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must make these readable by other users: {blocked}")
        pytest.skip(f"the interpreter or kit is not readable by other users: {blocked}")
    folder = submission(shared_tmp / "submission", "reference_solution")
    out = shared_tmp / "out"
    out.mkdir()
    shared_tmp.chmod(0o755)
    if os.geteuid() == 0:
        for path in (shared_tmp, out, *shared_tmp.rglob("*")):
            os.chown(path, uid, gid)
    command = [sys.executable, "-m", "grader.cli", "run", str(folder), "--chapters", "ch00"]
    command += ["--sandbox", mode, "--out", str(out / "result.json")]
    if os.geteuid() == 0:
        command = ["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups", *command]
    environment = {
        "PATH": os.environ["PATH"],
        "HOME": str(out),
        "TMPDIR": str(out),
        "VIRTUAL_ENV": os.environ.get("VIRTUAL_ENV", ""),
    }
    done = subprocess.run(command, capture_output=True, text=True, cwd=KIT, env=environment)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads((out / "result.json").read_text())
    assert sum(t["points"] for t in result["tests"] if t["id"].startswith(TASK1)) == 0
    assert not any("unprivileged user of its own" in p for p in result["sandbox"]["held"])
    assert any("PID namespace" in p for p in result["sandbox"]["held"])
    assert learner_processes() == []
