"""Isolation: the learner's code in its own process, reachable only through the ports.

With ``pytest --isolate`` (what the grader passes), the learner's modules
are never imported into the pytest process. Each test gets a learner process
of its own, forked by a fresh interpreter (the learner host) inside a sandbox,
never by the pytest process; it loads them; the world, Hypothesis, the checkers, the outcome and the
results stay in the pytest process, and the learner's component talks to
them only through proxies: calls cross a socket, plain data crosses by
value, ports and callables by reference (:mod:`harness.isolation.wire`).
A child that exits, crashes, loops or runs out of memory becomes an error
that says so (:class:`ProcessEnded`, :class:`NoAnswer`), never a pass.

- :mod:`~harness.isolation.wire`: what crosses, by value or by reference;
- :mod:`~harness.isolation.proxy`: what one side holds for the other's objects;
- :mod:`~harness.isolation.rpc`: calls both ways, nested like function calls;
- :mod:`~harness.isolation.child`: one test's learner process, and how it ended;
- :mod:`~harness.isolation.sandbox`: what surrounds the learner host (bubblewrap, an account);
- :mod:`~harness.isolation.launch`: starting the learner host and talking to it;
- :mod:`~harness.isolation.host`: the learner host itself (runs in the sandbox);
- :mod:`~harness.isolation.learner`: the learner's side of a learner process;
- :mod:`~harness.isolation.limits`: what that process may use;
- :mod:`~harness.isolation.target`: the target the chapter tests get.
"""

from harness.lazy_front import names_of

_HOMES = {
    "Child": "harness.isolation.child",
    "IsolationUnavailable": "harness.isolation.child",
    "NoAnswer": "harness.isolation.child",
    "ProcessEnded": "harness.isolation.child",
    "Limits": "harness.isolation.limits",
    "harden": "harness.isolation.limits",
    "IsolatedTarget": "harness.isolation.target",
    "isolate": "harness.isolation.target",
}
"""Where each name of the package's front lives, imported when first asked for (PEP 562):
the learner host imports the modules of its own side only, not the test process's."""


__getattr__, __dir__ = names_of(globals(), _HOMES)

__all__ = [
    "Child",
    "IsolatedTarget",
    "IsolationUnavailable",
    "Limits",
    "NoAnswer",
    "ProcessEnded",
    "harden",
    "isolate",
]
