"""The isolation layer's own rules, checked against a real forked child.

A child serves the functions and classes of this module (forked, it has
them all); each test calls them through proxies and checks what crossed by
value, what by reference, how exceptions, crashes, time and the end of the
process look on the harness's side.
"""

from __future__ import annotations

import datetime
import decimal
import os
import pickle
import time
import traceback

import freezegun
import pytest

from harness.faults import Crash
from harness.gateway import PaymentFailed
from harness.isolation import Child, Limits, NoAnswer, ProcessEnded, wire
from harness.timeline import Step


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


FUNCTIONS = {f.__name__: f for f in (echo, use_port, bounce, read_twice, same, Learnerish)}
FUNCTIONS |= {f.__name__: f for f in (raise_value_error, raise_learner_error, raise_interrupt)}
FUNCTIONS |= {f.__name__: f for f in (not_done, catch_payment, through_crash, clock, peek)}
FUNCTIONS |= {f.__name__: f for f in (exit_with, sleep, keep)}


class Root:
    def component(self, relative: str, name: str):
        return FUNCTIONS[name]


@pytest.fixture
def child():
    process = Child(Root(), Limits(answer=2))
    yield process.component
    process.stop()


def test_plain_data_crosses_by_value(child):
    """data comes back equal and of the same type"""
    echo = child("", "echo")
    for value in (
        {"order_id": "o-1", "amount": 12.5},
        [1, (2, 3), {4}],
        Step(0.5, "broker", "consumer", "deliver m1"),
        datetime.datetime(2026, 1, 1, 12),
        decimal.Decimal("1.10"),
        None,
    ):
        assert echo(value) == (value, type(value).__name__)


def test_ports_and_callables_cross_by_reference(child):
    """a port and a harness callable used by the learner act on the harness's own objects"""
    port, heard = Port(), []
    assert child("", "use_port")(port, heard.append) == ("pong hello", True)
    assert port.calls == ["hello"] and heard == ["from the child"]


def test_calls_nest_both_ways(child):
    """the learner calls the harness, which calls the learner again, and so on"""
    bounce = child("", "bounce")

    def back(depth: int) -> int:
        return bounce(depth, back)

    assert bounce(6, back) == 0


def test_learner_objects_come_back_as_proxies(child):
    """an instance of a learner class is a proxy here; its methods run there"""
    instance = child("", "Learnerish")(port=Port())
    on_message = instance.on_message
    assert on_message.__qualname__ == "Learnerish.on_message"
    assert on_message({"n": 1}) == 1 and on_message({"n": 2}) == 2
    assert instance.seen == [{"n": 1}, {"n": 2}]
    assert child("", "same")(instance, instance) is True


def test_an_iterator_crosses_by_reference_and_reads_once(child):
    """a generator is read where it lives: a second pass finds it empty, as in-process"""
    assert child("", "read_twice")(n for n in range(3)) == (3, 0)
    assert child("", "read_twice")([0, 1, 2]) == (3, 3)


def test_a_learner_exception_keeps_its_type_and_its_traceback(child):
    """ValueError stays ValueError, with the learner's own file and line in its traceback"""
    with pytest.raises(ValueError, match="bad value") as caught:
        child("", "raise_value_error")()
    frames = traceback.extract_tb(caught.value.__traceback__)
    assert frames[-1].name == "raise_value_error"
    assert frames[-1].filename == __file__ and frames[-1].line == 'raise ValueError("bad value")'


def test_an_unknown_exception_class_arrives_as_its_nearest_known_base(child):
    """a learner-defined exception is a KeyError here, still named as the learner named it"""
    with pytest.raises(KeyError) as caught:
        child("", "raise_learner_error")()
    assert type(caught.value).__name__ == "LearnerError"


def test_a_learner_interrupt_cannot_stop_the_harness(child):
    """KeyboardInterrupt from learner code arrives as an ordinary Exception"""
    with pytest.raises(Exception) as caught:
        child("", "raise_interrupt")()
    assert not isinstance(caught.value, KeyboardInterrupt)
    assert type(caught.value).__name__ == "KeyboardInterrupt"


def test_not_implemented_stays_not_implemented(child):
    """a stub's TODO reaches the plugin as NotImplementedError with its text"""
    with pytest.raises(NotImplementedError, match=r"TODO\(ch99.1\)"):
        child("", "not_done")()


def test_port_exceptions_reach_the_learner_as_themselves(child):
    """PaymentFailed raised by the harness is PaymentFailed in learner code, attributes too"""
    assert child("", "catch_payment")(Port()) == ("PaymentFailed", "o-7", True)


def test_a_crash_goes_into_learner_code_and_back_out(child):
    """Crash (a BaseException) crosses into the learner's code and out again, or is caught"""

    def strike():
        raise Crash("consumer crashed before ack")

    with pytest.raises(Crash):
        child("", "through_crash")(strike, False)
    assert child("", "through_crash")(strike, True) == "swallowed"


def test_the_learner_reads_the_harness_virtual_time(child):
    """time.time() and datetime.now() in the learner's process follow the frozen clock"""
    clock = child("", "clock")
    with freezegun.freeze_time("2026-01-01 00:00:00") as frozen:
        assert clock() == (time.time(), datetime.datetime.now().isoformat())
        frozen.move_to("2026-01-01 00:00:05.25")
        assert clock() == (time.time(), "2026-01-01T00:00:05.250000")
    assert abs(clock()[0] - time.time()) < 60


def test_private_attributes_of_harness_objects_are_refused(child):
    """learner code sees a port's public API, never its insides"""
    with pytest.raises(AttributeError, match="private to the harness"):
        child("", "peek")(Port())


def test_dropped_references_are_released(child):
    """objects the learner no longer holds are forgotten on the harness's side too"""
    keep = child("", "keep")
    for _ in range(200):
        keep(Port())
    keep(None)
    connection = keep._conn
    assert len(connection._objects) < 10


def test_an_exiting_child_is_a_clear_error_and_stays_one(child):
    """os._exit in learner code: ProcessEnded naming the exit code, for this call and the next"""
    with pytest.raises(ProcessEnded, match="exit code 3 while the harness called exit_with"):
        child("", "exit_with")(3)
    with pytest.raises(ProcessEnded):
        child("", "echo")


def test_a_silent_child_is_stopped(child):
    """no answer within the limit: NoAnswer, and the process is stopped"""
    started = time.monotonic()
    with pytest.raises(NoAnswer, match="did not answer within 2 s"):
        child("", "sleep")(30)
    assert time.monotonic() - started < 15


def test_the_harness_side_never_rebuilds_what_it_does_not_know():
    """a pickle naming os.system, or a learner module's class, is refused, not run"""

    class Evil:
        def __reduce__(self):
            return (os.system, ("echo owned",))

    plain = wire.Plain()
    with pytest.raises(wire.ProtocolError, match="system"):
        wire.loads(pickle.dumps(Evil()), plain, strict=True)
    learner_class = b"c_twm_target_0_ch99_consumer\nConsumer\n."  # GLOBAL: import and fetch
    with pytest.raises(wire.ProtocolError, match="Consumer"):
        wire.loads(learner_class, plain, strict=True)


def test_limits_are_checked_and_parsed():
    """bad limits name the fix; a spec sets only what it names"""
    assert Limits.parse("cpu=5,answer=1.5") == Limits(answer=1.5, cpu=5)
    with pytest.raises(ValueError, match="unknown limit 'ram'"):
        Limits.parse("ram=5")
    with pytest.raises(ValueError, match="positive"):
        Limits(cpu=0)
