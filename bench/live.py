"""Live monitor benchmark: how long a finished row takes to appear in a browser watching its run,
how many messages the browser gets, and how many rows its page holds.

    .venv/bin/python -m bench.live                         # both modes, 10 and 200 rows/s
    .venv/bin/python -m bench.live --modes services --rates 10,50,200 --seconds 30
    .venv/bin/python -m bench.live --write-doc             # also append to docs/performance.md

Two modes, each a real server in a subprocess watched by a headless Chromium (Debian's, through
Playwright):

- ``embedded``: `manage.py serve` as `make run` starts it (SQLite, in-process worker, in-memory
  channel layer) generating the rows for real against the suite's fake OpenAI-compatible
  provider. The credential's requests-per-minute set the rate (the limiter paces calls evenly),
  so the fake's latency only has to be short. One process does everything here: when the engine
  cannot keep up, the figures say so (achieved rows/s).
- ``services``: `manage.py serve` in services mode (PostgreSQL, channels-redis) and a producer
  process that finishes the run's rows at exactly the target rate through the workers' own write
  path (`chunk_writes_apply`, then `live.publish_rows`, one row per flush and message: the
  most messages a chunk's flushes can send). It measures the live path alone, without the engine's CPU on the same cores.

The browser side: a MutationObserver records `performance.timeOrigin + performance.now()` when
each row card first appears. The server side: each row's `finished_at`, set just before its
commit (so the figure slightly overstates the delay). Same machine, same clock. Messages are
counted by Playwright's websocket frame events and by htmx's `htmx:wsAfterMessage` in the page.
The first seconds (warm-up, and rows the page got in its initial state) are left out; a row
pushed out of the bounded list before the next push (more than 50 rows in one push) is never
shown and has no latency ("rows shown").
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.live_measure import LATENCY_SECONDS, PAGE_PROBE, Result, measure  # noqa: E402
from bench.live_producer import produce  # noqa: E402
from bench.live_servers import postgres_database, studio_server  # noqa: E402

DOC = ROOT / "docs" / "performance.md"


def table(results: list[Result], *, note: str) -> str:
    lines = [
        "| mode | target rows/s | achieved rows/s | rows finished | rows shown | latency p50 "
        "| p95 | max | messages/s (mean, busiest s) | most rows in DOM "
        "| page's swap per push p50 / p95 |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        lines.append(
            f"| {r.mode} | {r.rate} | {r.achieved_rate:.0f} | {r.rows_finished} "
            f"| {r.rows_measured} | {r.p50_ms:.0f} ms | {r.p95_ms:.0f} ms | {r.max_ms:.0f} ms "
            f"| {r.messages_per_second:.2f} ({r.busiest_second}) | {r.max_dom_rows} "
            f"| {r.handling_p50_ms:.0f} / {r.handling_p95_ms:.0f} ms |"
        )
    return "\n".join(lines) + "\n\n" + note + "\n"


def bench_mode(mode: str, rates: list[int], seconds: float, env: dict[str, str]) -> list[Result]:
    from playwright.sync_api import sync_playwright

    from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS
    from tests.e2e.test_walkthrough import create_project, sign_up
    from tests.fakes.llm_server import FakeLLMServer

    results = []
    with contextlib.ExitStack() as stack:
        if mode == "services":
            stack.enter_context(postgres_database())
        llm = stack.enter_context(FakeLLMServer())
        base, data_dir = stack.enter_context(studio_server(mode, env))
        playwright = stack.enter_context(sync_playwright())
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        stack.callback(browser.close)
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.set_default_timeout(30_000)
        context.add_init_script(PAGE_PROBE)
        page = context.new_page()
        sign_up(page, base, "bench")
        project_url = create_project(page, "Live bench")
        for rate in rates:
            # A fresh page per rate: the probe's records start empty.
            page.close()
            page = context.new_page()
            result = measure(page, mode, data_dir, llm, rate, seconds, project_url)
            results.append(result)
            print(
                f"{mode:>8} {rate:>4} rows/s (achieved {result.achieved_rate:.0f}): "
                f"p50 {result.p50_ms:.0f} ms, p95 {result.p95_ms:.0f} ms, "
                f"{result.messages_per_second:.2f} msg/s, DOM ≤ {result.max_dom_rows} rows, "
                f"swap p95 {result.handling_p95_ms:.0f} ms",
                flush=True,
            )
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--modes", default="embedded,services")
    parser.add_argument("--rates", default="10,200", help="rows per second, comma-separated")
    parser.add_argument("--seconds", type=float, default=20.0, help="measured seconds per rate")
    parser.add_argument(
        "--worker-threads",
        type=int,
        default=None,
        help="embedded worker threads (default: the studio's, as `make run` starts it)",
    )
    parser.add_argument("--write-doc", action="store_true", help="append to docs/performance.md")
    parser.add_argument("--produce", type=int, metavar="RUN_ID", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    rates = [int(rate) for rate in args.rates.split(",")]
    if args.produce:
        produce(args.produce, rates[0], args.seconds)
        return
    # The studio's own chunk size and calls in flight, as `make run` starts it.
    env = {}
    if args.worker_threads:
        env["STUDIO_EMBEDDED_WORKER_THREADS"] = str(args.worker_threads)
    load_before = os.getloadavg()[0]
    results: list[Result] = []
    for mode in args.modes.split(","):
        results += bench_mode(mode, rates, args.seconds, env)
    note = (
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC by `python -m bench.live --modes "
        f"{args.modes} --rates {args.rates} --seconds {args.seconds:g}` on {os.cpu_count()} "
        f"cores (load average before: {load_before:.1f}): embedded = real generation "
        f"({args.worker_threads or 'the default'} worker threads, fake provider at "
        f"{LATENCY_SECONDS * 1000:.0f} ms); services = rows finished by the producer through "
        "the workers' write path; one headless Chromium watching."
    )
    report = table(results, note=note)
    print()
    print(report)
    if args.write_doc:
        with DOC.open("a", encoding="utf-8") as doc:
            doc.write(report)


if __name__ == "__main__":
    main()
