"""Promises: an invariant in plain words, and the checker that decides it.

A test names the promises a learner's code must keep; the explorer runs the
code through crash schedules and reports the first promise broken, in these
words.

>>> NO_LOSS.statement
'every accepted message takes effect at least once: nothing is lost'
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from harness import checkers
from harness.checkers import Verdict, backpressure, retries, sagas
from harness.outcome import Outcome


@dataclass(frozen=True)
class Promise:
    """``id`` is short and stable (results and the self-check use it)."""

    id: str
    statement: str
    check: Callable[[Outcome], Verdict]

    def __call__(self, outcome: Outcome) -> Verdict:
        return self.check(outcome)


NO_LOSS = Promise(
    "no-loss",
    "every accepted message takes effect at least once: nothing is lost",
    checkers.no_loss,
)
NO_DUPLICATE = Promise(
    "no-duplicate",
    "no message takes effect twice: nothing is duplicated",
    checkers.no_duplicate,
)
SETTLED = Promise(
    "settled",
    "every delivery is settled in the end: nothing is stuck",
    checkers.settled,
)
NO_SWALLOW = Promise(
    "no-swallow",
    "a crash stops the component: it is never caught and ignored",
    checkers.no_swallow,
)


def duplicates_within(per_crash: int) -> Promise:
    """Each crash causes at most ``per_crash`` duplicate effects."""
    return Promise(
        "bounded-duplicates",
        f"each crash causes at most {per_crash} duplicate effects",
        lambda outcome: checkers.duplicates_within(outcome, per_crash=per_crash),
    )


RETENTION = Promise(
    "retention",
    "a processed message id is kept for the retention window and no longer: a duplicate "
    "within it changes nothing, one after it takes effect again",
    checkers.within_retention,
)
ACCEPTS_WHILE_BROKER_UP = Promise(
    "accepts-while-broker-up",
    "while the broker is up, every order is accepted, whatever state the downstream services "
    "are in",
    checkers.accepts_while_broker_up,
)
REACHES_EVERY_SERVICE = Promise(
    "reaches-every-service",
    "every accepted order reaches every downstream service once that service is back: "
    "nothing is lost",
    checkers.reaches_every_service,
)
ACCEPTED_NOT_CONFIRMED = Promise(
    "accepted-not-confirmed",
    "the desk answers 'accepted', never 'confirmed': a message promises delivery to the "
    "mailbox, not processing, so when the desk answers no service has acted on the order yet, "
    "and each acts on it once, from its message",
    checkers.accepted_not_confirmed,
)
REFUSES_WHEN_BROKER_DOWN = Promise(
    "refuses-when-broker-down",
    "while the broker is down, the desk refuses the order clearly instead of pretending to "
    "accept it, and no service acts on a refused order",
    checkers.refuses_when_broker_down,
)
UNIQUE_MESSAGE_ID = Promise(
    "unique-message-id",
    "every message the desk hands over has an id of its own, one order for one service, for "
    "the desk's whole life: a service drops a message whose id it has already taken",
    checkers.desk.unique_message_ids,
)
PER_KEY_ORDER = Promise(
    "per-key-order",
    "per key, what is released is strictly increasing and contiguous, except for escalated gaps",
    checkers.per_key_order,
)
GAP_TIMEOUT = Promise(
    "gap-timeout",
    "a missing number is escalated once its key has waited the gap timeout for it: "
    "not before, and never later than that (plus a tick or two); a number already offered, "
    "even one refused, is not missing and never escalated",
    checkers.gap_escalated_in_time,
)
BOUNDED = Promise(
    "bounded",
    "the buffer never holds more than its capacity: when full it says so, only for an event it "
    "would have to hold (never the next of its key), and it never drops an event silently",
    checkers.bounded,
)
ONE_HANDLER = Promise(
    "one-handler",
    "a command reaches exactly one handler, the one the bus accepted, and the sender hears its "
    "answer, a refusal included: sending one that has no handler, or two, fails with a clear "
    "error naming it",
    checkers.one_handler,
)
EVERY_SUBSCRIBER = Promise(
    "every-subscriber",
    "an event reaches every subscriber of its type, once: a failing subscriber neither stops "
    "the others nor, when the event is published again, makes them get it twice; publish "
    "names the subscribers that failed, and only those",
    checkers.every_subscriber,
)
UNIQUE_CORRELATION_ID = Promise(
    "unique-correlation-id",
    "every question is sent with a correlation id of its own, never used again for the "
    "requester's whole life: not for a question about the same order, nor after it is answered",
    checkers.bus.unique_correlation_ids,
)
CORRELATED = Promise(
    "correlated",
    "every answer is the reply to its own question, matched by its correlation id",
    checkers.correlated,
)
ANSWERED_IN_TIME = Promise(
    "answered-in-time",
    "a question is answered by its timeout: with its reply if one came in time, else with "
    "'timed out' when the timeout expires; a reply that comes later is ignored",
    checkers.answered_in_time,
)
ANSWERED_ONCE = Promise(
    "answered-once",
    "every question is answered exactly once: a duplicate reply is ignored, and no question "
    "is left without an answer",
    checkers.answered_once,
)


# -- the transactional outbox (ch05) ---------------------------------------------------------------

EVENT_NOT_LOST = Promise(
    "no-loss",
    "every committed change is published at least once: no event is lost",
    checkers.no_lost_event,
)
NO_PHANTOM = Promise(
    "no-phantom",
    "nothing is published for a change that was rolled back: no phantom event",
    checkers.no_phantom_event,
)
EVENTS_IN_ORDER = Promise(
    "per-key-order",
    "per order, events are published in the order they were written: nothing is reordered",
    checkers.events_in_order,
)
SAME_MESSAGE_ID = Promise(
    "same-message-id",
    "an event published again keeps its message id, so a deduplicating consumer absorbs it",
    checkers.republished_with_same_id,
)
PUBLISHED_ONCE = Promise(
    "no-duplicate",
    "unless a relay crashed or stalled past its lease, each event is published exactly once: "
    "nothing is duplicated",
    checkers.published_once,
)
OUTBOX_DRAINED = Promise(
    "settled",
    "every outbox row is marked sent in the end: nothing is stuck",
    checkers.outbox_drained,
)
OUTBOX_PURGED = Promise(
    "purged",
    "a sent outbox row is purged once its retention has passed: the outbox stays bounded",
    checkers.outbox_purged,
)
OUTBOX_RETAINED = Promise(
    "retention",
    "a sent outbox row is kept until its retention has passed, counted from when it was sent, "
    "never from when it was written",
    checkers.outbox.outbox_retained,
)
ORDER_TAKEN = Promise(
    "order-taken",
    "an order the database can take is taken: once place_order has answered for an amount "
    "above 0, the order and its event are committed, after a restart too",
    checkers.outbox.valid_order_taken,
)
EVENT_READABLE = Promise(
    "event-readable",
    "each order's outbox row holds its OrderPlaced event as JSON, naming the order and its "
    "amount: the relay publishes it as it is",
    checkers.outbox.event_readable,
)
OTHERS_NOT_HELD = Promise(
    "others-not-held",
    "an event the broker refused holds back only its own order's later events: other orders' "
    "events go out while it waits",
    checkers.outbox.others_not_held,
)
BACKOFF_DOUBLES = Promise(
    "backoff-doubles",
    "a refused event is tried again later: first after one poll (5 ms) or more, then after a "
    "wait twice as long at each refusal",
    checkers.outbox.backoff_doubles,
)

# -- the consumer side of a log (ch02) ------------------------------------------------------------

COMMITTED_PROCESSED = Promise(
    "committed-processed",
    "for each group, every record below the committed offset was processed: "
    "nothing committed was skipped",
    checkers.committed_processed,
)
COMMITS_NEXT_OFFSET = Promise(
    "commits-next-offset",
    "a commit names the next record to read, the last processed record's offset + 1: never "
    "a record already processed",
    checkers.commits_next_offset,
)
RESUMES_AT_COMMITTED = Promise(
    "resumes-at-committed",
    "a member given a partition starts reading it where its group left off: at the committed "
    "offset, or at the oldest record left when there is none or retention removed it",
    checkers.resumes_at_committed,
)
HANDOVER_REPEATS_NOTHING = Promise(
    "no-duplicate",
    "unless a member crashed, no order is shipped twice, however often the group moved its "
    "partitions: nothing is duplicated",
    checkers.no_duplicate_without_crash,
)
REPEATS_WITHIN_EVERY = Promise(
    "bounded-duplicates",
    "each crash ships again at most `every` orders (3 unless the trace sets it), the ones "
    "shipped since the last commit",
    checkers.duplicates_within_every,
)
REPLAY_CONVERGES = Promise(
    "replay-converges",
    "a read model that replays the log from the beginning ends in the same state, "
    "whenever it starts and whatever crashes: nothing missing, nothing counted twice, "
    "nothing out of log order",
    checkers.replay_converges,
)
PROJECTION = Promise(
    "projection",
    "each order's projected status is the one its events give when folded in version order, "
    "however duplicated and disordered they came",
    checkers.projection_matches,
)


# -- poison messages (ch06) ---------------------------------------------------------------------

ENDS = Promise(
    "processed-or-dead",
    "every message ends captured or in the dead-letter queue: none is lost, none waits or "
    "loops forever",
    retries.processed_or_dead,
)
WITHIN_ATTEMPTS = Promise(
    "within-attempts",
    "no message is tried more than max_attempts times, a try that crashed the consumer included",
    retries.attempts_within_limit,
)
DEAD_LETTER_EXPLAINED = Promise(
    "dead-letter-explained",
    "a dead letter says why: x-reason ('permanent' or 'max-attempts'), x-attempts, and the "
    "times of its first and last failed attempt",
    retries.dead_letter_explained,
)
PERMANENT_NOT_RETRIED = Promise(
    "permanent-not-retried",
    "a permanent failure is never tried again: it goes to the dead-letter queue at once",
    retries.permanent_not_retried,
)
TRANSIENT_RECOVERS = Promise(
    "transient-recovers",
    "a message whose timeouts stop within its attempts is captured, never dead-lettered",
    retries.transient_recovers,
)
HEALTHY_NOT_HELD = Promise(
    "others-not-held",
    "a failing message delays no healthy one: each healthy message is captured within 10 ms "
    "of its publish, plus 20 ms for each crash of the consumer",
    retries.others_not_held,
)
RETRIES_SPREAD = Promise(
    "retries-spread",
    "a retry waits a random time up to its ceiling, min(cap, base * 2 ** (attempt - 1)), so "
    "retries spread out: no 100 ms window holds the retries of more than 16 % of the messages "
    "that timed out (160 when 1,000 fail at once), nor of more than 5 when that is more",
    retries.retries_spread,
)
REPLAYED_ONCE = Promise(
    "replayed-once",
    "after the fix, every dead-lettered message that is replayed is captured exactly once",
    retries.replayed_once,
)


# -- sagas (ch08) -------------------------------------------------------------------------------

SAGA_ENDS = Promise(
    "saga-ends",
    "every saga ends Completed or Compensated: none is stuck half-way",
    sagas.saga_ends,
)
SHIPPED_AFTER_CHARGE = Promise(
    "shipped-after-charge",
    "nothing is shipped without its payment charged, and kept",
    sagas.shipped_after_charge,
)
MONEY_BALANCED = Promise(
    "money-balanced",
    "for each saga, charged minus refunded is its price if it Completed, and 0 if not",
    sagas.money_balanced,
)
STOCK_CONSERVED = Promise(
    "stock-conserved",
    "across all sagas, each sku's units on the shelf plus those of its completed sagas are "
    "the units it had at the start",
    sagas.stock_conserved,
)
STEP_ONCE = Promise(
    "step-once",
    "each command of each saga (reserve, charge, ship, refund, release) takes effect at most once",
    sagas.step_once,
)
NO_PHANTOM_COMMAND = Promise(
    "no-phantom-command",
    "no command leaves for a state change that was not committed: the saga's state and its "
    "command are written in one transaction",
    sagas.no_phantom_command,
)
COMPENSATED_IN_REVERSE = Promise(
    "compensated-in-reverse",
    "compensations undo in reverse order: the payment is refunded before the stock is released",
    sagas.compensated_in_reverse,
)


# -- backpressure (ch07) ------------------------------------------------------------------------

WITHIN_WINDOW = Promise(
    "within-window",
    "at every step, what a consumer holds, in flight plus buffered, never exceeds its window",
    backpressure.within_window,
)
NOTHING_DROPPED = Promise(
    "no-loss",
    "no order is dropped without the customer being told: every order the desk accepted is "
    "reserved in the end",
    backpressure.nothing_lost,
)
LAG_DRAINS = Promise(
    "lag-drains",
    "after the burst the lag returns to 0: everything accepted is reserved within its work at "
    "90 % of the capacity, plus 50 ms, of the end of the load",
    backpressure.lag_drains,
)
LAG_REPORTED = Promise(
    "lag-reported",
    "a consumer's lag() is what waits for it: the messages ready in the queue plus those it "
    "holds (those still on their way to it may be left out)",
    backpressure.lag_reported,
)
FULL_THROUGHPUT = Promise(
    "throughput",
    "under overload a consumer's warehouse works at least 90 % of the time, over every span of "
    "20 reservations",
    backpressure.full_throughput,
)
NO_HOARDING = Promise(
    "no-hoarding",
    "a slow consumer does not hoard: while a peer has nothing to do and the queue is empty, no "
    "consumer keeps more than window - 1 orders waiting",
    backpressure.no_hoarding,
)
DESK_WITHIN_HIGH = Promise(
    "desk-within-high",
    "at every step the desk holds at most high orders not yet confirmed by the broker",
    backpressure.desk_within_high,
)
NO_FLAPPING = Promise(
    "no-flapping",
    "once paused, the desk takes orders again only when it holds low or fewer: pause and "
    "resume switch once per trip from high to low",
    backpressure.no_flapping,
)
RESUMES_AT_LOW = Promise(
    "resumes-at-low",
    "the desk turns an order away only while paused, from reaching high until it is back at "
    "low: it always resumes",
    backpressure.resumes_at_low,
)
BACKS_OFF = Promise(
    "backs-off",
    "after the n-th refused publish in a row the desk waits between half and all of "
    "min(cap, base * 2 ** (n - 1)) before it publishes again: it never spins, never gives up",
    backpressure.backs_off,
)
