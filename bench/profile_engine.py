"""Where the engine's CPU goes per row: cProfile on the chunk's event loop and on its DB thread,
in embedded mode against the benchmark's fake provider (no latency, no limit).

    .venv/bin/python -m bench.profile_engine [--rows 1000] [--top 25] [--sort tottime]

Chunks are filled one after the other on this thread (no Dramatiq: the same ``fill_chunk`` the
actor runs), so the two profiles hold all the engine's work. cProfile roughly doubles the cost of
Python code; the table gives each part's share and that share of the unprofiled CPU per row,
measured first on the same data."""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

# What the table shows, each as cumulative CPU minus the parts nested in it (file suffix,
# function name as pstats shows them). The provider call holds the HTTP request and response.
LOOP_PARTS = [
    (
        "provider SDK call (openai + httpx, incl. TCP connects)",
        [("openai/online.py", "complete")],
        [],
    ),
    ("building provider clients (per chunk)", [("llm_calls.py", "_provider")], []),
    ("cost lookups (genai-prices, 2 per call)", [("pricing.py", "call_cost")], []),
    (
        "rate limiter, retries, token estimate",
        [("retry.py", "call_with_retries"), ("token_estimate.py", "estimate_request_tokens")],
        [("openai/online.py", "complete")],
    ),
    ("live publish", [("live/__init__.py", "publish_rows")], []),
    ("handing ORM calls to the DB thread and back", [("db_thread.py", "run")], []),
    (
        "engine: templating, samplers, the row's bookkeeping",
        [("engine.py", "_fill_column")],
        [("llm_calls.py", "__call__")],
    ),
]
DB_PARTS = [
    (
        "DB: grouped flushes: ledger lookups, run state, commits",
        [("row_writes.py", "chunk_writes_apply")],
        [
            ("row_writes.py", "record_calls"),
            ("row_writes.py", "_store_outcomes"),
            ("budget_holds.py", "holds_grant"),
            ("budget_holds.py", "holds_settle"),
        ],
    ),
    (
        "DB: budget holds (with --budget: grant, settle)",
        [
            ("budget_holds.py", "holds_grant"),
            ("budget_holds.py", "holds_settle"),
        ],
        [],
    ),
    ("DB: grouped ledger records (INSERT, UPDATE run)", [("row_writes.py", "record_calls")], []),
    ("DB: grouped row outcomes (SELECT, UPDATE)", [("row_writes.py", "_store_outcomes")], []),
    (
        "DB: load chunk, finish check",
        [("chunk_filler.py", "_load_chunk"), ("row_writes.py", "run_finish_if_done")],
        [],
    ),
]


def _cumulative(stats: pstats.Stats, suffix: str, name: str) -> float:
    total = 0.0
    for (filename, _, function), (_, _, _, cumtime, _) in stats.stats.items():  # type: ignore[attr-defined]
        if function == name and filename.endswith(suffix):
            total += cumtime
    return total


# Built-ins where a thread waits rather than works: the event loop's select, the DB thread's
# queue; cProfile counts wall time, so these are taken out of the totals.
IDLE = ("poll' of 'select.epoll", "get' of '_queue.SimpleQueue", "acquire' of '_thread.lock")


def _busy(stats: pstats.Stats) -> float:
    idle = sum(
        tottime
        for (_, _, function), (_, _, tottime, _, _) in stats.stats.items()  # type: ignore[attr-defined]
        if any(marker in function for marker in IDLE)
    )
    return stats.total_tt - idle  # type: ignore[attr-defined]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument(
        "--sort",
        choices=("cumulative", "tottime"),
        default="cumulative",
        help="order of the top functions: with what they call, or their own time only",
    )
    parser.add_argument(
        "--latency",
        type=float,
        default=0.0,
        help="fake provider latency in seconds (0: the overhead scenario; 0.2: latency-bound)",
    )
    parser.add_argument(
        "--budget",
        action="store_true",
        help="give the run a budget it never reaches: every call holds its worst cost",
    )
    args = parser.parse_args()

    temp = tempfile.mkdtemp(prefix="studio-profile-")
    for name in ("DATABASE_URL", "REDIS_URL"):
        os.environ.pop(name, None)
    os.environ.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        STUDIO_DATA_DIR=temp,
        STUDIO_LOG_LEVEL="WARNING",
    )
    fake = subprocess.Popen(
        [sys.executable, "-m", "bench.fake_provider"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        fake_url = f"http://127.0.0.1:{int(fake.stdout.readline().split()[1])}"
        _profile(fake_url, args.rows, args.top, args.latency, args.budget, args.sort)
    finally:
        fake.terminate()
        fake.wait()


def _profile(fake_url: str, rows: int, top: int, latency: float, budget: bool, sort: str) -> None:
    import django

    django.setup()
    from django.conf import settings

    from generation.worker.chunk_filler import fill_chunk
    from generation.worker.loop import bind_worker_loop, unbind_and_close

    new_run = _run_maker(fake_url, latency, budget)
    size = settings.STUDIO_CHUNK_SIZE

    # One kept loop, as a worker's actor loop (one thread: chunks one after the other).
    loop = asyncio.new_event_loop()
    bind_worker_loop(loop, threads=1)

    def fill(run_id: int) -> None:
        for start in range(0, rows, size):
            loop.run_until_complete(fill_chunk(run_id, start, start + size))

    # Unprofiled first (the messages run_create sends stay on the stub broker: no worker).
    fill(new_run(50).pk)  # warm-up
    run = new_run(rows)
    started, times = time.process_time(), os.times()
    fill(run.pk)
    cpu_ms = (time.process_time() - started) * 1000 / rows
    kernel_ms = (os.times().system - times.system) * 1000 / rows
    loop_stats, db_stats = _profiled(fill, lambda: new_run(rows))
    loop.run_until_complete(unbind_and_close())
    loop.close()

    loop_total, db_total = _busy(loop_stats), _busy(db_stats)
    total = loop_total + db_total
    scale = cpu_ms / (total * 1000 / rows)
    print(
        f"\n{rows} rows, chunk {size}, row concurrency {settings.STUDIO_ROW_CONCURRENCY}, "
        f"DEBUG={settings.DEBUG}{', a budget' if budget else ''}: {cpu_ms:.2f} ms of CPU per row unprofiled "
        f"({kernel_ms:.2f} of it in the kernel) "
        f"(profiled: {total * 1000 / rows:.2f} ms, so × {scale:.2f} below; loop thread {loop_total / total:.0%}, DB thread {db_total / total:.0%})\n"
    )
    _print_parts(loop_stats, db_stats, total, to_ms_per_row=1000 / rows * scale)
    order = "cumulative" if sort == "cumulative" else "own"
    print(f"\nTop {top} functions by {order} CPU: the chunks' loop thread, then the DB threads")
    loop_stats.sort_stats(sort).print_stats(top)
    db_stats.sort_stats(sort).print_stats(top)


def _run_maker(fake_url: str, latency: float, budget: bool) -> Callable[[int], Any]:
    """Migrates the database, configures the fake and makes the project; returns a function
    making a run of that many rows (fresh samples: the ledger never answers)."""
    from django.core.management import call_command

    from bench.driver import _setup_project, http_json
    from generation.services import run_create

    call_command("migrate", interactive=False, verbosity=0)
    http_json(fake_url + "/bench/configure", {"latency": latency} if latency else {})
    user, schema = _setup_project(fake_url, "profile", 0, 0)

    def new_run(num_rows: int) -> Any:
        return run_create(
            schema=schema,
            user=user,
            num_rows=num_rows,
            fresh_samples=True,
            budget_usd=Decimal(1_000_000) if budget else None,
        )

    return new_run


def _profiled(
    fill: Callable[[int], None], new_run: Callable[[], Any]
) -> tuple[pstats.Stats, pstats.Stats]:
    """A run filled under cProfile: this thread (the chunks' loops), and every chunk's DB
    thread (one profile each, added up)."""
    from generation.worker import db_thread

    profiles: list[cProfile.Profile] = []
    original_init = db_thread.DbThread.__init__

    def profiled_init(self: db_thread.DbThread) -> None:
        original_init(self)
        profile = cProfile.Profile(time.thread_time)  # CPU, not wall: no GIL waits
        profiles.append(profile)
        self._executor.submit(profile.enable).result()
        close = self.close

        def profiled_close() -> None:
            self._executor.submit(profile.disable).result()
            close()

        self.close = profiled_close  # type: ignore[method-assign]

    db_thread.DbThread.__init__ = profiled_init  # type: ignore[method-assign]
    run = new_run()
    loop_profile = cProfile.Profile(time.thread_time)
    loop_profile.enable()
    fill(run.pk)
    loop_profile.disable()
    db_thread.DbThread.__init__ = original_init  # type: ignore[method-assign]
    db_stats = pstats.Stats(profiles[0])
    for profile in profiles[1:]:
        db_stats.add(profile)
    return pstats.Stats(loop_profile), db_stats


def _print_parts(
    loop_stats: pstats.Stats, db_stats: pstats.Stats, total: float, *, to_ms_per_row: float
) -> None:
    """The table of parts: each one's share of the profiled CPU and its unprofiled ms per row
    (``to_ms_per_row`` turns profiled seconds of the whole run into that)."""
    print("| part | share | ≈ ms/row |")
    print("| --- | ---: | ---: |")
    shown = 0.0
    for stats, parts in ((loop_stats, LOOP_PARTS), (db_stats, DB_PARTS)):
        for label, plus, minus in parts:
            value = sum(_cumulative(stats, *f) for f in plus) - sum(
                _cumulative(stats, *f) for f in minus
            )
            shown += value
            print(f"| {label} | {value / total:.1%} | {value * to_ms_per_row:.2f} |")
    rest = total - shown
    print(
        f"| the rest (asyncio scheduling, fill_chunk, DB connections) | {rest / total:.1%} "
        f"| {rest * to_ms_per_row:.2f} |"
    )


if __name__ == "__main__":
    main()
