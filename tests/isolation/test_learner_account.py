"""The learner's account under a root grader: made once, even by several graders at once."""

from __future__ import annotations

import subprocess
from types import SimpleNamespace

import pytest

from harness.isolation import sandbox


@pytest.fixture
def fresh_account(monkeypatch):
    """``sandbox.account()`` as in a new process run by root, on a machine without the
    account: ``made`` lists each useradd call, and the account appears after ``appears`` of
    them, as when other graders hold /etc/passwd's lock meanwhile."""
    import pwd

    state = SimpleNamespace(made=[], appears=3, code=1)

    def getpwnam(name):
        if name == sandbox.LEARNER_USER and len(state.made) >= state.appears:
            return SimpleNamespace(pw_uid=4242, pw_gid=4243)
        if name == "nobody":
            return SimpleNamespace(pw_uid=65534, pw_gid=65534)
        raise KeyError(name)

    def run(command, **kwargs):
        state.made.append(command)
        return subprocess.CompletedProcess(command, state.code, b"", b"cannot lock /etc/passwd")

    monkeypatch.setattr(sandbox.os, "geteuid", lambda: 0)
    monkeypatch.setattr(pwd, "getpwnam", getpwnam)
    monkeypatch.setattr(sandbox.subprocess, "run", run)
    monkeypatch.setattr(sandbox.shutil, "which", lambda name: f"/usr/sbin/{name}")
    monkeypatch.setattr("time.sleep", lambda seconds: None)
    sandbox.account.cache_clear()
    yield state
    sandbox.account.cache_clear()


def test_a_locked_password_file_is_waited_for_not_taken_for_nobody(fresh_account):
    """useradd refused three times (another grader held the lock): the account is still the
    learner's own, not the shared ``nobody``"""
    assert sandbox.account() == sandbox.Account(sandbox.LEARNER_USER, 4242, 4243)
    assert len(fresh_account.made) == 3


def test_a_useradd_that_cannot_work_falls_back_to_nobody_at_once(fresh_account):
    """a refusal that waiting cannot cure (exit 2: a bad option) is not retried"""
    fresh_account.code, fresh_account.appears = 2, 99
    assert sandbox.account() == sandbox.Account("nobody", 65534, 65534)
    assert len(fresh_account.made) == 1
