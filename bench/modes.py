"""Running the scenarios in one mode: the mode's environment, its driver (bench/driver.py) in a
process group of its own, and the results the driver prints."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from bench.cleanup import (
    CHANNELS_PREFIX,
    QUEUE_NAMESPACE,
    Cleanup,
    clean_redis,
    create_database,
    drop_database,
)
from bench.scenarios import CHUNK_SIZE, DB_NAME, REDIS_URL, ROOT, ROW_CONC, THREADS, plan

# Settings every mode gets; the keys are for this benchmark only.
COMMON_ENV = {
    "DJANGO_SETTINGS_MODULE": "config.settings",
    "DJANGO_SECRET_KEY": "bench-only-secret-key-not-for-production",
    "STUDIO_ENCRYPTION_KEYS": "YmVuY2gtb25seS1rZXktYmVuY2gtb25seS1rZXktYmU=",
    "STUDIO_LOG_LEVEL": "WARNING",
    "HF_HUB_DISABLE_XET": "1",
    # The fake provider listens on 127.0.0.1, which services mode refuses by default.
    "STUDIO_ALLOW_PRIVATE_PROVIDER_URLS": "true",
}
# Variables of the caller's environment that would change the mode or the measured settings.
SCRUBBED = (
    "DATABASE_URL",
    "REDIS_URL",
    "DJANGO_DEBUG",
    "STUDIO_DATA_DIR",
    "STUDIO_CHUNK_SIZE",
    "STUDIO_ROW_CONCURRENCY",
    "STUDIO_EMBEDDED_WORKER_THREADS",
    "STUDIO_QUEUE_NAMESPACE",
    "STUDIO_CHANNELS_PREFIX",
)


@dataclass
class Mode:
    label: str  # "embedded" or "services"
    workers: int  # services: worker processes (embedded: 1, the serving process)


def parse_modes() -> list[Mode]:
    modes = []
    for item in os.environ.get("BENCH_MODES", "embedded,services:1,services:2").split(","):
        item = item.strip()
        if item == "embedded":
            modes.append(Mode("embedded", 1))
        elif item.startswith("services"):
            modes.append(Mode("services", int(item.partition(":")[2] or 1)))
    return modes


def start_fake(cleanup: Cleanup) -> tuple[str, int]:
    fake = cleanup.start(
        [sys.executable, "-m", "bench.fake_provider"],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        text=True,
    )
    line = fake.stdout.readline()
    if not line.startswith("PORT "):
        raise SystemExit(f"the fake provider did not start: {line!r}")
    return f"http://127.0.0.1:{int(line.split()[1])}", fake.pid


def run_mode(mode: Mode, fake_url: str, fake_pid: int, cleanup: Cleanup) -> list[dict]:
    name = f"{mode.label}-{mode.workers}"
    log_dir = cleanup.temp / name
    log_dir.mkdir()
    env, args = _mode_env(mode, log_dir, cleanup)
    stderr_path = log_dir / "driver.log"
    with open(stderr_path, "w") as stderr:
        driver = cleanup.start(
            [
                sys.executable,
                "-m",
                "bench.driver",
                "--fake-url",
                fake_url,
                "--fake-pid",
                str(fake_pid),
                "--plan",
                json.dumps(plan()),
                "--log-dir",
                str(log_dir),
                *args,
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
        results = _results(driver, mode, name)
        code = driver.wait()
    if code != 0:
        _print_failure(name, code, stderr_path, log_dir)
    if mode.label == "services":
        drop_database(DB_NAME)
        cleanup.databases.remove(DB_NAME)
        clean_redis()
    return results


def _mode_env(mode: Mode, log_dir: Path, cleanup: Cleanup) -> tuple[dict[str, str], list[str]]:
    """The driver's environment and its extra arguments; in services mode this creates the
    database (dropped by ``run_mode``, or by ``cleanup`` on the way out) and empties Redis."""
    env = {k: v for k, v in os.environ.items() if k not in SCRUBBED}
    env.update(COMMON_ENV, PYTHONPATH=str(ROOT))
    env["STUDIO_EMBEDDED_WORKER_THREADS"] = str(THREADS)
    for setting, value in (("STUDIO_CHUNK_SIZE", CHUNK_SIZE), ("STUDIO_ROW_CONCURRENCY", ROW_CONC)):
        if value:
            env[setting] = value
    if mode.label == "embedded":
        env["STUDIO_DATA_DIR"] = str(log_dir / "data")  # SQLite and its secrets, thrown away
        return env, []
    cleanup.databases.append(DB_NAME)
    env["DATABASE_URL"] = create_database(DB_NAME)
    env["REDIS_URL"] = REDIS_URL
    env["STUDIO_QUEUE_NAMESPACE"] = QUEUE_NAMESPACE
    env["STUDIO_CHANNELS_PREFIX"] = CHANNELS_PREFIX
    env["DJANGO_SECURE_COOKIES"] = "false"
    clean_redis()
    return env, ["--workers", str(mode.workers), "--threads", str(THREADS)]


def _results(driver: subprocess.Popen, mode: Mode, name: str) -> list[dict]:
    """The driver's ``RESULT`` lines, each labelled with the mode, as they come."""
    results = []
    for line in driver.stdout:
        if line.startswith("RESULT "):
            result = json.loads(line[7:])
            result["mode"] = mode.label
            result["workers"] = mode.workers
            results.append(result)
            print(f"  {name}: {result['name']} done in {result['wall']:.1f} s", flush=True)
    return results


def _print_failure(name: str, code: int, stderr_path: Path, log_dir: Path) -> None:
    tail = stderr_path.read_text()[-3000:]
    for worker_log in sorted(log_dir.glob("worker-*.log")):
        tail += f"\n--- {worker_log.name}\n" + worker_log.read_text()[-1500:]
    print(f"  {name}: the driver failed (exit {code}):\n{tail}", file=sys.stderr)
