"""Benchmark: outbox rows relayed per second, and duplicates after injected relay crashes.

Runs the reference leased relay (``solutions/ch05/leased_relay.py``, or ``--target``)
as 1, 2 and 4 separate processes on SQLite (a WAL database file) and on PostgreSQL,
then once more with relay processes killed at random right after a confirmed
publish (before the row is marked sent), and reports how many events were
published twice and whether every promise held. Without crashes there must be
no duplicate at all: relays that claim at the same instant must skip each
other's rows (``FOR UPDATE SKIP LOCKED``)::

    python bench/outbox.py
    python bench/outbox.py --events 2000 --orders 200 --dsn "host=127.0.0.1 user=postgres"

The rate counts each event once, from the first confirmed publish to the last
one (process start-up excluded). The lease is long (5 s) on purpose: a relay
that waits for SQLite's write lock longer than its lease loses its claim, and
its rows are published twice; with a short lease on a loaded machine, some
duplicates come from such stalls, not from the injected crashes. The broker is
a table in the same database (see :mod:`harness.workloads.outbox_live`), so the
figures measure the outbox and the relays, not a broker.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness import promises  # noqa: E402
from harness.outcome import Outcome  # noqa: E402
from harness.workloads.outbox_live import LiveRun, outcome_notes, run_relays  # noqa: E402

PROMISES = [
    promises.NO_PHANTOM,
    promises.OUTBOX_DRAINED,
    promises.EVENT_NOT_LOST,
    promises.EVENTS_IN_ORDER,
    promises.SAME_MESSAGE_ID,
]


def broken(run: LiveRun) -> list[str]:
    """The promises ``run`` broke, as ``id: observed`` lines (empty when all hold).

    A run without crashes must also have published each event exactly once.
    """
    outcome = Outcome(accepted={}, effects={}, notes={"outbox": outcome_notes(run)})
    kept = PROMISES if run.crashes else [promises.PUBLISHED_ONCE, *PROMISES]
    found = [f"{p.id}: {p(outcome).observed}" for p in kept if not p(outcome).holds]
    return found + run.failures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1000, help="outbox rows per run")
    parser.add_argument("--orders", type=int, default=100, help="orders the rows belong to")
    parser.add_argument("--relays", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--crash-rate", type=float, default=0.02, help="per confirmed publish")
    parser.add_argument("--lease", type=float, default=5.0, help="seconds a claim lasts")
    parser.add_argument("--dsn", default="host=127.0.0.1 port=5432 user=postgres dbname=test")
    parser.add_argument("--target", default=str(ROOT / "solutions"))
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    path = Path(args.target) / "ch05" / "leased_relay.py"
    databases = [("SQLite", "sqlite:"), ("PostgreSQL", args.dsn)]
    print(f"{args.events} events of {args.orders} orders, lease {args.lease:g} s, relay {path}")
    print(
        f"{'database':<11} {'relays':>6} {'rows/s':>8} {'crash rate':>10} {'crashes':>7} "
        f"{'duplicates':>10}  promises"
    )
    ok = True
    for label, dsn in databases:
        for relays in args.relays:
            for rate in (0.0, args.crash_rate):
                run = run_relays(
                    dsn,
                    str(path),
                    "LeasedRelay",
                    events=args.events,
                    orders=args.orders,
                    relays=relays,
                    lease=args.lease,
                    crash_rate=rate,
                    seed=args.seed,
                )
                problems = broken(run)
                ok = ok and not problems
                verdict = "all kept" if not problems else "BROKEN: " + "; ".join(problems)
                print(
                    f"{label:<11} {relays:>6} {run.rate:>8.0f} {rate:>10.2f} {run.crashes:>7} "
                    f"{run.duplicates:>10}  {verdict}",
                    flush=True,
                )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
