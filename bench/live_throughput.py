"""Deliveries per second through live mode's RabbitMQ adapter, against plain pika, in one run.

    python bench/live_throughput.py                     # 2,000 messages, best of 3, prefetch 1
    python bench/live_throughput.py --messages 5000 --prefetch 50 --repeat 5

Both sides consume the same number of messages from one queue of their own on the same
RabbitMQ (127.0.0.1:5672, or ``TWM_RABBITMQ_URL``), one delivery at a time, and ack each:

- **plain pika**: ``basic_consume`` with a callback that calls ``basic_ack``, pumped by
  ``process_data_events``: the least a consumer on pika can do;
- **adapter**: what a learner's consumer gets under ``--world live``: a
  :class:`~harness.live.rabbit.RabbitBroker` on a :class:`~harness.live.loop.RealTimeLoop`,
  the delivery handed over by the loop to a consumer behind its crash gate, acking through
  the :class:`~harness.ports.Channel` port, every step recorded on the timeline.

The queue is filled before each measured consume (not timed), and the time runs from the
consume to the last ack. The two sides alternate, and each keeps its best; the ratio
(adapter over plain pika) is what to compare from one machine to another.
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from harness.faults import Gate  # noqa: E402
from harness.live.loop import RealTimeLoop  # noqa: E402
from harness.live.rabbit import RabbitBroker  # noqa: E402
from harness.live.servers import ServerMissing, rabbitmq_parameters  # noqa: E402
from harness.ports import Channel  # noqa: E402
from harness.timeline import Timeline  # noqa: E402


def fill(pika, parameters, queue: str, count: int) -> None:
    """Publish ``count`` small messages to ``queue`` (declared here), without confirms."""
    connection = pika.BlockingConnection(parameters)
    channel = connection.channel()
    channel.queue_declare(queue, arguments={"x-expires": 300_000})
    properties = pika.BasicProperties(message_id="m", content_type="application/json")
    for n in range(count):
        properties.message_id = f"m{n}"
        channel.basic_publish("", queue, b'{"order_id": "o-1", "amount": 10}', properties)
    channel.queue_declare(queue, passive=True)  # a round trip: every publish has arrived
    connection.close()


def plain(pika, parameters, count: int, prefetch: int) -> float:
    """Seconds plain pika takes to consume and ack ``count`` messages."""
    queue = f"twm-bench-plain-{uuid.uuid4().hex[:8]}"
    fill(pika, parameters, queue, count)
    connection = pika.BlockingConnection(parameters)
    channel = connection.channel()
    channel.basic_qos(prefetch_count=prefetch)
    acked = [0]

    def on_message(ch, method, properties, body) -> None:
        ch.basic_ack(method.delivery_tag)
        acked[0] += 1

    started = time.perf_counter()
    channel.basic_consume(queue, on_message)
    while acked[0] < count:
        connection.process_data_events(time_limit=0.01)
    seconds = time.perf_counter() - started
    channel.queue_delete(queue)
    connection.close()
    return seconds


class Acker:
    """The least a learner's consumer does: ack each delivery through the channel port."""

    def __init__(self, channel: Channel) -> None:
        self.channel = channel

    def on_message(self, delivery) -> None:
        self.channel.ack(delivery.tag)


def adapter(pika, parameters, count: int, prefetch: int) -> float:
    """Seconds the live adapter takes to hand over and ack ``count`` messages."""
    loop = RealTimeLoop(seed=0, deadline=600.0)
    timeline = Timeline()
    broker = RabbitBroker(loop, timeline, parameters=parameters)
    broker.declare_queue("bench")
    fill(pika, parameters, broker.real_name("bench"), count)
    state = broker.open_channel("consumer", prefetch=prefetch)
    gate = Gate("consumer", (), lambda reason: None, limit=10 * count + 100)
    consumer = Acker(Channel(broker, state, gate, timeline))
    acked = [0, 0.0]

    def on_message(delivery) -> None:
        consumer.on_message(delivery)
        acked[0] += 1
        acked[1] = time.perf_counter()

    started = time.perf_counter()
    broker.consume(state, "bench", on_message)
    loop.run()
    broker.close()
    if acked[0] != count:
        sys.exit(f"the adapter acked {acked[0]} of {count} messages")
    return acked[1] - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--prefetch", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3)
    options = parser.parse_args(argv)
    try:
        parameters = rabbitmq_parameters()
    except ServerMissing as error:
        sys.exit(str(error))
    import pika

    count, prefetch = options.messages, options.prefetch
    best = {"plain pika": float("inf"), "adapter": float("inf")}
    for _ in range(options.repeat):
        best["plain pika"] = min(best["plain pika"], plain(pika, parameters, count, prefetch))
        best["adapter"] = min(best["adapter"], adapter(pika, parameters, count, prefetch))
    rates = {name: count / seconds for name, seconds in best.items()}
    print(f"{count} messages, prefetch {prefetch}, best of {options.repeat}, one queue each")
    for name, rate in rates.items():
        print(f"  {name:<11} {rate:10,.0f} deliveries/s   ({best[name]:.3f} s)")
    print(f"  ratio       {rates['adapter'] / rates['plain pika']:10.2f}   (adapter / plain pika)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
