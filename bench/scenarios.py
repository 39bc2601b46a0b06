"""The benchmark's knobs (read from the environment, listed in bench/run.py's docstring), its
targets and the scenarios each mode runs."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def env_float(name: str, default: float) -> float:
    raw = os.environ.get(name, "")
    return float(raw) if raw.strip() else default


QUICK = os.environ.get("BENCH_QUICK", "") not in ("", "0", "false")
LATENCY = env_float("BENCH_LATENCY", 0.2)
JITTER = env_float("BENCH_LATENCY_JITTER", 0.0)
RPM = int(env_float("BENCH_RPM", 600))
ERROR_RATE = env_float("BENCH_ERROR_RATE", 0.0)
THREADS = int(env_float("BENCH_WORKER_THREADS", 2))
# Empty: the settings' defaults (config/settings.py).
CHUNK_SIZE = os.environ.get("BENCH_CHUNK_SIZE", "").strip()
ROW_CONC = os.environ.get("BENCH_ROW_CONCURRENCY", "").strip()
PG_URL = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432").rstrip("/")
DB_NAME = os.environ.get("BENCH_DB", "studio_bench")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")

TARGET_RATE = 0.98
TARGET_429 = 0.01
TARGET_LATENCY = 0.90
TARGET_CPU_MS = 2.0


def plan() -> list[dict]:
    rows = {"rate_limited": 300, "latency_bound": 1000, "overhead": 5000}
    if QUICK:
        rows = {"rate_limited": 120, "latency_bound": 300, "overhead": 1000}
    scenarios = {
        "rate_limited": {
            "rpm": RPM,
            "fake": {
                "latency": LATENCY,
                "latency_jitter": JITTER,
                "rpm_limit": RPM,
                "error_rate": ERROR_RATE,
            },
        },
        "latency_bound": {
            "fake": {"latency": LATENCY, "latency_jitter": JITTER, "error_rate": ERROR_RATE}
        },
        "overhead": {"fake": {"latency": 0.0, "error_rate": ERROR_RATE}},
    }
    chosen = os.environ.get("BENCH_SCENARIOS", "rate_limited,latency_bound,overhead")
    return [
        {"name": name, "rows": rows[name], "timeout": 600, **scenarios[name]}
        for name in (n.strip() for n in chosen.split(","))
        if name
    ]
