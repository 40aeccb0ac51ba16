"""The isolation layer's own rules, checked against a real learner process.

A learner process serves the functions and classes of ``isolation.served``;
each test calls them through proxies and checks what crossed by value, what
by reference, how exceptions, crashes, time and the end of the
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
from isolation import served
from isolation.served import Port, Root

from harness.faults import Crash
from harness.isolation import Child, Limits, NoAnswer, ProcessEnded, wire
from harness.timeline import Step


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
    assert (
        frames[-1].filename == served.__file__
        and frames[-1].line == 'raise ValueError("bad value")'
    )


def test_a_syntax_error_keeps_its_file_line_and_caret(child):
    """what Python shows of a SyntaxError (file, line, text, caret) survives the crossing"""
    with pytest.raises(SyntaxError) as caught:
        child("", "raise_syntax_error")()
    error = caught.value
    assert (error.filename, error.lineno, error.text) == ("broken.py", 1, "def broken(:\n")
    assert "^" in "".join(traceback.format_exception_only(SyntaxError, error))


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
