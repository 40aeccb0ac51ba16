"""The pika adapter: a real RabbitMQ behind the simulator's broker interface.

:class:`RabbitBroker` answers the calls of
:class:`~harness.ports.queue_broker.QueueBroker`, so the channel and publisher
ports, and the workloads that declare queues and publish a trace's messages,
run unchanged on RabbitMQ:

- a channel the world opens for a component is a pika ``BlockingConnection`` of
  its own with one channel, ``basic.qos(prefetch)``; ``ack`` / ``nack`` /
  ``reject`` are ``basic_ack`` / ``basic_nack`` / ``basic_reject`` with RabbitMQ's
  own delivery tags, and a delivery is RabbitMQ's (``redelivered`` included);
- :meth:`close_channel` (a crash) closes that connection *abruptly*: its socket
  is shut, no ``connection.close`` is sent, and RabbitMQ requeues what was unacked
  on it, exactly as when a consumer's process dies;
- :meth:`publish` goes through one publishing connection in confirm mode
  (``confirm_delivery``): True once RabbitMQ confirmed it, False for a nack;
- every queue gets a name of its own on the server (``twm-live-<run>-payments``),
  mapped back in every header handed to the learner's code, and carries
  ``x-expires`` as a safety net; :meth:`close` deletes them all.

pika's callbacks never run learner code: a delivery is handed over by the
world's loop (:class:`~harness.live.loop.RealTimeLoop`), outside pika, so a
crash may close the connection the delivery came on.
"""

from __future__ import annotations

import json
import socket
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from types import MappingProxyType
from typing import Any

from harness.broker import (
    BrokerUnavailable,
    ChannelClosed,
    Delivery,
    Message,
    PreconditionFailed,
)
from harness.broker_arguments import read_arguments
from harness.live.loop import RealTimeLoop
from harness.timeline import Timeline

FLOAT = b"twm-float:"
"""How a float header travels: pika cannot encode AMQP's double, so a float goes as a byte
string with this prefix and comes back a float (:func:`_wire`, :meth:`RabbitBroker._plain`)."""
STILL = 0.5
"""Real seconds a world must look still after its last message was due to expire into
another queue before its run ends (:meth:`RabbitBroker.moving`): RabbitMQ moves an expired
message in a few milliseconds, and in hundreds on a busy machine."""
SAFETY_EXPIRES = 300_000
"""``x-expires`` (ms) of every queue a live run declares: the server deletes one left behind."""


@dataclass(frozen=True)
class Held:
    """A delivery a channel holds unacked, shaped as the simulator's (``held.message``)."""

    message: Message


class LiveChannel:
    """A component's channel on RabbitMQ: its own connection, and what it holds unacked.

    Setting ``prefetch`` is ``basic.qos``: it counts for the consumers started after it.
    """

    def __init__(self, owner: str, prefetch: int, connection: Any, channel: Any) -> None:
        self.owner = owner
        self._prefetch = prefetch
        self.connection = connection
        self.channel = channel
        self.open = True
        self.unacked: dict[int, tuple[str, Held]] = {}
        """delivery tag → (the queue's name in the world, the delivery's message)."""
        self.pump: Callable[[float], bool] | None = None

    @property
    def prefetch(self) -> int:
        return self._prefetch

    @prefetch.setter
    def prefetch(self, count: int) -> None:
        self.channel.basic_qos(prefetch_count=count)
        self._prefetch = count


class RabbitBroker:
    """RabbitMQ through pika, as a world's queue broker (see the module)."""

    def __init__(self, loop: RealTimeLoop, timeline: Timeline, *, parameters: Any) -> None:
        import pika  # lazy: only live runs need it

        self._pika = pika
        self._parameters = parameters
        self.scheduler = loop
        self.clock = loop.clock
        self.timeline = timeline
        self.available = True
        self.alarm = None
        """RabbitMQ's alarms are the server's own: live runs never raise one (it would block
        every client of a shared server), so the memory-alarm traces are not played live."""
        self.settings = None
        """The simulator's knobs mean nothing here: RabbitMQ behaves as it does."""
        self.prefix = f"twm-live-{uuid.uuid4().hex[:10]}-"
        self._names: dict[str, str] = {}
        self._unmap: dict[str, str] = {}
        self._summaries: dict[str, str] = {}
        self._channels: list[LiveChannel] = []
        self._admin = pika.BlockingConnection(parameters)
        self._publishing = self._admin.channel()
        self._publishing.confirm_delivery()
        self._control = self._admin.channel()
        self._consumers: dict[str, list[LiveChannel]] = {}
        self._expiring: dict[str, float] = {}
        """The world's queues whose messages expire into another queue (a TTL and a
        dead-letter target), with their TTL in seconds: they still move after everything
        else is quiet."""
        self._due: float | None = None
        """When the last message put in an expiring queue is due to leave it."""
        self._closed = False
        loop.add_check(self.moving)

    # -- names ------------------------------------------------------------------------------------

    def real_name(self, name: str) -> str:
        """The server's name of the world's queue ``name``."""
        real = self._names.get(name)
        if real is None:
            real = self._names[name] = self.prefix + name
            self._unmap[real] = name
        return real

    def _plain(self, value: Any) -> Any:
        """pika's header values as the simulator's: plain types, queue names as the world's."""
        if isinstance(value, Mapping):
            return {key: self._plain(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self._plain(item) for item in value]
        if isinstance(value, bytes) and value.startswith(FLOAT):
            return float(value[len(FLOAT) :].decode())
        if isinstance(value, bytes):
            value = value.decode("utf-8", errors="replace")
        if isinstance(value, str):
            return self._unmap.get(value, value)
        return value

    # -- topology ---------------------------------------------------------------------------------

    def declare_queue(
        self,
        name: str,
        *,
        dead_letter: str | None = None,
        delivery_limit: int | None = None,
        arguments: Mapping[str, Any] | None = None,
    ) -> None:
        """Declare ``name`` on RabbitMQ with the same arguments the simulator reads."""
        # The simulator's reading first: an argument it refuses is refused here too.
        spec = read_arguments(
            name, arguments, dead_letter=dead_letter, delivery_limit=delivery_limit
        )
        given = dict(arguments or {})
        if dead_letter is not None:
            given.setdefault("x-dead-letter-exchange", "")
            given.setdefault("x-dead-letter-routing-key", dead_letter)
        if delivery_limit is not None:
            given.setdefault("x-delivery-limit", delivery_limit)
        key = given.get("x-dead-letter-routing-key")
        if isinstance(key, str):
            given["x-dead-letter-routing-key"] = self.real_name(key)
        given["x-expires"] = SAFETY_EXPIRES
        if "x-message-ttl" in given and "x-dead-letter-routing-key" in given:
            self._expiring[name] = float(given["x-message-ttl"]) / 1000
        self._control.queue_declare(self.real_name(name), durable=spec.quorum, arguments=given)

    def delete_queue(self, name: str) -> None:
        self._control.queue_delete(self.real_name(name))

    # -- publishing -------------------------------------------------------------------------------

    def publish(self, queue: str, message: Message) -> bool:
        """Publish through the default exchange, confirmed: True (ack) or False (nack)."""
        if not self.available:
            raise BrokerUnavailable("the broker is down; the message was not taken")
        pika = self._pika
        if message.summary:
            self._summaries[message.message_id] = message.summary
        headers = {
            key: (self.real_name(value) if key == "x-dead-letter-routing-key" else _wire(value))
            for key, value in message.headers.items()
        }
        properties = pika.BasicProperties(
            message_id=message.message_id,
            content_type="application/json",
            headers=headers or None,
            expiration=None if message.expiration is None else str(message.expiration),
        )
        body = json.dumps(dict(message.body), sort_keys=True).encode()
        try:
            self._publishing.basic_publish("", self.real_name(queue), body, properties)
        except pika.exceptions.NackError:
            return False
        if queue in self._expiring:
            ttl = self._expiring[queue]
            if message.expiration is not None:
                ttl = min(ttl, message.expiration / 1000)
            self._due = max(self._due or 0.0, self.clock.now + ttl)
        return True

    # -- channels and consumers -------------------------------------------------------------------

    def open_channel(self, owner: str, *, prefetch: int = 0) -> LiveChannel:
        """A new connection and channel for ``owner``, with ``basic.qos(prefetch)``."""
        if prefetch < 0:
            raise ValueError(f"prefetch must be >= 0 (0 = unlimited), got {prefetch}")
        connection = self._pika.BlockingConnection(self._parameters)
        channel = connection.channel()
        channel.basic_qos(prefetch_count=prefetch)
        live = LiveChannel(owner, prefetch, connection, channel)
        live.pump = partial(self._pump, live)
        self.scheduler.add_pump(live.pump)
        self._channels.append(live)
        return live

    def _pump(self, live: LiveChannel, seconds: float) -> bool:
        """Let ``live``'s connection read what RabbitMQ sent; idle once nothing more is due."""
        if not live.open:
            return True
        live.connection.process_data_events(time_limit=seconds)
        return True

    def consume(
        self, channel: LiveChannel, queue: str, callback: Callable[[Delivery], None]
    ) -> None:
        """``basic_consume`` on ``queue``, manual acks; each delivery goes to ``callback``."""
        self._check_open(channel)

        def take(_channel: Any, method: Any, properties: Any, body: bytes) -> None:
            try:
                decoded = json.loads(body) if body else {}
            except ValueError:
                decoded = {"raw": body.decode("utf-8", errors="replace")}
            headers = MappingProxyType(self._plain(properties.headers or {}))
            message_id = properties.message_id or ""
            summary = self._summaries.get(message_id, "")
            message = Message(message_id, decoded, headers, summary)
            channel.unacked[method.delivery_tag] = (queue, Held(message))
            delivery = Delivery(
                method.delivery_tag, message_id, decoded, bool(method.redelivered), headers, queue
            )
            self.scheduler.soon(partial(self._hand_over, channel, delivery, callback))

        channel.channel.basic_consume(self.real_name(queue), take, auto_ack=False)
        self._consumers.setdefault(queue, []).append(channel)

    def moving(self) -> bool:
        """Whether one of the world's queues holds ready messages that will still move: a
        queue whose messages expire into another, or one with a consumer that has room.

        The loop asks before a run ends (:meth:`RealTimeLoop.add_check`): on RabbitMQ a
        message waiting out its TTL is nothing the loop can see, and the run is not over."""
        if self._count_moving():
            return True
        # A message dead-lettered from one queue to another is counted in neither while
        # RabbitMQ moves it: the world must look still for a while after the last was due.
        return self._due is not None and self.clock.now < self._due + STILL

    def _count_moving(self) -> bool:
        for name in list(self._names):
            consumers = [c for c in self._consumers.get(name, ()) if c.open]
            room = any(c.prefetch == 0 or len(c.unacked) < c.prefetch for c in consumers)
            declared = self._control.queue_declare(self.real_name(name), passive=True).method
            if declared.consumer_count > len(consumers):
                return True  # a dropped connection RabbitMQ has not seen go: it will requeue
            if declared.message_count and name in self._expiring:
                self._due = max(self._due or 0.0, self.clock.now)
                return True
            if declared.message_count and room:
                return True
        return False

    def _hand_over(
        self, channel: LiveChannel, delivery: Delivery, callback: Callable[[Delivery], None]
    ) -> None:
        if not channel.open or delivery.tag not in channel.unacked:
            return  # its connection was closed while the delivery waited in the loop
        summary = self._summaries.get(delivery.message_id, "")
        what = f"deliver {delivery.message_id}{summary} tag={delivery.tag}"
        if delivery.redelivered:
            what += " redelivered"
        self.timeline.record(self.clock.now, "broker", channel.owner, what)
        callback(delivery)

    def close_channel(self, channel: LiveChannel, *, reason: str = "closed") -> None:
        """Close ``channel``'s connection abruptly (its socket, no AMQP goodbye): RabbitMQ
        requeues its unacked deliveries, as when the consumer's process dies."""
        if not channel.open:
            return
        channel.open = False
        self.scheduler.remove_pump(channel.pump)
        held = sorted(channel.unacked)
        channel.unacked.clear()
        _abort(channel.connection)
        if held:
            listed = ", ".join(str(tag) for tag in held)
            self._note(f"connection of {channel.owner} dropped ({reason}): tag {listed} unacked")

    # -- settling ---------------------------------------------------------------------------------

    def ack(self, channel: LiveChannel, tag: int, *, multiple: bool = False) -> None:
        self._settle(channel, tag, multiple, lambda: channel.channel.basic_ack(tag, multiple))

    def nack(
        self, channel: LiveChannel, tag: int, *, multiple: bool = False, requeue: bool = True
    ) -> None:
        self._settle(
            channel,
            tag,
            multiple,
            lambda: channel.channel.basic_nack(tag, multiple=multiple, requeue=requeue),
        )

    def reject(self, channel: LiveChannel, tag: int, *, requeue: bool = True) -> None:
        self._settle(
            channel, tag, False, lambda: channel.channel.basic_reject(tag, requeue=requeue)
        )

    def _settle(
        self, channel: LiveChannel, tag: int, multiple: bool, send: Callable[[], None]
    ) -> None:
        self._check_open(channel)
        known = isinstance(tag, int) and not isinstance(tag, bool)
        if known and multiple and tag == 0:
            settled = list(channel.unacked)
        elif known and multiple:
            settled = [t for t in channel.unacked if t <= tag]
            known = tag in channel.unacked
        else:
            settled = [tag] if known else []
            known = known and tag in channel.unacked
        if known or (multiple and tag == 0):
            send()
            for t in settled:
                channel.unacked.pop(t, None)
            return
        # A tag RabbitMQ never gave on this channel: let RabbitMQ answer it (406, the channel
        # closes), and wait for that answer, so the learner's code meets it at this call.
        self._refused(channel, tag, send)

    def _refused(self, channel: LiveChannel, tag: Any, send: Callable[[], None]) -> None:
        pika = self._pika
        text = f"406 PRECONDITION_FAILED - unknown delivery tag {tag!r}"
        try:
            if isinstance(tag, int) and not isinstance(tag, bool):
                send()
            channel.channel.basic_qos(prefetch_count=channel.prefetch)  # a round trip
        except (pika.exceptions.ChannelClosedByBroker, pika.exceptions.ChannelWrongStateError) as e:
            text = f"{getattr(e, 'reply_code', 406)} {getattr(e, 'reply_text', text)}"
        channel.unacked.clear()
        channel.open = False
        self.scheduler.remove_pump(channel.pump)
        _abort(channel.connection)
        raise PreconditionFailed(
            f"{text}: it was never delivered on this channel, or it was already acked, nacked "
            "or rejected. RabbitMQ closed the channel."
        )

    def _check_open(self, channel: LiveChannel) -> None:
        if not channel.open:
            raise ChannelClosed("this channel is closed; nothing can be done on it any more")

    # -- what is left ---------------------------------------------------------------------------

    def ready(self, queue: str) -> list[Message]:
        """The messages waiting in ``queue``: fetched with ``basic_get`` and put back."""
        channel = self._admin.channel()
        found = []
        try:
            while True:
                method, properties, body = channel.basic_get(self.real_name(queue))
                if method is None:
                    break
                message_id = properties.message_id or ""
                decoded = json.loads(body) if body else {}
                headers = MappingProxyType(self._plain(properties.headers or {}))
                found.append(
                    Message(message_id, decoded, headers, self._summaries.get(message_id, ""))
                )
            if found:
                channel.basic_nack(0, multiple=True, requeue=True)
        finally:
            channel.close()
        return found

    def count(self, queue: str) -> int:
        """How many messages are ready in ``queue``: ``message_count`` of a passive
        ``queue.declare`` (what :meth:`ready` lists, without taking them out)."""
        declared = self._control.queue_declare(self.real_name(queue), passive=True)
        return declared.method.message_count

    def unacked(self, queue: str | None = None) -> list[Message]:
        """What the world's open channels hold delivered and unsettled (of ``queue``)."""
        return [
            held.message
            for channel in self._channels
            if channel.open
            for name, held in channel.unacked.values()
            if queue is None or name == queue
        ]

    def _note(self, what: str) -> None:
        self.timeline.record(self.clock.now, "broker", "broker", what)

    def close(self) -> None:
        """Close every connection and delete every queue this broker declared."""
        if self._closed:
            return
        self._closed = True
        for channel in self._channels:
            if channel.open:
                channel.open = False
                self.scheduler.remove_pump(channel.pump)
                _close_quietly(channel.connection)
        try:
            if self._admin.is_open:
                for real in self._names.values():
                    self._control.queue_delete(real)
        finally:
            _close_quietly(self._admin)


def _wire(value: Any) -> Any:
    """A header value as pika can encode it: floats as :data:`FLOAT` byte strings, at any depth."""
    if isinstance(value, float):
        return FLOAT + repr(value).encode()
    if isinstance(value, Mapping):
        return {key: _wire(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_wire(item) for item in value]
    return value


def _abort(connection: Any) -> None:
    """Shut a pika connection's socket without a goodbye: a process that died."""
    try:
        sock = connection._impl._transport._sock
    except AttributeError:
        _close_quietly(connection)  # another pika: a plain close requeues just the same
        return
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()


def _close_quietly(connection: Any) -> None:
    try:
        if connection.is_open:
            connection.close()
    except Exception:  # a connection RabbitMQ already dropped: nothing is left to close
        pass
