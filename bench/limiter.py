"""The Redis limiter's cost per call, with the asks of one event loop grouped into one round trip
per key (what the engine does, generation/ratelimit/coalesce.py) against one round trip each,
measured in the same run on the same Redis:

    .venv/bin/python -m bench.limiter [--asks 25] [--rounds 80]

Each round, ``--asks`` calls ask at once, as a round of a chunk's calls does when their answers
come back together; no limit is set (every ask is granted at once), so what is measured is the
loop's CPU per ask and how long an ask waits for its answer. Keys go under a private prefix in
Redis database 13 and are deleted afterwards."""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable

import redis

from generation.ratelimit import RedisRateLimiter

REDIS_URL = "redis://127.0.0.1:6379/13"


async def _measure(asks: int, rounds: int, grouped: bool) -> tuple[float, float, float]:
    """(loop CPU ms per ask, mean wait ms, p99 wait ms)."""
    limiter = RedisRateLimiter(REDIS_URL, prefix=f"bench-limiter-{uuid.uuid4().hex[:8]}")
    entry = limiter._client()

    async def one_round_trip() -> None:  # the script as one call used it before grouping
        await entry.acquire(
            keys=[limiter._redis_key("k")], args=["", 1_000_000, 0, *limiter._budget_args(), 100]
        )

    async def grouped_ask() -> None:
        await limiter.try_acquire("k", rpm=1_000_000, tpm=0, tokens=100)

    ask: Callable[[], Awaitable[None]] = grouped_ask if grouped else one_round_trip
    waits: list[float] = []

    async def timed() -> None:
        started = time.perf_counter()
        await ask()
        waits.append(time.perf_counter() - started)

    await asyncio.gather(*(timed() for _ in range(asks)))  # connections opened, script loaded
    waits.clear()
    cpu = time.thread_time()
    for _ in range(rounds):
        await asyncio.gather(*(timed() for _ in range(asks)))
    cpu = time.thread_time() - cpu
    await limiter.aclose()
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.delete(limiter._redis_key("k"))
    finally:
        client.close()
    waits.sort()
    return (
        cpu / len(waits) * 1000,
        statistics.mean(waits) * 1000,
        waits[int(0.99 * (len(waits) - 1))] * 1000,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--asks", type=int, default=25, help="asks at once (row concurrency)")
    parser.add_argument("--rounds", type=int, default=80)
    args = parser.parse_args()
    results: dict[bool, list[tuple[float, float, float]]] = {False: [], True: []}
    for grouped in (False, True, False, True):  # interleaved: a drifting machine hits both
        results[grouped].append(asyncio.run(_measure(args.asks, args.rounds, grouped)))
    best = {g: tuple(min(r[i] for r in runs) for i in range(3)) for g, runs in results.items()}
    print(f"{args.asks} asks at once, {args.rounds} rounds, best of two runs each:\n")
    print("| limiter ask | loop CPU ms/ask | mean wait ms | p99 wait ms |")
    print("| --- | ---: | ---: | ---: |")
    for grouped, label in ((False, "one round trip each"), (True, "grouped per key and loop")):
        cpu, mean, p99 = best[grouped]
        print(f"| {label} | {cpu:.3f} | {mean:.2f} | {p99:.2f} |")
    (cpu_1, mean_1, _), (cpu_g, mean_g, _) = best[False], best[True]
    print(f"\ngrouped / one each: CPU {cpu_g / cpu_1:.2f}, mean wait {mean_g / mean_1:.2f}")


if __name__ == "__main__":
    main()
