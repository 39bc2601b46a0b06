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
import asyncio
import contextlib
import os
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DOC = ROOT / "docs" / "performance.md"
WARMUP_SECONDS = 3.0
# Embedded mode: the fake provider holds the first calls this long, so the page is connected
# before rows flow.
GATE_SECONDS = 2.5
LATENCY_SECONDS = 0.05
PG_URL = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432")
PG_DB = "studio_bench_live"
REDIS_URL = os.environ.get("BENCH_LIVE_REDIS_URL", "redis://127.0.0.1:6379/12")
REDIS_PREFIX = "studio-bench-live"

# Installed before any page script: first appearance time of every row card, every websocket
# message htmx handled, and the most row cards the page ever held.
PAGE_PROBE = """
(() => {
  const seen = {};
  const messages = [];
  let maxRows = 0;
  const now = () => performance.timeOrigin + performance.now();
  new MutationObserver(() => {
    const t = now();
    const cards = document.querySelectorAll("#run-rows > .row-card");
    if (cards.length > maxRows) maxRows = cards.length;
    for (const card of cards) if (!(card.id in seen)) seen[card.id] = t;
  }).observe(document, { childList: true, subtree: true });
  const handling = [];
  let received = 0;
  document.addEventListener("htmx:wsBeforeMessage", () => { received = now(); });
  document.addEventListener("htmx:wsAfterMessage", () => {
    const t = now();
    messages.push(t);
    handling.push(t - received);
  });
  window.__liveProbe = () => ({ seen, messages, handling, maxRows });
})();
"""


@dataclass
class Result:
    mode: str
    rate: int
    achieved_rate: float
    rows_finished: int
    rows_measured: int
    p50_ms: float
    p95_ms: float
    max_ms: float
    messages_per_second: float
    busiest_second: int
    frames_per_second: float
    max_dom_rows: int
    # How long the page took to swap one push in (htmx's wsBeforeMessage → wsAfterMessage).
    handling_p50_ms: float = float("nan")
    handling_p95_ms: float = float("nan")


# ---- servers -------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def services_env() -> dict[str, str]:
    return {
        "DATABASE_URL": f"{PG_URL}/{PG_DB}",
        "REDIS_URL": REDIS_URL,
        "STUDIO_CHANNELS_PREFIX": f"{REDIS_PREFIX}-channels",
        "STUDIO_QUEUE_NAMESPACE": f"{REDIS_PREFIX}-queue",
        "DJANGO_SECRET_KEY": "bench-only-secret-key-not-for-production",
        "STUDIO_ENCRYPTION_KEYS": "YmVuY2gtb25seS1rZXktYmVuY2gtb25seS1rZXktYmU=",
        "DJANGO_SECURE_COOKIES": "false",
        # The fake provider listens on 127.0.0.1, which services mode refuses by default.
        "STUDIO_ALLOW_PRIVATE_PROVIDER_URLS": "true",
    }


@contextlib.contextmanager
def postgres_database() -> Iterator[None]:
    import psycopg

    with psycopg.connect(f"{PG_URL}/postgres", autocommit=True) as db:
        db.execute(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
        db.execute(f"CREATE DATABASE {PG_DB}")
    try:
        yield
    finally:
        with psycopg.connect(f"{PG_URL}/postgres", autocommit=True) as db:
            db.execute(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
        import redis

        client = redis.Redis.from_url(REDIS_URL)
        for key in client.scan_iter(f"{REDIS_PREFIX}*"):
            client.delete(key)


@contextlib.contextmanager
def studio_server(mode: str, extra_env: dict[str, str]) -> Iterator[tuple[str, Path]]:
    """`manage.py serve` in a subprocess of its own session; yields its URL and data folder."""
    from tests.e2e.conftest import embedded_env

    data_dir = Path(tempfile.mkdtemp(prefix="studio-bench-live-"))
    env = embedded_env(data_dir=data_dir, hub_url="http://127.0.0.1:9") | extra_env
    if mode == "services":
        env |= services_env()
    port = _free_port()
    log = (data_dir / "serve.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "manage.py", "serve", "--no-demo", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError((data_dir / "serve.log").read_text()[-3000:])
            with contextlib.suppress(OSError):
                with urllib.request.urlopen(url + "/login/", timeout=2):
                    break
            time.sleep(0.2)
        yield url, data_dir
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
        shutil.rmtree(data_dir, ignore_errors=True)


def _epoch_ms(stamp: str | datetime) -> float:
    moment = datetime.fromisoformat(stamp) if isinstance(stamp, str) else stamp
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp() * 1000


def finished_at_ms(mode: str, data_dir: Path, run_id: int) -> dict[str, float]:
    """Row card id → finish time (ms since the epoch), read from the server's database."""
    query = (
        "SELECT id, finished_at FROM generation_row WHERE run_id = %s AND finished_at IS NOT NULL"
    )
    if mode == "services":
        import psycopg

        with psycopg.connect(f"{PG_URL}/{PG_DB}") as db:
            rows = db.execute(query, (run_id,)).fetchall()
    else:
        with contextlib.closing(
            sqlite3.connect(f"file:{data_dir / 'studio.sqlite3'}?mode=ro", uri=True)
        ) as db:
            rows = db.execute(query.replace("%s", "?"), (run_id,)).fetchall()
    return {f"row-{pk}": _epoch_ms(stamp) for pk, stamp in rows}


def raise_token_limit(mode: str, data_dir: Path, credential: str) -> None:
    """The credential form has no tokens-per-minute field, and the default TPM (200 000) with
    the estimate of a call (prompt + max_tokens) caps this schema near 6 calls a second: raise
    it, so that only the requests per minute pace the run."""
    query = "UPDATE studio_providercredential SET tokens_per_minute = 1000000000 WHERE name = %s"
    if mode == "services":
        import psycopg

        with psycopg.connect(f"{PG_URL}/{PG_DB}") as db:
            db.execute(query, (credential,))
        return
    with contextlib.closing(sqlite3.connect(data_dir / "studio.sqlite3", timeout=30)) as db:
        db.execute(query.replace("%s", "?"), (credential,))
        db.commit()


# ---- the producer (services mode) ---------------------------------------------------------------


def produce(run_id: int, rate: float, seconds: float) -> None:
    """Finish pending rows of ``run_id`` at ``rate`` a second through the workers' write path."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    from generation import live
    from generation.engine import RowOutcome
    from generation.models import Row, Run
    from generation.worker.db_thread import DbThread
    from generation.worker.row_writes import ChunkWrites, chunk_writes_apply

    async def run() -> None:
        db = DbThread()
        project_id = await db.run(lambda: Run.objects.get(pk=run_id).project_id)
        pending = await db.run(
            lambda: list(
                Row.objects.filter(run_id=run_id, status=Row.Status.PENDING)
                .order_by("index")
                .values_list("pk", flat=True)[: int(rate * seconds) + 1]
            )
        )
        start = time.monotonic()
        for number, row_id in enumerate(pending):
            delay = start + number / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            outcome = RowOutcome(
                values={"topic": "space", "question": f"Synthetic answer {number} about space"},
                prompts={"question": "Write a question about space"},
                calls={"question": {"raw": "Synthetic answer", "attempts": 1}},
                input_tokens=7,
                output_tokens=9,
                latency_ms=50,
            )
            writes = ChunkWrites(outcomes=[(row_id, outcome)])
            done = await db.run(
                chunk_writes_apply, run_id=run_id, project_id=project_id, writes=writes
            )
            if done.stored:
                await live.publish_rows(run_id, done.stored)
        db.close()

    asyncio.run(run())


# ---- measuring ------------------------------------------------------------------------------------


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def measure(
    page,
    mode: str,
    data_dir: Path,
    llm,
    rate: int,
    seconds: float,
    project_url: str,
) -> Result:
    """One run at ``rate`` rows per second, watched for ``seconds`` after the warm-up."""
    from tests.e2e.test_walkthrough import (
        add_openai_compatible_credential,
        credential_label,
        fill_schema,
        save_schema,
    )

    total = int(rate * (seconds + WARMUP_SECONDS + GATE_SECONDS + 2))
    credential = f"Fake {rate}/s"
    page.goto(project_url)
    add_openai_compatible_credential(
        page,
        name=credential,
        base_url=llm.openai_base_url,
        api_key=f"sk-bench-{rate}",
        requests_per_minute=int(rate * 60 / 0.99) + 1,  # the limiter keeps a 1 % margin
    )
    raise_token_limit(mode, data_dir, credential)
    page.get_by_role("link", name="New schema").click()
    fill_schema(page, name=f"Bench {rate}", credential=credential_label(page, credential))
    save_schema(page, f"Bench {rate}")

    frames: list[float] = []
    page.on(
        "websocket",
        lambda ws: ws.on("framereceived", lambda _frame: frames.append(time.time())),
    )
    llm.latency = GATE_SECONDS
    page.fill('input[name="num_rows"]', str(total))
    page.get_by_role("button", name="Start run").click()
    page.wait_for_url("**/runs/*/")
    run_id = int(page.url.rstrip("/").rsplit("/", 1)[1])
    page.wait_for_function("document.getElementById('live-indicator').dataset.state === 'open'")
    llm.latency = LATENCY_SECONDS
    connected_ms = page.evaluate("performance.timeOrigin + performance.now()")
    producer = None
    if mode == "services":  # no worker runs: the producer finishes the rows
        producer = subprocess.Popen(
            [sys.executable, "-m", "bench.live", "--produce", str(run_id), "--rates", str(rate)]
            + ["--seconds", str(GATE_SECONDS + WARMUP_SECONDS + seconds + 1)],
            cwd=ROOT,
            env=os.environ | services_env(),
            start_new_session=True,
        )
    page.wait_for_timeout((GATE_SECONDS + WARMUP_SECONDS + seconds) * 1000)
    probe = page.evaluate("window.__liveProbe()")
    end_ms = page.evaluate("performance.timeOrigin + performance.now()")
    if producer is not None:
        producer.terminate()
        producer.wait(timeout=10)
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("#run-cancel").click()  # the rest of the run is not needed
    finished = finished_at_ms(mode, data_dir, run_id)
    return summarise(mode, rate, probe, frames, connected_ms, end_ms, finished)


def summarise(
    mode: str,
    rate: int,
    probe: dict,
    frames: list[float],
    connected_ms: float,
    end_ms: float,
    finished: dict[str, float],
) -> Result:
    start_ms = connected_ms + (GATE_SECONDS + WARMUP_SECONDS) * 1000
    window = [(row, at) for row, at in finished.items() if start_ms <= at <= end_ms - 1000]
    latencies = [probe["seen"][row] - at for row, at in window if row in probe["seen"]]
    messages = [at for at in probe["messages"] if start_ms <= at <= end_ms]
    handling = [
        took
        for at, took in zip(probe["messages"], probe["handling"], strict=True)
        if start_ms <= at <= end_ms
    ]
    span_s = (end_ms - start_ms) / 1000
    buckets: dict[int, int] = {}
    for at in messages:
        second = int((at - start_ms) // 1000)
        buckets[second] = buckets.get(second, 0) + 1
    frame_window = [at for at in frames if start_ms / 1000 <= at <= end_ms / 1000]
    nan = float("nan")
    return Result(
        mode=mode,
        rate=rate,
        achieved_rate=len(window) / ((end_ms - 1000 - start_ms) / 1000),
        rows_finished=len(window),
        rows_measured=len(latencies),
        p50_ms=statistics.median(latencies) if latencies else nan,
        p95_ms=percentile(latencies, 0.95) if latencies else nan,
        max_ms=max(latencies) if latencies else nan,
        messages_per_second=len(messages) / span_s,
        busiest_second=max(buckets.values(), default=0),
        frames_per_second=len(frame_window) / span_s,
        max_dom_rows=probe["maxRows"],
        handling_p50_ms=statistics.median(handling) if handling else nan,
        handling_p95_ms=percentile(handling, 0.95) if handling else nan,
    )


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
