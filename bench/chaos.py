"""`make chaos`: one run in services mode while its infrastructure breaks, then what was lost.

Not a test (nothing is timed or asserted): a script that shows what a deployment survives.
It starts everything it uses on free ports of its own, so the machine's PostgreSQL and Redis
(which other people's test runs use) are never touched:

- a private PostgreSQL (``initdb`` in a temporary folder, trust auth, run as the ``postgres``
  user when this script runs as root) and a private ``redis-server`` that keeps nothing on
  disk (``--save "" --appendonly no``: a restart loses every queued message, as a Redis
  without persistence does in production);
- the benchmark's fake provider (bench/fake_provider.py) answering 10 % of generation requests
  with 503 and every request with 429 (retry-after 1 s) for 2 s out of every 20 s;
- two ``manage.py rundramatiq --processes 1`` workers, as ``make worker`` or a compose file
  would run them.

It migrates the database, creates a user, a project, a credential pointing at the fake and a
schema with two dependent LLM columns (``question``, then ``answer`` from it), starts a run of
2 000 rows through ``generation.services.run_create`` as the web process does, and while the
run goes on it ``kill -9``s a worker three times (starting a replacement each time, as a
supervisor would), restarts Redis once and PostgreSQL once. It never resumes the run itself:
it waits until the run is no longer running or ``CHAOS_TIMEOUT`` has passed, then prints

- rows: total, generated, failed (each with its reason), pending;
- rows lost: rows of the run neither generated nor failed with a reason when it ended (or at
  the timeout), plus rows missing from the run (target 0);
- calls paid twice: for each (row, column), the provider's 200 answers minus one, summed; a
  200 answer is a paid call and the ledger key is one per row and column, so any second 200
  is a call paid again (target 0). Each is put down to the event its first answer straddles
  (asked before it, answered at most ``EVENT_WINDOW`` seconds before it or after it): after a
  ``kill -9`` the killed process had been paid, or was about to be, but had not committed the
  answer yet, which no ledger can prevent (a provider does not refund a call whose caller died);
- whether the run finished by itself (no ``resume_runs``), its final status and the wall time.

When the run did not finish by itself, the script then runs ``manage.py resume_runs`` once and
waits again, to tell "stalled" from "broken".

    .venv/bin/python -m bench.chaos             # about 4 minutes on 2 cores

Environment: CHAOS_ROWS (2000), CHAOS_TIMEOUT (600 s for the run to finish by itself),
CHAOS_LATENCY (0.5 s per call, so the run lasts long enough for every event),
CHAOS_ERROR_RATE (0.10), CHAOS_THREADS (2 per worker), CHAOS_ROW_CONCURRENCY (5),
CHAOS_STALLED_RUN_SECONDS (60: STUDIO_STALLED_RUN_SECONDS of the workers).
Everything started is stopped and the temporary folder removed on exit, Ctrl-C and SIGTERM.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from bench.driver import http_json

ROOT = Path(__file__).resolve().parents[1]
PG_BIN = Path(os.environ.get("CHAOS_PG_BIN", "/usr/lib/postgresql/15/bin"))
ROWS = int(os.environ.get("CHAOS_ROWS", "2000"))
TIMEOUT = float(os.environ.get("CHAOS_TIMEOUT", "600"))
LATENCY = float(os.environ.get("CHAOS_LATENCY", "0.5"))
ERROR_RATE = float(os.environ.get("CHAOS_ERROR_RATE", "0.10"))
THREADS = int(os.environ.get("CHAOS_THREADS", "2"))
ROW_CONCURRENCY = int(os.environ.get("CHAOS_ROW_CONCURRENCY", "5"))
STALLED_RUN_SECONDS = os.environ.get("CHAOS_STALLED_RUN_SECONDS", "60")
# 0 turns the workers' stalled-run sweeper off: the run as it was before the sweeper.
STALLED_RUN_CHECK_SECONDS = os.environ.get("CHAOS_STALLED_RUN_CHECK_SECONDS", "10")
WORKERS = 2
EVENT_WINDOW = 5.0
# (event, fraction of the rows done, or seconds since the run started: whichever comes first).
# By the rows done, so that each event hits chunks at work; the times are a fallback for a run
# that stopped advancing (after the Redis restart, until the stalled-run sweep).
SCHEDULE = [
    ("kill", 0.08, 60.0),
    ("redis", 0.20, 120.0),
    ("kill", 0.35, 180.0),
    ("postgres", 0.50, 240.0),
    ("kill", 0.65, 300.0),
]
REF = re.compile(r"^(Q|A) \[([0-9a-f-]{36})\]")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


# ---- the private services -----------------------------------------------------------------------


class Postgres:
    """A PostgreSQL cluster of this script's own, in ``folder``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.data = folder / "pgdata"
        self.port = free_port()
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/chaos"
        self._as_postgres = os.geteuid() == 0  # initdb refuses to run as root

    def _run(self, *args: str) -> None:
        command = [str(PG_BIN / args[0]), *args[1:]]
        if self._as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def init(self) -> None:
        self.data.mkdir()
        if self._as_postgres:
            shutil.chown(self.folder, "postgres")
            shutil.chown(self.data, "postgres")
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8")
        self.start()
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "chaos")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1"
        self._run(
            "pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.folder / "pg.log"),
            "-w", "start",
        )  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        if (self.data / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def restart(self) -> None:
        self.stop("fast")  # every session is ended, as on a server restart or fail-over
        self.start()


class Redis:
    """A redis-server of this script's own that keeps nothing on disk."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.folder), "--logfile", ""],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)
        raise SystemExit("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)

    def restart(self) -> None:
        self.stop()
        self.start()


@dataclass
class Processes:
    """Everything started, stopped on the way out whatever happens."""

    folder: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="studio-chaos-")))
    started: list[subprocess.Popen] = field(default_factory=list)
    postgres: Postgres | None = None
    redis: Redis | None = None

    def start(self, args: list[str], env: dict[str, str], log_name: str) -> subprocess.Popen:
        out = open(self.folder / log_name, "ab")
        process = subprocess.Popen(
            args, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.started.append(process)
        return process

    def close(self) -> None:
        for process in reversed(self.started):
            if process.poll() is None:
                try:
                    os.kill(process.pid, signal.SIGTERM)  # Dramatiq's main process stops its own
                    process.wait(timeout=20)
                except (ProcessLookupError, subprocess.TimeoutExpired):
                    pass
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            process.wait()
        if self.redis is not None:
            self.redis.stop()
        if self.postgres is not None:
            try:
                self.postgres.stop("immediate")
            except subprocess.CalledProcessError:
                pass
        shutil.rmtree(self.folder, ignore_errors=True)


# ---- the studio side ----------------------------------------------------------------------------


def studio_env(pg: Postgres, redis: Redis) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("STUDIO_", "DJANGO_", "BENCH_"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DJANGO_SECRET_KEY="chaos-only-secret-key-not-for-production",
        STUDIO_ENCRYPTION_KEYS="Y2hhb3Mtb25seS1rZXktY2hhb3Mtb25seS1rZXktY2g=",
        DJANGO_SECURE_COOKIES="false",
        # The fake provider listens on 127.0.0.1, which services mode refuses by default.
        STUDIO_ALLOW_PRIVATE_PROVIDER_URLS="true",
        DATABASE_URL=pg.url,
        REDIS_URL=redis.url,
        STUDIO_LOG_LEVEL="WARNING",
        STUDIO_ROW_CONCURRENCY=str(ROW_CONCURRENCY),
        STUDIO_STALLED_RUN_SECONDS=STALLED_RUN_SECONDS,
        STUDIO_STALLED_RUN_CHECK_SECONDS=STALLED_RUN_CHECK_SECONDS,
        HF_HUB_DISABLE_XET="1",
        PYTHONPATH=str(ROOT),
    )
    return env


def start_fake(processes: Processes, env: dict[str, str]) -> str:
    fake = subprocess.Popen(
        [sys.executable, "-m", "bench.fake_provider"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip
    processes.started.append(fake)
    line = fake.stdout.readline()
    if not line.startswith("PORT "):
        raise SystemExit(f"the fake provider did not start: {line!r}")
    url = f"http://127.0.0.1:{int(line.split()[1])}"
    http_json(
        url + "/bench/configure",
        {
            "latency": LATENCY,
            "latency_jitter": 0.5,
            "error_rate": ERROR_RATE,
            "burst_every": 20,
            "burst_seconds": 2,
            "burst_retry_after": 1,
            "log_prompts": True,
        },
    )
    return url


def create_run(fake_url: str) -> int:
    """The studio's own services, as the web process calls them."""
    from decimal import Decimal

    from django.contrib.auth import get_user_model

    from generation.services import run_create
    from studio.models import ProviderCredential
    from studio.services import credential_create, project_create, schema_create

    user = get_user_model().objects.create_user(username="chaos", password=None)
    project = project_create(user=user, name="chaos")
    credential = credential_create(
        project=project,
        name="fake provider",
        provider=ProviderCredential.Provider.OPENAI_COMPATIBLE,
        base_url=fake_url + "/v1",
        api_key="sk-chaos-0000",
        requests_per_minute=10_000,
        tokens_per_minute=10_000_000,
        input_price_per_million=Decimal("1"),
        output_price_per_million=Decimal("2"),
    )
    llm = {"kind": "llm_text", "credential_id": credential.pk, "model": "m", "max_tokens": 64}
    spec = {
        "columns": [
            {"name": "topic", "kind": "category", "values": ["space", "oceans", "volcanoes"]},
            {"name": "ref", "kind": "uuid"},
            {**llm, "name": "question", "prompt": "Q [{{ ref }}] a question about {{ topic }}"},
            {**llm, "name": "answer", "prompt": "A [{{ ref }}] answer: {{ question }}"},
        ]
    }
    schema = schema_create(project=project, user=user, name="chaos", data=spec)
    return run_create(schema=schema, user=user, num_rows=ROWS).pk


def counts(run_id: int) -> dict[str, int] | None:
    """Rows by status and the run's status; None while the database does not answer."""
    from django.db import InterfaceError, OperationalError, close_old_connections, connection
    from django.db.models import Count

    from generation.models import Row, Run

    try:
        close_old_connections()
        result = dict(
            Row.objects.filter(run_id=run_id).values_list("status").annotate(n=Count("pk"))
        )
        result["run"] = Run.objects.filter(pk=run_id).values_list("status", flat=True).first()
        return result
    except (OperationalError, InterfaceError):
        connection.close()
        return None


def start_worker(processes: Processes, env: dict[str, str], number: int) -> subprocess.Popen:
    return processes.start(
        [sys.executable, "manage.py", "rundramatiq", "--processes", "1", "--threads", str(THREADS)],
        env,
        f"worker-{number}.log",
    )


# ---- the run under chaos ------------------------------------------------------------------------


def main() -> int:
    def terminate(*_: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, terminate)
    processes = Processes()
    try:
        return chaos(processes)
    except KeyboardInterrupt:
        print("\ninterrupted: stopping everything", file=sys.stderr)
        return 130
    finally:
        keep = os.environ.get("CHAOS_KEEP_LOGS")
        try:
            if keep:  # the logs only: the database folder and the sockets stay out
                shutil.copytree(
                    processes.folder,
                    keep,
                    dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("pgdata", ".s.*"),
                )
        finally:
            processes.close()


def chaos(processes: Processes) -> int:
    folder = processes.folder
    pg = processes.postgres = Postgres(folder)
    redis = processes.redis = Redis(folder)
    log(f"private PostgreSQL on port {pg.port}, Redis on port {redis.port}, files in {folder}")
    pg.init()
    redis.start()
    env = studio_env(pg, redis)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--verbosity", "0"], cwd=ROOT, env=env, check=True
    )
    fake_url = start_fake(processes, env)
    os.environ.update(env)
    import django

    django.setup()

    workers = [start_worker(processes, env, n) for n in range(WORKERS)]
    started_workers = WORKERS
    time.sleep(3)  # the workers boot (imports) before the run is sent
    run_id = create_run(fake_url)
    started = time.monotonic()
    log(f"run {run_id}: {ROWS} rows, 2 LLM columns, {WORKERS} workers × {THREADS} threads")
    events: list[tuple[float, str]] = []
    moments: list[tuple[str, float]] = []  # (event, wall-clock time) to explain paid calls
    schedule = list(SCHEDULE)
    last: dict[str, int] = {}
    finished_by_itself = False
    last_report = 0.0
    while time.monotonic() - started < TIMEOUT:
        time.sleep(0.5)
        now = time.monotonic() - started
        current = counts(run_id)
        if current is not None:
            last = current
        done = last.get("generated", 0) + last.get("failed", 0)
        if current is not None and current["run"] not in ("running", "queued"):
            finished_by_itself = True
            break
        if now - last_report >= 10:
            last_report = now
            log(f"t={now:5.0f} s: {done}/{ROWS} rows done")
        if schedule and (done >= schedule[0][1] * ROWS or now >= schedule[0][2]):
            event = schedule.pop(0)[0]
            if event == "kill":
                victim = workers.pop(0)
                os.killpg(victim.pid, signal.SIGKILL)
                victim.wait()
                workers.append(start_worker(processes, env, started_workers))
                started_workers += 1
                what = f"kill -9 worker (pid {victim.pid}) and start a replacement"
            elif event == "redis":
                redis.restart()
                what = "restart Redis (its queues are lost: it keeps nothing on disk)"
            else:
                pg.restart()
                what = "restart PostgreSQL (pg_ctl restart -m fast)"
            events.append((now, what))
            moments.append((event, time.time()))
            log(f"t={now:5.0f} s, {done}/{ROWS} rows done: {what}")
    wall = time.monotonic() - started
    final = counts(run_id) or last
    requests = http_json(fake_url + "/bench/stats")["requests"]  # up to now: before any resume
    (processes.folder / "requests.json").write_text(json.dumps(requests))
    resumed_note = ""
    if not finished_by_itself:
        log(f"the run is still {final.get('run')} after {TIMEOUT:.0f} s: manage.py resume_runs")
        subprocess.run([sys.executable, "manage.py", "resume_runs"], cwd=ROOT, env=env, check=False)
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            time.sleep(1)
            after = counts(run_id)
            if after is not None and after["run"] not in ("running", "queued"):
                break
        after = counts(run_id) or {}
        resumed_note = (
            f"after resume_runs: {after.get('run')}, "
            f"{after.get('generated', 0)} generated, {after.get('pending', 0)} pending"
        )
    print(report(run_id, final, requests, moments, events, finished_by_itself, wall, resumed_note))
    sweeps = sum(
        log.read_text(errors="replace").count("its pending chunks are sent again")
        for log in processes.folder.glob("worker-*.log")
    )
    print(f"Stalled-run sweeps by the workers: {sweeps}")
    dead = [w for w in workers if w.poll() is not None]
    if dead:
        print(f"{len(dead)} worker(s) exited by themselves (see worker-*.log)")
    return 0


def report(
    run_id: int,
    final: dict,
    requests: list[list],
    moments: list[tuple[str, float]],
    events: list[tuple[float, str]],
    finished: bool,
    wall: float,
    resumed_note: str,
) -> str:
    from generation.models import LlmCall, Row

    rows = Row.objects.filter(run_id=run_id)
    generated = final.get("generated", 0)
    failed = final.get("failed", 0)
    pending = final.get("pending", 0)
    total = sum(v for k, v in final.items() if k != "run")
    failed_no_reason = rows.filter(status="failed", errors={}).count()
    reasons = Counter(
        message
        for errors in rows.filter(status="failed").values_list("errors", flat=True)
        for message in (errors or {}).values()
    )
    lost = pending + failed_no_reason + max(0, ROWS - total)
    # Provider answers per (row, column), from the fake's request log.
    answered: dict[tuple[str, str], list[tuple[float, float]]] = {}
    statuses = Counter()
    for arrival, ended, status, prompt in requests:
        statuses[status] += 1
        match = REF.match(prompt)
        if status == 200 and match:
            answered.setdefault((match.group(2), match.group(1)), []).append((arrival, ended))
    twice = Counter()
    for answers in answered.values():
        answers.sort()
        for arrival, ended in answers[:-1]:
            near = [
                event
                for event, at in moments
                if arrival <= at + EVENT_WINDOW and ended >= at - EVENT_WINDOW
            ]
            twice[near[0] if near else "none"] += 1
    ledger = LlmCall.objects.filter(run_id=run_id).count()
    lines = [
        "",
        f"Chaos run: {ROWS} rows × 2 dependent LLM columns, {WORKERS} workers × {THREADS} "
        f"threads, row concurrency {ROW_CONCURRENCY}, fake latency {LATENCY:.1f} s ± 50 %, "
        f"{ERROR_RATE:.0%} 503, 429 for 2 s every 20 s (retry-after 1 s), "
        f"STUDIO_STALLED_RUN_SECONDS={STALLED_RUN_SECONDS} (checked every "
        f"{STALLED_RUN_CHECK_SECONDS} s; 0: never)",
        "Events:",
        *(f"  t={t:5.0f} s  {what}" for t, what in events),
        f"Rows: {total} total, {generated} generated, {failed} failed, {pending} pending",
        *(f"  failed: {n} × {message[:120]}" for message, n in reasons.most_common(5)),
        f"Rows lost: {lost} (pending {pending} + failed without a reason {failed_no_reason} "
        f"+ missing {max(0, ROWS - total)})",
        f"Calls paid twice: {twice.total()} (a second 200 answer for the same row and column; "
        f"the first one around a kill -9: {twice['kill']}, a Redis restart: {twice['redis']}, "
        f"a PostgreSQL restart: {twice['postgres']}, none of them: {twice['none']})",
        f"Provider requests: {sum(statuses.values())} ("
        + ", ".join(f"{s}: {n}" for s, n in sorted(statuses.items()))
        + f"); ledger entries for the run: {ledger}, distinct (row, column) answered: "
        f"{len(answered)}",
        f"Run status: {final.get('run')}; finished by itself: {'yes' if finished else 'NO'}"
        + (f" ({resumed_note})" if resumed_note else ""),
        f"Wall time: {wall:.0f} s",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
