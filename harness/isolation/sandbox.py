"""Where the learner's process runs: a fresh interpreter, and as little else as the OS allows.

The learner's code never runs in a fork of the test process. The test
process starts a fresh interpreter, the *learner host* (:mod:`harness.isolation.host`),
which loads only what speaking to the ports needs, then forks one learner
process per test. What surrounds the host depends on the machine, from most
to least (each protection is listed in the grading report, see
:func:`protections`):

- **bubblewrap** (``bwrap``, Debian's package ``bubblewrap``), when it works:
  the host's own PID, network, IPC and mount namespaces; a read-only view of
  only the interpreter's standard library, the harness package, freezegun and
  the learner's target tree; a private ``/tmp`` of bounded size; no network at
  all. The kit's solutions, hidden traces, results, other submissions and the
  grader's installation are not in its view. The host is the namespace's
  process 1 (``--as-pid-1``): no process inside can signal it, and when it
  ends, everything in its namespace dies with it; it ends on its own when the
  test process closes its control socket, so each process in it is waited for
  and its CPU time is counted by whoever waits for the test process.
- **as root**, the host drops to an unprivileged user of its own
  (:data:`LEARNER_USER`, created on first use) before any learner code loads,
  so it cannot read the test process's memory nor write anything root owns.
- **everywhere** (a learner's laptop, macOS): a fresh interpreter, CPU,
  memory, process and output limits, and a sweep of every process it started
  after each test.

``TWM_SANDBOX=none`` (or ``--isolate-sandbox none``) turns bubblewrap off, e.g.
to debug; ``TWM_SANDBOX=require`` fails instead of falling back when bubblewrap
does not work.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

LEARNER_USER = "twm-learner"
"""The unprivileged account learner code runs as when the grader is root."""
RETRY_USERADD = (0, 1, 9, 10)
"""useradd's exit codes after which the account may yet appear: made; /etc/passwd locked by
another useradd; made by another one meanwhile; /etc/group locked."""
TMP_MEGABYTES = 64
"""Size of the learner's private /tmp under bubblewrap."""
MODES = ("auto", "require", "none")
REPEATABLE = {"PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1"}
"""The learner host's interpreter settings that make two runs alike: the same hash of every
string (set and dict order), no byte code written."""
_ADDR_NO_RANDOMIZE = 0x0040000


def fixed_addresses() -> None:
    """Linux: no address-space randomisation for the learner host (run between fork and exec),
    so ``id()`` and the order of objects hashed by identity repeat from run to run."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    current = libc.personality(0xFFFFFFFF)
    if current != -1:
        libc.personality(current | _ADDR_NO_RANDOMIZE)


class SandboxUnavailable(RuntimeError):
    """``require`` was asked for, and bubblewrap does not work here; the message says why."""


@dataclass(frozen=True)
class Account:
    """The user the learner host switches to (root only)."""

    name: str
    uid: int
    gid: int


def mode(wanted: str | None = None) -> str:
    """The sandbox mode: ``wanted``, else ``TWM_SANDBOX``: auto (default), require or none."""
    value = wanted if wanted is not None else os.environ.get("TWM_SANDBOX", "auto")
    value = value.strip().lower() or "auto"
    if value not in MODES:
        raise SandboxUnavailable(
            f"TWM_SANDBOX={value!r} is not a sandbox mode; use one of {', '.join(MODES)}"
        )
    return value


@functools.lru_cache(maxsize=1)
def bubblewrap() -> str | None:
    """The path of a working ``bwrap``, or None with the reason in :func:`bubblewrap_problem`."""
    return None if bubblewrap_problem() else shutil.which("bwrap")


@functools.lru_cache(maxsize=1)
def bubblewrap_problem() -> str | None:
    """Why bubblewrap cannot sandbox the learner here, or None when it can."""
    if not sys.platform.startswith("linux"):
        return f"bubblewrap needs Linux (this is {sys.platform})"
    path = shutil.which("bwrap")
    if path is None:
        return "bwrap is not installed (Debian and Ubuntu: apt install bubblewrap)"
    try:
        probe = ["--ro-bind", "/", "/", "--unshare-all", "--as-pid-1", "--die-with-parent"]
        done = subprocess.run(
            [path, *probe, "true"],
            capture_output=True,
            timeout=10,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"bwrap did not run ({error})"
    if done.returncode != 0:
        said = done.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["no message"]
        return f"bwrap cannot make namespaces here ({said[0]})"
    return None


@functools.lru_cache(maxsize=1)
def account() -> Account | None:
    """The learner's own unprivileged account when this process is root (made if missing)."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return None
    import pwd

    # Several graders (a batch's jobs, parallel test processes) may make it at once: useradd
    # then refuses while another holds /etc/passwd's lock, and the account appears soon after.
    for attempt in range(10):
        try:
            entry = pwd.getpwnam(LEARNER_USER)
            return Account(LEARNER_USER, entry.pw_uid, entry.pw_gid)
        except KeyError:
            pass
        useradd = shutil.which("useradd")
        if not useradd:
            break
        made = subprocess.run(
            [useradd, "--system", "--no-create-home", "--user-group"]
            + ["--shell", "/usr/sbin/nologin", LEARNER_USER],
            capture_output=True,
        )
        if made.returncode not in RETRY_USERADD:
            break
        time.sleep(0.05 * (attempt + 1))
    try:  # no useradd, or it failed: the conventional account without rights
        entry = pwd.getpwnam("nobody")
    except KeyError:
        return None
    return Account("nobody", entry.pw_uid, entry.pw_gid)


def world_readable(path: Path) -> bool:
    """Can any user read ``path`` (every folder above it searchable by others)?"""
    import stat

    path = Path(path).resolve()
    try:
        for folder in [*reversed(path.parents), path]:
            mode = folder.stat().st_mode
            if stat.S_ISDIR(mode) and not mode & stat.S_IXOTH:
                return False
        return bool(path.stat().st_mode & stat.S_IROTH)
    except OSError:
        return False


def usable_account(extra: list[Path], *, namespace: bool) -> Account | None:
    """The account the learner host switches to, or None to stay. Under bubblewrap the view
    is made readable; without it the account must be able to read the interpreter, the
    harness and the learner's modules where they are."""
    user = account()
    if user is None or namespace:
        return user
    needed = [Path(sys.base_prefix), *visible_paths(*extra)]
    return user if all(world_readable(path) for path in needed) else None


def use_bubblewrap(wanted: str | None = None) -> bool:
    """Will the learner host run under bubblewrap? Raises under ``require`` when it cannot."""
    wanted = mode(wanted)
    if wanted == "none":
        return False
    if bubblewrap() is not None:
        return True
    if wanted == "require":
        raise SandboxUnavailable(
            f"the sandbox was required (TWM_SANDBOX=require) but {bubblewrap_problem()}"
        )
    return False


def protections(extra: list[Path] = (), wanted: str | None = None) -> list[str]:
    """The protections learner code whose modules are in ``extra`` runs under here, in words."""
    held = ["a fresh interpreter for learner code, never a fork of the test process"]
    namespace = use_bubblewrap(wanted)
    user = usable_account(list(extra), namespace=namespace)
    if user is not None:
        held.append(f"an unprivileged user of its own ({user.name}, uid {user.uid})")
    if namespace:
        held += [
            "its own PID namespace: every process it starts dies with its test",
            "no network",
            "a read-only view of the interpreter, the harness and its own modules only",
            f"one private temp folder ({TMP_MEGABYTES} MB)",
        ]
    else:
        held.append("every process it starts is killed when its test ends")
    held.append("limits on CPU time, memory, processes and output")
    return held


def missing_protections(extra: list[Path] = (), wanted: str | None = None) -> list[str]:
    """What the sandbox could not do here, and why, in words."""
    gaps = []
    namespace = use_bubblewrap(wanted)
    if not namespace:
        why = "is turned off" if mode(wanted) == "none" else bubblewrap_problem()
        gaps.append(
            "no namespaces, no read-only view, the network and the disk are reachable: "
            f"bubblewrap {why}"
        )
    if account() is None:
        gaps.append("learner code runs as the grader's own user (the grader is not root)")
    elif usable_account(list(extra), namespace=namespace) is None:
        gaps.append(
            f"learner code runs as root: without bubblewrap the account {LEARNER_USER} "
            f"cannot read the interpreter at {sys.base_prefix}"
        )
    return gaps


def _paths_of_modules(*names: str) -> list[Path]:
    """The files or package folders of ``names``, as found by this interpreter."""
    import importlib.util

    found = []
    for name in names:
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            continue
        origin = Path(spec.origin)
        found.append(origin.parent if origin.name == "__init__.py" else origin)
    return found


def import_roots(*extra: Path) -> list[Path]:
    """What the learner host puts on ``sys.path``: the folders holding the harness, freezegun
    and what freezegun imports, and ``extra``."""
    folders: list[Path] = []
    for path in _paths_of_modules("harness", "freezegun", "dateutil", "six"):
        if path.parent not in folders:
            folders.append(path.parent)
    return folders + [p for p in extra if p not in folders]


def visible_paths(*extra: Path) -> list[Path]:
    """Every file or folder the learner host may read under bubblewrap (besides /usr and the
    interpreter): the harness, freezegun and its imports, and ``extra``."""
    return _paths_of_modules("harness", "freezegun", "dateutil", "six") + list(extra)


def interpreter() -> str:
    """The real interpreter binary (a virtual environment's python is only a link to it)."""
    return getattr(sys, "_base_executable", None) or sys.executable


def bubblewrap_command(extra: list[Path], *, as_root: bool) -> list[str]:
    """The ``bwrap`` options that wrap the learner host: namespaces, the read-only view, and
    the host as the namespace's process 1 (no reaper of bubblewrap's own in between, whose
    exit would leave the host's CPU time uncounted)."""
    # As root, no user namespace: the host leaves root for the learner's real account, which
    # a user namespace would forbid (setgroups); as a user, bwrap needs one.
    unshare = ["--unshare-all"]
    if as_root:
        unshare = ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts"]
        unshare.append("--unshare-cgroup-try")
    command = [
        str(bubblewrap()),
        *unshare,
        "--as-pid-1",
        "--die-with-parent",
        "--new-session",
        "--clearenv",
        *(part for name, value in REPEATABLE.items() for part in ("--setenv", name, value)),
        "--setenv",
        "PATH",
        "/usr/bin:/bin",
        "--setenv",
        "LANG",
        "C.UTF-8",
        "--setenv",
        "TMPDIR",
        "/tmp",
        "--setenv",
        "HOME",
        "/tmp",
        "--ro-bind",
        "/usr",
        "/usr",
    ]
    for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        if os.path.islink(top):
            command += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            command += ["--ro-bind", top, top]
    command += ["--proc", "/proc", "--dev", "/dev"]
    command += ["--size", str(TMP_MEGABYTES * 1024 * 1024), "--tmpfs", "/tmp"]
    prefix = Path(sys.base_prefix).resolve()
    own_prefix = not str(prefix).startswith("/usr/")
    binds = ([str(prefix)] if own_prefix else []) + [
        str(Path(path).resolve()) for path in visible_paths(*extra)
    ]
    made: set[str] = set()
    for bind in binds:  # bwrap makes missing parents private (0700): the account needs 0755
        for parent in reversed(Path(bind).parents[:-1]):
            if str(parent) not in made and not str(parent).startswith("/usr"):
                made.add(str(parent))
                command += ["--perms", "0755", "--dir", str(parent)]
    if own_prefix:
        command += ["--ro-bind", str(prefix), str(prefix)]
        for site in prefix.glob("lib/python3*/site-packages"):
            command += ["--tmpfs", str(site)]  # the interpreter's own packages stay out of view
    for bind in binds[1 if own_prefix else 0 :]:
        command += ["--ro-bind", bind, bind]
    if as_root:
        # The host switches to the learner's account itself, after loading the harness.
        command += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    return command + ["--chdir", "/tmp", "--"]
