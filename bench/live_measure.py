"""One measured run of ``bench.live``: a schema made and a run started through the pages, a probe
in the page recording when each row card appears, and the figures drawn from it."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from bench.live_servers import ROOT, finished_at_ms, raise_token_limit, services_env

WARMUP_SECONDS = 3.0
# Embedded mode: the fake provider holds the first calls this long, so the page is connected
# before rows flow.
GATE_SECONDS = 2.5
LATENCY_SECONDS = 0.05

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
    _make_schema(page, mode, data_dir, llm, rate, project_url)
    frames: list[float] = []
    page.on(
        "websocket",
        lambda ws: ws.on("framereceived", lambda _frame: frames.append(time.time())),
    )
    llm.latency = GATE_SECONDS
    total = int(rate * (seconds + WARMUP_SECONDS + GATE_SECONDS + 2))
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


def _make_schema(page, mode: str, data_dir: Path, llm, rate: int, project_url: str) -> None:
    """A credential whose requests per minute pace the run at ``rate``, and a schema using it,
    made through the pages; leaves the page on the saved schema."""
    from tests.e2e.test_walkthrough import (
        add_openai_compatible_credential,
        credential_label,
        fill_schema,
        save_schema,
    )

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
