"""The order desk (ch00): its answers, the messages it handed over, what reached each service."""

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
    copies = [d for d in outcome.notes.get("dropped", ()) if d.order in missing]
    if copies:
        observed += (
            f": {copies[0].service} dropped its message {copies[0].message_id!r} as a copy of "
            f"{copies[0].first}'s"
        )
    lost = [f"{order} → {service}" for order, absent in missing.items() for service in absent]
    marks = {r.step: f"{r.order} accepted" for r in _replies(outcome) if r.order in missing}
    return Verdict(False, {"lost": lost}, observed, marks)


def accepted_not_confirmed(outcome: Outcome) -> Verdict:
    """The desk answered only "accepted" or "refused": never more than it knew.

    And it handed the work over rather than doing it: when it answered
    "accepted", no service had acted on the order yet, and each service acts on
    it once, from its message. A service that did its part before the answer
    was called by the desk; one that did it twice was called and sent a message.
    """
    claims = [r for r in _replies(outcome) if r.reply not in (None, "accepted", "refused")]
    if claims:
        orders = [r.order for r in claims]
        observed = (
            f"the desk answered {claims[0].reply!r} for {_orders(orders)}; all it knows is that "
            "the broker took the messages, not that any service has done its part (overpromised)"
        )
        marks = {r.step: f"{r.reply!r}" for r in claims}
        return Verdict(False, {"overpromised": orders}, observed, marks)
    received = outcome.notes.get("received", {})
    for reply in _replies(outcome):
        if reply.reply != "accepted":
            continue
        steps = {
            service: [step for order, step in got if order == reply.order]
            for service, got in received.items()
        }
        early = [service for service, got in steps.items() if any(s < reply.step for s in got)]
        twice = [service for service, got in steps.items() if len(got) > 1]
        if not early and not twice:
            continue
        marks = {
            step: f"{service} acts on {reply.order}"
            for service in early + twice
            for step in steps[service]
        }
        marks[reply.step] = "the desk answers"
        anomalies = {"duplicated": [f"{reply.order} → {service}" for service in twice]}
        if early and twice == early:
            observed = (
                f"{', '.join(early)} acted on {reply.order} before the desk answered, and again "
                "when its message came (duplicated): the desk called them as well as handing "
                "them a message"
            )
        elif early:
            observed = (
                f"{', '.join(early)} acted on {reply.order} before the desk answered: the desk "
                "called instead of handing over a message, yet when it answers no service may "
                "have done anything"
            )
            if twice:
                observed += f"; {', '.join(twice)} acted on it twice (duplicated)"
        else:
            observed = (
                f"{', '.join(twice)} acted on {reply.order} more than once (duplicated): one "
                "message per service, taken once"
            )
        return Verdict(False, anomalies if twice else {}, observed, marks)
    return _holds()


def unique_message_ids(outcome: Outcome) -> Verdict:
    """Every message the broker took from the desk has an id that no other message carries.

    A message is one order for one queue; the same message handed over again
    may keep its id. A service drops a message whose id it has already taken:
    when an id comes back for another order, that order is lost there.
    """
    messages: dict[str, list] = {}
    for handed in outcome.notes.get("handed", ()):
        named = messages.setdefault(handed.message_id, [])
        if all((h.queue, h.order) != (handed.queue, handed.order) for h in named):
            named.append(handed)
    for message_id, named in messages.items():
        if len(named) < 2:
            continue
        said = ", ".join(f"{h.order} to {h.queue}" for h in named[:5])
        more = f" and {len(named) - 5} more" if len(named) > 5 else ""
        observed = (
            f"message id {message_id!r} was given to {len(named)} messages ({said}{more}); "
            "an id names one message"
        )
        marks = {h.step: f"{message_id} again" for h in named[1:]}
        dropped = [d for d in outcome.notes.get("dropped", ()) if d.message_id == message_id]
        if not dropped:
            return Verdict(False, {}, observed, marks)
        first = dropped[0]
        observed += (
            f": {first.service} took it for {first.first} and dropped {first.order}'s as a "
            "copy (lost)"
        )
        marks.update({d.step: f"{d.order} dropped" for d in dropped})
        return Verdict(
            False, {"lost": [f"{d.order} → {d.service}" for d in dropped]}, observed, marks
        )
    return _holds()


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
