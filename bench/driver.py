"""Runs the benchmark's scenarios in one mode, through the real code path, and prints one JSON
line per scenario. Started by bench/run.py with the environment of the mode:

- embedded (no REDIS_URL): SQLite in a temporary folder, a ``dramatiq.Worker`` on the stub
  broker inside this process and a bound "server" loop for live publishes, as ``serve`` does;
- services (DATABASE_URL + REDIS_URL): ``--workers`` real ``manage.py rundramatiq``
  subprocesses take the chunks from Redis and write to PostgreSQL; this process only creates
  the run and waits, like the web process.

Every scenario uses a fresh credential (OpenAI-compatible, base URL = the fake provider) and
schema (one category sampler, one llm_text column) made with the services, and a run made
with ``generation.services.run_create``; the wall time runs from ``run_create`` to the moment
the run is no longer running (polled), CPU is the engine's (see ``_EngineCpu``)."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import django

ROOT = Path(__file__).resolve().parents[1]
TICKS = os.sysconf("SC_CLK_TCK")


def http_json(url: str, payload: dict | None = None) -> Any:
    data = json.dumps(payload).encode() if payload is not None else None
    request = urllib.request.Request(
        url,
        data=data,
        headers={"Content-Type": "application/json"},
        method="POST" if data else "GET",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


# ---- CPU accounting -----------------------------------------------------------------------------


def _proc_table() -> dict[int, tuple[int, float]]:
    """pid -> (ppid, CPU seconds used so far: utime + stime) for every process."""
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            raw = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = raw[raw.rindex(")") + 2 :].split()
        table[int(entry)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / TICKS)
    return table


def tree_cpu(roots: list[int]) -> float:
    """CPU seconds used so far by the processes ``roots`` and all their descendants."""
    table = _proc_table()
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    total, todo = 0.0, list(roots)
    while todo:
        pid = todo.pop()
        if pid in table:
            total += table[pid][1]
        todo.extend(children.get(pid, []))
    return total


def server_cpu(database: str | None) -> float:
    """CPU seconds used so far by the PostgreSQL backends serving ``database`` and the Redis
    server (services mode; None: 0). Other users of the same Redis count too; informational."""
    if database is None:
        return 0.0
    total = 0.0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            raw = Path(f"/proc/{entry}/stat").read_text()
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        comm = raw[raw.index("(") + 1 : raw.rindex(")")]
        backend = comm == "postgres" and f" {database} " in cmdline
        if backend or comm.startswith("redis-server"):
            fields = raw[raw.rindex(")") + 2 :].split()
            total += (int(fields[11]) + int(fields[12])) / TICKS
    return total


def machine_busy() -> float:
    """CPU seconds all CPUs of the machine have been busy (not idle, not waiting for I/O)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(fields[:8]) - fields[3] - fields[4]) / TICKS


class _EngineCpu:
    """The engine's CPU seconds so far. Embedded: this process (worker threads, their DB
    threads, the live-update loop) minus this main thread, which only creates the run and
    polls it (the fake provider runs in another process). Services: the worker process trees."""

    def __init__(self, worker_pids: list[int] | None) -> None:
        self.worker_pids = worker_pids

    def __call__(self) -> float:
        if self.worker_pids is None:
            return time.process_time() - time.thread_time()
        return tree_cpu(self.worker_pids)


# ---- the studio side -----------------------------------------------------------------------------


def _setup_project(fake_url: str, name: str, rpm: int, tpm: int):
    from django.contrib.auth import get_user_model

    from studio.models import ProviderCredential
    from studio.services import credential_create, project_create, schema_create

    user, _ = get_user_model().objects.get_or_create(username="bench")
    project = project_create(user=user, name=f"bench {name} {time.time_ns()}")
    credential = credential_create(
        project=project,
        name="fake provider",
        provider=ProviderCredential.Provider.OPENAI_COMPATIBLE,
        base_url=fake_url + "/v1",
        api_key="sk-bench-0000",
    )
    # 0 is "no limit" to the limiter: a value the credential rules refuse from users, set here.
    ProviderCredential.objects.filter(pk=credential.pk).update(
        requests_per_minute=rpm, tokens_per_minute=tpm
    )
    spec = {
        "columns": [
            {"name": "topic", "kind": "category", "values": ["space", "oceans", "volcanoes"]},
            {
                "name": "question",
                "kind": "llm_text",
                "credential_id": credential.pk,
                "model": "gpt-4o-mini",
                "prompt": "Write a question about {{ topic }}",
                "max_tokens": 64,
            },
        ]
    }
    schema = schema_create(project=project, user=user, name="bench", data=spec)
    return user, schema


def _run_once(schema, user, rows: int, timeout: float) -> tuple[Any, float, float]:
    """Create a run and wait until it is no longer running: (run, start, end) wall times."""
    from generation.models import Run
    from generation.services import run_create

    started = time.time()
    run = run_create(schema=schema, user=user, num_rows=rows, fresh_samples=True)
    deadline = time.monotonic() + timeout
    while True:
        status = Run.objects.filter(pk=run.pk).values_list("status", flat=True).first()
        if status not in (Run.Status.QUEUED, Run.Status.RUNNING):
            return run, started, time.time()
        if time.monotonic() > deadline:
            raise TimeoutError(f"run {run.pk} still {status} after {timeout:.0f} s")
        time.sleep(0.02)


def run_scenario(scenario: dict, fake_url: str, cpu: _EngineCpu, fake_pid: int = 0) -> dict:
    from django.conf import settings

    from generation.models import Row, Run

    http_json(fake_url + "/bench/configure", scenario["fake"])
    user, schema = _setup_project(
        fake_url, scenario["name"], scenario.get("rpm", 0), scenario.get("tpm", 0)
    )
    rows = scenario["rows"]
    wait_idle(cpu)
    database = None if settings.EMBEDDED else settings.DATABASES["default"]["NAME"]
    db_cpu_before = server_cpu(database)
    fake_cpu_before = tree_cpu([fake_pid]) if fake_pid else 0.0
    busy_before = machine_busy()
    main_before = time.thread_time()
    cpu_before = cpu()
    run, started, ended = _run_once(schema, user, rows, timeout=scenario.get("timeout", 600))
    cpu_after = cpu()
    main_cpu = time.thread_time() - main_before
    busy = machine_busy() - busy_before
    fake_cpu = (tree_cpu([fake_pid]) if fake_pid else 0.0) - fake_cpu_before
    db_cpu_after = server_cpu(database)
    log = http_json(fake_url + "/bench/stats")["requests"]
    counts = {
        status: Row.objects.filter(run=run, status=status).count()
        for status in (Row.Status.GENERATED, Row.Status.FAILED, Row.Status.PENDING)
    }
    return {
        "name": scenario["name"],
        "rows": rows,
        "status": Run.objects.get(pk=run.pk).status,
        "row_counts": counts,
        "started": started,
        "ended": ended,
        "wall": ended - started,
        "engine_cpu": cpu_after - cpu_before,
        "server_cpu": db_cpu_after - db_cpu_before,
        "fake_cpu": fake_cpu,
        # What else kept the machine's CPUs busy meanwhile (other users of a shared machine):
        # wall-clock ratios are only meaningful when this is near 0.
        "foreign_cpu": busy
        - (cpu_after - cpu_before)
        - main_cpu
        - fake_cpu
        - (db_cpu_after - db_cpu_before),
        "requests": log,
        "cpus": os.cpu_count(),
        "settings": {
            "chunk_size": settings.STUDIO_CHUNK_SIZE,
            "row_concurrency": settings.STUDIO_ROW_CONCURRENCY,
            "embedded_threads": settings.STUDIO_EMBEDDED_WORKER_THREADS,
            "debug": settings.DEBUG,
        },
    }


# ---- the worker side ------------------------------------------------------------------------------


def _start_server_loop() -> None:
    """Embedded mode: the loop that owns the in-memory channel layer (uvicorn's, in ``serve``);
    workers hand their live publishes to it."""
    from generation import live

    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, name="server-loop", daemon=True).start()
    live.bind_server_loop(loop)


def _start_workers(count: int, threads: int, log_dir: Path) -> list[subprocess.Popen]:
    workers = []
    for number in range(count):
        log = open(log_dir / f"worker-{number}.log", "wb")
        workers.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "manage.py",
                    "rundramatiq",
                    "--processes",
                    "1",
                    "--threads",
                    str(threads),
                ],
                cwd=ROOT,
                env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings"},
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )
    return workers


def wait_idle(cpu: _EngineCpu, quiet: float = 0.03, timeout: float = 90.0) -> None:
    """Wait until the engine uses (almost) no CPU for half a second: the workers have booted,
    or the previous run's last writes are done."""
    deadline = time.monotonic() + timeout
    before = cpu()
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = cpu()
        if now - before < quiet:
            return
        before = now


def _stop_workers(workers: list[subprocess.Popen]) -> None:
    for worker in workers:
        if worker.poll() is None:
            worker.terminate()  # dramatiq's main process stops its worker processes
    for worker in workers:
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--fake-url", required=True)
    parser.add_argument("--fake-pid", type=int, default=0)
    parser.add_argument("--plan", required=True, help="JSON list of scenarios")
    parser.add_argument("--workers", type=int, default=0, help="services mode: processes")
    parser.add_argument("--threads", type=int, default=2, help="services mode: threads each")
    parser.add_argument("--log-dir", default=".")
    parser.add_argument("--warmup-rows", type=int, default=200)
    args = parser.parse_args()
    # bench/run.py stops this process with SIGTERM: unwind so the workers are stopped too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    import dramatiq
    from django.conf import settings
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    worker = None
    workers: list[subprocess.Popen] = []
    try:
        if settings.EMBEDDED:
            _start_server_loop()
            worker = dramatiq.Worker(
                dramatiq.get_broker(),
                worker_threads=settings.STUDIO_EMBEDDED_WORKER_THREADS,
                worker_timeout=100,
            )
            worker.start()
            cpu = _EngineCpu(None)
        else:
            workers = _start_workers(args.workers, args.threads, Path(args.log_dir))
            cpu = _EngineCpu([w.pid for w in workers])
            time.sleep(2)  # let the workers fork their processes before waiting for quiet
        # Warm up (imports, connections, first-use caches), unmeasured. Every worker process
        # must fill chunks of its own: a process's first chunk is slow (lazy imports in the
        # SDKs, new connections), and one process can prefetch all chunks of a small run. A
        # little latency keeps chunks in flight long enough for every process to take some.
        warmup = {
            "name": "warm-up",
            "rows": args.warmup_rows * 2 * max(1, args.workers),
            "fake": {"latency": 0.05},
            "timeout": 180,
        }
        run_scenario(warmup, args.fake_url, cpu, args.fake_pid)
        for scenario in json.loads(args.plan):
            result = run_scenario(scenario, args.fake_url, cpu, args.fake_pid)
            result["workers"] = args.workers
            result["threads"] = args.threads
            print("RESULT " + json.dumps(result), flush=True)
    finally:
        if worker is not None:
            worker.stop()
        _stop_workers(workers)


if __name__ == "__main__":
    main()
