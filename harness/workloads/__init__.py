"""Workloads: what a world looks like for one kind of exercise (Maelstrom's word).

Each workload is one module of the same shape: what it means (its
docstring), the vocabulary of its traces, ``run`` (build the world, host the
learner's component, play the trace under a crash schedule, return an
:class:`~harness.outcome.Outcome`), and ``generate`` / ``specs`` for traces
that Hypothesis draws and shrinks.
"""

from __future__ import annotations

from importlib import import_module
from types import ModuleType

from harness.traces import Vocabulary

_REGISTRY = {
    "order-desk": "harness.workloads.order_desk",
    "message-bus": "harness.workloads.bus",
    "status-queries": "harness.workloads.status_queries",
    "shipping-log": "harness.workloads.shipping_log",
    "history-log": "harness.workloads.history_log",
    "payments-queue": "harness.workloads.payments_queue",
    "payments-log": "harness.workloads.payments_log",
    "payments-inbox": "harness.workloads.payments_inbox",
    "order-resequencer": "harness.workloads.order_resequencer",
    "order-projection": "harness.workloads.order_projection",
    "outbox-desk": "harness.workloads.outbox_desk",
    "outbox-relay": "harness.workloads.outbox_relay",
    "outbox-relays": "harness.workloads.outbox_relays",
    "outbox-cleanup": "harness.workloads.outbox_cleanup",
    "payments-retry": "harness.workloads.payments_retry",
    "order-saga": "harness.workloads.order_saga",
    "flash-sale": "harness.workloads.flash_sale",
}


def get(name: str) -> ModuleType:
    """The workload module registered under ``name``."""
    try:
        return import_module(_REGISTRY[name])
    except KeyError:
        known = ", ".join(sorted(_REGISTRY))
        raise KeyError(f"unknown workload {name!r}; the known workloads are: {known}") from None


def vocabulary(name: str) -> Vocabulary:
    return get(name).VOCABULARY


def names() -> list[str]:
    return sorted(_REGISTRY)
