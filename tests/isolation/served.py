"""What the isolation tests' learner process serves: plain functions and classes, no pytest.

The learner host rebuilds :class:`Root` from this file (it imports nothing
the learner's side would not have), and both sides then know the same classes.
"""

from __future__ import annotations

import datetime
import os
import time

from harness.gateway import PaymentFailed
from harness.isolation.host import living_parents


class Port:
    """A harness-side object marked as a port: it crosses by reference."""

    __twm_port__ = True

    def __init__(self) -> None:
        self.calls: list[str] = []
        self._secret = "harness only"

    def ping(self, what: str) -> str:
        self.calls.append(what)
        return f"pong {what}"

    def charge(self, order_id: str) -> None:
        raise PaymentFailed("timed out", order_id=order_id, transient=True)


class Learnerish:
    """Stands for a learner's class: not harness data, so it comes back as a proxy."""

    def __init__(self, port: Port | None = None) -> None:
        self.port = port
        self.seen: list = []

    def on_message(self, body: dict) -> int:
        self.seen.append(body)
        return len(self.seen)


class LearnerError(KeyError):
    """A learner's own exception class, unknown to the harness's side."""


def echo(value):
    return value, type(value).__name__


def use_port(port: Port, handler) -> tuple:
    handler("from the child")
    return port.ping("hello"), isinstance(port, Port)


def bounce(depth: int, back):
    return depth if depth == 0 else back(depth - 1)


def read_twice(outcomes) -> tuple[int, int]:
    return len(list(outcomes)), len(list(outcomes))


def same(a, b) -> bool:
    return a is b


def raise_syntax_error():
    compile("def broken(:\n    pass\n", "broken.py", "exec")


def raise_value_error() -> None:
    raise ValueError("bad value")


def raise_learner_error() -> None:
    raise LearnerError("o-1")


def raise_interrupt() -> None:
    raise KeyboardInterrupt


def not_done() -> None:
    raise NotImplementedError("TODO(ch99.1): fill me")


def catch_payment(port: Port) -> tuple:
    try:
        port.charge("o-7")
    except PaymentFailed as error:
        return type(error).__name__, error.order_id, error.transient
    return ("no error",)


def through_crash(strike, swallow: bool) -> str:
    try:
        strike()
    except BaseException:
        if not swallow:
            raise
        return "swallowed"
    return "returned"


def clock() -> tuple[float, str]:
    return time.time(), datetime.datetime.now().isoformat()


def peek(port: Port) -> str:
    return port._secret


def exit_with(code: int) -> None:
    os._exit(code)


def sleep(seconds: float) -> None:
    time.sleep(seconds)


def keep(port: Port) -> None:
    return None


def host_pid() -> int:
    """The learner host that forked this process (its serving copy)."""
    return os.getppid()


def burn(seconds: float) -> float:
    """Spend ``seconds`` of CPU time; the CPU time this process has used."""
    while time.process_time() < seconds:
        pass
    return time.process_time()


def kill_the_pristine_copy() -> None:
    """Learner code that kills the copy its host keeps to renew itself (its grandparent)."""
    os.kill(living_parents()[os.getppid()], 9)


def signal_the_pristine_copy() -> list[str]:
    """Send the pristine copy every signal that ends, stops or interrupts a process; the
    ones the system let through."""
    import signal

    sent = []
    for number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGUSR1, signal.SIGSTOP):
        try:
            os.kill(living_parents()[os.getppid()], number)
            sent.append(signal.Signals(number).name)
        except OSError:
            pass
    return sent


FUNCTIONS = {f.__name__: f for f in (echo, use_port, bounce, read_twice, same, Learnerish)}
FUNCTIONS |= {f.__name__: f for f in (raise_value_error, raise_learner_error, raise_interrupt)}
FUNCTIONS |= {f.__name__: f for f in (not_done, catch_payment, through_crash, clock, peek)}
FUNCTIONS |= {f.__name__: f for f in (exit_with, sleep, keep, raise_syntax_error)}
FUNCTIONS |= {
    f.__name__: f for f in (host_pid, kill_the_pristine_copy, signal_the_pristine_copy, burn)
}


class Root:
    def component(self, relative: str, name: str):
        return FUNCTIONS[name]
