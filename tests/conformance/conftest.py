"""The conformance suite: the simulator's broker against a real RabbitMQ (marker ``rabbitmq``).

Every scenario runs on the simulator always; with a RabbitMQ answering on
127.0.0.1:5672 (guest/guest) it runs there too, through pika. Without one the
real-server tests skip, saying why; with CI=true a missing server is a
failure, as in tests/live.
"""

from __future__ import annotations

import socket

import pytest
import servers
from conformance.drivers import HOST, PORT, Real


def _missing(reason: str) -> None:
    """Skip with ``reason``; in CI (CI=true) fail instead (:func:`servers.missing`)."""
    servers.missing(reason, then="start it (rabbitmq-server -detached)")


@pytest.fixture(scope="session")
def rabbitmq_answers() -> bool:
    """Whether a RabbitMQ answers (skipped or failed without one, see :func:`_missing`)."""
    try:
        import pika
    except ImportError:
        _missing("pika is not installed (python -m pip install -e '.[dev]')")
    try:
        with socket.create_connection((HOST, PORT), timeout=2):
            pass
        connection = pika.BlockingConnection(
            pika.ConnectionParameters(
                HOST,
                PORT,
                credentials=pika.PlainCredentials("guest", "guest"),
                socket_timeout=3,
                connection_attempts=1,
            )
        )
        connection.close()
    except (OSError, pika.exceptions.AMQPError) as error:
        _missing(
            f"no RabbitMQ answered on {HOST}:{PORT} as guest ({type(error).__name__}: {error})"
        )
    return True


@pytest.fixture
def real_broker(rabbitmq_answers, request):
    driver = Real(request.node.callspec.params["scenario"].name[:40])
    yield driver
    driver.finish()
