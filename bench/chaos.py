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
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field

from bench.chaos_report import report
from bench.chaos_services import ROOT, Postgres, Processes, Redis
from bench.chaos_studio import (
    ROWS,
    THREADS,
    WORKERS,
    counts,
    create_run,
    start_fake,
    start_worker,
    studio_env,
)
from bench.driver import http_json

TIMEOUT = float(os.environ.get("CHAOS_TIMEOUT", "600"))
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


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


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
    env, fake_url = _start(processes)
    breaker = Breaker(processes, env)
    breaker.workers = [start_worker(processes, env, n) for n in range(WORKERS)]
    time.sleep(3)  # the workers boot (imports) before the run is sent
    run_id = create_run(fake_url)
    started = time.monotonic()
    log(f"run {run_id}: {ROWS} rows, 2 LLM columns, {WORKERS} workers × {THREADS} threads")
    finished_by_itself, last = _watch(run_id, started, breaker)
    wall = time.monotonic() - started
    final = counts(run_id) or last
    requests = http_json(fake_url + "/bench/stats")["requests"]  # up to now: before any resume
    (processes.folder / "requests.json").write_text(json.dumps(requests))
    resumed_note = "" if finished_by_itself else _resume(run_id, final, env)
    print(
        report(
            run_id,
            final,
            requests,
            breaker.moments,
            breaker.events,
            finished_by_itself,
            wall,
            resumed_note,
        )
    )
    sweeps = sum(
        log.read_text(errors="replace").count("its pending chunks are sent again")
        for log in processes.folder.glob("worker-*.log")
    )
    print(f"Stalled-run sweeps by the workers: {sweeps}")
    dead = [w for w in breaker.workers if w.poll() is not None]
    if dead:
        print(f"{len(dead)} worker(s) exited by themselves (see worker-*.log)")
    return 0


def _start(processes: Processes) -> tuple[dict[str, str], str]:
    """The private PostgreSQL and Redis, the migrated database, the fake provider, and Django
    set up in this process; returns the studio's environment and the fake's URL."""
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
    return env, fake_url


@dataclass
class Breaker:
    """The events of ``SCHEDULE``, applied to the workers and the private services."""

    processes: Processes
    env: dict[str, str]
    workers: list[subprocess.Popen] = field(default_factory=list)
    started_workers: int = WORKERS  # the number of the next worker's log file
    events: list[tuple[float, str]] = field(default_factory=list)  # (seconds into the run, what)
    moments: list[tuple[str, float]] = field(default_factory=list)  # (event, wall-clock time)

    def strike(self, event: str, now: float) -> str:
        if event == "kill":
            victim = self.workers.pop(0)
            os.killpg(victim.pid, signal.SIGKILL)
            victim.wait()
            self.workers.append(start_worker(self.processes, self.env, self.started_workers))
            self.started_workers += 1
            what = f"kill -9 worker (pid {victim.pid}) and start a replacement"
        elif event == "redis":
            self.processes.redis.restart()
            what = "restart Redis (its queues are lost: it keeps nothing on disk)"
        else:
            self.processes.postgres.restart()
            what = "restart PostgreSQL (pg_ctl restart -m fast)"
        self.events.append((now, what))
        self.moments.append((event, time.time()))
        return what


def _watch(run_id: int, started: float, breaker: Breaker) -> tuple[bool, dict]:
    """Polls the run until it stops running or ``TIMEOUT`` passes, striking each event when its
    time comes; returns whether it finished by itself and the last counts read."""
    schedule = list(SCHEDULE)
    last: dict = {}
    last_report = 0.0
    while time.monotonic() - started < TIMEOUT:
        time.sleep(0.5)
        now = time.monotonic() - started
        current = counts(run_id)
        if current is not None:
            last = current
        done = last.get("generated", 0) + last.get("failed", 0)
        if current is not None and current["run"] not in ("running", "queued"):
            return True, last
        if now - last_report >= 10:
            last_report = now
            log(f"t={now:5.0f} s: {done}/{ROWS} rows done")
        if schedule and (done >= schedule[0][1] * ROWS or now >= schedule[0][2]):
            what = breaker.strike(schedule.pop(0)[0], now)
            log(f"t={now:5.0f} s, {done}/{ROWS} rows done: {what}")
    return False, last


def _resume(run_id: int, final: dict, env: dict[str, str]) -> str:
    """``manage.py resume_runs`` once, then up to 3 minutes for the run to end: what it came to."""
    log(f"the run is still {final.get('run')} after {TIMEOUT:.0f} s: manage.py resume_runs")
    subprocess.run([sys.executable, "manage.py", "resume_runs"], cwd=ROOT, env=env, check=False)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        time.sleep(1)
        after = counts(run_id)
        if after is not None and after["run"] not in ("running", "queued"):
            break
    after = counts(run_id) or {}
    return (
        f"after resume_runs: {after.get('run')}, "
        f"{after.get('generated', 0)} generated, {after.get('pending', 0)} pending"
    )


if __name__ == "__main__":
    sys.exit(main())
