"""A test's remembered failures are its own (harness.example_database)."""

from __future__ import annotations

import pytest
from hypothesis import settings
from hypothesis.database import InMemoryExampleDatabase

from harness.example_database import Keyed
from harness.explore import Explorer, PromiseBroken
from harness.ports import PaymentFailed
from harness.promises import NO_LOSS
from harness.workloads import payments_queue


class AckFirst:
    """Acks before it charges: a crash between the two loses the order."""

    def __init__(self, channel, payments):
        self.channel, self.payments = channel, payments

    def on_message(self, delivery):
        self.channel.ack(delivery.tag)
        try:
            self.payments.charge(delivery.body["order_id"], delivery.body["amount"])
        except PaymentFailed:
            pass


def explore(database, key: str) -> None:
    remembering = settings(max_examples=30, database=database)
    explorer = Explorer(hypothesis_settings=remembering, database_key=key)
    explorer.random_faults(payments_queue, AckFirst, [NO_LOSS])


def test_a_failure_is_remembered_under_its_own_test_and_no_other():
    """test A's failing example is saved under A's key; test B, fetching, sees none of it"""
    database = InMemoryExampleDatabase()
    with pytest.raises(PromiseBroken):
        explore(database, "exercises/ch03/test_a.py::test_a")
    assert database.data, "the failing example was not remembered at all"
    own = b"exercises/ch03/test_a.py::test_a\0"
    assert all(key.startswith(own) for key in database.data), list(database.data)


def test_keyed_databases_share_one_store_without_seeing_each_other():
    """save, fetch, move and delete stay within their prefix"""
    store = InMemoryExampleDatabase()
    a, b = Keyed(store, b"a"), Keyed(store, b"b")
    a.save(b"k", b"1")
    b.save(b"k", b"2")
    assert list(a.fetch(b"k")) == [b"1"] and list(b.fetch(b"k")) == [b"2"]
    a.move(b"k", b"j", b"1")
    assert list(a.fetch(b"k")) == [] and list(a.fetch(b"j")) == [b"1"]
    assert list(b.fetch(b"j")) == []
    b.delete(b"k", b"2")
    assert list(b.fetch(b"k")) == [] and list(a.fetch(b"j")) == [b"1"]
