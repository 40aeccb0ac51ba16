"""What crosses between the harness and an isolated learner process, and how.

Messages are pickles framed by a 4-byte length. The rules of what goes by
value and what by reference are the whole contract of isolation:

- **by value** (a copy): plain data (str, int, float, bool, None, bytes,
  tuple, list, dict, set, ...), a few standard value types (datetime,
  Decimal, deque, ...), exceptions, and instances of the harness's own
  classes (a delivery, a record, an outcome) except the ports;
- **by reference** (the other side gets a proxy that forwards calls):
  everything else: the ports (see :mod:`harness.ports`), functions and other
  callables, iterators, and every object of a class the learner defined.

The harness side reads messages with a restricted unpickler: it only ever
names classes of a fixed list, never imports a module, and never calls a
function other than this module's rebuilders. Exceptions cross with their
traceback as data; the harness side rebuilds a traceback that points at the
learner's files and lines, so failure reports show the learner's code.

>>> is_value_class(dict), by_reference(len), by_reference({"order_id": "o-1"})
(True, True, False)
"""

from __future__ import annotations

import collections
import copyreg
import dataclasses
import datetime
import decimal
import enum
import fractions
import io
import pickle
import struct
import sys
import traceback
import types
import uuid
from typing import Any

HEADER = struct.Struct("!I")
MAX_MESSAGE = 64 * 1024 * 1024
"""Bytes one message may have; more is a protocol violation (nothing legitimate is that big)."""

PLAIN = frozenset({str, int, float, bool, type(None), bytes, tuple, list, dict, set, frozenset})
"""Types pickled as they are, without asking anything (the fast path)."""

VALUES = frozenset(
    PLAIN
    | {
        complex,
        bytearray,
        range,
        slice,
        types.MappingProxyType,
        collections.OrderedDict,
        collections.defaultdict,
        collections.deque,
        collections.Counter,
        datetime.date,
        datetime.datetime,
        datetime.time,
        datetime.timedelta,
        datetime.timezone,
        decimal.Decimal,
        fractions.Fraction,
        uuid.UUID,
    }
)
"""Standard types that always cross by value."""

_HERE = __file__.rsplit("/", 1)[0]
_value_class_cache: dict[type, bool] = {}


class ProtocolError(Exception):
    """The other side sent something that is not a message of this protocol."""


def is_port(cls: type) -> bool:
    """A port: a class of :mod:`harness.ports` that is not data, or one marked ``__twm_port__``.

    Data classes of the ports' modules (exceptions, named tuples, dataclasses,
    enums) cross by value like any other harness data.
    """
    if getattr(cls, "__twm_port__", False):
        return True
    module = getattr(cls, "__module__", "") or ""
    if not (module == "harness.ports" or module.startswith("harness.ports.")):
        return False
    data = (BaseException, tuple, enum.Enum)
    return not (issubclass(cls, data) or dataclasses.is_dataclass(cls))


def is_value_class(cls: type) -> bool:
    """Whether instances of ``cls`` cross by value (see the module's rules)."""
    known = _value_class_cache.get(cls)
    if known is not None:
        return known
    if cls in VALUES or issubclass(cls, BaseException):
        found = True
    else:
        module = getattr(cls, "__module__", "") or ""
        harness = module == "harness" or module.startswith("harness.")
        found = harness and not is_port(cls) and not module.startswith("harness.isolation")
    _value_class_cache[cls] = found
    return found


def by_reference(obj: Any) -> bool:
    """Whether ``obj`` crosses as a reference (the other side gets a proxy)."""
    cls = type(obj)
    if cls in PLAIN:
        return False
    if isinstance(obj, type):
        return not is_value_class(obj)
    if isinstance(obj, (types.FunctionType, types.BuiltinFunctionType, types.MethodType)):
        return True
    return not is_value_class(cls) or isinstance(obj, (types.GeneratorType, types.ModuleType))


# -- exceptions ----------------------------------------------------------------------------------


def frames_of(error: BaseException) -> tuple[tuple[str, int, str], ...]:
    """The traceback of ``error`` as data: (file, line, function), outside this package."""
    frames = []
    for frame, lineno in traceback.walk_tb(error.__traceback__):
        code = frame.f_code
        if not code.co_filename.startswith(_HERE):
            frames.append((code.co_filename, lineno, code.co_name))
    return tuple(frames)


def _nearest_class(cls: type) -> type:
    """``cls`` itself if the harness side may name it, else its nearest such base class."""
    for base in cls.__mro__:
        if _nameable_exception(base):
            return base
    return BaseException


def _nameable_exception(cls: type) -> bool:
    module = getattr(cls, "__module__", "") or ""
    top = module.partition(".")[0]
    return top == "harness" or top in sys.stdlib_module_names


def exception_parts(error: BaseException, *, with_frames: bool) -> tuple:
    """The arguments of :func:`rebuild_exception` for ``error``."""
    cls = type(error)
    named = _nearest_class(cls)
    state = dict(getattr(error, "__dict__", {}))
    return (
        named,
        cls.__qualname__,
        error.args,
        state,
        frames_of(error) if with_frames else (),
        error.__cause__,
    )


_standins: dict[tuple[type, str], type] = {}


def _standin(base: type, name: str) -> type:
    """A class named like the learner's exception class, derived from what the harness can name."""
    key = (base, name)
    if key not in _standins:
        try:
            _standins[key] = type(name, (base,), {"__module__": "your code"})
        except TypeError:
            _standins[key] = base
    return _standins[key]


def _safe_to_raise(cls: type) -> bool:
    """Exceptions the harness side re-raises as they are; the rest become plain Exceptions.

    A learner's KeyboardInterrupt, GeneratorExit or pytest outcome (skip, exit)
    must not stop or skip the harness's test run: they arrive as Exceptions.
    """
    if issubclass(cls, Exception) or cls is SystemExit:
        return True
    return (cls.__module__ or "").startswith("harness.")


def rebuild_exception(
    cls: type,
    name: str,
    args: tuple,
    state: dict,
    frames: tuple,
    cause: BaseException | None,
) -> BaseException:
    """An exception equal to the one the other side raised, with a traceback to its lines."""
    if not (isinstance(cls, type) and issubclass(cls, BaseException)):
        raise ProtocolError(f"{cls!r} is not an exception class")
    if not _safe_to_raise(cls):
        cls = _standin(Exception, name)
    elif name != cls.__qualname__:
        cls = _standin(cls, name)
    error = cls.__new__(cls)
    error.args = tuple(args)
    if issubclass(cls, SyntaxError):
        # msg, filename, lineno, offset and text are set by __init__ from the args alone
        try:
            error.__init__(*args)
        except TypeError:
            pass
    if state:
        try:
            error.__dict__.update(state)
        except AttributeError:
            pass
    if isinstance(cause, BaseException):
        error.__cause__ = cause
    if frames:
        error = error.with_traceback(fake_traceback(frames))
    return error


_codes: dict[tuple[str, int, str], types.CodeType] = {}


class _Marker(Exception):
    pass


def fake_traceback(frames: tuple[tuple[str, int, str], ...]) -> types.TracebackType | None:
    """A real traceback object whose frames name the given files, lines and functions.

    Each frame runs a compiled ``raise`` placed at the right line of a code
    object named after the file and function, so the traceback module (and
    the harness's reports) read it like any other traceback.
    """
    tb: types.TracebackType | None = None
    for filename, lineno, name in reversed(frames):
        if not isinstance(filename, str) or not isinstance(lineno, int) or lineno < 1:
            continue
        key = (filename, lineno, str(name))
        code = _codes.get(key)
        if code is None:
            code = compile("\n" * (lineno - 1) + "raise _Marker", filename, "exec")
            code = code.replace(co_name=str(name))
            if sys.version_info >= (3, 11):
                code = code.replace(co_qualname=str(name))
            _codes[key] = code
        try:
            exec(code, {"_Marker": _Marker, "__file__": filename, "__name__": "__twm_remote__"})
        except _Marker as marker:
            made = marker.__traceback__.tb_next
            assert made is not None
            tb = types.TracebackType(tb, made.tb_frame, made.tb_lasti, made.tb_lineno)
    return tb


def mapping_proxy(data: dict) -> types.MappingProxyType:
    """Rebuild a read-only mapping (mappingproxy cannot be pickled as it is)."""
    return types.MappingProxyType(dict(data))


# -- pickling ------------------------------------------------------------------------------------


class Pickler(pickle.Pickler):
    """Pickles a message; ``export`` turns an object that crosses by reference into an id."""

    def __init__(self, file: io.BytesIO, side: Any, *, with_frames: bool) -> None:
        super().__init__(file, protocol=5)
        self._side = side
        self._with_frames = with_frames

    def persistent_id(self, obj: Any) -> Any:
        if type(obj) in PLAIN or obj is rebuild_exception or obj is mapping_proxy:
            return None
        return self._side.reference(obj)

    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, BaseException):
            return rebuild_exception, exception_parts(obj, with_frames=self._with_frames)
        if type(obj) is types.MappingProxyType:
            return mapping_proxy, (dict(obj),)
        return NotImplemented


_REBUILDERS = {
    ("harness.isolation.wire", "rebuild_exception"): rebuild_exception,
    ("harness.isolation.wire", "mapping_proxy"): mapping_proxy,
    ("copyreg", "_reconstructor"): copyreg._reconstructor,
}


class Unpickler(pickle.Unpickler):
    """Reads a message; ``strict`` (the harness side) names only known classes, imports nothing."""

    def __init__(self, file: io.BytesIO, side: Any, *, strict: bool) -> None:
        super().__init__(file)
        self._side = side
        self._strict = strict

    def persistent_load(self, pid: Any) -> Any:
        return self._side.resolve(pid)

    def find_class(self, module: str, name: str) -> Any:
        if not self._strict:
            return super().find_class(module, name)
        rebuilder = _REBUILDERS.get((module, name))
        if rebuilder is not None:
            return rebuilder
        loaded = sys.modules.get(module)
        found: Any = loaded
        for part in name.split("."):
            found = getattr(found, part, None) if found is not None else None
        if isinstance(found, type):
            if issubclass(found, BaseException):
                if _nameable_exception(found):
                    return found
            elif is_value_class(found):
                return found
        raise ProtocolError(f"the learner's process named {module}.{name}, which may not cross")


def dumps(obj: Any, side: Any, *, with_frames: bool) -> bytes:
    """``obj`` as one framed message."""
    buffer = io.BytesIO()
    buffer.write(b"\0\0\0\0")
    Pickler(buffer, side, with_frames=with_frames).dump(obj)
    data = buffer.getbuffer()
    HEADER.pack_into(data, 0, len(data) - HEADER.size)
    return bytes(data)


def loads(payload: bytes, side: Any, *, strict: bool) -> Any:
    """Read one message (without its header)."""
    return Unpickler(io.BytesIO(payload), side, strict=strict).load()


class Plain:
    """A side that passes nothing by reference: plain data only (tests, examples).

    >>> loads(dumps({"a": (1, 2.5)}, Plain(), with_frames=False)[4:], Plain(), strict=True)
    {'a': (1, 2.5)}
    """

    def reference(self, obj: Any) -> None:
        return None

    def resolve(self, pid: Any) -> Any:
        raise ProtocolError(f"unexpected reference {pid!r}")
