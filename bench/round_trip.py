"""What a port call's round trip costs under ``--isolate``, across cores and on one CPU.

    python bench/round_trip.py            # 20,000 round trips each way, best of 3

A test process and the learner process it started answer each other over a
socket pair for every port call. This times a small message there and back
between two forked processes: free to run on any CPU, both kept to one (as
:mod:`grader.affinity` keeps a grading's lanes), and each kept to a CPU of its
own, in the same run, and prints the ratios. On a busy machine the system
often puts the two on one CPU by itself; on a quiet one it spreads them.
Linux only (it sets CPU affinity).
"""

from __future__ import annotations

import argparse
import os
import socket
import time

MESSAGE = b"x" * 64


def round_trips(count: int, cpu: int | None, other: int | None = None) -> float:
    """Seconds per round trip of ``count`` pings between this process and a forked one; this
    one on ``cpu`` (None: any), the forked one on ``other`` (None: the same as this one)."""
    ours, theirs = socket.socketpair()
    before = os.sched_getaffinity(0)
    if cpu is not None:
        os.sched_setaffinity(0, {cpu})
    try:
        pid = os.fork()
        if pid == 0:  # the answering side: echo until the socket closes
            if other is not None:
                os.sched_setaffinity(0, {other})
            ours.close()
            while data := theirs.recv(len(MESSAGE)):
                theirs.sendall(data)
            os._exit(0)
        theirs.close()
        started = time.perf_counter()
        for _ in range(count):
            ours.sendall(MESSAGE)
            ours.recv(len(MESSAGE))
        elapsed = time.perf_counter() - started
        ours.close()
        os.waitpid(pid, 0)
        return elapsed / count
    finally:
        os.sched_setaffinity(0, before)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=20_000, help="round trips per measurement")
    parser.add_argument("--best-of", type=int, default=3)
    args = parser.parse_args()
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        print("one CPU only: every round trip is already on one CPU")
    free, pinned, apart = [], [], []
    for _ in range(args.best_of):  # alternating, so that all see the same load
        free.append(round_trips(args.count, None))
        pinned.append(round_trips(args.count, cpus[0]))
        if len(cpus) >= 2:
            apart.append(round_trips(args.count, cpus[0], cpus[1]))
    on_one = min(pinned)
    print(f"any CPU (the system's choice): {min(free) * 1e6:6.1f} µs a round trip")
    print(f"both on one CPU:               {on_one * 1e6:6.1f} µs")
    if apart:
        print(f"each on a CPU of its own:      {min(apart) * 1e6:6.1f} µs")
        print(f"across cores over one CPU:     {min(apart) / on_one:6.2f}")
    print(f"the system's choice over one:  {min(free) / on_one:6.2f}")
    print(f"(load average {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
