"""Finding the real servers, and the worlds that run on them.

:class:`Live` is what a world is made on in live mode (see
:func:`harness.world.on_servers`): each world gets a real-time loop and a
:class:`~harness.live.rabbit.RabbitBroker` with queues of its own, which
:meth:`Live.close_all` removes even when the run ended in an error.

RabbitMQ is looked for at ``127.0.0.1:5672`` as ``guest``/``guest`` (the
environment variable ``TWM_RABBITMQ_URL``, an ``amqp://`` URL, names another);
PostgreSQL, for the stores that run on it, with the libpq strings of
:data:`POSTGRES_CANDIDATES` (``TWM_POSTGRES_DSN`` names another).
"""

from __future__ import annotations

import logging
import os
from typing import Any

from harness.live.loop import DEADLINE, QUIET, RealTimeLoop
from harness.live.rabbit import RabbitBroker

RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:5672/%2F"
POSTGRES_CANDIDATES = (
    "host=127.0.0.1 port=5432 user=postgres dbname=test connect_timeout=3",
    "host=127.0.0.1 port=5432 user=root dbname=test connect_timeout=3",
)


class ServerMissing(Exception):
    """A live run needs a server that does not answer; the message says which and how to fix."""


def rabbitmq_parameters() -> Any:
    """pika's connection parameters for RabbitMQ, checked by connecting once.

    Raises :class:`ServerMissing` when pika is not installed or nothing answers.
    """
    try:
        import pika
    except ImportError:
        raise ServerMissing(
            "live mode needs pika, which is not installed (python -m pip install -e '.[live]')"
        ) from None
    url = os.environ.get("TWM_RABBITMQ_URL", RABBITMQ_URL)
    parameters = pika.URLParameters(url)
    parameters.socket_timeout = 5
    parameters.blocked_connection_timeout = 5
    parameters.connection_attempts = 1
    parameters.heartbeat = 0  # a learner's breakpoint must not drop the connection
    quiet = logging.getLogger("pika")
    level, quiet.level = quiet.level, logging.CRITICAL  # the error below says it, once
    try:
        pika.BlockingConnection(parameters).close()
    except Exception as error:
        shown = url.split("@")[-1]
        raise ServerMissing(
            f"live mode needs RabbitMQ, and none answered at {shown} ({type(error).__name__}: "
            f"{str(error).strip() or 'no answer'}); start it (e.g. `rabbitmq-server`), or name "
            "another with TWM_RABBITMQ_URL=amqp://user:password@host:port/%2F"
        ) from None
    finally:
        quiet.setLevel(level)
    return parameters


def postgres_dsn() -> str:
    """The libpq string of a PostgreSQL server that answers; :class:`ServerMissing` if none."""
    try:
        import psycopg
    except ImportError:
        raise ServerMissing(
            "this live run's store is PostgreSQL, and psycopg is not installed "
            "(python -m pip install -e '.[live]')"
        ) from None
    chosen = os.environ.get("TWM_POSTGRES_DSN")
    errors = []
    for candidate in [chosen] if chosen else list(POSTGRES_CANDIDATES):
        try:
            with psycopg.connect(candidate) as conn:
                conn.execute("SELECT 1")
            return candidate
        except psycopg.Error as error:
            errors.append(f"{candidate.split(' connect_timeout')[0]}: {str(error).strip()}")
    raise ServerMissing(
        "this live run's store is PostgreSQL, and no server answered ("
        + "; ".join(errors)
        + "); start it, or name it with TWM_POSTGRES_DSN='host=... dbname=...'"
    )


class Live:
    """Real servers for the worlds made inside :func:`harness.world.on_servers`.

    ``quiet`` and ``deadline`` are each run's loop settings (:mod:`harness.live.loop`).
    """

    def __init__(self, parameters: Any, *, quiet: float = QUIET, deadline: float = DEADLINE):
        self.parameters = parameters
        self.quiet = quiet
        self.deadline = deadline
        self._brokers: dict[int, RabbitBroker] = {}
        self._postgres: str | None = None
        self._postgres_missing: str | None = None

    def postgres(self) -> str:
        """The libpq string of the PostgreSQL server live stores run on, found on first use;
        :class:`ServerMissing` (every time) when none answers."""
        if self._postgres_missing is not None:
            raise ServerMissing(self._postgres_missing)
        if self._postgres is None:
            try:
                self._postgres = postgres_dsn()
            except ServerMissing as error:
                self._postgres_missing = str(error)
                raise
        return self._postgres

    def open(self, world: Any) -> tuple[Any, Any, Any]:
        loop = RealTimeLoop(seed=world.seed, quiet=self.quiet, deadline=self.deadline)
        broker = RabbitBroker(loop, world.timeline, parameters=self.parameters)
        self._brokers[id(world)] = broker
        return loop.clock, loop, broker

    def close(self, world: Any) -> None:
        broker = self._brokers.pop(id(world), None)
        if broker is not None:
            broker.close()

    def close_all(self) -> None:
        """Close every world still open (a run that raised never closed its own)."""
        brokers, self._brokers = list(self._brokers.values()), {}
        for broker in brokers:
            broker.close()
