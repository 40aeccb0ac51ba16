"""The ports: the only objects learner code holds, and the only way it reaches the world.

Every method that talks to the world is a crash point (see
:mod:`harness.faults`). Learner code never learns whether it runs in the
simulator or, later, against real servers: it sees a channel, a log client,
a store and the services it calls.
"""

from harness.ports.channel import Channel
from harness.ports.log_client import LogClient
from harness.ports.payments import PaymentFailed, Payments
from harness.ports.store import Store

__all__ = ["Channel", "LogClient", "PaymentFailed", "Payments", "Store"]
