"""`make bench`: run the real engine against a local fake provider and print one table of
ratios, each measured in this run. See docs/performance.md for what is measured and how.

    .venv/bin/python -m bench.run           # the full benchmark (5–6 minutes on 2 cores)
    BENCH_QUICK=1 .venv/bin/python -m bench.run

Environment:
    BENCH_QUICK=1          smaller runs (about 2 minutes)
    BENCH_MODES            default "embedded,services:1,services:2" (services:N = N worker processes)
    BENCH_SCENARIOS        default "rate_limited,latency_bound,overhead"
    BENCH_WORKER_THREADS   worker threads: of the embedded worker, of each services worker
                           process (default 2, the embedded default)
    BENCH_CHUNK_SIZE, BENCH_ROW_CONCURRENCY
                           override STUDIO_CHUNK_SIZE / STUDIO_ROW_CONCURRENCY (tuning runs)
    BENCH_LATENCY          fake provider latency in seconds for the first two scenarios (0.2)
    BENCH_LATENCY_JITTER   spread of that latency, uniform ± this share (0: every call takes
                           exactly BENCH_LATENCY; 0.5: 0.1–0.3 s); the mean stays the same
    BENCH_RPM              the rate-limited scenario's limit (600)
    BENCH_ERROR_RATE       share of generation requests the fake answers with 503 (0)
    BENCH_PG_URL           PostgreSQL server (postgres://postgres@127.0.0.1:5432); the database
    BENCH_DB               studio_bench is created and dropped by the benchmark
    BENCH_REDIS_URL        redis://127.0.0.1:6379/13; only keys under studio-bench-run* and
                           studio:ratelimit:* are written and deleted (a database holding
                           other keys is refused)
    BENCH_STRICT=1         exit 1 when a target is missed (by default only errors fail)

The fake provider and each mode's driver run in process groups of their own (a driver's worker
processes in its group); all are stopped, the database dropped and the Redis keys deleted on
exit, on Ctrl-C and on SIGTERM.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time

from bench import machine
from bench.cleanup import Cleanup, check_redis
from bench.modes import parse_modes, run_mode, start_fake
from bench.ratios import Line, configuration, evaluate, table
from bench.scenarios import ERROR_RATE, LATENCY, QUICK, ROOT, RPM, plan

OUT_DIR = ROOT / "test-artifacts" / "bench"


def main() -> int:
    def terminate(*_: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, terminate)
    cleanup = Cleanup()
    lines: list[Line] = []
    errors = 0
    results_seen: list[dict] = []
    started = time.monotonic()
    load_at_start = os.getloadavg()[0]
    # Before anything else starts: how fast this machine is, to read the ratios by.
    speed = machine.describe(machine.calibrate())
    print(speed[0].upper() + speed[1:], flush=True)
    try:
        modes = parse_modes()
        if any(mode.label == "services" for mode in modes):
            check_redis()
        fake_url, fake_pid = start_fake(cleanup)
        print(
            f"Benchmark{' (quick)' if QUICK else ''}: fake provider at {fake_url}, "
            f"latency {LATENCY * 1000:.0f} ms, limit {RPM} RPM, error rate {ERROR_RATE:.2%}",
            flush=True,
        )
        expected = {s["name"] for s in plan()}
        for mode in modes:
            results = run_mode(mode, fake_url, fake_pid, cleanup)
            errors += len(expected - {r["name"] for r in results})
            results_seen.extend(results)
            for result in results:
                lines.extend(evaluate(result))
    except KeyboardInterrupt:
        print("\ninterrupted: stopping the processes and dropping the database", file=sys.stderr)
        return 130
    finally:
        cleanup.close()
    text = table(lines)
    text += (
        f"\n{'Quick run' if QUICK else 'Run'} of {time.monotonic() - started:.0f} s on "
        f"{os.cpu_count()} CPUs (load average {load_at_start:.2f} at the start; {speed}): "
        + configuration(results_seen)
        + "\n"
    )
    print("\n" + text)
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    (OUT_DIR / "latest.md").write_text(text)
    # Every result with the fake's request log (arrival, end, status), for a closer look.
    (OUT_DIR / "latest.json").write_text(json.dumps(results_seen))
    if errors:
        print(f"{errors} scenario run(s) did not complete", file=sys.stderr)
        return 1
    strict = os.environ.get("BENCH_STRICT", "") not in ("", "0", "false")
    return 1 if strict and not all(line.ok for line in lines) else 0


if __name__ == "__main__":
    sys.exit(main())
