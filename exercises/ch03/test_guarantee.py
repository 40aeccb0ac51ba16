"""ch03 · task 5 · There is no third door: name a strategy's guarantee from its crash schedules."""

import pytest

from harness.errors import LearnerError
from harness.outcome import Outcome
from harness.ports import PaymentFailed
from harness.timeline import Timeline
from harness.workloads import payments_queue

MODULE, NAME = "ch03/guarantee.py", "guarantee_of"


class AckThenCharge:
    """Ack first, then charge; a gateway timeout is let go."""

    def __init__(self, channel, payments):
        self.channel, self.payments = channel, payments

    def on_message(self, delivery):
        self.channel.ack(delivery.tag)
        try:
            self.payments.charge(delivery.body["order_id"], delivery.body["amount"])
        except PaymentFailed:
            pass


class ChargeThenAck:
    """Charge, then ack; a gateway timeout is nacked for redelivery."""

    def __init__(self, channel, payments):
        self.channel, self.payments = channel, payments

    def on_message(self, delivery):
        try:
            self.payments.charge(delivery.body["order_id"], delivery.body["amount"])
        except PaymentFailed:
            self.channel.nack(delivery.tag, requeue=True)
            return
        self.channel.ack(delivery.tag)


class SkipRedelivered(ChargeThenAck):
    """Charge, then ack; but trust the redelivered flag to mean "already charged"."""

    def on_message(self, delivery):
        if delivery.redelivered:
            self.channel.ack(delivery.tag)
            return
        super().on_message(delivery)


class AckEvenWhenItFails:
    """Charge, then ack, and ack a timed-out charge too, to move on."""

    def __init__(self, channel, payments):
        self.channel, self.payments = channel, payments

    def on_message(self, delivery):
        try:
            self.payments.charge(delivery.body["order_id"], delivery.body["amount"])
        except PaymentFailed:
            pass
        self.channel.ack(delivery.tag)


STRATEGIES = [
    (AckThenCharge, "at-most-once"),
    (ChargeThenAck, "at-least-once"),
    (SkipRedelivered, "at-most-once"),
    (AckEvenWhenItFails, "no guarantee"),
]


def _judge(guarantee_of, outcomes, what):
    """guarantee_of(outcomes); an exception it raises is shown as an error in the learner's code."""
    try:
        return guarantee_of(outcomes)
    except NotImplementedError:
        raise  # the stub: NOT DONE YET, with its TODO
    except Exception as error:
        raise LearnerError(error, f"guarantee_of with {what}", Timeline()) from error


def _summary(outcomes):
    lost = [o for o in outcomes if o.lost]
    duplicated = [o for o in outcomes if o.duplicated]
    return (
        f"of its {len(outcomes)} runs (no crash, then every single crash), "
        f"{len(lost)} lost an order and {len(duplicated)} charged one twice"
    )


@pytest.mark.task(5)
@pytest.mark.points(2)
@pytest.mark.parametrize("strategy, expected", STRATEGIES, ids=[s.__name__ for s, _ in STRATEGIES])
def test_names_the_guarantee_of_a_strategy(kit, strategy, expected):
    """names the guarantee that every single crash schedule of a strategy shows"""
    guarantee_of = kit.component(MODULE, NAME)
    trace = next(t for t in kit.traces("queue-flaky-gateway"))
    outcomes = kit.single_crash_outcomes(payments_queue, strategy, trace)
    got = _judge(guarantee_of, outcomes, f"the {len(outcomes)} outcomes of {strategy.__name__}")
    assert got == expected, (
        f"guarantee_of said {got!r} for {strategy.__name__} ({strategy.__doc__.strip()}), "
        f"but {_summary(outcomes)}: that is {expected!r}. A guarantee is what holds in "
        "every run, so one bad run decides it."
    )


def _outcome(effects):
    accepted = {f"m{i}": f"o-{i}" for i in (1, 2)}
    return Outcome(accepted=accepted, effects={k: list(range(n)) for k, n in effects.items()})


HAND_WRITTEN = [
    ("one-clean-run", [{"o-1": 1, "o-2": 1}], "exactly-once"),
    ("a-later-run-loses", [{"o-1": 1, "o-2": 1}, {"o-1": 1}], "at-most-once"),
    ("a-later-run-doubles", [{"o-1": 1, "o-2": 1}, {"o-1": 2, "o-2": 1}], "at-least-once"),
    (
        "one-doubles-one-loses",
        [{"o-1": 1, "o-2": 1}, {"o-1": 2, "o-2": 1}, {"o-2": 1}],
        "no guarantee",
    ),
    ("the-first-run-loses", [{"o-1": 1}, {"o-1": 1, "o-2": 1}], "at-most-once"),
]


@pytest.mark.task(5)
@pytest.mark.points(1)
@pytest.mark.parametrize(
    "runs, expected", [case[1:] for case in HAND_WRITTEN], ids=[case[0] for case in HAND_WRITTEN]
)
def test_judges_every_run_not_only_the_first(kit, runs, expected):
    """judges every run, whichever comes first"""
    guarantee_of = kit.component(MODULE, NAME)
    got = _judge(guarantee_of, [_outcome(effects) for effects in runs], f"a list of {len(runs)}")
    assert got == expected, (
        f"guarantee_of said {got!r} for runs that charged {runs}; expected {expected!r} "
        "(orders o-1 and o-2 were accepted in every run)"
    )


@pytest.mark.task(5)
@pytest.mark.points(1)
def test_reads_outcomes_that_come_one_at_a_time(kit):
    """accepts any iterable of outcomes, even one that can be read only once"""
    guarantee_of = kit.component(MODULE, NAME)
    runs = [{"o-1": 1, "o-2": 1}, {"o-1": 2, "o-2": 1}, {"o-2": 1}]
    as_list = _judge(guarantee_of, [_outcome(effects) for effects in runs], "a list of 3")
    got = _judge(guarantee_of, (_outcome(effects) for effects in runs), "a generator of 3")
    assert got == as_list, (
        f"guarantee_of said {got!r} for a generator of runs where one doubled o-1 and another "
        f"lost o-1, but {as_list!r} for the same runs in a list; a generator can be read only "
        "once, so read it into a list first"
    )


@pytest.mark.task(5)
@pytest.mark.points(1)
def test_refuses_to_judge_nothing(kit):
    """refuses to name a guarantee from no runs at all"""
    guarantee_of = kit.component(MODULE, NAME)
    with pytest.raises(ValueError):
        guarantee_of([])
