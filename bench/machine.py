"""How fast this machine runs Python, and how much dearer the same work gets when it comes in
short bursts between sleeps, as an engine's work does in a latency-bound run (a round of answers,
then 200 ms of waiting). The benchmark prints it beside its table, so ratios measured on
different machines can be told apart from changes to the code.

The same work costs more CPU in bursts between sleeps than back to back (caches and the core's
clock cool down while the process sleeps), so a latency-bound run's CPU per row is above the
overhead scenario's, and the ceiling it gives is lower (figures in docs/performance.md).

    .venv/bin/python -m bench.machine
"""

from __future__ import annotations

import json
import time

_DOCUMENT = {"messages": [{"role": "user", "content": "x" * 200}] * 4, "numbers": list(range(50))}


def _unit() -> None:
    """A small piece of the kind of work the engine does (build and read JSON)."""
    for _ in range(20):
        json.loads(json.dumps(_DOCUMENT))


def _cpu_per_unit(burst: int, sleep: float, units: int) -> float:
    started, done = time.thread_time(), 0
    while done < units:
        for _ in range(burst):
            _unit()
        done += burst
        if sleep:
            time.sleep(sleep)
    return (time.thread_time() - started) / done * 1000


def calibrate() -> dict[str, float]:
    """CPU milliseconds per reference unit, run back to back and in bursts of about 5 ms every
    200 ms (best of two each, interleaved; about 4 s)."""
    _cpu_per_unit(50, 0.0, 500)  # warm up
    continuous, bursts = [], []
    for _ in range(2):
        continuous.append(_cpu_per_unit(100, 0.0, 2000))
        bursts.append(_cpu_per_unit(10, 0.2, 100))
    return {"continuous_ms": min(continuous), "bursts_ms": min(bursts)}


def describe(figures: dict[str, float]) -> str:
    continuous, bursts = figures["continuous_ms"], figures["bursts_ms"]
    return (
        f"this machine: {continuous:.3f} ms of CPU per reference unit run back to back, "
        f"{bursts:.3f} ms in bursts every 200 ms (× {bursts / continuous:.2f})"
    )


if __name__ == "__main__":
    print(describe(calibrate()))
