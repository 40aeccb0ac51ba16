"""Checkers: read an outcome, return a verdict (data, never a bare boolean).

Each verdict names its anomalies with the glossary's words
(:mod:`harness.glossary`) and says, in a sentence, what was observed.

>>> from harness.outcome import Outcome
>>> accepted = {"m1": "o-1", "m2": "o-2"}
>>> outcome = Outcome(accepted=accepted, effects={"o-1": [3, 9]}, effect="charged")
>>> v = no_loss(outcome)
>>> v.holds, v.anomalies
(False, {'lost': ['o-2']})
>>> v.observed
'order o-2 was never charged (lost)'
>>> no_duplicate(outcome).observed
'order o-1 was charged 2 times (duplicated)'
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from harness.glossary import ANOMALIES
from harness.outcome import Outcome


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


def _orders(keys: list[str]) -> str:
    return ("order " if len(keys) == 1 else "orders ") + ", ".join(keys)


def no_loss(outcome: Outcome) -> Verdict:
    """Every accepted message took effect at least once."""
    lost = outcome.lost
    if not lost:
        return _holds()
    return Verdict(
        False,
        {"lost": lost},
        f"{_orders(lost)} {'was' if len(lost) == 1 else 'were'} never {outcome.effect} (lost)",
    )


def no_duplicate(outcome: Outcome) -> Verdict:
    """No message took effect more than once."""
    return duplicates_within(outcome, per_crash=0)


def duplicates_within(outcome: Outcome, *, per_crash: int) -> Verdict:
    """At most ``per_crash`` extra applications for each crash of the run (0: none at all)."""
    duplicated = outcome.duplicated
    extra = sum(count - 1 for count in duplicated.values())
    if extra <= per_crash * outcome.crashes:
        return _holds()
    parts = [f"{key} was {outcome.effect} {count} times" for key, count in duplicated.items()]
    marks = {}
    for key in duplicated:
        for nth, step in enumerate(outcome.effects[key][1:], start=2):
            marks[step] = f"{_ordinal(nth)} time {key} is {outcome.effect}"
    observed = "order " + "; ".join(parts) + " (duplicated)"
    if per_crash:
        crashes = f"{outcome.crashes} crash" + ("es" if outcome.crashes != 1 else "")
        observed += f": {extra} extra after {crashes}, more than {per_crash} per crash"
    return Verdict(False, {"duplicated": sorted(duplicated)}, observed, marks)


def settled(outcome: Outcome) -> Verdict:
    """Every message was settled by the end: nothing waits or stays unacknowledged forever."""
    if not outcome.unsettled:
        return _holds()
    ids = ", ".join(outcome.unsettled)
    many = len(outcome.unsettled) > 1
    observed = (
        f"message{'s' if many else ''} {ids} {'were' if many else 'was'} never settled (stuck)"
    )
    return Verdict(False, {"stuck": list(outcome.unsettled)}, observed)


def no_swallow(outcome: Outcome) -> Verdict:
    """The component never caught a crash and went on as if nothing happened."""
    if not outcome.swallowed:
        return _holds()
    marks = {
        index: "the crash was caught here"
        for index, step in enumerate(outcome.timeline.steps)
        if step.is_crash and "swallowed" in step.what
    }
    return Verdict(
        False,
        {"swallowed": [f"{outcome.swallowed} crash(es)"]},
        f"the component caught {outcome.swallowed} crash(es) and went on (swallowed)",
        marks,
    )


def _ordinal(n: int) -> str:
    return {2: "second", 3: "third", 4: "fourth"}.get(n, f"{n}th")


def within_retention(outcome: Outcome) -> Verdict:
    """Each key took effect as often as its dedup window says (``notes["expected"]``).

    A duplicate within the retention window must change nothing; one that comes after
    the window must take effect again, since its record was purged.
    """
    expected = outcome.notes.get("expected", {})
    window = outcome.notes.get("retention")
    too_many = {key: n for key, n in expected.items() if outcome.applied(key) > n}
    too_few = {key: n for key, n in expected.items() if outcome.applied(key) < n}
    if too_many:
        parts = [
            f"{key} was {outcome.effect} {outcome.applied(key)} times, {n} expected"
            for key, n in too_many.items()
        ]
        return Verdict(
            False,
            {"duplicated": sorted(too_many)},
            "order " + "; ".join(parts) + f": a duplicate within the {window:g} s retention "
            "window took effect again (duplicated)",
        )
    if too_few:
        parts = [
            f"{key} was {outcome.effect} {outcome.applied(key)} time(s), {n} expected"
            for key, n in too_few.items()
        ]
        return Verdict(
            False,
            {"overflowed": sorted(too_few)},
            "order " + "; ".join(parts) + f": a duplicate that came after the {window:g} s "
            "retention window was still recognised, so its record was kept past the window "
            "(overflowed)",
        )
    return _holds()


# -- the order desk (ch00): its answers, read from ``notes["replies"]`` --------------------------


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


def per_key_order(outcome: Outcome) -> Verdict:
    """Per key, releases and escalated gaps go 1, 2, 3, … with no number left out or repeated.

    Reads ``notes["settled"]``: key → ``(kind, seq, step, waited)`` in order, kind
    ``"release"`` or ``"skip"`` (an escalated gap).
    """
    for key, settled in sorted(outcome.notes.get("settled", {}).items()):
        expected = 1
        for kind, seq, step, _waited in settled:
            if seq == expected:
                expected += 1
                continue
            verb = "released" if kind == "release" else "skipped"
            if seq < expected:
                observed = f"{key} #{seq} was {verb} after #{expected - 1}"
            else:
                missing = f"#{expected}" if seq == expected + 1 else f"#{expected}..#{seq - 1}"
                observed = (
                    f"{key} #{seq} was {verb} while {missing} had been neither released "
                    "nor escalated"
                )
            return Verdict(
                False,
                {"reordered": [f"{key} #{seq}"]},
                observed + " (reordered)",
                {step: f"out of order: {key} #{seq}"},
            )
    return _holds()


def gap_escalated_in_time(outcome: Outcome) -> Verdict:
    """A missing number is escalated once its key has waited the gap timeout: not before, not never.

    Reads ``notes["settled"]`` (see :func:`per_key_order`), ``notes["gap_timeout"]`` and
    ``notes["overdue"]`` (key → seconds waited, step the wait began). Escalating early
    gives up a number that may still come (*lost*); waiting on is *stuck*.
    """
    timeout = outcome.notes.get("gap_timeout", 0.0)
    for key, settled in sorted(outcome.notes.get("settled", {}).items()):
        for kind, seq, step, waited in settled:
            if kind == "skip" and (waited is None or waited < timeout - 1e-6):
                after = "with nothing held behind it" if waited is None else f"after {waited:.3f} s"
                return Verdict(
                    False,
                    {"lost": [f"{key} #{seq}"]},
                    f"{key} #{seq} was escalated {after}, before the gap timeout of "
                    f"{timeout:g} s: a number that may still come is given up (lost)",
                    {step: f"escalated too early ({key} #{seq})"},
                )
    overdue = outcome.notes.get("overdue", {})
    if overdue:
        key, (waited, step) = sorted(overdue.items())[0]
        return Verdict(
            False,
            {"stuck": sorted(overdue)},
            f"{key} waited {waited:.3f} s for a missing number, past the gap timeout of "
            f"{timeout:g} s, without escalating it: events behind a gap wait forever (stuck)",
            {step: f"{key} starts waiting here"},
        )
    return _holds()


def bounded(outcome: Outcome) -> Verdict:
    """The buffer never held more than ``notes["capacity"]`` events at once."""
    capacity = outcome.notes.get("capacity")
    held = outcome.notes.get("held_max", 0)
    if capacity is None or held <= capacity:
        return _holds()
    step = outcome.notes.get("overflow_step")
    marks = {step: f"one more than the capacity of {capacity}"} if step is not None else {}
    return Verdict(
        False,
        {"overflowed": [f"{held} held"]},
        f"the buffer held {held} events at once, more than its capacity of {capacity}; "
        "a full buffer must refuse (raise BufferFull) instead of growing (overflowed)",
        marks,
    )


# -- the message bus and request/reply (ch01): outcomes of harness.workloads.bus and
# -- harness.workloads.status_queries, read through their extra fields.


def one_handler(outcome: Outcome) -> Verdict:
    """Each command reached exactly one handler; none, or two, made ``send`` fail clearly."""
    for sent in outcome.sent:
        name = f"{sent.command} ({sent.type})"
        ran = list(sent.handled_by)
        for handler, text in sent.refused:
            if sent.type not in text:
                return Verdict(
                    False,
                    {},
                    f"the bus refused {handler} as a second handler of {sent.type}, with an "
                    f"error that does not name {sent.type}: {text!r}",
                )
        if len(ran) > 1:
            observed = f"{name} was handled by {' and '.join(ran)} (duplicated)"
            if len(sent.handlers) > 1:
                observed += ": a command has exactly one handler, and two are an error"
            return Verdict(False, {"duplicated": [sent.command]}, observed, {sent.step: "sent"})
        wanted = {0: "NoHandler", 1: None}.get(len(sent.handlers), "TooManyHandlers")
        got = sent.error[0] if sent.error else None
        if wanted is None and ran and got is None:
            if sent.reply != {"handled_by": ran[0], "command": sent.command}:
                return Verdict(
                    False,
                    {},
                    f"send({sent.command}) returned {sent.reply!r}, not the reply of its "
                    f"handler {ran[0]}",
                    {sent.step: "returned"},
                )
            continue
        if wanted is None:
            observed = (
                f"{name} has one handler, {sent.handlers[0]}, but send raised {got}"
                if got
                else f"{name} has one handler, {sent.handlers[0]}, and it never ran"
            )
            return Verdict(False, {"lost": [sent.command]}, observed, {sent.step: "here"})
        if got == wanted and not ran and sent.type in sent.error[1]:
            continue
        registered = ", ".join(sent.handlers) or "no handler"
        if got == wanted:
            observed = (
                f"send({sent.command}) raised {got}, but its message does not name "
                f"{sent.type}: {sent.error[1]!r}"
            )
        elif got:
            observed = f"{name} has {registered}, but send raised {got}, not {wanted}"
        elif ran:
            observed = (
                f"{name} has {registered}, and send gave it to {ran[0]} without a word, "
                f"instead of raising {wanted}"
            )
        else:
            observed = (
                f"{name} has {registered}: no handler ran, and send returned "
                f"{sent.reply!r} as if it had been handled, instead of raising {wanted} (lost)"
            )
            return Verdict(False, {"lost": [sent.command]}, observed, {sent.step: "returned"})
        return Verdict(False, {}, observed, {sent.step: "here"})
    return _holds()


def every_subscriber(outcome: Outcome) -> Verdict:
    """Each event reached every subscriber of its type once, one failing one stopping no other."""
    for event in outcome.published.values():
        got: dict[str, list] = {}
        for delivery in outcome.deliveries:
            if delivery.event == event.event:
                got.setdefault(delivery.subscriber, []).append(delivery)
        strangers = sorted(set(got) - set(event.subscribers))
        if strangers:
            return Verdict(
                False,
                {},
                f"{', '.join(strangers)} got {event.event} ({event.type}), a type "
                f"{'it does' if len(strangers) == 1 else 'they do'} not subscribe to",
            )
        for subscriber in event.subscribers:
            taken = [d for d in got.get(subscriber, []) if d.ok]
            if len(taken) > 1:
                marks = {d.step: f"{subscriber} gets {event.event} again" for d in taken[1:]}
                return Verdict(
                    False,
                    {"duplicated": [f"{event.event}→{subscriber}"]},
                    f"{subscriber} got {event.event} ({event.type}) {len(taken)} times: "
                    "publishing it again for a failing subscriber gave it again to one "
                    "that already had it (duplicated)",
                    marks,
                )
            could = event.failures.get(subscriber, 0) <= outcome.retries
            if taken or not could:
                continue
            failed_before = [
                d.subscriber
                for d in outcome.deliveries
                if d.event == event.event and not d.ok and d.subscriber != subscriber
            ]
            tried = got.get(subscriber, [])
            if not tried and failed_before:
                why = f": {failed_before[0]} failed before it, and the others were never tried"
            elif tried and event.rounds == 1:
                why = ": publish did not say it failed, so it was never published again"
            elif len(tried) < event.rounds:
                why = (
                    f": the desk published it {event.rounds} times, but it reached "
                    f"{subscriber} only {len(tried)} time(s)"
                )
            else:
                why = ""
            return Verdict(
                False,
                {"lost": [f"{event.event}→{subscriber}"]},
                f"{subscriber} never got {event.event} ({event.type}){why} (lost)",
            )
    return _holds()


def _question_of(outcome: Outcome, body: object) -> str | None:
    for reply in outcome.replies:
        if reply.body == body:
            return reply.question
    return None


def correlated(outcome: Outcome) -> Verdict:
    """Every answer is a reply to its own question (matched by correlation id), or 'timed out'."""
    for name, answers in outcome.answers.items():
        question = outcome.questions[name]
        own = [r.body for r in outcome.replies if r.question == name]
        for answer in answers:
            if answer.body is None or answer.body in own:
                continue
            other = _question_of(outcome, answer.body)
            whose = f"the reply to {other}" if other else f"{answer.body!r}, which is no reply"
            return Verdict(
                False,
                {"reordered": [name]},
                f"{name} (about {question.order}) was answered with {whose} (reordered)",
                {answer.step: f"the answer to {name}"},
            )
    return _holds()


def answered_in_time(outcome: Outcome) -> Verdict:
    """A question is answered by its deadline: its reply if one came in time, else 'timed out'."""
    for name, answers in outcome.answers.items():
        question = outcome.questions[name]
        deadline = question.deadline
        in_time = [r for r in outcome.replies if r.question == name and r.time <= deadline + 1e-9]
        for answer in answers:
            if answer.time > deadline + 1e-9:
                what = (
                    "timed out"
                    if answer.body is None
                    else f"the reply of t={_reply_time(outcome, name, answer.body)}"
                )
                return Verdict(
                    False,
                    {"late": [name]},
                    f"{name} was answered at t={answer.time:.3f} ({what}), after its timeout "
                    f"at t={deadline:.3f} (late)",
                    {answer.step: "after the timeout"},
                )
            if answer is not answers[0]:
                continue  # a second answer in time is answered_once's to report
            if answer.body is None and in_time:
                return Verdict(
                    False,
                    {"lost": [name]},
                    f"{name} was answered 'timed out' at t={answer.time:.3f}, but its reply "
                    f"came at t={in_time[0].time:.3f}, before its timeout at "
                    f"t={deadline:.3f} (lost)",
                    {answer.step: "timed out?"},
                )
            if answer.body is None and answer.time < deadline - 1e-9:
                return Verdict(
                    False,
                    {},
                    f"{name} was answered 'timed out' at t={answer.time:.3f}, before its "
                    f"timeout at t={deadline:.3f}: the timeout is measured from the ask",
                    {answer.step: "too soon"},
                )
    return _holds()


def _reply_time(outcome: Outcome, name: str, body: object) -> str:
    times = [r.time for r in outcome.replies if r.question == name and r.body == body]
    return f"{times[-1]:.3f}" if times else "?"


def answered_once(outcome: Outcome) -> Verdict:
    """Every question is answered exactly once: duplicate and late replies are ignored."""
    for name, answers in outcome.answers.items():
        if not answers:
            return Verdict(
                False,
                {"stuck": [name]},
                f"{name} was never answered, not even 'timed out' (stuck)",
            )
        if len(answers) > 1:
            said = ", ".join(
                f"t={a.time:.3f} {'timed out' if a.body is None else 'a reply'}" for a in answers
            )
            marks = {a.step: f"answer {n} to {name}" for n, a in enumerate(answers, 1)}
            return Verdict(
                False,
                {"duplicated": [name]},
                f"{name} was answered {len(answers)} times ({said}) (duplicated)",
                marks,
            )
    return _holds()


# -- the transactional outbox (ch05): events, read from ``notes["outbox"]`` ----------------------


def _outbox(outcome: Outcome) -> dict:
    return outcome.notes.get("outbox", {"committed": {}, "published": [], "unsent": []})


def _be(keys: list[str]) -> str:
    return "was" if len(keys) == 1 else "were"


def _events(keys: list[str]) -> str:
    return ("event " if len(keys) == 1 else "events ") + ", ".join(keys)


def no_lost_event(outcome: Outcome) -> Verdict:
    """Every committed change is published at least once (or sits committed in the outbox)."""
    box = _outbox(outcome)
    seen = {key for _, _, key, _ in box["published"]}
    lost = sorted(key for key in box["committed"] if key not in seen)
    if not lost:
        return _holds()
    observed = f"{_events(lost)} {_be(lost)} committed and never published (lost)"
    return Verdict(False, {"lost": lost}, observed)


def no_phantom_event(outcome: Outcome) -> Verdict:
    """Nothing is published for a change that was never committed (rolled back, or never made)."""
    box = _outbox(outcome)
    phantoms = [row for row in box["published"] if row[2] not in box["committed"]]
    if not phantoms:
        return _holds()
    keys = sorted({key.lstrip("?") for _, _, key, _ in phantoms})
    observed = (
        f"{_events(keys)} {_be(keys)} published for a change that was never committed: "
        "its transaction rolled back, or never happened (phantom)"
    )
    marks = {step: "published, never committed" for step, *_ in phantoms if step >= 0}
    return Verdict(False, {"phantom": keys}, observed, marks)


def _seq(key: str) -> tuple[str, int] | None:
    order, _, seq = key.rpartition("#")
    return (order, int(seq)) if order and seq.isdigit() else None


def events_in_order(outcome: Outcome) -> Verdict:
    """Per order, events are first published in the order they were written.

    A deduplicating consumer keeps the first copy of each message, so the order
    that counts is that of first publications; later copies are absorbed.
    """
    first: dict[str, int] = {}
    latest: dict[str, tuple[int, int]] = {}
    reordered: list[str] = []
    marks: dict[int, str] = {}
    for step, _, key, _ in _outbox(outcome)["published"]:
        parsed = _seq(key)
        if parsed is None or key in first:
            continue
        first[key] = step
        order, seq = parsed
        if order in latest and latest[order][0] > seq:
            reordered.append(f"{order}#{seq} after {order}#{latest[order][0]}")
            marks[step] = f"{order}#{seq} published after {order}#{latest[order][0]}"
        if order not in latest or latest[order][0] < seq:
            latest[order] = (seq, step)
    if not reordered:
        return _holds()
    observed = "per order, events were published out of the order they were written: " + (
        "; ".join(reordered) + " (reordered)"
    )
    return Verdict(False, {"reordered": reordered}, observed, marks)


def republished_with_same_id(outcome: Outcome) -> Verdict:
    """Every publication of an event carries the event's one message id."""
    box = _outbox(outcome)
    ids: dict[str, list[str]] = {}
    for _, message_id, key, _ in box["published"]:
        if key in box["committed"] and message_id not in ids.setdefault(key, []):
            ids[key].append(message_id)
    wanted = box["committed"]
    bad = {
        key: got
        for key, got in ids.items()
        if len(got) > 1 or (wanted.get(key) is not None and got != [wanted[key]])
    }
    if not bad:
        return _holds()
    parts = []
    for key, got in sorted(bad.items()):
        written = f", written as {wanted[key]}," if wanted.get(key) is not None else ""
        parts.append(f"event {key}{written} went out as {' and '.join(got)}")
    observed = (
        "; ".join(parts) + ": a copy under another id is a new message to a consumer that "
        "deduplicates by message id, so it takes the event twice (duplicated)"
    )
    marks = {
        step: f"{message_id}: not {key}'s id"
        for step, message_id, key, _ in box["published"]
        if key in bad and wanted.get(key) not in (None, message_id) and step >= 0
    }
    return Verdict(False, {"duplicated": sorted(bad)}, observed, marks)


def published_once(outcome: Outcome) -> Verdict:
    """Each event is published exactly once (when nothing crashed and no relay stalled)."""
    counts: dict[str, list[int]] = {}
    for step, _, key, _ in _outbox(outcome)["published"]:
        counts.setdefault(key, []).append(step)
    twice = {key: steps for key, steps in counts.items() if len(steps) > 1}
    if not twice:
        return _holds()
    parts = [f"{key} was published {len(steps)} times" for key, steps in sorted(twice.items())]
    marks = {}
    for key, steps in twice.items():
        for nth, step in enumerate(steps[1:], start=2):
            marks[step] = f"{_ordinal(nth)} time {key} is published"
    observed = "event " + "; ".join(parts) + ", with no crash (duplicated)"
    return Verdict(False, {"duplicated": sorted(twice)}, observed, marks)


def outbox_drained(outcome: Outcome) -> Verdict:
    """Every committed outbox row is marked sent by the end: none stays pending or claimed."""
    box = _outbox(outcome)
    unsent = list(box["unsent"])
    if not unsent:
        return _holds()
    claimed = box.get("claimed", {})
    holders = sorted({claimed[key] for key in unsent if key in claimed})
    held = f", still claimed by {', '.join(holders)}" if holders else ""
    observed = (
        f"outbox {'rows' if len(unsent) > 1 else 'row'} of {_events(unsent)} "
        f"{_be(unsent)} never marked sent{held}: pending or claimed forever (stuck)"
    )
    return Verdict(False, {"stuck": unsent}, observed)


_COMMITTED = re.compile(r"(\w[\w.-]*)\[(\d+)\]=(\d+)")


def committed_processed(outcome: Outcome) -> Verdict:
    """Per partition, every record below the group's committed offset took effect.

    Reads ``outcome.notes["log"]``: ``topic``, ``committed`` (partition → the
    committed offset, or None) and ``records`` (partition → offset → message
    id). Records left out of ``outcome.accepted`` (removed by retention before
    anyone could read them) are not counted.
    """
    log = outcome.notes.get("log")
    if log is None:
        raise ValueError("committed_processed reads outcome.notes['log'], from a log workload")
    topic = log["topic"]
    skipped: list[tuple[str, int, int]] = []
    for partition, committed in sorted(log["committed"].items()):
        for offset, message_id in sorted(log["records"][partition].items()):
            if committed is None or offset >= committed:
                break
            key = outcome.accepted.get(message_id)
            if key is not None and not outcome.effects.get(key):
                skipped.append((key, partition, offset))
    if not skipped:
        return _holds()
    keys = [key for key, _, _ in skipped]
    where = ", ".join(f"{key} ({topic}[{p}] {o})" for key, p, o in skipped)
    observed = (
        f"{_orders(keys).split(' ')[0]} {where}: below the group's committed offset, "
        f"but never {outcome.effect} (lost)"
    )
    marks: dict[int, str] = {}
    for key, partition, offset in skipped:
        for index, step in enumerate(outcome.timeline.steps):
            if not step.what.startswith("commit "):
                continue
            passed = any(
                name == topic and int(p) == partition and int(o) > offset
                for name, p, o in _COMMITTED.findall(step.what)
            )
            if passed:
                marks.setdefault(index, f"commits past {key}, never {outcome.effect}")
                break
    return Verdict(False, {"lost": sorted(set(keys))}, observed, marks)


def replay_converges(outcome: Outcome) -> Verdict:
    """The read model's final view equals the view built from every record exactly once.

    Reads ``outcome.notes["view"]`` (what the read model shows: key → list of
    items) and ``outcome.notes["expected"]`` (the same, folded from the log).
    """
    expected = outcome.notes.get("expected")
    if expected is None:
        raise ValueError("replay_converges reads outcome.notes['expected'] (a read-model run)")
    view = outcome.notes.get("view") or {}
    anomalies: dict[str, list[str]] = {}
    parts = []
    for key in sorted(set(expected) | set(view)):
        want, have = list(expected.get(key, [])), list(view.get(key, []))
        if want == have:
            continue
        missing = [item for item in want if item not in have]
        extra = [item for item in dict.fromkeys(have) if have.count(item) > want.count(item)]
        if missing:
            anomalies.setdefault("lost", []).extend(missing)
            word = "lost"
        elif extra:
            anomalies.setdefault("duplicated", []).extend(extra)
            word = "duplicated"
        else:
            anomalies.setdefault("reordered", []).append(key)
            word = "reordered"
        parts.append(f"{key}: the view shows {have}, the log holds {want} ({word})")
    if not parts:
        return _holds()
    return Verdict(False, anomalies, "; ".join(parts))


def outbox_purged(outcome: Outcome) -> Verdict:
    """Every row sent longer ago than its retention (plus one purge interval) is gone."""
    box = _outbox(outcome)
    overdue = list(box.get("overdue", ()))
    if not overdue:
        return _holds()
    observed = (
        f"outbox {'rows' if len(overdue) > 1 else 'row'} {', '.join(overdue)} "
        f"{_be(overdue)} sent and still there long after the {box['retention']:g} s retention: "
        "the outbox grows without bound (overflowed)"
    )
    return Verdict(False, {"overflowed": overdue}, observed)


def projection_matches(outcome: Outcome) -> Verdict:
    """Each order's projected ``(status, version)`` is what its events give folded in version order.

    Reads ``notes["projection"]`` (what the table holds) and ``notes["folded"]`` (what it
    should hold). A missing row is *lost*; a row left behind by an older event is *reordered*.
    """
    projection = outcome.notes.get("projection", {})
    for order, (status, version) in sorted(outcome.notes.get("folded", {}).items()):
        got = projection.get(order)
        if got is None:
            return Verdict(
                False,
                {"lost": [order]},
                f"order {order} is missing from the projection; its events give {status} "
                f"(version {version}) (lost)",
            )
        if tuple(got) != (status, version):
            step = outcome.notes.get("last_write", {}).get(order)
            marks = {} if step is None else {step: f"{order} set to {got[0]} (version {got[1]})"}
            return Verdict(
                False,
                {"reordered": [order]},
                f"order {order} shows {got[0]} (version {got[1]}), but its events folded in "
                f"version order give {status} (version {version}): an older event was applied "
                "after a newer one, or the newest never was (reordered)",
                marks,
            )
    return _holds()
