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
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg
import redis

from bench import machine

ROOT = Path(__file__).resolve().parents[1]
OUT_DIR = ROOT / "test-artifacts" / "bench"
QUEUE_NAMESPACE = "studio-bench-run"
CHANNELS_PREFIX = "studio-bench-run-live"
RATELIMIT_PREFIX = "studio:ratelimit:"  # generation.ratelimit.DEFAULT_PREFIX
BENCH_KEY_PREFIXES = (QUEUE_NAMESPACE, RATELIMIT_PREFIX)
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
        # Issue 6 (live updates) adds a "live" scenario here: the same run watched by N
        # websocket clients, measuring push latency and the web process's CPU per push.
    }
    chosen = os.environ.get("BENCH_SCENARIOS", "rate_limited,latency_bound,overhead")
    return [
        {"name": name, "rows": rows[name], "timeout": 600, **scenarios[name]}
        for name in (n.strip() for n in chosen.split(","))
        if name
    ]


# ---- process and resource hygiene ----------------------------------------------------------------


class Cleanup:
    def __init__(self) -> None:
        self.processes: list[subprocess.Popen] = []
        self.databases: list[str] = []
        self.temp = Path(tempfile.mkdtemp(prefix="studio-bench-"))

    def start(self, args: list[str], env: dict[str, str], **kwargs) -> subprocess.Popen:
        process = subprocess.Popen(
            args, cwd=ROOT, env=env, start_new_session=True, **kwargs
        )  # its own session: Ctrl-C reaches only this script, which stops the whole group
        self.processes.append(process)
        return process

    @staticmethod
    def stop(process: subprocess.Popen) -> None:
        if process.poll() is None:
            try:
                os.killpg(process.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            pass
        try:  # whatever is left of the group (worker processes), and a hung leader
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait()

    def close(self) -> None:
        for process in reversed(self.processes):
            self.stop(process)
        for name in self.databases:
            drop_database(name)
        clean_redis()
        shutil.rmtree(self.temp, ignore_errors=True)


def _admin() -> psycopg.Connection:
    return psycopg.connect(PG_URL + "/postgres", autocommit=True)


def create_database(name: str) -> str:
    with _admin() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{PG_URL}/{name}"


def drop_database(name: str) -> None:
    try:
        with _admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    except psycopg.Error as exc:
        print(f"warning: could not drop database {name}: {exc}", file=sys.stderr)


def _redis() -> redis.Redis:
    return redis.Redis.from_url(REDIS_URL)


def check_redis() -> None:
    client = _redis()
    foreign = [
        key
        for key in client.scan_iter(count=1000)
        if not key.decode(errors="replace").startswith(BENCH_KEY_PREFIXES)
    ]
    if foreign:
        raise SystemExit(
            f"{REDIS_URL} holds keys that are not the benchmark's (e.g. {foreign[0]!r}); "
            "point BENCH_REDIS_URL at a database of its own"
        )


def clean_redis() -> None:
    try:
        client = _redis()
        for prefix in BENCH_KEY_PREFIXES:
            keys = list(client.scan_iter(match=prefix + "*", count=1000))
            for start in range(0, len(keys), 500):
                client.delete(*keys[start : start + 500])
    except redis.RedisError as exc:
        print(f"warning: could not clean {REDIS_URL}: {exc}", file=sys.stderr)


# ---- running the modes ------------------------------------------------------------------------------


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
    env = {k: v for k, v in os.environ.items() if k not in SCRUBBED}
    env.update(COMMON_ENV, PYTHONPATH=str(ROOT))
    name = f"{mode.label}-{mode.workers}"
    log_dir = cleanup.temp / name
    log_dir.mkdir()
    env["STUDIO_EMBEDDED_WORKER_THREADS"] = str(THREADS)
    for setting, value in (("STUDIO_CHUNK_SIZE", CHUNK_SIZE), ("STUDIO_ROW_CONCURRENCY", ROW_CONC)):
        if value:
            env[setting] = value
    if mode.label == "embedded":
        env["STUDIO_DATA_DIR"] = str(log_dir / "data")  # SQLite and its secrets, thrown away
        args = []
    else:
        cleanup.databases.append(DB_NAME)
        env["DATABASE_URL"] = create_database(DB_NAME)
        env["REDIS_URL"] = REDIS_URL
        env["STUDIO_QUEUE_NAMESPACE"] = QUEUE_NAMESPACE
        env["STUDIO_CHANNELS_PREFIX"] = CHANNELS_PREFIX
        env["DJANGO_SECURE_COOKIES"] = "false"
        clean_redis()
        args = ["--workers", str(mode.workers), "--threads", str(THREADS)]
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
        results = []
        for line in driver.stdout:
            if line.startswith("RESULT "):
                result = json.loads(line[7:])
                result["mode"] = mode.label
                result["workers"] = mode.workers
                results.append(result)
                print(f"  {name}: {result['name']} done in {result['wall']:.1f} s", flush=True)
        code = driver.wait()
    if code != 0:
        tail = stderr_path.read_text()[-3000:]
        for worker_log in sorted(log_dir.glob("worker-*.log")):
            tail += f"\n--- {worker_log.name}\n" + worker_log.read_text()[-1500:]
        print(f"  {name}: the driver failed (exit {code}):\n{tail}", file=sys.stderr)
    if mode.label == "services":
        drop_database(DB_NAME)
        cleanup.databases.remove(DB_NAME)
        clean_redis()
    return results


# ---- the table --------------------------------------------------------------------------------------


@dataclass
class Line:
    scenario: str
    mode: str
    workers: int
    measured: str
    ideal: str
    ratio: float
    target: str
    ok: bool
    note: str = ""


def evaluate(result: dict) -> list[Line]:
    lines = _evaluate(result)
    if lines:
        other = max(0.0, result["foreign_cpu"]) / result["wall"]
        lines[0].note += f"; other load on the machine {other:.2f} cores"
    return lines


def _evaluate(result: dict) -> list[Line]:
    mode, workers, wall, rows = result["mode"], result["workers"], result["wall"], result["rows"]
    window = [r for r in result["requests"] if result["started"] <= r[0] <= result["ended"]]
    ok_requests = [r for r in window if r[2] == 200]
    throttled = sum(1 for r in window if r[2] == 429)
    generated = result["row_counts"]["generated"]
    done = f"{generated}/{rows} rows, {result['status']}"
    settings = result["settings"]
    if result["name"] == "rate_limited":
        achieved = len(ok_requests) * 60 / wall
        arrivals = sorted(r[0] for r in ok_requests)
        # The steady pace, without the first burst: requests after the first second.
        later = [t for t in arrivals if t >= arrivals[0] + 1.0] if arrivals else []
        steady = (len(later) - 1) * 60 / (later[-1] - later[0]) if len(later) > 2 else 0.0
        share = throttled / len(window) if window else 0.0
        first = arrivals[0] - result["started"] if arrivals else 0.0
        tail = result["ended"] - max(r[1] for r in ok_requests) if ok_requests else 0.0
        return [
            Line(
                "rate-limited: RPM / limit",
                mode,
                workers,
                f"{achieved:.0f} RPM",
                f"{RPM} RPM",
                achieved / RPM,
                f"≥ {TARGET_RATE:.2f}",
                achieved / RPM >= TARGET_RATE,
                f"{len(ok_requests)} answered in {wall:.1f} s (run start to finish; first "
                f"request after {first:.2f} s, finished {tail:.2f} s after the last answer); "
                f"steady pace after the first second {steady:.0f} RPM; {done}",
            ),
            Line(
                "rate-limited: 429s / requests",
                mode,
                workers,
                f"{throttled} of {len(window)}",
                "0",
                share,
                f"< {TARGET_429:.2f}",
                share < TARGET_429,
            ),
        ]
    if result["name"] == "latency_bound":
        threads = workers * (
            settings["embedded_threads"] if mode == "embedded" else result["threads"]
        )
        chunks = -(-rows // settings["chunk_size"])
        per_chunk = min(settings["row_concurrency"], settings["chunk_size"])
        concurrency = min(threads, chunks) * per_chunk
        ideal = concurrency / LATENCY
        measured = generated / wall
        return [
            Line(
                "latency-bound: rows/s / ideal",
                mode,
                workers,
                f"{measured:.0f} rows/s",
                f"{ideal:.0f} rows/s",
                measured / ideal,
                f"≥ {TARGET_LATENCY:.2f}",
                measured / ideal >= TARGET_LATENCY,
                f"ideal = {min(threads, chunks)} threads × min(row concurrency "
                f"{settings['row_concurrency']}, chunk {settings['chunk_size']}) / "
                f"{LATENCY * 1000:.0f} ms; {done} in {wall:.1f} s; "
                f"{where_lost(result, concurrency)}; {start_and_drain_cap(result, rows / ideal)}; "
                f"{cpu_ceiling(result)}",
            )
        ]
    if result["name"] == "overhead":
        per_row = result["engine_cpu"] * 1000 / rows
        server = result["server_cpu"] * 1000 / rows
        fake = result["fake_cpu"] * 1000 / rows
        return [
            Line(
                "overhead: CPU ms/row / budget",
                mode,
                workers,
                f"{per_row:.2f} ms/row",
                f"{TARGET_CPU_MS:.0f} ms/row",
                per_row / TARGET_CPU_MS,
                "≤ 1.00",
                per_row <= TARGET_CPU_MS,
                f"{generated / wall:.0f} rows/s; "
                + (f"PostgreSQL + Redis servers: {server:.2f} ms/row more; " if server else "")
                + f"fake provider {fake:.2f} ms/row; DEBUG={settings['debug']}; {done}",
            )
        ]
    return []


def where_lost(result: dict, concurrency: int) -> str:
    """Where the run fell short of ``concurrency`` calls in flight, from the fake's log, in
    seconds of the whole concurrency: before its first request, while the calls in flight
    first filled up, from then until the last request went out, and while the last ones came
    back (the drain: their starts spread over a latency, so their ends are too)."""
    started, ended = result["started"], result["ended"]
    calls = [(r[0], r[1]) for r in result["requests"] if started <= r[0] <= ended]
    if not calls or concurrency <= 0:
        return "no requests"
    events = sorted([(a, 1) for a, _ in calls] + [(min(b, ended), -1) for _, b in calls])
    first, last = min(a for a, _ in calls), max(a for a, _ in calls)
    lost = {"before": 0.0, "filling": 0.0, "running": 0.0, "draining": 0.0}
    phase, in_flight, now = "before", 0, started

    def add(until: float) -> None:
        lost[phase] += max(0, concurrency - in_flight) * max(0.0, until - now) / concurrency

    for moment, step in events:
        add(moment)
        now, in_flight = moment, in_flight + step
        if phase == "before" and now >= first:
            phase = "filling"
        if phase == "filling" and in_flight >= concurrency:
            phase = "running"
        if phase in ("filling", "running") and now >= last:
            phase = "draining"
    add(ended)
    return (
        f"time short of {concurrency} calls in flight: {lost['before']:.2f} s before the first "
        f"request, {lost['filling']:.2f} s filling up, {lost['running']:.2f} s running, "
        f"{lost['draining']:.2f} s draining after the last request went out"
    )


def start_and_drain_cap(result: dict, ideal_wall: float) -> str:
    """The most this run's ratio could be with no loss between its first request and its end but
    the drain: the calls of a run in full flow are spread over the latency, so its last ones end
    spread over a latency too (on average half a latency lost)."""
    started, ended = result["started"], result["ended"]
    arrivals = [r[0] for r in result["requests"] if started <= r[0] <= ended]
    if not arrivals or ideal_wall <= 0:
        return "no requests"
    first = min(arrivals) - started
    cap = ideal_wall / (ideal_wall + first + LATENCY / 2)
    return (
        f"with its first request after {first:.2f} s and a drain of half a latency, at most "
        f"{cap:.3f} of the ideal"
    )


def cpu_ceiling(result: dict) -> str:
    """The most rows a second this machine's CPUs allow at the CPU per row this run measured:
    every process shares the cores, and one engine process runs its Python on one core at a
    time (the GIL)."""
    rows = result["row_counts"]["generated"] or 1
    engine = result["engine_cpu"] / rows
    rest = (result["fake_cpu"] + max(0.0, result["server_cpu"])) / rows
    processes = result["workers"]
    ceiling = min(result["cpus"] / (engine + rest), processes / engine) if engine else 0.0
    return (
        f"CPU per row: engine {engine * 1000:.1f} ms + fake provider and servers "
        f"{rest * 1000:.1f} ms, so {result['cpus']} CPUs sustain at most {ceiling:.0f} rows/s"
    )


def configuration(results: list[dict]) -> str:
    rows = ", ".join(f"{s['name']} {s['rows']}" for s in plan())
    settings = results[0]["settings"] if results else {}
    return (
        f"fake provider latency {LATENCY * 1000:.0f} ms ± {JITTER:.0%} (none for overhead), "
        f"limit {RPM} RPM "
        f"for rate-limited (none otherwise), error rate {ERROR_RATE:.0%}; rows: {rows}; "
        f"{THREADS} worker threads per process; STUDIO_CHUNK_SIZE "
        f"{settings.get('chunk_size')}, STUDIO_ROW_CONCURRENCY {settings.get('row_concurrency')}."
    )


def table(lines: list[Line]) -> str:
    head = "| scenario | mode | workers | measured | ideal / limit | ratio | target | result |"
    out = [head, "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |"]
    for line in lines:
        out.append(
            f"| {line.scenario} | {line.mode} | {line.workers} | {line.measured} | {line.ideal} "
            f"| {line.ratio:.3f} | {line.target} | {'pass' if line.ok else 'FAIL'} |"
        )
    notes = [f"- {ln.mode}/{ln.workers} {ln.scenario}: {ln.note}" for ln in lines if ln.note]
    return "\n".join(out) + "\n\nNotes:\n" + "\n".join(notes) + "\n"


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
