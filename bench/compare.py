"""Comparing two measurements of bench/ratios.py: regressions, and the best of two.

Both measurements are what ``python bench/ratios.py --json FILE`` writes: a dict whose
``ratios`` maps each ratio's name to its ``value`` and which way is ``better``
(``lower`` or ``higher``). Only ratios are compared, never absolute times.
"""

from __future__ import annotations


def work_of(ratio: str) -> str:
    """The measured work behind a ratio's name: ``ch03 wall`` → ``ch03``, as ``--only`` takes."""
    if ratio.startswith("pairs "):
        return "pairs"
    if ratio.startswith("grader"):
        return "grader"
    return ratio.split()[0]


def regressions(baseline: dict, measured: dict, *, factor: float = 2.0) -> list[str]:
    """Every ratio of ``measured`` that is ``factor`` times worse than in ``baseline`` or more.

    Both are what ``--json`` writes. A ratio the baseline does not have is not compared.
    Returns one sentence per regression, naming the ratio and both values.

    >>> base = {"ratios": {"ch00 cpu": {"value": 1.5, "better": "lower"}}}
    >>> regressions(base, {"ratios": {"ch00 cpu": {"value": 2.9, "better": "lower"}}})
    []
    >>> regressions(base, {"ratios": {"ch00 cpu": {"value": 3.0, "better": "lower"}}})
    ["ch00 cpu: 3.00, 2.0x worse than the baseline's 1.50"]
    """
    found = []
    for name, now in sorted(measured["ratios"].items()):
        base = baseline["ratios"].get(name)
        if base is None:
            continue
        if now["better"] == "lower":
            worse = now["value"] / base["value"]
        else:
            worse = base["value"] / now["value"]
        if worse >= factor:
            found.append(
                f"{name}: {now['value']:.2f}, {worse:.1f}x worse than the baseline's "
                f"{base['value']:.2f}"
            )
    return found


def better_of(first: dict, second: dict) -> dict:
    """``first`` (as ``--json`` writes it) with each ratio the better of its two measurements."""
    merged = dict(first, ratios=dict(first["ratios"]))
    for name, ratio in second["ratios"].items():
        kept = merged["ratios"].get(name)
        lower = ratio["better"] == "lower"
        if kept is None or (ratio["value"] < kept["value"]) == lower:
            merged["ratios"][name] = ratio
    return merged
