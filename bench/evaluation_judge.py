"""The judge part of the evaluation benchmark (``python -m bench.evaluation --judge``): an LLM
judge evaluation against the benchmark's fake provider (bench/fake_provider.py), whose
requests-per-minute limit is the credential's, as a provider's would be. Measured, not assumed:
the calls the fake answered (status 200) per minute of the evaluation's wall time, against the
credential's RPM — the target is at least 0.95 of it.

The evaluation is created with ``evaluation_create`` and its chunks (25 rows each, the kind's
size) are scored by ``score_chunk`` on as many threads as the embedded worker has
(STUDIO_EMBEDDED_WORKER_THREADS, 2), each chunk's calls going out concurrently through the
generation engine's limiter (in memory: no REDIS_URL), retries and ledger, as in the worker.
The fake answers after ``--judge-latency`` seconds (±25 %) with a verdict built from the
structured output's schema; a 429 (its own bucket refilled at RPM/60 a second) is retried by
the engine like a provider's."""

from __future__ import annotations

import importlib
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from bench.driver import http_json

JUDGE_TARGET = 0.95
RUBRIC = [
    {"name": "fluency", "description": "The answer reads well", "min_score": 1, "max_score": 5},
]


def start_fake(env: dict[str, str]) -> tuple[subprocess.Popen, str]:
    fake = subprocess.Popen(
        [sys.executable, "-m", "bench.fake_provider"], env=env, stdout=subprocess.PIPE, text=True
    )
    assert fake.stdout is not None
    line = fake.stdout.readline()
    if not line.startswith("PORT "):
        fake.terminate()
        raise SystemExit(f"the fake provider did not start: {line!r}")
    return fake, f"http://127.0.0.1:{int(line.split()[1])}"


def judge_credential(run_id: int, rpm: int, fake_url: str) -> dict[str, int]:
    """In the run's project, a credential for the fake provider with ``rpm`` requests a
    minute."""
    from generation.models import Run
    from studio.models import ProviderCredential
    from studio.services import credential_create

    run = Run.objects.get(pk=run_id)
    credential = credential_create(
        project=run.project,
        name="fake provider",
        provider=ProviderCredential.Provider.OPENAI_COMPATIBLE,
        base_url=fake_url + "/v1",
        api_key="sk-bench-0000",
        requests_per_minute=rpm,
        tokens_per_minute=10_000_000,
    )
    return {"run": run.pk, "credential": credential.pk}


def _score_on_threads(evaluation_id: int, numbers: list[int], threads: int) -> None:
    from django.db import connections

    from evaluation.scoring.chunks import score_chunk

    def score(number: int) -> None:
        try:
            score_chunk(evaluation_id=evaluation_id, number=number)
        finally:
            connections.close_all()  # this thread's connection, as a worker thread's ends

    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(score, numbers))


def measure_judge(run_id: int, credential_id: int) -> dict[str, Any]:
    """In the measuring process (Django set up): the judge evaluation, start to done."""
    from django.conf import settings

    from evaluation.models import Evaluation, EvaluationChunk
    from evaluation.scoring.services import evaluation_create
    from generation.models import Run

    run = Run.objects.get(pk=run_id)
    judge = {
        "column": "answer",
        "credential_id": credential_id,
        "model": "gpt-4o-mini",
        "prompt": "Rate this answer.\nAnswer: {{ answer }}",
        "criteria": RUBRIC,
        "pass_threshold": 3,
    }
    threads = settings.STUDIO_EMBEDDED_WORKER_THREADS
    # The provider's SDK is imported on a process's first call (seconds: openai's types); a
    # worker pays that once in its life, not per evaluation, so it is paid before the clock.
    importlib.import_module("generation.providers.openai.online")
    started = time.time()
    evaluation = evaluation_create(
        run=run, user=None, name="judge", kind="llm_judge", settings=judge
    )
    numbers = EvaluationChunk.objects.filter(evaluation=evaluation).values_list("number", flat=True)
    _score_on_threads(evaluation.pk, list(numbers), threads)
    ended = time.time()
    evaluation = Evaluation.objects.get(pk=evaluation.pk)
    return {
        "status": evaluation.status,
        "rows": run.num_rows,
        "scored": evaluation.rows_scored,
        "failed": evaluation.rows_failed,
        "started": started,
        "ended": ended,
        "threads": threads,
    }


def judge_figures(result: dict[str, Any], requests: list[list], rpm: int) -> dict[str, Any]:
    """RPM used from the fake's log: calls answered 200 per minute of the evaluation's wall
    time (creation to done), and over the span of the calls themselves."""
    inside = [r for r in requests if result["started"] <= r[0] <= result["ended"]]
    answered = [r for r in inside if r[2] == 200]
    seconds = result["ended"] - result["started"]
    first, last = (min(r[0] for r in answered), max(r[1] for r in answered)) if answered else (0, 0)
    used = len(answered) / seconds * 60 if seconds else 0.0
    return {
        **result,
        "rpm": rpm,
        "seconds": seconds,
        "answered": len(answered),
        "throttled": sum(1 for r in inside if r[2] == 429),
        "other_errors": sum(1 for r in inside if r[2] not in (200, 429)),
        "rpm_used": used,
        "rpm_used_calls_span": len(answered) / (last - first) * 60 if last > first else 0.0,
        "share": used / rpm,
        "first_call_s": first - result["started"] if answered else 0.0,
        "after_last_s": result["ended"] - last if answered else 0.0,
    }


def run_judge(args: Any, env: dict[str, str], child: Any) -> dict[str, Any]:
    """The parent's side: the fake provider, the data, the measuring process, the fake's log.
    ``child`` runs ``python -m bench.evaluation`` with the given arguments (its last line JSON)."""
    fake, url = start_fake(env)
    try:
        rows = max(1, round(args.judge_rpm * args.judge_seconds / 60))
        http_json(
            url + "/bench/configure",
            {"latency": args.judge_latency, "latency_jitter": 0.25, "rpm_limit": args.judge_rpm},
        )
        ids = child(
            ["--prepare-judge", url, "--rows", str(rows), "--judge-rpm", str(args.judge_rpm)], env
        )
        result = child(
            ["--measure-judge", str(ids["run"]), "--credential", str(ids["credential"])], env
        )
        requests = http_json(url + "/bench/stats")["requests"]
    finally:
        fake.terminate()
        fake.wait(timeout=10)
    return judge_figures(result, requests, args.judge_rpm)


def judge_lines(figures: dict[str, Any], latency: float) -> list[str]:
    mark = "" if figures["share"] >= JUDGE_TARGET else " ✗ (target 0.95)"
    return [
        f"LLM judge, {figures['rows']:,} rows ({figures['scored']:,} scored, "
        f"{figures['failed']} failed, {figures['status']}) against the fake provider limited to "
        f"the credential's {figures['rpm']} RPM, latency {latency:g} s ±25 %, "
        f"{figures['threads']} worker threads: {figures['answered']:,} calls answered in "
        f"{figures['seconds']:.1f} s = {figures['rpm_used']:.0f} RPM used of {figures['rpm']} "
        f"= {figures['share']:.3f}{mark} (over the calls' own span: "
        f"{figures['rpm_used_calls_span']:.0f} RPM; the first call {figures['first_call_s']:.1f} s "
        f"after the start, done {figures['after_last_s']:.1f} s after the last answer); "
        f"429s: {figures['throttled']}, other errors: {figures['other_errors']}."
    ]
