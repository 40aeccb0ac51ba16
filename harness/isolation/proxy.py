"""Proxies: what one side holds for an object that lives on the other side.

A :class:`Proxy` forwards calls, attribute reads and writes, and the usual
operators (``len``, ``iter``, ``next``, ``in``, ``[]``, ``==``, ``with``) to
the object it stands for, through its connection. It knows the object's
public methods in advance (:func:`describe`), so ``proxy.method(...)`` costs
one round trip, not two. Two proxies for the same object are the same proxy,
so identity, ``==`` and ``hash`` of objects without their own equality need
no round trip.

On the learner's side, a proxy for a port reports the port's class, so
``isinstance(channel, Channel)`` holds there as it does in-process.
"""

from __future__ import annotations

import inspect
import types
from typing import Any

Info = tuple  # (kind, module, qualname, name, methods: tuple[(name, qualname)], dunders: tuple)

FORWARDED = (
    "__len__",
    "__iter__",
    "__next__",
    "__contains__",
    "__getitem__",
    "__setitem__",
    "__delitem__",
    "__eq__",
    "__hash__",
    "__bool__",
    "__repr__",
    "__str__",
    "__enter__",
    "__exit__",
    "__lt__",
    "__le__",
    "__gt__",
    "__ge__",
)
"""The special methods a proxy forwards, when the object's class defines them."""

_info_cache: dict[type, tuple] = {}


def describe(obj: Any) -> Info:
    """What the other side needs to build a proxy for ``obj`` without asking again."""
    if isinstance(obj, type):
        return ("class", obj.__module__, obj.__qualname__, obj.__name__, (), _dunders(type(obj)))
    cls = type(obj)
    known = _info_cache.get(cls)
    if known is None:
        methods = []
        for name in dir(cls):
            if name.startswith("_"):
                continue
            try:
                attr = inspect.getattr_static(cls, name)
            except AttributeError:
                continue
            if isinstance(attr, (staticmethod, classmethod)):
                attr = attr.__func__
            if isinstance(attr, types.FunctionType):
                methods.append((name, attr.__qualname__))
        known = (cls.__module__, cls.__qualname__, tuple(methods), _dunders(cls))
        _info_cache[cls] = known
    module, qualname, methods, dunders = known
    if callable(obj) and not methods:
        name = getattr(obj, "__qualname__", None)
        if isinstance(name, str):
            short = getattr(obj, "__name__", name)
            return (
                "callable",
                module,
                name,
                short if isinstance(short, str) else name,
                (),
                dunders,
            )
    return ("object", module, qualname, qualname.rpartition(".")[2], methods, dunders)


def _dunders(cls: type) -> tuple[str, ...]:
    found = []
    for name in FORWARDED:
        for klass in cls.__mro__:
            if name in klass.__dict__:
                if klass is not object and klass.__dict__[name] is not None:
                    found.append(name)
                break
    if any("__call__" in klass.__dict__ for klass in cls.__mro__ if klass is not object):
        found.append("__call__")
    return tuple(found)


class Proxy:
    """Stands for an object of the other side; see the module's docstring."""

    __slots__ = ("_conn", "_oid", "_info", "_count", "_cls", "_methods", "__weakref__")

    def __init__(self, conn: Any, oid: int, info: Info, cls: type | None) -> None:
        set_ = object.__setattr__
        set_(self, "_conn", conn)
        set_(self, "_oid", oid)
        set_(self, "_info", info)
        set_(self, "_count", 0)
        set_(self, "_cls", cls)
        set_(self, "_methods", dict(info[4]))

    def __del__(self) -> None:
        self._conn.released(self._oid, self._count)

    @property  # type: ignore[misc]
    def __class__(self) -> type:
        return self._cls or type(self)

    def _has(self, name: str) -> bool:
        return name in self._info[5]

    def _op(self, name: str, *args: Any) -> Any:
        return self._conn.request("op", self._oid, name, args)

    def _need(self, dunder: str, what: str) -> None:
        """Raise the TypeError Python raises for an object without ``dunder``, word for word
        (``what`` holds ``{type}`` where the message names the type)."""
        if not self._has(dunder):
            raise TypeError(what.format(type=f"'{self._info[2]}'"))

    def __getattr__(self, name: str) -> Any:
        if name in Proxy.__slots__:
            raise AttributeError(name)  # only while half built
        if name.startswith("__") and name.endswith("__"):
            if name == "__qualname__":
                return self._info[2]
            if name == "__name__":
                return self._info[3]
            raise AttributeError(name)
        qualname = self._methods.get(name)
        if qualname is not None:
            return Method(self, name, qualname)
        return self._conn.request("get", self._oid, name)

    def __setattr__(self, name: str, value: Any) -> None:
        self._conn.request("set", self._oid, name, (value,))

    def __delattr__(self, name: str) -> None:
        self._conn.request("op", self._oid, "delattr", (name,))

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self._info[0] == "object" and not self._has("__call__"):
            raise TypeError(f"{self._info[2]} object is not callable")
        return self._conn.request("call", self._oid, None, args, kwargs)

    def __repr__(self) -> str:
        if self._has("__repr__"):
            return self._op("repr")
        return f"<{self._info[2]} object>"

    def __str__(self) -> str:
        if self._has("__str__") or self._has("__repr__"):
            return self._op("str")
        return self.__repr__()

    def __bool__(self) -> bool:
        if self._has("__bool__") or self._has("__len__"):
            return self._op("bool")
        return True

    def __eq__(self, other: object) -> Any:
        if self._has("__eq__"):
            return self._op("eq", other)
        return self is other

    def __ne__(self, other: object) -> Any:
        result = self.__eq__(other)
        return result if result is NotImplemented else not result

    def __hash__(self) -> int:
        if self._has("__hash__"):
            return self._op("hash")
        return object.__hash__(self)

    def __len__(self) -> int:
        self._need("__len__", "object of type {type} has no len()")
        return self._op("len")

    def __iter__(self) -> Any:
        self._need("__iter__", "{type} object is not iterable")
        return self._op("iter")

    def __next__(self) -> Any:
        self._need("__next__", "{type} object is not an iterator")
        return self._op("next")

    def __contains__(self, item: object) -> bool:
        self._need("__contains__", "argument of type {type} is not iterable")
        return self._op("contains", item)

    def __getitem__(self, key: Any) -> Any:
        self._need("__getitem__", "{type} object is not subscriptable")
        return self._op("getitem", key)

    def __setitem__(self, key: Any, value: Any) -> None:
        self._need("__setitem__", "{type} object does not support item assignment")
        self._op("setitem", key, value)

    def __delitem__(self, key: Any) -> None:
        self._need("__delitem__", "{type} object doesn't support item deletion")
        self._op("delitem", key)

    def __lt__(self, other: object) -> Any:
        return self._op("lt", other)

    def __le__(self, other: object) -> Any:
        return self._op("le", other)

    def __gt__(self, other: object) -> Any:
        return self._op("gt", other)

    def __ge__(self, other: object) -> Any:
        return self._op("ge", other)

    def __enter__(self) -> Any:
        self._need("__enter__", "{type} object is not a context manager")
        return self._op("enter")

    def __exit__(self, kind: Any, error: BaseException | None, tb: Any) -> Any:
        # Only the exception crosses: its class and traceback are rebuilt from it on the other side.
        return self._op("exit", error)


class Method:
    """A bound method of a proxied object: calling it is one round trip."""

    __slots__ = ("_owner", "_name", "_qualname")

    def __init__(self, owner: Proxy, name: str, qualname: str) -> None:
        self._owner = owner
        self._name = name
        self._qualname = qualname

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        owner = self._owner
        return owner._conn.request("call", owner._oid, self._name, args, kwargs)

    def __getattr__(self, name: str) -> Any:
        if name == "__qualname__":
            return self._qualname
        if name == "__name__":
            return self._name
        if name == "__self__":
            return self._owner
        raise AttributeError(name)

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Method) and other._owner is self._owner and other._name == self._name
        )

    def __hash__(self) -> int:
        return hash((id(self._owner), self._name))

    def __repr__(self) -> str:
        return f"<bound method {self._qualname}>"
