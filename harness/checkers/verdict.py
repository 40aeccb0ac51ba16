"""A verdict: what a checker found, as data (never a bare boolean); phrases checkers share."""

from __future__ import annotations

from dataclasses import dataclass, field

from harness.glossary import ANOMALIES


@dataclass(frozen=True)
class Verdict:
    """What a checker found. ``marks`` points at timeline steps worth an arrow."""

    holds: bool
    anomalies: dict[str, list[str]] = field(default_factory=dict)
    observed: str = ""
    marks: dict[int, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for word in self.anomalies:
            if word not in ANOMALIES:
                raise ValueError(f"{word!r} is not a glossary word ({', '.join(ANOMALIES)})")


def _holds() -> Verdict:
    return Verdict(True)


def listed(items: list[str], shown: int = 3) -> str:
    """The first ``shown`` of ``items``, joined, and how many more there are.

    >>> listed(["m1 late", "m2 late", "m3 late", "m4 late", "m5 late"])
    'm1 late; m2 late; m3 late; and 2 more'
    """
    text = "; ".join(items[:shown])
    if len(items) > shown:
        text += f"; and {len(items) - shown} more"
    return text


def _orders(keys: list[str]) -> str:
    return ("order " if len(keys) == 1 else "orders ") + ", ".join(keys)


def _ordinal(n: int) -> str:
    return {2: "second", 3: "third", 4: "fourth"}.get(n, f"{n}th")
