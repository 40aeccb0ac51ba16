"""Two brokers behind one small interface: the simulator's and a real RabbitMQ, through pika.

A scenario (scenarios.py) is written once against :class:`Driver` and run on
both. Queue names are the scenario's own short names; the real driver gives
each a unique name on the server (and maps it back in every header it hands
over), and deletes its queues when the scenario ends.

Time: the simulator's driver moves the virtual clock, the real one waits on
the wall clock; every wait has a deadline, so nothing can hang.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from harness.broker import Broker, Message, PreconditionFailed
from harness.broker_settings import BrokerSettings
from harness.clock import VirtualClock
from harness.scheduler import Scheduler
from harness.timeline import Timeline

WAIT = 3.0
"""The longest any wait for deliveries lasts (seconds) before the scenario gives up."""

HOST, PORT = "127.0.0.1", 5672


@dataclass(frozen=True)
class Got:
    """One delivery as a scenario sees it."""

    tag: int
    message_id: str
    redelivered: bool
    headers: Mapping[str, Any]

    @property
    def name(self) -> str:
        """``a`` for a first delivery of message a, ``a*`` for a redelivery."""
        return self.message_id + ("*" if self.redelivered else "")


@dataclass
class Consuming:
    """A consumer: the channel it is on and what it got, in order."""

    channel: Any
    got: list[Got] = field(default_factory=list)

    @property
    def names(self) -> list[str]:
        return [g.name for g in self.got]

    def tag(self, message_id: str) -> int:
        """The tag of the last delivery of ``message_id``."""
        return [g.tag for g in self.got if g.message_id == message_id][-1]


class Driver:
    """What a scenario may do to a broker (see :class:`Simulated` and :class:`Real`)."""

    world = "?"

    def queue(self, name: str, **arguments: Any) -> None:
        """Declare queue ``name``; ``arguments`` use underscores for dashes (x_max_length)."""
        raise NotImplementedError

    def publish(
        self,
        queue: str,
        message_id: str,
        *,
        headers: Mapping[str, Any] | None = None,
        expiration: int | None = None,
    ) -> str:
        """Publish through the default exchange with confirms: ``"ack"`` or ``"nack"``."""
        raise NotImplementedError

    def channel(self, *, prefetch: int = 0) -> Any:
        raise NotImplementedError

    def consume(self, channel: Any, queue: str) -> Consuming:
        raise NotImplementedError

    def wait_for(self, *consumers: Consuming, count: int) -> None:
        """Let deliveries flow until each consumer got ``count`` in all (or WAIT passed)."""
        raise NotImplementedError

    def settle(self, seconds: float = 0.05) -> None:
        """Let ``seconds`` pass, deliveries flowing."""
        raise NotImplementedError

    def ack(self, channel: Any, tag: int, *, multiple: bool = False) -> None:
        raise NotImplementedError

    def nack(self, channel: Any, tag: int, *, multiple: bool = False, requeue: bool = True):
        raise NotImplementedError

    def reject(self, channel: Any, tag: int, *, requeue: bool = True) -> None:
        raise NotImplementedError

    def close(self, channel: Any) -> None:
        """Close the channel (its connection, on the real server): a consumer that died."""
        raise NotImplementedError

    def closed_by(self, channel: Any) -> int | None:
        """The reply code the broker closed ``channel`` with (406), or None while it is open."""
        raise NotImplementedError

    def depth(self, queue: str) -> int:
        """How many messages are ready in ``queue``."""
        raise NotImplementedError

    def finish(self) -> None:
        """Close everything and delete the scenario's queues."""


def _arguments(given: Mapping[str, Any]) -> dict[str, Any]:
    return {key.replace("_", "-"): value for key, value in given.items()}


class Simulated(Driver):
    """The simulator's broker, with the given settings, on a fresh virtual clock."""

    def __init__(self, settings: BrokerSettings, world: str) -> None:
        self.world = world
        self.clock = VirtualClock()
        self.scheduler = Scheduler(self.clock, seed=0)
        self.broker = Broker(self.scheduler, Timeline(), settings=settings)
        self._closed: dict[int, int] = {}
        self._channels = 0

    def queue(self, name: str, **arguments: Any) -> None:
        self.broker.declare_queue(name, arguments=_arguments(arguments))

    def publish(self, queue, message_id, *, headers=None, expiration=None) -> str:
        message = Message(message_id, {}, dict(headers or {}), expiration=expiration)
        return "ack" if self.broker.publish(queue, message) else "nack"

    def channel(self, *, prefetch: int = 0) -> Any:
        self._channels += 1
        return self.broker.open_channel(f"c{self._channels}", prefetch=prefetch)

    def consume(self, channel, queue) -> Consuming:
        consuming = Consuming(channel)

        def take(delivery) -> None:
            consuming.got.append(
                Got(delivery.tag, delivery.message_id, delivery.redelivered, dict(delivery.headers))
            )

        self.broker.consume(channel, queue, take)
        return consuming

    def wait_for(self, *consumers: Consuming, count: int) -> None:
        deadline = self.clock.now + WAIT
        scheduler = self.scheduler
        while any(len(c.got) < count for c in consumers):
            due = scheduler.peek()
            if due is None or due > deadline:
                break
            scheduler.step()

    def settle(self, seconds: float = 0.05) -> None:
        until = self.clock.now + seconds
        self.scheduler.run(until=until, max_events=100_000)
        self.clock.advance_to(until)

    def _call(self, channel, call) -> None:
        try:
            call()
        except PreconditionFailed:
            self._closed[id(channel)] = 406

    def ack(self, channel, tag, *, multiple=False) -> None:
        self._call(channel, lambda: self.broker.ack(channel, tag, multiple=multiple))

    def nack(self, channel, tag, *, multiple=False, requeue=True) -> None:
        self._call(
            channel, lambda: self.broker.nack(channel, tag, multiple=multiple, requeue=requeue)
        )

    def reject(self, channel, tag, *, requeue=True) -> None:
        self._call(channel, lambda: self.broker.reject(channel, tag, requeue=requeue))

    def close(self, channel) -> None:
        self.broker.close_channel(channel)

    def closed_by(self, channel) -> int | None:
        return None if channel.open else self._closed.get(id(channel), 200)

    def depth(self, queue: str) -> int:
        return len(self.broker.ready(queue))


class Real(Driver):
    """A real RabbitMQ through pika: one connection per channel, confirms on publishing."""

    world = "rabbitmq"

    def __init__(self, scenario: str) -> None:
        import pika

        self._pika = pika
        self._parameters = pika.ConnectionParameters(
            HOST,
            PORT,
            credentials=pika.PlainCredentials("guest", "guest"),
            socket_timeout=5,
            blocked_connection_timeout=5,
            connection_attempts=1,
        )
        self._prefix = f"twm-conformance-{uuid.uuid4().hex[:8]}-{scenario}-"
        self._names: dict[str, str] = {}
        self._connections: list[Any] = []
        self._admin = self._connect()
        self._publisher = self._admin.channel()
        self._publisher.confirm_delivery()
        self._closed: dict[int, int] = {}
        self._finished = False

    def _connect(self):
        connection = self._pika.BlockingConnection(self._parameters)
        self._connections.append(connection)
        return connection

    def _real(self, name: str) -> str:
        return self._names.get(name, name)

    def queue(self, name: str, **arguments: Any) -> None:
        given = _arguments(arguments)
        real = self._prefix + name
        self._names[name] = real
        if "x-dead-letter-routing-key" in given:
            given["x-dead-letter-routing-key"] = self._prefix + given["x-dead-letter-routing-key"]
        given["x-expires"] = 120_000  # a safety net: deleted by the server if left behind
        quorum = given.get("x-queue-type") == "quorum"
        self._admin.channel().queue_declare(real, durable=quorum, arguments=given)

    def publish(self, queue, message_id, *, headers=None, expiration=None) -> str:
        pika = self._pika
        properties = pika.BasicProperties(
            message_id=message_id,
            headers=_plain(headers, self._names) or None,
            expiration=None if expiration is None else str(expiration),
        )
        try:
            self._publisher.basic_publish("", self._real(queue), b"{}", properties)
        except pika.exceptions.NackError:
            return "nack"
        return "ack"

    def channel(self, *, prefetch: int = 0) -> Any:
        channel = self._connect().channel()
        channel.basic_qos(prefetch_count=prefetch)
        return channel

    def consume(self, channel, queue) -> Consuming:
        consuming = Consuming(channel)
        unmap = {real: name for name, real in self._names.items()}

        def take(_channel, method, properties, _body) -> None:
            consuming.got.append(
                Got(
                    method.delivery_tag,
                    properties.message_id,
                    method.redelivered,
                    _plain(properties.headers or {}, unmap),
                )
            )

        channel.basic_consume(self._real(queue), take)
        return consuming

    def _pump(self) -> None:
        for connection in self._connections:
            if connection.is_open:
                connection.process_data_events(time_limit=0)

    def wait_for(self, *consumers: Consuming, count: int) -> None:
        deadline = time.monotonic() + WAIT
        while any(len(c.got) < count for c in consumers) and time.monotonic() < deadline:
            self._pump()
            time.sleep(0.002)

    def settle(self, seconds: float = 0.05) -> None:
        deadline = time.monotonic() + seconds
        while True:
            self._pump()
            if time.monotonic() >= deadline:
                return
            time.sleep(0.002)

    def ack(self, channel, tag, *, multiple=False) -> None:
        if channel.is_open:
            channel.basic_ack(tag, multiple=multiple)

    def nack(self, channel, tag, *, multiple=False, requeue=True) -> None:
        if channel.is_open:
            channel.basic_nack(tag, multiple=multiple, requeue=requeue)

    def reject(self, channel, tag, *, requeue=True) -> None:
        if channel.is_open:
            channel.basic_reject(tag, requeue=requeue)

    def close(self, channel) -> None:
        channel.connection.close()

    def closed_by(self, channel) -> int | None:
        if channel.is_open:
            try:
                channel.basic_qos(prefetch_count=0, global_qos=True)  # a round trip
            except self._pika.exceptions.ChannelClosedByBroker as closed:
                self._closed[id(channel)] = closed.reply_code
        if channel.is_open:
            return None
        return self._closed.get(id(channel), 200)

    def depth(self, queue: str) -> int:
        self.settle(0.01)
        declared = self._admin.channel().queue_declare(self._real(queue), passive=True)
        return declared.method.message_count

    def finish(self) -> None:
        if self._finished:
            return
        self._finished = True
        try:
            if not self._admin.is_open:
                self._admin = self._connect()
            admin = self._admin.channel()
            for real in self._names.values():
                admin.queue_delete(real)
        finally:
            for connection in self._connections:
                if connection.is_open:
                    connection.close()


def _plain(value: Any, unmap: Mapping[str, str]) -> Any:
    """pika's header values as the simulator's: plain ints, queue names as the scenario's."""
    if value is None:
        return {}
    if isinstance(value, Mapping):
        return {key: _plain(item, unmap) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item, unmap) for item in value]
    if isinstance(value, bytes):
        value = value.decode()
    if isinstance(value, str):
        return unmap.get(value, value)
    if isinstance(value, int) and not isinstance(value, bool):
        return int(value)
    return value
