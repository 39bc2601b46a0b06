"""The studio side of ``make chaos``: the environment of its processes, the fake provider, the
run (made with the studio's own services, as the web process does), its workers, and the rows'
counts read while the database comes and goes."""

from __future__ import annotations

import os
import subprocess
import sys

from bench.chaos_services import ROOT, Postgres, Processes, Redis
from bench.driver import http_json

ROWS = int(os.environ.get("CHAOS_ROWS", "2000"))
LATENCY = float(os.environ.get("CHAOS_LATENCY", "0.5"))
ERROR_RATE = float(os.environ.get("CHAOS_ERROR_RATE", "0.10"))
WORKERS = 2
THREADS = int(os.environ.get("CHAOS_THREADS", "2"))  # per worker
ROW_CONCURRENCY = int(os.environ.get("CHAOS_ROW_CONCURRENCY", "5"))
STALLED_RUN_SECONDS = os.environ.get("CHAOS_STALLED_RUN_SECONDS", "60")
# 0 turns the workers' stalled-run sweeper off: the run as it was before the sweeper.
STALLED_RUN_CHECK_SECONDS = os.environ.get("CHAOS_STALLED_RUN_CHECK_SECONDS", "10")


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
