"""The conformance scenarios: each written once, run on the simulator and on RabbitMQ.

A scenario drives a :class:`~drivers.Driver` and returns what a client could
observe (deliveries in order, ``*`` for redelivered, the headers it compares,
confirms, queue depths); ``expected`` is what RabbitMQ 3.10.8 gives. ``kit``
says whether the chapters' broker (``KIT``) gives it too; where it does not,
docs/broker.md lists the departure.

Waits are short (TTLs of tens of milliseconds): a scenario takes a fraction of
a second on the real server.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from conformance.drivers import Consuming, Driver


@dataclass(frozen=True)
class Scenario:
    name: str
    run: Callable[[Driver], Any]
    expected: Any
    kit: bool
    doc: str


SCENARIOS: list[Scenario] = []


def scenario(expected: Any, *, kit: bool = True):
    """Register a scenario that should observe ``expected``."""

    def register(run: Callable[[Driver], Any]) -> Callable[[Driver], Any]:
        doc = " ".join((run.__doc__ or "").split())
        SCENARIOS.append(Scenario(run.__name__, run, expected, kit, doc))
        return run

    return register


def consumer(d: Driver, queue: str, *, prefetch: int = 0) -> Consuming:
    return d.consume(d.channel(prefetch=prefetch), queue)


def publish(d: Driver, queue: str, *ids: str, **options: Any) -> list[str]:
    return [d.publish(queue, message_id, **options) for message_id in ids]


def take(d: Driver, c: Consuming, count: int) -> list[str]:
    """Wait for ``count`` deliveries in all on ``c``, then a little more; its deliveries."""
    d.wait_for(c, count=count)
    d.settle()
    return c.names


def nack_each_delivery(d: Driver, c: Consuming, times: int) -> None:
    """Take ``times`` deliveries on ``c`` one at a time, nacking each (requeued) as it comes."""
    for n in range(1, times + 1):
        take(d, c, n)
        d.nack(c.channel, c.got[-1].tag)


def deaths(headers: dict[str, Any]) -> list[tuple]:
    """``x-death`` as (reason, queue, count, exchange, routing-keys, time is a timestamp)."""
    return [
        (
            death["reason"],
            death["queue"],
            death["count"],
            death["exchange"],
            death["routing-keys"],
            isinstance(death["time"], datetime) and death["time"].tzinfo is not None,
        )
        for death in headers.get("x-death", [])
    ]


def first_death(headers: dict[str, Any]) -> tuple:
    return tuple(headers.get(f"x-first-death-{part}") for part in ("reason", "queue", "exchange"))


def dead_lettered_to(d: Driver, **arguments: Any) -> None:
    """Declare ``dlq`` and a work queue ``w`` whose dead letters go to it."""
    d.queue("dlq")
    d.queue("w", x_dead_letter_exchange="", x_dead_letter_routing_key="dlq", **arguments)


# -- deliveries, tags, settling (what ch00-ch05 rely on) ---------------------------------------


@scenario([("a", 1, False), ("b", 2, False), ("c", 3, False)])
def fifo_with_tags_from_1(d: Driver):
    """A queue delivers in publish order; tags start at 1 and increase; nothing is redelivered."""
    d.queue("q")
    publish(d, "q", "a", "b", "c")
    c = consumer(d, "q")
    take(d, c, 3)
    return [(g.message_id, g.tag, g.redelivered) for g in c.got]


@scenario(([1, 2], [1, 2]))
def tags_are_per_channel(d: Driver):
    """Each channel numbers its deliveries from 1, whatever the other channels do."""
    d.queue("q")
    c1, c2 = consumer(d, "q"), consumer(d, "q")
    publish(d, "q", *"abcd")
    d.wait_for(c1, c2, count=2)
    d.settle()
    return [g.tag for g in c1.got], [g.tag for g in c2.got]


@scenario(["ack", "ack"])
def publisher_confirms_ack(d: Driver):
    """With publisher confirms, a publish the queue took is acked."""
    d.queue("q")
    return publish(d, "q", "a", "b")


@scenario((2, ["a", "b"]))
def messages_wait_without_a_consumer(d: Driver):
    """Published messages wait, in order, until a consumer comes."""
    d.queue("q")
    publish(d, "q", "a", "b")
    d.settle()
    depth = d.depth("q")
    return depth, take(d, consumer(d, "q"), 2)


@scenario((0, []))
def ack_makes_the_broker_forget(d: Driver):
    """An acked message is gone: a later consumer does not get it."""
    d.queue("q")
    publish(d, "q", "a")
    c = consumer(d, "q")
    take(d, c, 1)
    d.ack(c.channel, c.tag("a"))
    d.close(c.channel)
    d.settle()
    later = consumer(d, "q")
    d.settle()
    return d.depth("q"), later.names


@scenario(["c*"])
def ack_multiple_settles_every_earlier_tag(d: Driver):
    """ack(tag, multiple=True) settles that tag and every earlier one on the channel."""
    d.queue("q")
    publish(d, "q", "a", "b", "c")
    c = consumer(d, "q")
    take(d, c, 3)
    d.ack(c.channel, c.tag("b"), multiple=True)
    d.close(c.channel)
    return take(d, consumer(d, "q"), 1)


@scenario(["a", "a*"])
def nack_requeue_redelivers_with_a_new_tag(d: Driver):
    """nack(requeue=True): the message comes again, redelivered, under the next tag."""
    d.queue("q")
    publish(d, "q", "a")
    c = consumer(d, "q")
    take(d, c, 1)
    d.nack(c.channel, c.tag("a"))
    take(d, c, 2)
    assert [g.tag for g in c.got] == [1, 2]
    return c.names


@scenario(["a", "a*"])
def reject_requeues_by_default(d: Driver):
    """reject(tag) requeues unless told not to, as pika's default requeue=True."""
    d.queue("q")
    publish(d, "q", "a")
    c = consumer(d, "q")
    take(d, c, 1)
    d.reject(c.channel, c.tag("a"))
    return take(d, c, 2)


@scenario(["a", "b", "a*", "c"])
def classic_nack_requeues_at_the_original_position(d: Driver):
    """Classic queue: publish a,b,c; get a,b (prefetch 2); nack a: a* comes next, then c."""
    d.queue("q")
    publish(d, "q", "a", "b", "c")
    c = consumer(d, "q", prefetch=2)
    take(d, c, 2)
    d.nack(c.channel, c.tag("a"))
    take(d, c, 3)
    d.ack(c.channel, c.tag("b"))
    return take(d, c, 4)


@scenario(["a", "b", "c", "a*", "b*"])
def nack_multiple_requeues_in_queue_order(d: Driver):
    """nack(tag, multiple=True, requeue=True) requeues every outstanding tag up to it."""
    d.queue("q")
    publish(d, "q", "a", "b", "c")
    c = consumer(d, "q")
    take(d, c, 3)
    d.nack(c.channel, c.tag("b"), multiple=True)
    return take(d, c, 5)


@scenario((0, 0, ["a"]))
def requeue_false_without_dead_letter_exchange_drops(d: Driver):
    """nack/reject with requeue=False and no dead-letter exchange: the message is gone."""
    d.queue("q")
    publish(d, "q", "a", "b")
    c = consumer(d, "q")
    take(d, c, 2)
    d.reject(c.channel, c.tag("a"), requeue=False)
    d.nack(c.channel, c.tag("b"), requeue=False)
    d.close(c.channel)
    d.settle()
    later = consumer(d, "q")
    publish(d, "q", "a")
    take(d, later, 1)
    return d.depth("q"), len(c.got) - 2, later.names


@scenario(["a*", "b*", "c", "d"])
def closing_a_channel_requeues_at_original_positions(d: Driver):
    """A consumer's connection closes: its unacked deliveries come back first, redelivered."""
    d.queue("q")
    publish(d, "q", *"abcd")
    c = consumer(d, "q", prefetch=2)
    take(d, c, 2)
    d.close(c.channel)
    return take(d, consumer(d, "q"), 4)


@scenario((["a"], ["b"], ["a*", "b*", "c", "d"]))
def two_consumers_crash_and_their_messages_come_back_in_order(d: Driver):
    """Two consumers (prefetch 1) die one after the other: a*, b* come back in queue order."""
    d.queue("q")
    c1 = consumer(d, "q", prefetch=1)
    d.settle()
    c2 = consumer(d, "q", prefetch=1)
    d.settle()
    publish(d, "q", *"abcd")
    d.wait_for(c1, c2, count=1)
    d.settle()
    d.close(c2.channel)
    d.settle()
    d.close(c1.channel)
    d.settle()
    return c1.names, c2.names, take(d, consumer(d, "q"), 4)


@scenario([("b", 1, True)])
def a_new_channel_starts_its_tags_at_1(d: Driver):
    """After a crash, the new channel's first delivery is tag 1 again, redelivered."""
    d.queue("q")
    publish(d, "q", "a", "b")
    c = consumer(d, "q", prefetch=1)
    take(d, c, 1)
    d.ack(c.channel, c.tag("a"))
    take(d, c, 2)
    d.close(c.channel)
    new = consumer(d, "q")
    take(d, new, 1)
    return [(g.message_id, g.tag, g.redelivered) for g in new.got]


@scenario((["a", "b"], ["a", "b", "c"], 2))
def prefetch_bounds_unacked_and_an_ack_releases_the_next(d: Driver):
    """With prefetch 2 two deliveries are unacked at most; each ack lets one more through."""
    d.queue("q")
    publish(d, "q", *"abcde")
    c = consumer(d, "q", prefetch=2)
    first = take(d, c, 2)
    d.ack(c.channel, c.tag("a"))
    return first, take(d, c, 3), d.depth("q")


@scenario(list("abcdefgh"))
def prefetch_0_is_unlimited(d: Driver):
    """prefetch 0: every ready message is delivered without waiting for an ack."""
    d.queue("q")
    publish(d, "q", *"abcdefgh")
    return take(d, consumer(d, "q"), 8)


@scenario((["a", "c", "e"], ["b", "d", "f"]))
def round_robin_between_consumers(d: Driver):
    """Two consumers with room share a queue's messages in turn."""
    d.queue("q")
    c1 = consumer(d, "q")
    d.settle()
    c2 = consumer(d, "q")
    d.settle()
    publish(d, "q", *"abcdef")
    d.wait_for(c1, c2, count=3)
    d.settle()
    return c1.names, c2.names


@scenario((["a"], ["b", "c", "d", "e"]))
def round_robin_skips_a_consumer_at_its_prefetch(d: Driver):
    """A consumer at its prefetch limit is skipped; one with room gets the rest."""
    d.queue("q")
    full = consumer(d, "q", prefetch=1)
    d.settle()
    roomy = consumer(d, "q")
    d.settle()
    publish(d, "q", *"abcde")
    d.wait_for(roomy, count=4)
    d.settle()
    return full.names, roomy.names


@scenario((1, 1))
def prefetch_counts_per_consumer(d: Driver):
    """basic.qos(1) then two consumers on that channel: each holds one unacked delivery."""
    d.queue("q")
    channel = d.channel(prefetch=1)
    c1, c2 = d.consume(channel, "q"), d.consume(channel, "q")
    publish(d, "q", *"abcd")
    d.wait_for(c1, c2, count=1)
    d.settle()
    return len(c1.got), len(c2.got)


@scenario((406, ["a*", "b"]))
def acking_an_unknown_tag_closes_the_channel(d: Driver):
    """Acking a tag never delivered: 406, the channel closes, its unacked come back."""
    d.queue("q")
    publish(d, "q", "a", "b")
    c = consumer(d, "q", prefetch=1)
    take(d, c, 1)
    d.ack(c.channel, 99)
    closed = d.closed_by(c.channel)
    return closed, take(d, consumer(d, "q"), 2)


@scenario((406, ["a*"]))
def acking_a_tag_twice_closes_the_channel(d: Driver):
    """A tag settled already cannot be settled again: 406; the other unacked one comes back."""
    d.queue("q")
    publish(d, "q", "a", "b")
    c = consumer(d, "q", prefetch=2)
    take(d, c, 2)
    d.ack(c.channel, c.tag("b"))
    d.ack(c.channel, c.tag("b"))
    closed = d.closed_by(c.channel)
    return closed, take(d, consumer(d, "q"), 1)


@scenario((None, 406, ["a"]))
def a_tag_of_another_channel_is_unknown(d: Driver):
    """Tags are per channel: channel 1's tag acked on channel 2 closes channel 2 only."""
    d.queue("q")
    publish(d, "q", "a")
    c1 = consumer(d, "q", prefetch=1)
    take(d, c1, 1)
    other = d.channel(prefetch=1)
    d.ack(other, c1.tag("a"))
    return d.closed_by(c1.channel), d.closed_by(other), c1.names


# -- quorum queues ------------------------------------------------------------------------------


def quorum(d: Driver, name: str = "q", **arguments: Any) -> None:
    d.queue(name, x_queue_type="quorum", **arguments)


@scenario((["a", "b", "c", "a*"], [{}, {}, {}, {"x-delivery-count": 1}]))
def quorum_nack_requeues_at_the_back(d: Driver):
    """Quorum queue without a delivery limit: publish a,b,c; get a,b; nack a: c, then a*."""
    quorum(d)
    publish(d, "q", "a", "b", "c")
    c = consumer(d, "q", prefetch=2)
    take(d, c, 2)
    d.nack(c.channel, c.tag("a"))
    take(d, c, 3)
    d.ack(c.channel, c.tag("b"))
    take(d, c, 4)
    return c.names, [g.headers for g in c.got]


@scenario(["a", "b", "a*", "c"])
def quorum_with_a_delivery_limit_nack_requeues_at_the_head(d: Driver):
    """Quorum queue with x-delivery-limit: a nacked message is returned to the head instead."""
    quorum(d, x_delivery_limit=5)
    publish(d, "q", "a", "b", "c")
    c = consumer(d, "q", prefetch=2)
    take(d, c, 2)
    d.nack(c.channel, c.tag("a"))
    take(d, c, 3)
    d.ack(c.channel, c.tag("b"))
    return take(d, c, 4)


@scenario((["a*", "b*", "c", "d"], [1, 1, None, None]))
def quorum_close_returns_to_the_head(d: Driver):
    """Quorum queue: a closed channel's unacked deliveries come back first, counted."""
    quorum(d)
    publish(d, "q", *"abcd")
    c = consumer(d, "q", prefetch=2)
    take(d, c, 2)
    d.close(c.channel)
    new = consumer(d, "q")
    take(d, new, 4)
    return new.names, [g.headers.get("x-delivery-count") for g in new.got]


@scenario(["a", "b", "c", "d", "c*", "a*"])
def quorum_several_nacks_come_back_in_the_order_given(d: Driver):
    """Quorum queue, prefetch 3: nack c then a in one go; d, c* are next, then a*."""
    quorum(d)
    publish(d, "q", *"abcd")
    c = consumer(d, "q", prefetch=3)
    take(d, c, 3)
    d.nack(c.channel, c.tag("c"))
    d.nack(c.channel, c.tag("a"))
    take(d, c, 5)
    d.ack(c.channel, c.tag("b"))
    return take(d, c, 6)


@scenario(["a", "b", "c", "d", "c*", "a*"], kit=False)
def classic_several_nacks_come_back_in_the_order_given(d: Driver):
    """Classic queue, prefetch 0: nack c then a in one go: they come back c*, a*."""
    d.queue("q")
    publish(d, "q", *"abcd")
    c = consumer(d, "q")
    take(d, c, 4)
    d.nack(c.channel, c.tag("c"))
    d.nack(c.channel, c.tag("a"))
    return take(d, c, 6)


@scenario(["a", "b", "b*", "a*"], kit=False)
def classic_nacks_at_the_prefetch_limit_come_back_in_the_order_given(d: Driver):
    """Classic queue, prefetch 2: nack b then a: each is handed out again at once, b* first."""
    d.queue("q")
    publish(d, "q", *"abcd")
    c = consumer(d, "q", prefetch=2)
    take(d, c, 2)
    d.nack(c.channel, c.tag("b"))
    d.nack(c.channel, c.tag("a"))
    return take(d, c, 4)


@scenario([None, 1, 2, 3])
def x_delivery_count_counts_the_returns(d: Driver):
    """Quorum queue: x-delivery-count is absent on a first delivery, then 1, 2, 3."""
    quorum(d)
    publish(d, "q", "a")
    c = consumer(d, "q", prefetch=1)
    nack_each_delivery(d, c, 3)
    take(d, c, 4)
    return [g.headers.get("x-delivery-count") for g in c.got]


@scenario([None])
def classic_queues_have_no_delivery_count(d: Driver):
    """Classic queue: a redelivery carries no x-delivery-count header."""
    d.queue("q")
    publish(d, "q", "a")
    c = consumer(d, "q", prefetch=1)
    take(d, c, 1)
    d.nack(c.channel, c.tag("a"))
    take(d, c, 2)
    return [g.headers.get("x-delivery-count") for g in c.got[1:]]


@scenario(
    (
        ["a", "a*", "a*"],
        0,
        [("delivery_limit", "w", 1, "", ["w"], True)],
        ("delivery_limit", "w", ""),
        None,
    )
)
def quorum_delivery_limit_dead_letters_after_limit_plus_one(d: Driver):
    """x-delivery-limit 2: delivered 3 times, then dead-lettered with reason delivery_limit."""
    d.queue("dlq")
    quorum(d, "w", x_delivery_limit=2, x_dead_letter_exchange="", x_dead_letter_routing_key="dlq")
    publish(d, "w", "a")
    c = consumer(d, "w", prefetch=1)
    nack_each_delivery(d, c, 3)
    d.settle()
    dead = consumer(d, "dlq")
    take(d, dead, 1)
    (letter,) = dead.got
    headers = letter.headers
    return (
        c.names,
        d.depth("w"),
        deaths(headers),
        first_death(headers),
        headers.get("x-delivery-count"),
    )


@scenario((["a"], ["a*"], 0, 1))
def quorum_delivery_limit_reached_by_crashes_dead_letters_at_once(d: Driver):
    """x-delivery-limit 1, two consumers die holding the message: it is dead-lettered at once."""
    d.queue("dlq")
    quorum(d, "w", x_delivery_limit=1, x_dead_letter_exchange="", x_dead_letter_routing_key="dlq")
    publish(d, "w", "a")
    first = consumer(d, "w", prefetch=1)
    take(d, first, 1)
    d.close(first.channel)
    second = consumer(d, "w", prefetch=1)
    take(d, second, 1)
    d.close(second.channel)
    d.settle(0.1)
    return first.names, second.names, d.depth("w"), d.depth("dlq")


@scenario((["a"], 0))
def quorum_delivery_limit_without_dead_letter_exchange_drops(d: Driver):
    """x-delivery-limit 0 and no dead-letter exchange: a nacked message is dropped."""
    quorum(d, "w", x_delivery_limit=0)
    publish(d, "w", "a")
    c = consumer(d, "w", prefetch=1)
    take(d, c, 1)
    d.nack(c.channel, c.tag("a"))
    d.settle(0.1)
    return c.names, d.depth("w")


@scenario(6)
def quorum_without_a_limit_redelivers_for_ever(d: Driver):
    """RabbitMQ 3.x: a quorum queue without x-delivery-limit redelivers every time."""
    quorum(d)
    publish(d, "q", "a")
    c = consumer(d, "q", prefetch=1)
    nack_each_delivery(d, c, 5)
    take(d, c, 6)
    return len(c.got)


@scenario([("rejected", "w", 1, "", ["w"], True)])
def quorum_reject_dead_letters_as_rejected(d: Driver):
    """Quorum queue with a dead-letter exchange: reject(requeue=False) dead-letters it."""
    d.queue("dlq")
    quorum(d, "w", x_dead_letter_exchange="", x_dead_letter_routing_key="dlq")
    publish(d, "w", "a")
    c = consumer(d, "w")
    take(d, c, 1)
    d.reject(c.channel, c.tag("a"), requeue=False)
    dead = consumer(d, "dlq")
    take(d, dead, 1)
    return deaths(dead.got[0].headers)


# -- dead-lettering -----------------------------------------------------------------------------


@scenario(
    (
        ["a"],
        "v",
        [("rejected", "w", 1, "", ["w"], True)],
        ("rejected", "w", ""),
    )
)
def reject_dead_letters_with_x_death(d: Driver):
    """reject(requeue=False) with a dead-letter queue: x-death and x-first-death-* headers."""
    dead_lettered_to(d)
    publish(d, "w", "a", headers={"k": "v"})
    c = consumer(d, "w")
    take(d, c, 1)
    d.reject(c.channel, c.tag("a"), requeue=False)
    dead = consumer(d, "dlq")
    take(d, dead, 1)
    headers = dead.got[0].headers
    return dead.names, headers.get("k"), deaths(headers), first_death(headers)


@scenario(["a", "b"])
def nack_multiple_without_requeue_dead_letters_in_order(d: Driver):
    """nack(tag, multiple=True, requeue=False): every outstanding one is dead-lettered, in order."""
    dead_lettered_to(d)
    publish(d, "w", "a", "b", "c")
    c = consumer(d, "w")
    take(d, c, 3)
    d.nack(c.channel, c.tag("b"), multiple=True, requeue=False)
    return take(d, consumer(d, "dlq"), 2)


@scenario(([("rejected", "w", 2, "", ["w"], True)], True))
def x_death_counts_deaths_from_one_queue_for_one_reason(d: Driver):
    """Dead-lettered twice from one queue for one reason: one x-death entry, count 2, first time."""
    dead_lettered_to(d)
    publish(d, "w", "a")
    c = consumer(d, "w")
    take(d, c, 1)
    d.reject(c.channel, c.tag("a"), requeue=False)
    dead = consumer(d, "dlq")
    take(d, dead, 1)
    first = dead.got[0].headers
    d.publish("w", "a", headers=first)  # a replay, headers and all
    take(d, c, 2)
    d.reject(c.channel, c.got[-1].tag, requeue=False)
    take(d, dead, 2)
    again = dead.got[-1].headers
    same_time = again["x-death"][0]["time"] == first["x-death"][0]["time"]
    return deaths(again), same_time


@scenario(
    (
        [("rejected", "dlq", 1, "", ["dlq"], True), ("rejected", "w", 1, "", ["w"], True)],
        ("rejected", "w", ""),
    )
)
def x_death_lists_the_most_recent_death_first(d: Driver):
    """Dead-lettered from w, then from its dead-letter queue: the latest death comes first."""
    d.queue("last")
    d.queue("dlq", x_dead_letter_exchange="", x_dead_letter_routing_key="last")
    d.queue("w", x_dead_letter_exchange="", x_dead_letter_routing_key="dlq")
    publish(d, "w", "a")
    c = consumer(d, "w")
    take(d, c, 1)
    d.reject(c.channel, c.tag("a"), requeue=False)
    middle = consumer(d, "dlq")
    take(d, middle, 1)
    d.reject(middle.channel, middle.tag("a"), requeue=False)
    final = consumer(d, "last")
    take(d, final, 1)
    headers = final.got[0].headers
    return deaths(headers), first_death(headers)


@scenario((["a", "a"], [[], [("rejected", "w", 1, "", ["w"], True)]]))
def dead_letter_exchange_without_routing_key_keeps_the_message_s_own(d: Driver):
    """x-dead-letter-exchange "" and no routing key: the message goes back to its own queue."""
    d.queue("w", x_dead_letter_exchange="")
    publish(d, "w", "a")
    c = consumer(d, "w")
    take(d, c, 1)
    d.reject(c.channel, c.tag("a"), requeue=False)
    take(d, c, 2)
    d.ack(c.channel, c.got[-1].tag)
    return c.names, [deaths(g.headers) for g in c.got]


@scenario((0, "ack"))
def a_missing_dead_letter_target_drops_the_message(d: Driver):
    """The dead-letter routing key names no queue: the rejected message is dropped silently."""
    d.queue("w", x_dead_letter_exchange="", x_dead_letter_routing_key="nowhere")
    publish(d, "w", "a")
    c = consumer(d, "w")
    take(d, c, 1)
    d.reject(c.channel, c.tag("a"), requeue=False)
    d.settle()
    return d.depth("w"), d.publish("w", "b")


@scenario(["ack"], kit=False)
def an_unroutable_publish_is_confirmed_and_dropped(d: Driver):
    """The default exchange, no queue of that name, not mandatory: confirmed, then dropped."""
    d.queue("q")
    return [d.publish("no-such-queue", "a")]


# -- message TTL ------------------------------------------------------------------------------


@scenario((1, [("expired", "wait", 1, "", ["wait"], True)], ("expired", "wait", "")))
def queue_ttl_dead_letters_as_expired(d: Driver):
    """x-message-ttl 30 ms: the message is dead-lettered with reason expired."""
    d.queue("dlq")
    d.queue("wait", x_message_ttl=30, x_dead_letter_exchange="", x_dead_letter_routing_key="dlq")
    publish(d, "wait", "a")
    before = d.depth("wait")
    dead = consumer(d, "dlq")
    take(d, dead, 1)
    headers = dead.got[0].headers
    return before, deaths(headers), first_death(headers)


@scenario(0)
def queue_ttl_without_dead_letter_exchange_drops(d: Driver):
    """x-message-ttl without a dead-letter exchange: the expired message is gone."""
    d.queue("q", x_message_ttl=20)
    publish(d, "q", "a")
    d.settle(0.15)
    return d.depth("q")


@scenario(
    (
        [("expired", "w", 1, "", ["w"], True)],
        "20",
    )
)
def per_message_ttl_dead_letters_as_expired(d: Driver):
    """A message's own expiration (ms): dead-lettered as expired, x-death keeps the original."""
    dead_lettered_to(d)
    publish(d, "w", "a", expiration=20)
    dead = consumer(d, "dlq")
    take(d, dead, 1)
    headers = dead.got[0].headers
    return deaths(headers), headers["x-death"][0].get("original-expiration")


@scenario((3, 0, ["slow", "fast"], 1))
def per_message_ttl_expires_only_at_the_head(d: Driver):
    """A short-lived message behind a long-lived one waits for it: both go when the head does."""
    dead_lettered_to(d)
    publish(d, "w", "slow", expiration=250)
    publish(d, "w", "fast", expiration=20)
    publish(d, "w", "plain")
    d.settle(0.1)
    early = d.depth("w"), d.depth("dlq")
    dead = consumer(d, "dlq")
    take(d, dead, 2)
    return (*early, dead.names, d.depth("w"))


@scenario(["a"])
def the_shorter_of_queue_and_message_ttl_wins(d: Driver):
    """x-message-ttl 5 s and a message expiring in 20 ms: it expires in 20 ms."""
    dead_lettered_to(d, x_message_ttl=5000)
    publish(d, "w", "a", expiration=20)
    return take(d, consumer(d, "dlq"), 1)


@scenario((["a"], ["a"], [("expired", "w", 1, "", ["w"], True)]))
def a_requeued_message_keeps_its_expiry(d: Driver):
    """A message delivered before its TTL and nacked after it: it is expired, not redelivered."""
    dead_lettered_to(d, x_message_ttl=50)
    publish(d, "w", "a")
    c = consumer(d, "w", prefetch=1)
    take(d, c, 1)
    d.settle(0.1)
    d.nack(c.channel, c.tag("a"))
    dead = consumer(d, "dlq")
    take(d, dead, 1)
    d.settle()
    return c.names, dead.names, deaths(dead.got[0].headers)


@scenario(
    (
        ["a", "a", "a"],
        [False, False, False],
        [
            [],
            [
                ("expired", "wait", 1, "", ["wait"], True),
                ("rejected", "work", 1, "", ["work"], True),
            ],
            [
                ("expired", "wait", 2, "", ["wait"], True),
                ("rejected", "work", 2, "", ["work"], True),
            ],
        ],
        ("rejected", "work", ""),
    )
)
def the_wait_queue_retry_pattern(d: Driver):
    """Work rejects to a wait queue whose TTL (30 ms) dead-letters back: x-death counts tries."""
    d.queue("work", x_dead_letter_exchange="", x_dead_letter_routing_key="wait")
    d.queue("wait", x_message_ttl=30, x_dead_letter_exchange="", x_dead_letter_routing_key="work")
    publish(d, "work", "a")
    c = consumer(d, "work")
    for n in (1, 2):
        take(d, c, n)
        d.reject(c.channel, c.got[-1].tag, requeue=False)
    take(d, c, 3)
    d.ack(c.channel, c.got[-1].tag)
    return (
        [g.message_id for g in c.got],
        [g.redelivered for g in c.got],
        [deaths(g.headers) for g in c.got],
        first_death(c.got[-1].headers),
    )


@scenario((0, 0))
def a_ttl_only_dead_letter_cycle_is_dropped(d: Driver):
    """Two TTL queues dead-lettering into each other: the message is dropped, not cycled."""
    d.queue("one", x_message_ttl=20, x_dead_letter_exchange="", x_dead_letter_routing_key="two")
    d.queue("two", x_message_ttl=20, x_dead_letter_exchange="", x_dead_letter_routing_key="one")
    publish(d, "one", "a")
    d.settle(0.2)
    return d.depth("one"), d.depth("two")


# -- max-length -------------------------------------------------------------------------------


@scenario((["ack", "ack", "ack"], ["b", "c"], [("maxlen", "w", 1, "", ["w"], True)]))
def max_length_drop_head_dead_letters_the_oldest(d: Driver):
    """x-max-length 2 (drop-head): a third publish pushes the oldest out, as maxlen."""
    dead_lettered_to(d, x_max_length=2)
    confirms = publish(d, "w", "a", "b", "c")
    dead = consumer(d, "dlq")
    take(d, dead, 1)
    kept = take(d, consumer(d, "w"), 2)
    return confirms, kept, deaths(dead.got[0].headers)


@scenario(["b", "c"])
def max_length_drop_head_without_dead_letter_exchange_drops(d: Driver):
    """x-max-length 2 without a dead-letter exchange: the oldest is simply dropped."""
    d.queue("q", x_max_length=2)
    publish(d, "q", "a", "b", "c")
    return take(d, consumer(d, "q"), 2)


@scenario((["ack", "ack", "nack"], ["a", "b"]))
def reject_publish_nacks_the_publisher(d: Driver):
    """x-overflow reject-publish: a publish to a full queue is refused, with a negative confirm."""
    d.queue("q", x_max_length=2, x_overflow="reject-publish")
    confirms = publish(d, "q", "a", "b", "c")
    return confirms, take(d, consumer(d, "q"), 2)


@scenario((["ack", "ack", "ack", "nack"], 3, 0))
def quorum_reject_publish_takes_one_over_the_limit(d: Driver):
    """Quorum queue, x-max-length 2, reject-publish: the third is taken, the fourth refused."""
    d.queue("dlq")
    quorum(
        d,
        "w",
        x_max_length=2,
        x_overflow="reject-publish",
        x_dead_letter_exchange="",
        x_dead_letter_routing_key="dlq",
    )
    confirms = publish(d, "w", "a", "b", "c", "d")
    d.settle()
    return confirms, d.depth("w"), d.depth("dlq")


@scenario((["a", "c"], 0))
def max_length_counts_ready_messages_only(d: Driver):
    """x-max-length 1: an unacked delivery does not count; b is pushed out by c."""
    d.queue("q", x_max_length=1)
    publish(d, "q", "a")
    c = consumer(d, "q", prefetch=1)
    take(d, c, 1)
    publish(d, "q", "b", "c")
    d.settle()
    d.ack(c.channel, c.tag("a"))
    take(d, c, 2)
    d.ack(c.channel, c.got[-1].tag)
    return c.names, d.depth("q")


@scenario(["ack", "ack", "nack", "ack"])
def reject_publish_takes_again_once_there_is_room(d: Driver):
    """reject-publish: once a consumer took a message, the queue takes the next publish."""
    d.queue("q", x_max_length=2, x_overflow="reject-publish")
    confirms = publish(d, "q", "a", "b", "c")
    c = consumer(d, "q", prefetch=1)
    take(d, c, 1)
    return [*confirms, d.publish("q", "d")]


@scenario([("a", "expired"), ("b", "expired")])
def quorum_queue_ttl_dead_letters_as_expired(d: Driver):
    """A quorum queue honours x-message-ttl and a message's own expiration (3.10)."""
    d.queue("dlq")
    quorum(d, "w", x_message_ttl=30, x_dead_letter_exchange="", x_dead_letter_routing_key="dlq")
    publish(d, "w", "a")
    publish(d, "w", "b", expiration=10)
    dead = consumer(d, "dlq")
    take(d, dead, 2)
    return [(g.message_id, g.headers["x-death"][0]["reason"]) for g in dead.got]


@scenario((["a", "b", "c"], ["b*", "c*", "d", "a*"]))
def quorum_returns_go_ahead_of_a_nacked_message(d: Driver):
    """Quorum queue: a is nacked to the back, then the consumer dies: b*, c* come first, a* last."""
    quorum(d)
    publish(d, "q", *"abcd")
    c = consumer(d, "q", prefetch=2)
    take(d, c, 2)
    d.nack(c.channel, c.tag("a"))
    take(d, c, 3)
    d.close(c.channel)
    return c.names, take(d, consumer(d, "q"), 4)


# -- flow control (ch07) ------------------------------------------------------------------------


@scenario((["a", "c"], ["b", "d", "e", "f", "g", "h"], 0, None))
def a_consumer_at_its_prefetch_leaves_the_rest_to_its_peer(d: Driver):
    """Two consumers, prefetch 2: one never acks and keeps 2; its peer acks and takes the rest."""
    d.queue("q")
    slow = consumer(d, "q", prefetch=2)
    d.settle()
    fast = consumer(d, "q", prefetch=2)
    d.settle()
    publish(d, "q", *"abcdefgh")
    for n in range(6):
        take(d, fast, n + 1)
        d.ack(fast.channel, fast.got[n].tag)
    d.settle()
    return slow.names, fast.names, d.depth("q"), d.closed_by(fast.channel)


@scenario((["a", "b", "c"], ["a", "b", "c", "d", "e"], 1))
def a_window_refills_one_delivery_per_ack(d: Driver):
    """prefetch 3: three deliveries, then an ack of two (multiple) lets exactly two more in."""
    d.queue("q")
    publish(d, "q", *"abcdef")
    c = consumer(d, "q", prefetch=3)
    first = list(take(d, c, 3))
    d.ack(c.channel, c.tag("b"), multiple=True)
    return first, take(d, c, 5), d.depth("q")


@scenario((["ack", "ack", "ack", "nack"], 2))
def reject_publish_counts_only_what_no_consumer_holds(d: Driver):
    """x-max-length 2, reject-publish: a delivery held unacked frees a place; the next refill
    of the limit nacks again."""
    d.queue("q", x_max_length=2, x_overflow="reject-publish")
    confirms = publish(d, "q", "a", "b")
    c = consumer(d, "q", prefetch=1)
    take(d, c, 1)
    confirms += publish(d, "q", "c", "d")
    return confirms, d.depth("q")
