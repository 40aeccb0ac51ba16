"""Live mode: the learner's own code against the real RabbitMQ (and PostgreSQL), through the
same ports (``pytest exercises/ch03 --world live``).

- :mod:`harness.live.loop`: the real-time loop and clock a live world runs on;
- :mod:`harness.live.rabbit`: the pika adapter, RabbitMQ behind the broker interface
  (:class:`harness.ports.queue_broker.QueueBroker`);
- :mod:`harness.live.servers`: finding the servers, and the worlds made on them;
- :mod:`harness.live.explorer`: the crash-free and single-crash schedules, played live;
- :mod:`harness.live.comparison` and :mod:`harness.live.report`: what each world gave;
- :mod:`harness.live.chapters`: which workloads run live, and why the others do not;
- :mod:`harness.live.session`: what the pytest plugin keeps of live mode for a session.

docs/live.md says, chapter by chapter, what runs live and what stays simulated.
"""

from harness.live.chapters import LIVE, SIMULATED
from harness.live.servers import Live, ServerMissing

__all__ = ["LIVE", "SIMULATED", "Live", "ServerMissing"]
