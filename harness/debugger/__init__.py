"""The debugger page: step through a failing run, with the world's state at every step.

Two calls make a page from a failure (the pytest plugin's, or anyone's)::

    from harness import debugger

    recording = debugger.record(kit, "queue-one-order/1a@s0", title=..., replay=..., hint=...)
    debugger.write_page(".twm/failures/test_x.html", recording)

:func:`record` replays the one case by its token with the world watched after
every step (:mod:`harness.debugger.recording`); :func:`write_page` writes a
self-contained HTML page (:mod:`harness.debugger.page`). What the page shows of the
state comes as :class:`Panel` objects from the broker, the log, the store and the
workloads (:func:`add_panels`); the page draws any panel the same way.
"""

from harness.debugger.observe import add_panels, observing
from harness.debugger.page import page_html, write_page
from harness.debugger.panel import Panel
from harness.debugger.recording import Recording, record

__all__ = ["Panel", "Recording", "add_panels", "observing", "page_html", "record", "write_page"]
