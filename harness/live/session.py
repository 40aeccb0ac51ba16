"""What the pytest plugin keeps of live mode for one session: the servers, the figures.

The servers are found once, at the first live test (:meth:`LiveSession.explorer`);
a session without them skips each live test with the reason, or fails it when
``CI=true`` (where the servers should have been started).
"""

from __future__ import annotations

import os

from harness.live.explorer import LiveExplorer, LiveStats
from harness.live.servers import Live, ServerMissing, rabbitmq_parameters

WORLDS = ("sim", "live")
"""The worlds ``--world`` chooses from: the simulator (default) or the real servers."""


class LiveSession:
    """The real servers of a session (found on first use) and what its live runs took."""

    def __init__(self) -> None:
        self.stats = LiveStats()
        self._servers: Live | None = None
        self._missing: str | None = None
        self.where = ""

    def explorer(self) -> LiveExplorer:
        """An explorer on the session's servers; :class:`ServerMissing` when they do not answer."""
        if self._missing is not None:
            raise ServerMissing(self._missing)
        if self._servers is None:
            try:
                parameters = rabbitmq_parameters()
            except ServerMissing as error:
                self._missing = str(error)
                raise
            self._servers = Live(parameters)
            self.where = f"RabbitMQ at {parameters.host}:{parameters.port}"
        return LiveExplorer(self._servers, where=self.where, stats=self.stats)

    def summary(self) -> list[str]:
        """The lines the session ends with: what ran live, how long it took, what disagreed."""
        stats = self.stats
        if not stats.runs:
            return []
        lines = [
            f"live mode: {stats.runs} runs on {self.where} in {stats.seconds:.1f} s "
            f"({stats.deliveries} deliveries); crash-free and single-crash schedules only, "
            "no determinism, no shrinking, no replay token"
        ]
        if stats.unplayed:
            lines.append(
                "traces not played live, as a real server would be harmed: "
                + "; ".join(sorted(stats.unplayed))
                + " (the same command without --world live plays them)"
            )
        if stats.unjudged:
            lines.append(
                "not judged live, as they measure milliseconds of virtual time: "
                + ", ".join(sorted(stats.unjudged))
                + " (the same command without --world live judges them)"
            )
        if stats.disagreements:
            lines.append(
                f"the simulator disagreed on {len(stats.disagreements)} case(s) that RabbitMQ "
                "passed (the live outcome counts):"
            )
            lines += [f"  {case}" for case in stats.disagreements[:5]]
        return lines


def in_ci() -> bool:
    """Whether a missing server fails instead of skipping (``CI=true``)."""
    return os.environ.get("CI", "").lower() == "true"
