"""The connection between the harness and an isolated learner process: calls, both ways.

Either side may call an object of the other (:meth:`Connection.request`)
and, while it waits for the answer, serve the other side's calls: the world
calls the learner's ``on_message``, which calls ``channel.ack``, which the
world serves, and the ack's answer goes back into ``on_message``. There is
one thread on each side, so calls nest like ordinary function calls.

Messages (see :mod:`harness.isolation.wire` for how objects cross):

- ``("q", released, now, op, oid, name, args, kwargs)``: a call; ``op`` is
  ``call`` (the object, or its method ``name``), ``get``, ``set`` or ``op``
  (an operator: ``len``, ``iter``, ``next``, ``eq``, ``enter``, ...);
- ``("r", released, now, value)``: its result;
- ``("e", released, now, exception)``: the exception it raised.

``released`` lists the proxies the sender dropped (so the receiver can drop
the objects they stood for), and ``now`` carries the harness's virtual time,
so the learner's clock reads the same time as the world's.
"""

from __future__ import annotations

import itertools
import operator
import socket
import struct
import weakref
from collections.abc import Callable
from typing import Any

from harness.isolation import wire
from harness.isolation.proxy import Info, Method, Proxy, describe
from harness.watchdog import TestTimedOut

ROOT = 0
"""The id of the object the learner's side serves first: its loader of learner modules."""

OPERATIONS: dict[str, Callable[..., Any]] = {
    "len": len,
    "iter": iter,
    "next": next,
    "contains": operator.contains,
    "getitem": operator.getitem,
    "setitem": operator.setitem,
    "delitem": operator.delitem,
    "eq": operator.eq,
    "lt": operator.lt,
    "le": operator.le,
    "gt": operator.gt,
    "ge": operator.ge,
    "hash": hash,
    "bool": bool,
    "repr": repr,
    "str": str,
    "delattr": delattr,
    "enter": lambda obj: obj.__enter__(),
    "exit": lambda obj, error: obj.__exit__(
        type(error) if error is not None else None,
        error,
        error.__traceback__ if error is not None else None,
    ),
}


class ConnectionLost(Exception):
    """The other side is gone, silent, or broke the protocol."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


class Connection:
    """One end of the link.

    ``harness=True`` is the harness's end: it trusts nothing it reads
    (restricted unpickling, public attributes only), stamps every message
    with ``clock()``, and waits at most ``timeout`` seconds for each message.
    The learner's end applies each stamp with ``on_time``.
    ``on_lost(ConnectionLost)`` returns the exception to raise when the
    other side is gone; ``on_idle()`` runs whenever the harness's outermost
    call returns.
    """

    def __init__(
        self,
        sock: socket.socket,
        *,
        harness: bool,
        root: Any = None,
        clock: Callable[[], Any] | None = None,
        on_time: Callable[[Any], None] | None = None,
        timeout: float | None = None,
        on_lost: Callable[[ConnectionLost], BaseException] | None = None,
        on_idle: Callable[[], None] | None = None,
    ) -> None:
        self.sock = sock
        self.harness = harness
        self._clock = clock or (lambda: None)
        self._on_time = on_time
        self._on_lost = on_lost or (lambda lost: lost)
        self._on_idle = on_idle
        self._objects: dict[int, list] = {}
        self._oids: dict[int, int] = {}
        self._serial = itertools.count(1)
        self._proxies: weakref.WeakValueDictionary[int, Proxy] = weakref.WeakValueDictionary()
        self._released: list[tuple[int, int]] = []
        self.pending: list[tuple[str, int, str | None, tuple]] = []
        self.lost: BaseException | None = None
        self.classes: Callable[[Info], type | None] = lambda info: None
        if root is not None:
            self._objects[ROOT] = [root, 1]
            self._oids[id(root)] = ROOT
        self._inbox = bytearray()
        sock.settimeout(None)
        if timeout is not None:
            # A kernel timeout on a blocking socket: one system call per read, not two.
            seconds = int(timeout)
            limit = struct.pack("ll", seconds, int((timeout - seconds) * 1_000_000))
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, limit)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, limit)

    # -- calling the other side ---------------------------------------------------------------

    def request(
        self,
        op: str,
        oid: int,
        name: str | None = None,
        args: tuple = (),
        kwargs: dict[str, Any] | None = None,
    ) -> Any:
        """Call the other side and wait for its answer, serving its calls meanwhile."""
        if self.lost is not None:
            raise self.lost
        self.pending.append((op, oid, name, args))
        try:
            self._send(("q", self._take_released(), self._clock(), op, oid, name, args, kwargs))
            return self._wait()
        finally:
            self.pending.pop()
            if not self.pending and self._on_idle is not None:
                self._on_idle()

    def serve(self) -> None:
        """Serve the other side's calls until it goes away (the learner's side's main loop)."""
        while True:
            try:
                message = self._receive()
            except ConnectionLost:
                return
            if message[0] != "q":
                return
            self._serve(message)

    def _wait(self) -> Any:
        while True:
            message = self._receive()
            kind = message[0]
            if kind == "r":
                return message[3]
            if kind == "e":
                error = message[3]
                if not isinstance(error, BaseException):
                    raise self._lose(ConnectionLost("protocol", "an error that is no exception"))
                raise error
            self._serve(message)

    # -- serving the other side's calls -------------------------------------------------------

    def _serve(self, message: tuple) -> None:
        _, _, _, op, oid, name, args, kwargs = message
        try:
            result = self._perform(op, oid, name, args, kwargs)
        except BaseException as error:
            if self.harness and not _forwarded(error):
                raise  # an interrupt or a test timeout of the harness itself: not the learner's
            self._answer("e", error)
        else:
            self._answer("r", result)

    def _perform(self, op: str, oid: int, name: str | None, args: tuple, kwargs: Any) -> Any:
        entry = self._objects.get(oid)
        if entry is None:
            raise ReferenceError(f"no object {oid!r} here (it was released)")
        target = entry[0]
        if op == "call":
            function = target if name is None else self._attribute(target, name)
            return function(*args, **(kwargs or {}))
        if op == "get":
            return self._attribute(target, name)
        if op == "set":
            self._check_name(name)
            setattr(target, name, args[0])
            return None
        if op == "op" and name in OPERATIONS:
            if name == "delattr":
                self._check_name(args[0])
            return OPERATIONS[name](target, *args)
        raise ValueError(f"unknown operation {op!r} {name!r}")

    def _check_name(self, name: Any) -> None:
        if not isinstance(name, str):
            raise TypeError(f"attribute names are strings, not {type(name).__name__}")
        if self.harness and name.startswith("_"):
            raise AttributeError(f"{name!r} is private to the harness: use the port's public API")

    def _attribute(self, target: Any, name: Any) -> Any:
        self._check_name(name)
        return getattr(target, name)

    def _answer(self, kind: str, value: Any) -> None:
        stamp = self._clock()
        try:
            data = wire.dumps(
                (kind, self._take_released(), stamp, value), self, with_frames=not self.harness
            )
        except Exception as error:
            problem = TypeError(
                f"could not send {type(value).__name__} across the isolation boundary: {error}"
            )
            data = wire.dumps(("e", [], stamp, problem), self, with_frames=False)
        self._send_bytes(data)

    # -- references ---------------------------------------------------------------------------

    def reference(self, obj: Any) -> Any:
        """The persistent id of ``obj`` if it crosses by reference (called by the pickler)."""
        if isinstance(obj, Proxy) and obj._conn is self:
            return ("back", obj._oid)
        if isinstance(obj, Method) and obj._owner._conn is self:
            return ("back.", obj._owner._oid, obj._name)
        if not wire.by_reference(obj):
            return None
        oid = self._oids.get(id(obj))
        if oid is None:
            oid = next(self._serial)
            self._oids[id(obj)] = oid
            self._objects[oid] = [obj, 0]
        self._objects[oid][1] += 1
        return ("ref", oid, describe(obj))

    def resolve(self, pid: Any) -> Any:
        """The object a persistent id names (called by the unpickler)."""
        if not isinstance(pid, tuple) or not pid:
            raise wire.ProtocolError(f"malformed reference {pid!r}")
        kind = pid[0]
        if kind == "ref" and len(pid) == 3:
            oid, info = pid[1], pid[2]
            proxy = self._proxies.get(oid)
            if proxy is None:
                if self.harness and not (type(oid) is int and _is_info(info)):
                    raise wire.ProtocolError(f"malformed reference {pid!r}")
                proxy = Proxy(self, oid, info, self.classes(info))
                self._proxies[oid] = proxy
            object.__setattr__(proxy, "_count", proxy._count + 1)
            return proxy
        if kind in ("back", "back.") and isinstance(pid[1], int) and pid[1] in self._objects:
            obj = self._objects[pid[1]][0]
            if kind == "back":
                return obj
            if len(pid) == 3:
                return self._attribute(obj, pid[2])
        raise wire.ProtocolError(f"unknown reference {pid!r}")

    def released(self, oid: int, count: int) -> None:
        """A proxy died: tell the other side with the next message (called from ``__del__``)."""
        if self.lost is None:
            self._released.append((oid, count))

    def _take_released(self) -> list[tuple[int, int]]:
        released, self._released = self._released, []
        return released

    def _drop(self, released: Any) -> None:
        for oid, count in released:
            entry = self._objects.get(oid)
            if entry is None or oid == ROOT:
                continue
            entry[1] -= count
            if entry[1] <= 0:
                del self._objects[oid]
                self._oids.pop(id(entry[0]), None)

    # -- the socket -----------------------------------------------------------------------------

    def _send(self, message: tuple) -> None:
        self._send_bytes(wire.dumps(message, self, with_frames=not self.harness))

    def _send_bytes(self, data: bytes) -> None:
        try:
            self.sock.sendall(data)
        except OSError as error:
            raise self._lose(ConnectionLost("gone", str(error))) from None

    def _receive(self) -> tuple:
        header = self._read(wire.HEADER.size)
        (size,) = wire.HEADER.unpack(header)
        if size > wire.MAX_MESSAGE:
            raise self._lose(ConnectionLost("protocol", f"a message of {size:,} bytes"))
        payload = self._read(size)
        try:
            message = wire.loads(payload, self, strict=self.harness)
        except Exception as error:
            if not self.harness:
                raise
            raise self._lose(ConnectionLost("protocol", str(error))) from None
        if self.harness and not _well_formed(message):
            raise self._lose(ConnectionLost("protocol", "a message of an unknown shape"))
        self._drop(message[1])
        if self._on_time is not None:
            self._on_time(message[2])
        return message

    def _read(self, size: int) -> bytes:
        """``size`` bytes, from what arrived already or from the socket (reading ahead)."""
        inbox = self._inbox
        while len(inbox) < size:
            try:
                chunk = self.sock.recv(max(65536, size - len(inbox)))
            except (TimeoutError, BlockingIOError):
                raise self._lose(ConnectionLost("silent")) from None
            except OSError as error:
                raise self._lose(ConnectionLost("gone", str(error))) from None
            if not chunk:
                raise self._lose(ConnectionLost("gone"))
            inbox += chunk
        data = bytes(inbox[:size])
        del inbox[:size]
        return data

    def last_answer(self, seconds: float) -> BaseException | None:
        """The exception the other side answers with within ``seconds``, if it does (else None).

        For a side gone silent and asked to stop where it is: what it sends then
        is the exception raised there, whose traceback shows where. Nothing else
        is read from this connection afterwards, which is lost already.
        """
        marker = ConnectionLost("silent")
        self.lost = marker  # a read that fails now raises this, without losing twice
        try:
            whole = int(seconds)
            limit = struct.pack("ll", whole, int((seconds - whole) * 1_000_000))
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, limit)
            message = self._receive()
        except Exception:
            return None
        finally:
            if self.lost is marker:
                self.lost = None
        if message[0] == "e" and isinstance(message[3], BaseException):
            return message[3]
        return None

    def _lose(self, lost: ConnectionLost) -> BaseException:
        if self.lost is None:
            self.lost = self._on_lost(lost)
        return self.lost

    def close(self) -> None:
        if self.lost is None:
            self.lost = self._on_lost(ConnectionLost("closed"))
        self._objects.clear()
        self._oids.clear()
        self.sock.close()


def _forwarded(error: BaseException) -> bool:
    """Exceptions of a harness call that the learner's code gets (a Crash is one of them)."""
    if isinstance(error, Exception):
        return True
    if isinstance(error, TestTimedOut):
        return False
    return (type(error).__module__ or "").startswith("harness.")


def _is_info(info: Any) -> bool:
    return (
        isinstance(info, tuple)
        and len(info) == 6
        and all(isinstance(part, str) for part in info[:4])
        and isinstance(info[4], tuple)
        and all(
            isinstance(m, tuple) and len(m) == 2 and all(isinstance(x, str) for x in m)
            for m in info[4]
        )
        and isinstance(info[5], tuple)
        and all(isinstance(d, str) for d in info[5])
    )


def _well_formed(message: Any) -> bool:
    if not isinstance(message, tuple) or not message or message[0] not in ("q", "r", "e"):
        return False
    if not isinstance(message[1], list) or not all(
        isinstance(r, tuple) and len(r) == 2 and all(type(x) is int for x in r) for r in message[1]
    ):
        return False
    if message[0] == "q":
        return (
            len(message) == 8
            and isinstance(message[3], str)
            and type(message[4]) is int
            and (message[5] is None or isinstance(message[5], str))
            and isinstance(message[6], tuple)
            and (message[7] is None or isinstance(message[7], dict))
        )
    return len(message) == 4
