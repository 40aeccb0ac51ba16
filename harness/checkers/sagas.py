"""Sagas (ch08): every saga ends, keeps the money and the stock right, acts once, in order.

These read the notes of :mod:`harness.workloads.order_saga`: ``orders`` (saga →
its order: ``sku``, ``quantity``, ``amount``), ``states`` (saga → its committed
state at the end), ``initial`` and ``stock`` (sku → units at the start and at
the end), ``charged`` and ``refunded`` (saga → money), ``saga_effects`` (``(time,
saga, command, step)`` of each effect), ``shipped_unpaid`` (sagas shipped while
nothing was charged) and ``phantoms`` (``(time, saga, command, state)`` of each
command relayed while its saga's committed state could not have sent it).

>>> from harness.outcome import Outcome
>>> notes = {"orders": {"s1": {"sku": "a", "quantity": 1, "amount": 30}},
...          "states": {"s1": "Compensated"}, "initial": {"a": 1}, "stock": {"a": 1},
...          "charged": {"s1": 30}, "refunded": {}, "saga_effects": [],
...          "shipped_unpaid": [], "phantoms": []}
>>> outcome = Outcome(accepted={"s1": "s1"}, effects={}, notes=notes)
>>> saga_ends(outcome).holds
True
>>> money_balanced(outcome).anomalies
{'duplicated': ['s1']}
"""

from __future__ import annotations

from collections import Counter

from harness.checkers.verdict import Verdict, _holds, listed

ENDED = ("Completed", "Compensated")


def _money(value: float) -> str:
    return f"{value:g}"


def saga_ends(outcome) -> Verdict:
    """Every saga ends ``Completed`` or ``Compensated``: none is stuck half-way."""
    states = outcome.notes["states"]
    stuck = [saga for saga, state in states.items() if state not in ENDED]
    if not stuck:
        return _holds()
    said = [
        f"{saga} is {states[saga]!r}" if states[saga] else f"{saga} has no row in sagas"
        for saga in stuck
    ]
    return Verdict(
        False,
        {"stuck": stuck},
        f"{listed(said)} at the end, 2 s after the last step: neither Completed nor "
        "Compensated (stuck)",
    )


def shipped_after_charge(outcome) -> Verdict:
    """Nothing ships unless its payment is charged, and kept."""
    notes = outcome.notes
    unpaid = list(dict.fromkeys(notes["shipped_unpaid"]))
    shipped = {saga for _, saga, command, _ in notes["saga_effects"] if command == "Ship"}
    for saga in sorted(shipped):
        net = notes["charged"].get(saga, 0) - notes["refunded"].get(saga, 0)
        if net <= 0 and saga not in unpaid:
            unpaid.append(saga)
    if not unpaid:
        return _holds()
    said = [
        f"{saga} was shipped with {_money(notes['charged'].get(saga, 0))} charged and "
        f"{_money(notes['refunded'].get(saga, 0))} refunded"
        for saga in unpaid
    ]
    return Verdict(
        False,
        {"early": unpaid},
        f"{listed(said)}: shipped without a charge (early)",
    )


def money_balanced(outcome) -> Verdict:
    """Charged minus refunded is the price for a completed saga, and 0 for any other."""
    notes = outcome.notes
    over, under, said = [], [], []
    for saga, order in notes["orders"].items():
        state = notes["states"].get(saga)
        charged, refunded = notes["charged"].get(saga, 0), notes["refunded"].get(saga, 0)
        net = charged - refunded
        due = order["amount"] if state == "Completed" else 0
        if abs(net - due) < 1e-9:
            continue
        money = f"{_money(charged)} charged and {_money(refunded)} refunded"
        if net > due and state == "Completed":
            said.append(f"{saga} ended Completed with {money}: more than its price (duplicated)")
            over.append(saga)
        elif net > due:
            said.append(
                f"{saga} ended {state} with {money}: it keeps {_money(net)} of a payment it "
                "gave up (duplicated)"
            )
            over.append(saga)
        else:
            said.append(f"{saga} ended {state} with {money}: {_money(due - net)} short (lost)")
            under.append(saga)
    if not said:
        return _holds()
    anomalies = {}
    if over:
        anomalies["duplicated"] = over
    if under:
        anomalies["lost"] = under
    return Verdict(False, anomalies, listed(said))


def stock_conserved(outcome) -> Verdict:
    """Each sku's units on the shelf plus those of its completed sagas are its units at first."""
    notes = outcome.notes
    held: Counter[str] = Counter()
    for saga, order in notes["orders"].items():
        if notes["states"].get(saga) == "Completed":
            held[order["sku"]] += order["quantity"]
    said: list[str] = []
    anomalies: dict[str, list[str]] = {}
    for sku, initial in notes["initial"].items():
        now = notes["stock"].get(sku, 0)
        if now + held[sku] == initial:
            continue
        word = "lost" if now + held[sku] < initial else "duplicated"
        anomalies.setdefault(word, []).append(sku)
        said.append(
            f"{sku} had {initial} units at the start, {now} on the shelf at the end and "
            f"{held[sku]} in completed sagas ({word})"
        )
    if not said:
        return _holds()
    return Verdict(False, anomalies, listed(said))


def step_once(outcome) -> Verdict:
    """Each command of each saga takes effect at most once."""
    twice = {key: len(steps) for key, steps in outcome.effects.items() if len(steps) > 1}
    if not twice:
        return _holds()
    said = [f"{key} took effect {n} times" for key, n in twice.items()]
    marks = {steps[1]: "← again" for steps in outcome.effects.values() if len(steps) > 1}
    return Verdict(False, {"duplicated": list(twice)}, listed(said) + " (duplicated)", marks)


def no_phantom_command(outcome) -> Verdict:
    """No command leaves for a state change that is not committed."""
    phantoms = outcome.notes["phantoms"]
    if not phantoms:
        return _holds()
    said = [
        f"{command} of {saga} was relayed at t={at:.3f} while its committed state was "
        f"{state!r}, which never sends it"
        for at, saga, command, state in phantoms
    ]
    keys = list(dict.fromkeys(f"{saga} {command}" for _, saga, command, _ in phantoms))
    return Verdict(False, {"phantom": keys}, listed(said) + " (phantom)")


def compensated_in_reverse(outcome) -> Verdict:
    """Compensations undo in reverse order: the refund before the release."""
    refunds: dict[str, tuple[float, int]] = {}
    late = []
    for at, saga, command, step in outcome.notes["saga_effects"]:
        if command == "RefundPayment":
            refunds.setdefault(saga, (at, step))
    releases = {}
    for at, saga, command, step in outcome.notes["saga_effects"]:
        if command == "ReleaseStock":
            releases.setdefault(saga, (at, step))
    for saga, (_, step) in refunds.items():
        if saga in releases and releases[saga][1] < step:
            late.append(saga)
    if not late:
        return _holds()
    said = [
        f"{saga}'s stock was released at t={releases[saga][0]:.3f}, before its refund at "
        f"t={refunds[saga][0]:.3f}"
        for saga in late
    ]
    marks = {releases[saga][1]: "← released before the refund" for saga in late}
    return Verdict(
        False,
        {"reordered": late},
        listed(said) + ": compensations go in reverse order (reordered)",
        marks,
    )
