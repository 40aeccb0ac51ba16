"""Each chapter test keeps its own remembered failures in Hypothesis's example database.

Hypothesis files the failing examples of a ``@given`` function under a key made
from that function's source. Every exploration by generated traces runs the one
function inside :meth:`harness.explore.Explorer.random_faults`, so without more,
every test of every chapter would share a key: a failure saved by one test would
be replayed first by all the others, as data drawn for another workload, with
the time that costs (thousands of runs once enough failures are saved).
:class:`Keyed` puts a test's own name in front of every key it uses.

Imported only where Hypothesis already is (it costs half a second).
"""

from __future__ import annotations

from collections.abc import Iterable

from hypothesis.database import ExampleDatabase


class Keyed(ExampleDatabase):
    """``inner`` with every key prefixed by ``prefix``."""

    def __init__(self, inner: ExampleDatabase, prefix: bytes) -> None:
        super().__init__()
        self.inner, self.prefix = inner, prefix + b"\0"

    def __repr__(self) -> str:
        return f"Keyed({self.inner!r}, {self.prefix!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Keyed) and (other.inner, other.prefix) == (
            self.inner,
            self.prefix,
        )

    def __hash__(self) -> int:
        return hash(self.prefix)

    def save(self, key: bytes, value: bytes) -> None:
        self.inner.save(self.prefix + key, value)

    def fetch(self, key: bytes) -> Iterable[bytes]:
        return self.inner.fetch(self.prefix + key)

    def delete(self, key: bytes, value: bytes) -> None:
        self.inner.delete(self.prefix + key, value)

    def move(self, src: bytes, dest: bytes, value: bytes) -> None:
        self.inner.move(self.prefix + src, self.prefix + dest, value)
