"""The message bus and request/reply (ch01).

Outcomes of the ``message-bus`` and ``status-queries`` workloads, read through their
extra fields.
"""

from __future__ import annotations

from harness.checkers.verdict import Verdict, _holds
from harness.outcome import Outcome


def one_handler(outcome: Outcome) -> Verdict:
    """Each command reached exactly one handler; none, or two, made ``send`` fail clearly.

    The one handler is the one whose registration the bus accepted, and when it
    refuses the command, ``send`` lets its ``Refused`` through to the sender.
    """
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
        strangers = [handler for handler in ran if handler not in sent.handlers]
        if strangers:
            stranger, refused = strangers[0], [handler for handler, _ in sent.refused]
            if stranger in refused:
                kept = " and ".join(sent.handlers) or "no handler"
                observed = (
                    f"{name} was handled by {stranger}, whose registration as a handler of "
                    f"{sent.type} the bus refused (phantom): a refused registration leaves "
                    f"{kept} in place"
                )
                return Verdict(False, {"phantom": [sent.command]}, observed, {sent.step: "sent"})
            observed = f"{name} was handled by {stranger}, which never registered for {sent.type}"
            return Verdict(False, {"lost": [sent.command]}, observed, {sent.step: "sent"})
        wanted = {0: "NoHandler", 1: None}.get(len(sent.handlers), "TooManyHandlers")
        got = sent.error[0] if sent.error else None
        if wanted is None and ran and sent.refused_by:
            if got == "Refused":
                continue
            if got is None:
                observed = (
                    f"{sent.refused_by[0]} refused {name}, but send returned {sent.reply!r} as "
                    "if it had been done: a command's refusal is the sender's to hear (swallowed)"
                )
                return Verdict(
                    False, {"swallowed": [sent.command]}, observed, {sent.step: "returned"}
                )
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
            elif not tried:
                why = (
                    f": the desk published it {_times(event.rounds)}, and publish never called "
                    f"{subscriber}, though it subscribes to {event.type}"
                )
            elif event.rounds == 1:
                why = ": publish did not say it failed, so it was never published again"
            elif len(tried) < event.rounds:
                why = (
                    f": the desk published it {_times(event.rounds)}, but it reached "
                    f"{subscriber} only {_times(len(tried))}"
                )
            else:
                why = ""
            return Verdict(
                False,
                {"lost": [f"{event.event}→{subscriber}"]},
                f"{subscriber} never got {event.event} ({event.type}){why} (lost)",
            )
        wrong = _misreported(outcome, event)
        if wrong:
            return wrong
    return _holds()


def _misreported(outcome: Outcome, event) -> Verdict | None:
    """What each publish of ``event`` returned must name exactly those that raised, not since
    taken it in: the desk publishes again while the list is not empty, and only then."""
    took: set[str] = set()
    for number, returned in enumerate(event.returned, start=1):
        tried = [d for d in outcome.deliveries if d.event == event.event and d.round == number]
        took |= {d.subscriber for d in tried if d.ok}
        expected = {d.subscriber for d in tried if not d.ok} - took
        plain = returned is None or (
            isinstance(returned, (tuple, list, set, frozenset))
            and all(isinstance(name, str) for name in returned)
        )
        if plain and set(returned or ()) == expected:
            continue
        which = "" if len(event.returned) == 1 else f"on its {_nth(number)} publish, "
        failed = (
            f"{', '.join(sorted(expected))} raised and {'has' if len(expected) == 1 else 'have'} "
            "not taken it in"
            if expected
            else "every subscriber it called took it in"
        )
        observed = (
            f"publish({event.event}) returned {returned!r} {which}but {failed}: publish returns "
            "the names of the subscribers that raised, and only those"
        )
        return Verdict(False, {}, observed)
    return None


def _times(n: int) -> str:
    return {1: "once", 2: "twice"}.get(n, f"{n} times")


def _nth(n: int) -> str:
    return {1: "first", 2: "second", 3: "third"}.get(n, f"{n}th")


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


def unique_correlation_ids(outcome: Outcome) -> Verdict:
    """No two questions were ever sent with the same correlation id, over the requester's life.

    Two questions about the same order are two questions, and a question that
    is answered may still get a copy or a late reply: an id that comes back for
    a later question would let that straggler answer it.
    """
    owner: dict[str, str] = {}
    for request in outcome.requests:
        if request.question is None:
            continue
        first = owner.setdefault(request.correlation_id, request.question)
        if first == request.question:
            continue
        earlier, later = outcome.questions[first], outcome.questions[request.question]
        if earlier.order == later.order:
            why = f"both are about {later.order}, yet they are two questions"
        elif outcome.answers.get(first) and outcome.answers[first][0].time <= later.asked_at:
            why = f"{first} was answered already, but a copy or a late reply to it may still come"
        else:
            why = f"{first} was still waiting"
        observed = (
            f"{request.question} (about {later.order}) was sent with correlation id "
            f"{request.correlation_id!r}, the id of {first} (about {earlier.order}): {why}, "
            f"and a reply to {first} would answer {request.question}"
        )
        steps = [r.step for r in outcome.requests if r.correlation_id == request.correlation_id]
        marks = {step: f"corr={request.correlation_id}" for step in steps}
        return Verdict(False, {}, observed, marks)
    return _holds()
