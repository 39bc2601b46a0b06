"""The servers ``bench.live`` watches: ``manage.py serve`` in a process of its own, the services
mode's PostgreSQL database and Redis keys (created and removed around a mode), and the rows'
finish times read back from the server's database."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PG_URL = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432")
PG_DB = "studio_bench_live"
REDIS_URL = os.environ.get("BENCH_LIVE_REDIS_URL", "redis://127.0.0.1:6379/12")
REDIS_PREFIX = "studio-bench-live"


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
