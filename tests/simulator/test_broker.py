"""The queue broker: RabbitMQ's delivery semantics (harness/broker.py, docs/broker.md)."""

from __future__ import annotations

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from harness.broker import (
    Broker,
    BrokerUnavailable,
    ChannelClosed,
    Delivery,
    Message,
    PreconditionFailed,
    UnknownQueue,
)
from harness.clock import VirtualClock
from harness.scheduler import Scheduler
from harness.timeline import Timeline


def make_broker(*queues: str, **options) -> Broker:
    broker = Broker(Scheduler(VirtualClock(), seed=0), Timeline())
    for queue in queues:
        broker.declare_queue(queue, **options)
    return broker


def publish(broker: Broker, *ids: str, queue: str = "q") -> None:
    for message_id in ids:
        broker.publish(queue, Message(message_id, {"id": message_id}))


class Consumer:
    """A test consumer: a channel and the deliveries it got, in order."""

    def __init__(self, broker: Broker, queue: str = "q", *, prefetch: int = 0, name: str = "c"):
        self.broker = broker
        self.state = broker.open_channel(name, prefetch=prefetch)
        self.got: list[Delivery] = []
        broker.consume(self.state, queue, self.got.append)

    @property
    def ids(self) -> list[str]:
        return [d.message_id for d in self.got]

    def tag_of(self, message_id: str) -> int:
        return [d.tag for d in self.got if d.message_id == message_id][-1]


def ready_ids(broker: Broker, queue: str = "q") -> list[str]:
    return [m.message_id for m in broker.ready(queue)]


def unacked_ids(broker: Broker, queue: str = "q") -> list[str]:
    return sorted(m.message_id for m in broker.unacked(queue))


def run(broker: Broker) -> None:
    broker.scheduler.run(max_events=10_000)


# -- tags and redelivery ---------------------------------------------------------------------------


def test_tags_start_at_1_per_channel_and_increase():
    """Each channel numbers its deliveries 1, 2, 3, …, independently of other channels."""
    broker = make_broker("q")
    first, second = Consumer(broker, name="c1"), Consumer(broker, name="c2")
    publish(broker, *"abcdef")
    run(broker)
    assert [d.tag for d in first.got] == [1, 2, 3]
    assert [d.tag for d in second.got] == [1, 2, 3]


def test_a_first_delivery_is_not_marked_redelivered():
    """A message delivered for the first time has redelivered=False and its own id and body."""
    broker = make_broker("q")
    consumer = Consumer(broker)
    publish(broker, "a")
    run(broker)
    (delivery,) = consumer.got
    assert (delivery.tag, delivery.message_id, delivery.redelivered) == (1, "a", False)
    assert delivery.body == {"id": "a"}
    assert delivery.queue == "q"


def test_a_redelivery_gets_a_new_tag_and_redelivered_true():
    """A nacked message comes back under the next tag, flagged redelivered."""
    broker = make_broker("q")
    consumer = Consumer(broker)
    publish(broker, "a")
    run(broker)
    broker.nack(consumer.state, 1, requeue=True)
    run(broker)
    assert [(d.message_id, d.tag, d.redelivered) for d in consumer.got] == [
        ("a", 1, False),
        ("a", 2, True),
    ]


def test_a_new_channel_starts_its_tags_at_1_again():
    """After a channel closes, the next channel's first delivery has tag 1 again."""
    broker = make_broker("q")
    old = Consumer(broker, prefetch=1)
    publish(broker, "a", "b")
    run(broker)
    broker.ack(old.state, 1)
    run(broker)
    assert [d.tag for d in old.got] == [1, 2]
    broker.close_channel(old.state)
    new = Consumer(broker)
    run(broker)
    assert [(d.message_id, d.tag, d.redelivered) for d in new.got] == [("b", 1, True)]


# -- settling --------------------------------------------------------------------------------------


def test_ack_makes_the_broker_forget_the_message():
    """An acked message is neither ready nor unacked, and is never delivered again."""
    broker = make_broker("q")
    consumer = Consumer(broker)
    publish(broker, "a")
    run(broker)
    assert unacked_ids(broker) == ["a"]
    broker.ack(consumer.state, 1)
    run(broker)
    assert ready_ids(broker) == [] and unacked_ids(broker) == []
    assert consumer.ids == ["a"]


def test_ack_multiple_settles_every_outstanding_tag_up_to_it():
    """ack(tag, multiple=True) settles that tag and every earlier one, and no later one."""
    broker = make_broker("q")
    consumer = Consumer(broker)
    publish(broker, "a", "b", "c")
    run(broker)
    broker.ack(consumer.state, 2, multiple=True)
    assert unacked_ids(broker) == ["c"]
    broker.ack(consumer.state, 3)
    assert unacked_ids(broker) == []
    assert consumer.state.open


def test_nack_multiple_with_requeue_puts_them_back_in_their_order():
    """nack(tag, multiple=True) requeues every outstanding tag up to it, in original order."""
    broker = make_broker("q")
    consumer = Consumer(broker)
    publish(broker, "a", "b", "c")
    run(broker)
    broker.nack(consumer.state, 2, multiple=True, requeue=True)
    assert ready_ids(broker) == ["a", "b"]
    assert unacked_ids(broker) == ["c"]


def test_nack_requeue_puts_the_message_back_at_its_original_position():
    """publish a,b,c; deliver a,b (prefetch 2); nack a → next deliveries are a*, then c."""
    broker = make_broker("q")
    consumer = Consumer(broker, prefetch=2)
    publish(broker, "a", "b", "c")
    run(broker)
    assert consumer.ids == ["a", "b"]
    broker.nack(consumer.state, 1, requeue=True)
    assert ready_ids(broker) == ["a", "c"]
    run(broker)
    broker.ack(consumer.state, 2)
    run(broker)
    assert [(d.message_id, d.tag, d.redelivered) for d in consumer.got] == [
        ("a", 1, False),
        ("b", 2, False),
        ("a", 3, True),
        ("c", 4, False),
    ]


def test_reject_requeue_true_redelivers():
    """reject(tag) defaults to requeue=True, as pika does: the message comes back."""
    broker = make_broker("q")
    consumer = Consumer(broker)
    publish(broker, "a")
    run(broker)
    broker.reject(consumer.state, 1)
    run(broker)
    assert [(d.message_id, d.redelivered) for d in consumer.got] == [("a", False), ("a", True)]


@pytest.mark.parametrize("settle", ["nack", "reject"])
def test_requeue_false_without_a_dead_letter_queue_discards(settle):
    """nack/reject with requeue=False and no dead-letter queue drops the message for good."""
    broker = make_broker("q")
    consumer = Consumer(broker)
    publish(broker, "a")
    run(broker)
    getattr(broker, settle)(consumer.state, 1, requeue=False)
    run(broker)
    assert ready_ids(broker) == [] and unacked_ids(broker) == []
    assert consumer.ids == ["a"]
    assert any("discard a" in step.what for step in broker.timeline.steps)


@pytest.mark.parametrize("settle", ["nack", "reject"])
def test_requeue_false_with_a_dead_letter_queue_dead_letters_as_rejected(settle):
    """requeue=False with a dead-letter queue moves the message there, x-death reason rejected."""
    broker = make_broker()
    broker.declare_queue("dlq")
    broker.declare_queue("q", dead_letter="dlq")
    consumer = Consumer(broker)
    broker.publish("q", Message("a", {"order": "o-1"}, {"trace": "t1"}))
    run(broker)
    getattr(broker, settle)(consumer.state, 1, requeue=False)
    assert ready_ids(broker) == [] and unacked_ids(broker) == []
    (dead,) = broker.ready("dlq")
    assert dead.message_id == "a"
    assert dead.body == {"order": "o-1"}
    assert dead.headers["trace"] == "t1"
    (death,) = dead.headers["x-death"]
    assert (death["queue"], death["reason"], death["count"]) == ("q", "rejected", 1)
    assert dead.headers["x-first-death-reason"] == "rejected"
    assert dead.headers["x-first-death-queue"] == "q"
    reader = Consumer(broker, "dlq", name="reader")
    run(broker)
    assert reader.ids == ["a"] and reader.got[0].redelivered is False


def test_x_death_counts_repeated_deaths_from_the_same_queue_for_the_same_reason():
    """Dead-lettered twice from one queue for one reason: one x-death entry, count 2."""
    broker = make_broker()
    broker.declare_queue("dlq")
    broker.declare_queue("q", dead_letter="dlq")
    consumer = Consumer(broker)
    publish(broker, "a")
    run(broker)
    broker.nack(consumer.state, 1, requeue=False)
    (dead,) = broker.ready("dlq")
    # A replayer takes it from the dead-letter queue and publishes it again, headers and all.
    broker.publish("q", Message("a", dead.body, dead.headers))
    run(broker)
    broker.nack(consumer.state, 2, requeue=False)
    deaths = broker.ready("dlq")[-1].headers["x-death"]
    assert [(d["queue"], d["reason"], d["count"]) for d in deaths] == [("q", "rejected", 2)]


# -- precondition failures -------------------------------------------------------------------------


def _two_delivered() -> tuple[Broker, Consumer]:
    broker = make_broker("q")
    consumer = Consumer(broker, prefetch=2)
    publish(broker, "a", "b", "c")
    run(broker)
    assert consumer.ids == ["a", "b"]
    return broker, consumer


@pytest.mark.parametrize(
    "settle",
    [
        pytest.param(lambda b, s: b.ack(s, 99), id="ack-never-delivered"),
        pytest.param(lambda b, s: b.ack(s, 0), id="ack-tag-0"),
        pytest.param(lambda b, s: b.ack(s, True), id="ack-bool-tag"),
        pytest.param(lambda b, s: b.ack(s, "1"), id="ack-str-tag"),
        pytest.param(lambda b, s: b.nack(s, 3, requeue=True), id="nack-never-delivered"),
        pytest.param(lambda b, s: b.reject(s, -1, requeue=False), id="reject-negative"),
    ],
)
def test_an_unknown_tag_fails_the_precondition_and_closes_the_channel(settle):
    """A tag never delivered here → PreconditionFailed; the channel closes, all is requeued."""
    broker, consumer = _two_delivered()
    with pytest.raises(PreconditionFailed, match="unknown delivery tag"):
        settle(broker, consumer.state)
    assert not consumer.state.open
    assert ready_ids(broker) == ["a", "b", "c"]
    assert unacked_ids(broker) == []


def settle(broker: Broker, state, how: str, tag: int) -> None:
    """Settle ``tag`` by ``how``: ack, nack (requeue) or reject (no requeue)."""
    if how == "ack":
        broker.ack(state, tag)
    elif how == "nack":
        broker.nack(state, tag, requeue=True)
    else:
        broker.reject(state, tag, requeue=False)


@pytest.mark.parametrize("first", ["ack", "nack", "reject"])
@pytest.mark.parametrize("second", ["ack", "nack", "reject"])
def test_settling_a_tag_twice_fails_the_precondition_and_closes_the_channel(first, second):
    """A tag settled already (ack, nack or reject) cannot be settled again: 406, channel closed."""
    broker, consumer = _two_delivered()
    settle(broker, consumer.state, first, 2)
    with pytest.raises(PreconditionFailed):
        settle(broker, consumer.state, second, 2)
    assert not consumer.state.open
    # Tag 1 (message a) was still unacked: it went back to the queue, first in line.
    assert ready_ids(broker)[0] == "a"
    assert unacked_ids(broker) == []


def test_a_tag_from_another_channel_is_unknown_on_this_one():
    """Tags are per channel: acking channel 1's tag on channel 2 is a precondition failure."""
    broker = make_broker("q")
    first = Consumer(broker, prefetch=1, name="c1")
    second = Consumer(broker, prefetch=1, name="c2")
    publish(broker, "a")
    run(broker)
    assert first.ids == ["a"] and second.ids == []
    with pytest.raises(PreconditionFailed):
        broker.ack(second.state, 1)
    assert first.state.open and not second.state.open
    assert unacked_ids(broker) == ["a"]


def test_a_closed_channel_refuses_everything_with_channel_closed():
    """After a precondition failure, any use of the channel raises ChannelClosed."""
    broker, consumer = _two_delivered()
    with pytest.raises(PreconditionFailed):
        broker.ack(consumer.state, 42)
    for use in (
        lambda: broker.ack(consumer.state, 1),
        lambda: broker.nack(consumer.state, 1),
        lambda: broker.reject(consumer.state, 1),
        lambda: broker.consume(consumer.state, "q", lambda d: None),
    ):
        with pytest.raises(ChannelClosed):
            use()
    run(broker)
    assert consumer.ids == ["a", "b"], "a closed channel gets no more deliveries"


# -- closing a channel -----------------------------------------------------------------------------


def test_closing_a_channel_requeues_unacked_at_their_original_positions():
    """Closing a channel puts each unacked delivery back where it was, flagged redelivered."""
    broker = make_broker("q")
    first = Consumer(broker, prefetch=1, name="c1")
    second = Consumer(broker, prefetch=1, name="c2")
    publish(broker, "a", "b", "c", "d")
    run(broker)
    assert (first.ids, second.ids) == (["a"], ["b"])
    broker.close_channel(second.state)
    assert ready_ids(broker) == ["b", "c", "d"]
    broker.close_channel(first.state)
    assert ready_ids(broker) == ["a", "b", "c", "d"]
    assert unacked_ids(broker) == []
    fresh = Consumer(broker, name="c3")
    run(broker)
    assert [(d.message_id, d.redelivered) for d in fresh.got] == [
        ("a", True),
        ("b", True),
        ("c", False),
        ("d", False),
    ]


def test_closing_a_channel_twice_is_harmless():
    """close_channel on a closed channel changes nothing."""
    broker, consumer = _two_delivered()
    broker.close_channel(consumer.state)
    broker.close_channel(consumer.state)
    assert ready_ids(broker) == ["a", "b", "c"]


# -- prefetch and consumers ------------------------------------------------------------------------


def test_prefetch_bounds_the_unacked_deliveries_and_an_ack_releases_the_next():
    """With prefetch 2, only 2 deliveries are unacked at once; each ack lets one more through."""
    broker = make_broker("q")
    consumer = Consumer(broker, prefetch=2)
    publish(broker, *"abcde")
    run(broker)
    assert consumer.ids == ["a", "b"]
    assert ready_ids(broker) == ["c", "d", "e"]
    broker.ack(consumer.state, 1)
    run(broker)
    assert consumer.ids == ["a", "b", "c"]
    assert len(broker.unacked("q")) == 2


def test_prefetch_0_means_unlimited():
    """With prefetch 0, every ready message is delivered without any ack."""
    broker = make_broker("q")
    consumer = Consumer(broker, prefetch=0)
    publish(broker, *"abcdefgh")
    run(broker)
    assert consumer.ids == list("abcdefgh")


def test_round_robin_among_consumers():
    """Two consumers with room share a queue's messages in turn."""
    broker = make_broker("q")
    first, second = Consumer(broker, name="c1"), Consumer(broker, name="c2")
    publish(broker, *"abcdef")
    run(broker)
    assert (first.ids, second.ids) == (["a", "c", "e"], ["b", "d", "f"])


def test_round_robin_skips_a_consumer_without_room():
    """A consumer at its prefetch limit is skipped; the one with room gets the rest."""
    broker = make_broker("q")
    full = Consumer(broker, prefetch=1, name="c1")
    roomy = Consumer(broker, prefetch=0, name="c2")
    publish(broker, *"abcde")
    run(broker)
    assert full.ids == ["a"]
    assert roomy.ids == ["b", "c", "d", "e"]


def test_messages_wait_when_nobody_consumes():
    """Without a consumer, published messages stay ready, in order, until one arrives."""
    broker = make_broker("q")
    publish(broker, "a", "b")
    run(broker)
    assert ready_ids(broker) == ["a", "b"]
    consumer = Consumer(broker)
    run(broker)
    assert consumer.ids == ["a", "b"]


def test_unacked_lists_each_message_once_with_two_consumers_on_one_channel():
    """unacked() lists every unacked message exactly once, however many consumers a channel has."""
    broker = make_broker("q")
    state = broker.open_channel("c")
    got: list[Delivery] = []
    broker.consume(state, "q", got.append)
    broker.consume(state, "q", got.append)
    publish(broker, "a", "b")
    run(broker)
    assert unacked_ids(broker) == ["a", "b"]


# -- delivery limit --------------------------------------------------------------------------------


@pytest.mark.parametrize("limit", [0, 1, 2])
def test_delivery_limit_dead_letters_after_limit_plus_one_deliveries(limit):
    """delivery_limit N: delivered N+1 times, then dead-lettered with reason delivery_limit."""
    broker = make_broker()
    broker.declare_queue("dlq")
    broker.declare_queue("q", dead_letter="dlq", delivery_limit=limit)
    consumer = Consumer(broker, prefetch=1)
    publish(broker, "a")
    for _ in range(limit + 5):
        run(broker)
        if consumer.state.unacked:
            broker.nack(consumer.state, consumer.got[-1].tag, requeue=True)
    assert consumer.ids == ["a"] * (limit + 1)
    assert ready_ids(broker) == [] and unacked_ids(broker) == []
    (dead,) = broker.ready("dlq")
    assert dead.headers["x-death"][0]["reason"] == "delivery_limit"
    assert dead.headers["x-first-death-reason"] == "delivery_limit"


def test_no_delivery_limit_means_redelivered_forever():
    """Without delivery_limit, a message nacked again and again keeps coming back."""
    broker = make_broker("q")
    consumer = Consumer(broker, prefetch=1)
    publish(broker, "a")
    for _ in range(20):
        run(broker)
        broker.nack(consumer.state, consumer.got[-1].tag, requeue=True)
    assert len(consumer.got) == 20


# -- errors ----------------------------------------------------------------------------------------


def test_publishing_to_an_unknown_queue_is_an_error_naming_the_known_ones():
    """publish (and consume) on an undeclared queue raise UnknownQueue listing declared queues."""
    broker = make_broker("payments")
    with pytest.raises(UnknownQueue, match="'nope'.*payments"):
        publish(broker, "a", queue="nope")
    with pytest.raises(UnknownQueue):
        broker.consume(broker.open_channel("c"), "nope", lambda d: None)


def test_an_unavailable_broker_takes_nothing():
    """While broker.available is False, publish raises BrokerUnavailable and stores nothing."""
    broker = make_broker("q")
    broker.available = False
    with pytest.raises(BrokerUnavailable):
        publish(broker, "a")
    assert ready_ids(broker) == []
    broker.available = True
    publish(broker, "b")
    assert ready_ids(broker) == ["b"]


def test_bad_arguments_are_rejected():
    """A negative prefetch or delivery limit is refused when the channel or queue is made."""
    broker = make_broker()
    with pytest.raises(ValueError, match="prefetch"):
        broker.open_channel("c", prefetch=-1)
    with pytest.raises(ValueError, match="delivery_limit"):
        broker.declare_queue("q", delivery_limit=-1)


def test_declaring_a_queue_again_keeps_its_messages():
    """Declaring an existing queue again changes nothing: its messages stay."""
    broker = make_broker("q")
    publish(broker, "a")
    broker.declare_queue("q")
    assert ready_ids(broker) == ["a"]


# -- a model-based check ---------------------------------------------------------------------------


class BrokerAgainstAModel(RuleBasedStateMachine):
    """Drive one consumer's channel at random and compare the broker with a plain model."""

    @initialize(prefetch=st.integers(0, 3))
    def start(self, prefetch: int) -> None:
        self.broker = make_broker()
        self.broker.declare_queue("dlq")
        self.broker.declare_queue("q", dead_letter="dlq")
        self.prefetch = prefetch
        self.published: list[str] = []
        self.ready: list[str] = []  # in delivery order
        self.unacked: dict[int, str] = {}  # tag -> message id, on the current channel
        self.dead: list[str] = []
        self.acked: set[str] = set()
        self.delivered_before: set[str] = set()
        self._open()

    def _open(self) -> None:
        self.state = self.broker.open_channel("c", prefetch=self.prefetch)
        self.tags: list[int] = []
        self.inbox: list[Delivery] = []
        self.broker.consume(self.state, "q", self.inbox.append)

    def _requeue(self, message_id: str) -> None:
        # The broker's promise: back at its original (publish) position.
        self.ready = sorted([*self.ready, message_id], key=self.published.index)

    def _requeue_all(self) -> None:
        for tag in sorted(self.unacked):
            self._requeue(self.unacked[tag])
        self.unacked.clear()

    @rule()
    def publish(self) -> None:
        message_id = f"m{len(self.published)}"
        self.broker.publish("q", Message(message_id, {}))
        self.published.append(message_id)
        self.ready.append(message_id)

    @rule()
    def deliver(self) -> None:
        room = self.prefetch == 0 or len(self.unacked) < self.prefetch
        expected = self.ready[0] if self.ready and room else None
        self.broker.scheduler.step()
        if expected is None:
            assert self.inbox == []
            return
        assert len(self.inbox) == 1, "a message was ready and the channel had room"
        delivery = self.inbox.pop()
        assert delivery.message_id == expected
        assert delivery.redelivered == (expected in self.delivered_before)
        assert all(delivery.tag > tag for tag in self.tags), "tags increase on a channel"
        self.tags.append(delivery.tag)
        self.ready.pop(0)
        self.unacked[delivery.tag] = expected
        self.delivered_before.add(expected)

    @precondition(lambda self: self.unacked)
    @rule(data=st.data(), multiple=st.booleans())
    def ack(self, data, multiple: bool) -> None:
        tag = data.draw(st.sampled_from(sorted(self.unacked)))
        self.broker.ack(self.state, tag, multiple=multiple)
        for settled in [t for t in sorted(self.unacked) if t <= tag] if multiple else [tag]:
            self.acked.add(self.unacked.pop(settled))

    @precondition(lambda self: self.unacked)
    @rule(data=st.data(), multiple=st.booleans(), requeue=st.booleans())
    def nack(self, data, multiple: bool, requeue: bool) -> None:
        tag = data.draw(st.sampled_from(sorted(self.unacked)))
        self.broker.nack(self.state, tag, multiple=multiple, requeue=requeue)
        for settled in [t for t in sorted(self.unacked) if t <= tag] if multiple else [tag]:
            message_id = self.unacked.pop(settled)
            if requeue:
                self._requeue(message_id)
            else:
                self.dead.append(message_id)

    @rule(data=st.data())
    def settle_an_unknown_tag(self, data) -> None:
        candidates = [t for t in self.tags if t not in self.unacked] + [
            max(self.tags, default=0) + 1
        ]
        tag = data.draw(st.sampled_from(candidates))
        with pytest.raises(PreconditionFailed):
            self.broker.ack(self.state, tag)
        with pytest.raises(ChannelClosed):
            self.broker.ack(self.state, tag)
        self._requeue_all()
        self._open()

    @rule()
    def close_and_reopen(self) -> None:
        self.broker.close_channel(self.state)
        self._requeue_all()
        self._open()

    @invariant()
    def broker_agrees_with_the_model(self) -> None:
        assert ready_ids(self.broker) == self.ready
        assert unacked_ids(self.broker) == sorted(self.unacked.values())
        assert ready_ids(self.broker, "dlq") == self.dead
        if self.prefetch:
            assert len(self.state.unacked) <= self.prefetch

    @invariant()
    def every_message_is_in_exactly_one_place(self) -> None:
        places = [self.ready, list(self.unacked.values()), self.dead, sorted(self.acked)]
        assert sum(len(place) for place in places) == len(self.published)
        assert set().union(*places) == set(self.published)


BrokerAgainstAModel.TestCase.settings = settings(
    max_examples=50, stateful_step_count=30, deadline=None
)
TestBrokerAgainstAModel = BrokerAgainstAModel.TestCase


# -- queue arguments, settings and the RabbitMQ behaviours of ch06-ch07 ----------------------------
# (tests/conformance checks each behaviour against a real RabbitMQ; these check the API around it)


def _rabbitmq(settings=None) -> Broker:
    from harness.broker_settings import RABBITMQ_3

    return Broker(Scheduler(VirtualClock(), seed=0), Timeline(), settings=settings or RABBITMQ_3)


@pytest.mark.parametrize(
    ("arguments", "fix"),
    [
        ({"x-max-priority": 5}, "unknown argument 'x-max-priority'"),
        ({"x-queue-type": "stream"}, "streams are modelled by the log"),
        ({"x-message-ttl": "50"}, "x-message-ttl must be an int >= 0"),
        ({"x-max-length": -1}, "x-max-length must be an int >= 0"),
        ({"x-overflow": "reject-publish-dlx"}, "x-overflow must be one of"),
        ({"x-delivery-limit": 3}, "add 'x-queue-type': 'quorum'"),
        ({"x-dead-letter-routing-key": "dlq"}, "add 'x-dead-letter-exchange': ''"),
        ({"x-dead-letter-exchange": "dlx"}, "models the default exchange only"),
    ],
)
def test_a_bad_queue_argument_is_refused_naming_the_fix(arguments, fix):
    """declare_queue refuses an argument it cannot honour, naming the queue and the fix."""
    broker = make_broker()
    with pytest.raises(ValueError, match="queue 'q': .*" + fix.replace("(", r"\(")):
        broker.declare_queue("q", arguments=arguments)


def test_bad_settings_are_refused():
    """BrokerSettings refuses an unknown unroutable policy and a negative default limit."""
    from harness.broker_settings import BrokerSettings

    with pytest.raises(ValueError, match="unroutable"):
        BrokerSettings(unroutable="bounce")
    with pytest.raises(ValueError, match="quorum_delivery_limit"):
        BrokerSettings(quorum_delivery_limit=-1)
    with pytest.raises(TypeError, match="BrokerSettings"):
        Broker(Scheduler(VirtualClock(), seed=0), Timeline(), settings="rabbitmq")


def _nack_until_gone(broker: Broker, consumer: Consumer, most: int) -> None:
    for _ in range(most):
        run(broker)
        if consumer.state.unacked:
            broker.nack(consumer.state, consumer.got[-1].tag, requeue=True)


def test_rabbitmq_4_gives_quorum_queues_a_delivery_limit_of_20():
    """RABBITMQ_4: a quorum queue without x-delivery-limit dead-letters after 21 deliveries."""
    from harness.broker_settings import RABBITMQ_4

    broker = _rabbitmq(RABBITMQ_4)
    broker.declare_queue("dlq")
    broker.declare_queue(
        "q",
        arguments={"x-queue-type": "quorum", "x-dead-letter-exchange": "", **_to("dlq")},
    )
    consumer = Consumer(broker, prefetch=1)
    publish(broker, "a")
    _nack_until_gone(broker, consumer, 30)
    assert len(consumer.got) == 21
    assert [d.headers.get("x-delivery-count") for d in consumer.got[:3]] == [None, 1, 2]
    (dead,) = broker.ready("dlq")
    assert dead.headers["x-death"][0]["reason"] == "delivery_limit"


def test_a_delivery_limit_of_minus_1_turns_the_limit_off():
    """x-delivery-limit -1 (RabbitMQ 4.x's way to say none): redelivered as often as nacked."""
    from harness.broker_settings import RABBITMQ_4

    broker = _rabbitmq(RABBITMQ_4)
    broker.declare_queue("q", arguments={"x-queue-type": "quorum", "x-delivery-limit": -1})
    assert broker.spec("q").delivery_limit is None
    consumer = Consumer(broker, prefetch=1)
    publish(broker, "a")
    _nack_until_gone(broker, consumer, 30)
    assert len(consumer.got) == 30


def _to(queue: str) -> dict:
    return {"x-dead-letter-routing-key": queue}


def test_a_missing_dead_letter_queue_drops_the_message_and_says_so():
    """A dead-letter target that does not exist: the message is dropped, the timeline says why."""
    broker = make_broker()
    broker.declare_queue("q", dead_letter="nowhere")
    consumer = Consumer(broker)
    publish(broker, "a")
    run(broker)
    broker.nack(consumer.state, 1, requeue=False)
    assert ready_ids(broker) == [] and unacked_ids(broker) == []
    assert any(
        "drop a: dead-letter target nowhere does not exist" in s.what for s in broker.timeline.steps
    )


def test_the_kit_raises_on_an_unroutable_publish_and_rabbitmq_drops_it():
    """KIT: UnknownQueue names the declared queues; RABBITMQ_3: confirmed (True) and dropped."""
    kit = make_broker("q")
    with pytest.raises(UnknownQueue, match="declared: q"):
        kit.publish("nope", Message("a", {}))
    real = _rabbitmq()
    real.declare_queue("q")
    assert real.publish("nope", Message("a", {})) is True
    assert ready_ids(real) == []


def test_x_death_time_is_a_timestamp_of_the_virtual_clock():
    """x-death's time is a UTC datetime, whole seconds after harness.clock.EPOCH."""
    from datetime import timedelta

    from harness.clock import EPOCH

    broker = make_broker()
    broker.declare_queue("dlq")
    broker.declare_queue("q", dead_letter="dlq")
    consumer = Consumer(broker)
    publish(broker, "a")
    broker.scheduler.clock.advance_to(75.4)
    run(broker)
    broker.nack(consumer.state, 1, requeue=False)
    (death,) = broker.ready("dlq")[0].headers["x-death"]
    assert death["time"] == EPOCH + timedelta(seconds=75)
    assert (death["exchange"], death["routing-keys"]) == ("", ["q"])


@pytest.mark.parametrize("port", ["channel", "publisher"])
def test_a_refused_publish_raises_publish_refused_in_the_ports(port):
    """A full reject-publish queue nacks: the ports raise PublishRefused, nothing is stored."""
    from harness.faults import Gate
    from harness.ports.channel import Channel
    from harness.ports.publisher import Publisher, PublishRefused

    broker = make_broker()
    broker.declare_queue("q", arguments={"x-max-length": 1, "x-overflow": "reject-publish"})
    gate = Gate("relay", (), lambda crash: None)
    if port == "channel":
        sender = Channel(broker, broker.open_channel("relay"), gate, broker.timeline)
    else:
        sender = Publisher(broker, gate, broker.timeline, lambda: broker.scheduler.clock.now)
    sender.publish("q", {}, message_id="a")
    with pytest.raises(PublishRefused, match="full"):
        sender.publish("q", {}, message_id="b")
    assert ready_ids(broker) == ["a"]
    assert broker.timeline.steps[-1].what.endswith("refused (nack)")


def test_a_message_s_own_ttl_reaches_the_broker_through_the_channel_port():
    """Channel.publish(expiration=ms): the message expires after that many milliseconds."""
    from harness.faults import Gate
    from harness.ports.channel import Channel

    broker = make_broker("dlq")
    broker.declare_queue("q", dead_letter="dlq")
    gate = Gate("relay", (), lambda crash: None)
    channel = Channel(broker, broker.open_channel("relay"), gate, broker.timeline)
    channel.publish("q", {}, message_id="a", expiration=20)
    broker.scheduler.run(until=0.019)
    assert ready_ids(broker) == ["a"]
    broker.scheduler.run(until=0.021)
    assert ready_ids(broker) == [] and ready_ids(broker, "dlq") == ["a"]
    with pytest.raises(ValueError, match="milliseconds"):
        channel.publish("q", {}, message_id="b", expiration=1.5)


def test_the_snapshot_shows_ttls_arguments_and_repeated_deaths():
    """A TTL queue's panel has an 'expires at' column; its note names the queue's arguments."""
    broker = make_broker()
    broker.declare_queue("dlq")
    broker.declare_queue(
        "wait",
        arguments={"x-message-ttl": 50, "x-dead-letter-exchange": "", **_to("dlq")},
    )
    publish(broker, "a", queue="wait")
    dlq, wait = broker.snapshot()
    assert wait.columns[-1] == "expires at" and wait.rows[0][-1] == 0.05
    assert "message TTL 50 ms" in wait.note
    run(broker)
    dlq, wait = broker.snapshot()
    assert dlq.rows[0][-1] == "expired"


def test_deleting_a_queue_forgets_its_messages():
    """delete_queue removes the queue and its ready messages; publishing to it is unroutable."""
    broker = make_broker("q")
    publish(broker, "a")
    broker.delete_queue("q")
    with pytest.raises(UnknownQueue):
        broker.ready("q")
