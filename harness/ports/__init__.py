"""The ports: the only objects learner code holds, and the only way it reaches the world.

Every method that talks to the world is a crash point (see
:mod:`harness.faults`). Learner code never learns whether it runs in the
simulator or, later, against real servers: it sees a channel, a log client,
a store and the services it calls.

Under isolation (``pytest --isolate``, :mod:`harness.isolation`) the
learner's code runs in another process and holds proxies of the ports: every
class defined in this package is a port and crosses *by reference*, except
data (exceptions, named tuples, dataclasses, enums), which crosses by value.
A port defined elsewhere says so with a class attribute ``__twm_port__ = True``.
"""

from harness.ports.channel import Channel
from harness.ports.downstream import BufferFull, Downstream, Event
from harness.ports.log_client import LogClient
from harness.ports.payments import PaymentFailed, Payments
from harness.ports.store import Store

__all__ = [
    "BufferFull",
    "Channel",
    "Downstream",
    "Event",
    "LogClient",
    "PaymentFailed",
    "Payments",
    "Store",
]
