"""The order desk (ch00): its answers (``notes["replies"]``) and what reached each service."""

from __future__ import annotations

from harness.checkers.verdict import Verdict, _holds, _orders
from harness.outcome import Outcome


def _replies(outcome: Outcome) -> list:
    return list(outcome.notes.get("replies", ()))


def _were(keys: list[str]) -> str:
    return "was" if len(keys) == 1 else "were"


def _claims_acceptance(reply) -> bool:
    """Any answer but "refused" (or none, from a desk that crashed) tells the customer yes."""
    return reply.reply is not None and reply.reply != "refused"


def accepts_while_broker_up(outcome: Outcome) -> Verdict:
    """While the broker was up, the desk accepted every order, whatever else was down.

    An order that got no answer because the desk itself had crashed binds nothing.
    """
    turned = [r for r in _replies(outcome) if "broker" not in r.down and r.reply == "refused"]
    if not turned:
        return _holds()
    orders = [r.order for r in turned]
    down = turned[0].down
    state = f"{', '.join(down)} {'was' if len(down) == 1 else 'were'} down" if down else "all up"
    observed = (
        f"{_orders(orders)} {_were(orders)} turned away while the broker was up "
        f"({turned[0].order}: {turned[0].reply!r}, when {state}) (unavailable)"
    )
    marks = {r.step: f"{r.order} turned away" for r in turned}
    return Verdict(False, {"unavailable": orders}, observed, marks)


def reaches_every_service(outcome: Outcome) -> Verdict:
    """Every accepted order reached every downstream service by the end of the run."""
    received = outcome.notes.get("received", {})
    reached = {service: {order for order, _ in got} for service, got in received.items()}
    missing: dict[str, list[str]] = {}
    for reply in _replies(outcome):
        if _claims_acceptance(reply):
            absent = [service for service, orders in reached.items() if reply.order not in orders]
            if absent:
                missing[reply.order] = absent
    if not missing:
        return _holds()
    parts = [f"{order} never reached {', '.join(absent)}" for order, absent in missing.items()]
    observed = "accepted order " + "; ".join(parts) + " (lost)"
    lost = [f"{order} → {service}" for order, absent in missing.items() for service in absent]
    marks = {r.step: f"{r.order} accepted" for r in _replies(outcome) if r.order in missing}
    return Verdict(False, {"lost": lost}, observed, marks)


def accepted_not_confirmed(outcome: Outcome) -> Verdict:
    """The desk answered only "accepted" or "refused": never more than it knew."""
    claims = [r for r in _replies(outcome) if r.reply not in (None, "accepted", "refused")]
    if not claims:
        return _holds()
    orders = [r.order for r in claims]
    observed = (
        f"the desk answered {claims[0].reply!r} for {_orders(orders)}; all it knows is that the "
        "broker took the messages, not that any service has done its part (overpromised)"
    )
    marks = {r.step: f"{r.reply!r}" for r in claims}
    return Verdict(False, {"overpromised": orders}, observed, marks)


def refuses_when_broker_down(outcome: Outcome) -> Verdict:
    """While the broker was down the desk accepted nothing, and no refused order reached a service.

    An order accepted then could not be in the broker: if it reached no service
    either, it is *lost*; if the desk did every part itself, synchronously, its
    "accepted" claimed a hand-over that never happened (*overpromised*). A
    refused order that a service acted on anyway is a *phantom*.
    """
    replies = _replies(outcome)
    received = outcome.notes.get("received", {})
    reached = {service: {order for order, _ in got} for service, got in received.items()}
    pretended = [r for r in replies if "broker" in r.down and _claims_acceptance(r)]
    if pretended:
        orders = [r.order for r in pretended]
        everywhere = all(all(r.order in got for got in reached.values()) for r in pretended)
        word = "overpromised" if everywhere else "lost"
        observed = (
            f"{_orders(orders)} {_were(orders)} answered {pretended[0].reply!r} while the broker "
            f"was down, when it could take no message ({word})"
        )
        marks = {r.step: f"{r.order} {r.reply}, broker down" for r in pretended}
        return Verdict(False, {word: orders}, observed, marks)
    phantoms = {
        r.order: [service for service, got in reached.items() if r.order in got]
        for r in replies
        if r.reply == "refused"
    }
    phantoms = {order: services for order, services in phantoms.items() if services}
    if not phantoms:
        return _holds()
    parts = [f"{order} reached {', '.join(services)}" for order, services in phantoms.items()]
    observed = "refused order " + "; ".join(parts) + " all the same (phantom)"
    marks = {r.step: f"{r.order} refused" for r in replies if r.order in phantoms}
    return Verdict(False, {"phantom": sorted(phantoms)}, observed, marks)
