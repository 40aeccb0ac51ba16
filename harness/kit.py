"""The object a chapter test holds (the ``kit`` fixture): the target, the traces, the explorer.

A chapter test reads like its promise::

    @pytest.mark.task(2)
    @pytest.mark.points(2)
    def test_nothing_is_lost_under_any_single_crash(kit):
        \"\"\"no order is lost, whatever single crash strikes\"\"\"
        consumer = kit.component("ch03/at_least_once.py", "AtLeastOnceConsumer")
        kit.every_single_crash(payments_queue, consumer, kit.traces("queue-*"), [NO_LOSS])

It reaches learner code only through the target, never by importing it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

from harness import traces as trace_files
from harness.explore import Explorer, Factory
from harness.promises import Promise
from harness.targets import Target
from harness.traces import Trace


class Kit:
    """A chapter test's handle on the harness."""

    def __init__(
        self,
        *,
        target: Target,
        traces_dir: Path,
        explorer: Explorer,
        hidden_dir: Path | None = None,
        generated: bool = True,
    ) -> None:
        self.target = target
        self.traces_dir = traces_dir
        self.explorer = explorer
        self.hidden_dir = hidden_dir
        """Grading's hidden cases: traces come from here instead, and a test none of them
        fits is skipped (``--hidden-traces``)."""
        self.hidden_served = 0
        self.generated = generated
        """False under ``--hidden-only``: :meth:`random_faults` draws nothing."""

    def component(self, module: str, name: str) -> Any:
        """The learner's class or function ``name`` from ``module`` of the target."""
        return self.target.component(module, name)

    def traces(self, pattern: str = "*") -> list[Trace]:
        """The chapter's trace files matching ``pattern`` (by file stem), in name order."""
        if self.hidden_dir is not None:
            return self._hidden_traces(pattern)
        paths = sorted(
            p for p in self.traces_dir.glob(pattern + ".*") if p.suffix in (".toml", ".json")
        )
        if not paths:
            raise FileNotFoundError(f"no trace matches {pattern!r} in {self.traces_dir}")
        return [trace_files.load(path) for path in paths]

    def _hidden_traces(self, pattern: str) -> list[Trace]:
        import pytest

        folder = self.hidden_dir
        paths = sorted(p for p in folder.glob(pattern + ".*") if p.suffix in (".toml", ".json"))
        if not paths:
            pytest.skip(f"no hidden trace matches {pattern!r}")
        self.hidden_served += len(paths)
        return [trace_files.load(path) for path in paths]

    def once(
        self,
        workload: ModuleType,
        factory: Factory,
        traces: Sequence[Trace],
        promises: Sequence[Promise],
    ) -> int:
        return self.explorer.once(workload, factory, traces, promises)

    def every_single_crash(
        self,
        workload: ModuleType,
        factory: Factory,
        traces: Sequence[Trace],
        promises: Sequence[Promise],
    ) -> int:
        return self.explorer.every_single_crash(workload, factory, traces, promises)

    def every_pair_of_crashes(
        self,
        workload: ModuleType,
        factory: Factory,
        traces: Sequence[Trace],
        promises: Sequence[Promise],
    ) -> int:
        """Each trace under no crash, every single crash and every pair of crashes.

        For promises a second crash can break by striking the recovery from the
        first (a redelivery that is itself redelivered); give it the shortest
        traces, since a run of *n* calls takes on the order of *n*² runs::

            kit.every_pair_of_crashes(payments_queue, consumer, kit.traces("queue-one-order"),
                                      [NO_SWALLOW, NO_DUPLICATE, SETTLED])
        """
        return self.explorer.every_pair_of_crashes(workload, factory, traces, promises)

    def random_faults(
        self, workload: ModuleType, factory: Factory, promises: Sequence[Promise], **options: Any
    ) -> int:
        if not self.generated:
            # The grader's hidden lane: its visible lane has already drawn the generated traces.
            if not self.hidden_served:
                import pytest

                pytest.skip("generated traces only: no hidden case")
            return 0
        return self.explorer.random_faults(workload, factory, promises, **options)

    def single_crash_outcomes(self, workload: ModuleType, factory: Factory, trace: Trace) -> list:
        """The outcomes of ``trace`` under no crash and under every single crash, unchecked."""
        return self.explorer.single_crash_outcomes(workload, factory, trace)
