"""What the benchmark starts and creates, and how it is taken down: its processes (each in a
session of its own), its PostgreSQL database and its Redis keys."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import psycopg
import redis

from bench.scenarios import PG_URL, REDIS_URL, ROOT

QUEUE_NAMESPACE = "studio-bench-run"
CHANNELS_PREFIX = "studio-bench-run-live"
RATELIMIT_PREFIX = "studio:ratelimit:"  # generation.ratelimit.DEFAULT_PREFIX
BENCH_KEY_PREFIXES = (QUEUE_NAMESPACE, RATELIMIT_PREFIX)


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
