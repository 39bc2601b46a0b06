"""`make bench-evaluation`: how fast each evaluation kind scores a run's rows end to end, against
the bare library loop over the same texts in the same process, and the memory it takes. A
script, not a test. See docs/performance.md, "Evaluation (issue 17)".

    .venv/bin/python -m bench.evaluation                      # 100 000 rows a kind, PostgreSQL
    .venv/bin/python -m bench.evaluation --rows 10000 --kinds similarity,bleu
    .venv/bin/python -m bench.evaluation --million             # and 1 000 000 rows of two kinds
    .venv/bin/python -m bench.evaluation --judge-only          # an LLM judge's RPM used (~45 s)
    .venv/bin/python -m bench.evaluation --db sqlite           # the embedded mode's SQLite

math_equivalence runs over --math-rows rows (10 000 by default): math-verify compares a few
hundred pairs a second at best (sympy), so 100 000 rows would take its bare loop alone most of
an hour on a busy two-core machine, and the ratio is the same at 10 000.

End to end = ``evaluation_create`` (its chunks made) → ``score_chunk`` for every chunk → the
evaluation done with its summary: each chunk reads its rows, scores them with the kind's code
and writes the scores and the chunk's mark in one transaction, as the worker does. The chunks
are called here one after another in this process instead of through a Dramatiq worker (the
broker is the embedded mode's stub, whose messages nobody takes). The bare loop calls the
library (rapidfuzz, sacrebleu, rouge-score, math-verify, jsonschema, RE2) — or, where a metric
is ours alone (exact match, refusal phrases, token estimate), our pure function — over the same
texts, read beforehand into a list. ``pipeline`` is a kind that computes nothing: the ceiling
of the read-and-write path itself.

Each kind runs in a process of its own, so its peak RSS (VmHWM, reset before the evaluation
starts) is its own. Environment: BENCH_PG_URL (postgres://postgres@127.0.0.1:5432), and
BENCH_EVALUATION_DB (studio_bench_evaluation), the database created and dropped by the benchmark.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.evaluation_cases import CASES, prepare
from bench.evaluation_judge import (
    judge_credential,
    judge_lines,
    measure_judge,
    run_judge,
)
from bench.evaluation_report import million_lines, table

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "test-artifacts" / "bench" / "evaluation.md"
PG_URL = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432")
DATABASE = os.environ.get("BENCH_EVALUATION_DB", "studio_bench_evaluation")
ENV = {
    "DJANGO_SETTINGS_MODULE": "config.settings",
    "DJANGO_SECRET_KEY": "bench-only-secret-key-not-for-production",
    "STUDIO_ENCRYPTION_KEYS": "YmVuY2gtb25seS1rZXktYmVuY2gtb25seS1rZXktYmU=",
    "STUDIO_LOG_LEVEL": "WARNING",
    "HF_HUB_DISABLE_XET": "1",
    # The judge's fake provider listens on 127.0.0.1, which services mode refuses by default.
    "STUDIO_ALLOW_PRIVATE_PROVIDER_URLS": "true",
}
SCRUBBED = ("DATABASE_URL", "REDIS_URL", "DJANGO_DEBUG", "STUDIO_DATA_DIR")

# --- the measuring process ------------------------------------------------------------------


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def _reset_peak_rss() -> None:
    try:
        Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS
    except OSError:
        pass


def _backend_cpu() -> float:
    """CPU seconds used so far by this process's PostgreSQL backend (0 on SQLite)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return 0.0
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    raw = Path(f"/proc/{pid}/stat").read_text()
    fields = raw[raw.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _setup_django() -> None:
    import django

    django.setup()


def _register_pipeline_kind() -> None:
    """A kind that computes nothing, for the read-and-write path's own ceiling."""
    from evaluation.kinds import KINDS, EvaluationKind, KindSettings, ScoreResult
    from evaluation.kinds.base import COLUMN

    KINDS["bench_pipeline"] = EvaluationKind(
        name="bench_pipeline",
        label="Nothing (benchmark)",
        group="Benchmark",
        description="",
        settings_model=KindSettings,
        fields=(COLUMN,),
        to_settings=dict,
        score=lambda settings, rows: [ScoreResult(1.0, True) for _ in rows],
    )


def measure(case_name: str, run_id: int, bare: bool) -> dict[str, Any]:
    """One kind over one run's rows: end to end, then the bare loop over the same texts."""
    import gc

    _setup_django()
    _register_pipeline_kind()
    from evaluation.models import Evaluation, EvaluationChunk
    from evaluation.scoring.chunks import score_chunk
    from evaluation.scoring.services import evaluation_create
    from generation.models import Run

    case = CASES[case_name]
    run = Run.objects.get(pk=run_id)
    if case.kind == "math_equivalence":  # start the maths child before the clock
        from evaluation.metrics.math_process import math_checker

        with math_checker() as checker:
            checker.compare("1", "1")
    gc.collect()
    rss_before = _status_kib("VmRSS")
    backend = _backend_cpu()
    _reset_peak_rss()
    started, cpu = time.perf_counter(), time.process_time()
    evaluation = evaluation_create(
        run=run, user=None, name=case_name, kind=case.kind, settings=case.settings
    )
    numbers = EvaluationChunk.objects.filter(evaluation=evaluation).values_list("number", flat=True)
    for number in list(numbers):
        score_chunk(evaluation_id=evaluation.pk, number=number)
    e2e_seconds = time.perf_counter() - started
    e2e_cpu = time.process_time() - cpu
    peak = _status_kib("VmHWM")
    backend = _backend_cpu() - backend
    evaluation = Evaluation.objects.get(pk=evaluation.pk)
    assert evaluation.status == "done", evaluation.status
    rows = evaluation.rows_scored + evaluation.rows_failed
    assert rows == run.num_rows, (rows, run.num_rows)
    figures: dict[str, Any] = {
        "case": case_name,
        "kind": case.kind,
        "rows": rows,
        "failed": evaluation.rows_failed,
        "e2e_seconds": e2e_seconds,
        "e2e_cpu_us_row": e2e_cpu / rows * 1e6,
        "pg_cpu_us_row": backend / rows * 1e6,
        "e2e_rows_s": rows / e2e_seconds,
        "e2e_cpu_rows_s": rows / (e2e_cpu + backend),
        "rss_before_mib": rss_before / 1024,
        "rss_peak_mib": peak / 1024,
        "mean": evaluation.summary.get("mean"),
    }
    if bare:
        figures["bare_rows_s"], figures["bare_cpu_rows_s"] = _bare_rows_per_second(case, run)
        figures["ratio"] = figures["e2e_rows_s"] / figures["bare_rows_s"]
        figures["ratio_cpu"] = figures["e2e_cpu_rows_s"] / figures["bare_cpu_rows_s"]
    return figures


def _bare_rows_per_second(case: Any, run: Any) -> tuple[float, float]:
    """The bare library loop over the run's texts, read beforehand into a list: rows per
    second of wall time and of CPU time."""
    from generation.models import Row

    # Whole values, picked here: SQLite returns a key holding JSON text as the parsed JSON.
    pairs = [
        (values["answer"], values["gold"])
        for values in Row.objects.filter(run=run).order_by("index").values_list("values", flat=True)
    ]
    score = case.bare()
    score(*pairs[0])
    started, cpu = time.perf_counter(), time.process_time()
    for answer, gold in pairs:
        score(answer, gold)
    cpu = time.process_time() - cpu
    return len(pairs) / (time.perf_counter() - started), len(pairs) / max(cpu, 1e-9)


# --- the parent: data, processes, the table -------------------------------------------------


def _pg_admin() -> Any:
    import psycopg

    return psycopg.connect(PG_URL + "/postgres", autocommit=True)


def _create_database() -> str:
    with _pg_admin() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DATABASE}"')
    return f"{PG_URL}/{DATABASE}"


def _drop_database() -> None:
    try:
        with _pg_admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
    except Exception as exc:  # reported: the benchmark's figures stand
        print(f"warning: could not drop database {DATABASE}: {exc}", file=sys.stderr)


def _child(args: list[str], env: dict[str, str]) -> Any:
    done = subprocess.run(
        [sys.executable, "-m", "bench.evaluation", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--math-rows", type=int, default=10_000)
    parser.add_argument("--kinds", default=",".join(CASES))
    parser.add_argument("--db", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument("--million", action="store_true", help="also --million-rows of a few kinds")
    parser.add_argument("--million-kinds", default="exact_match,length")
    parser.add_argument("--million-rows", type=int, default=1_000_000)
    parser.add_argument("--judge", action="store_true", help="also an LLM judge's RPM used")
    parser.add_argument("--judge-only", action="store_true", help="the LLM judge alone")
    parser.add_argument("--judge-rpm", type=int, default=600)
    parser.add_argument("--judge-seconds", type=float, default=45)
    parser.add_argument("--judge-latency", type=float, default=0.5)
    for hidden in ("--measure", "--prepare", "--prepare-judge", "--measure-judge"):
        parser.add_argument(hidden, help=argparse.SUPPRESS)
    parser.add_argument("--run", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--credential", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--no-bare", action="store_true", help=argparse.SUPPRESS)
    return parser


def _child_mode(args: argparse.Namespace) -> bool:
    """The measuring process's roles; True when this process was one."""
    if args.prepare or args.prepare_judge:
        _setup_django()
    if args.prepare:
        print(json.dumps(prepare(args.rows, args.prepare.split(","))))
    elif args.measure:
        print(json.dumps(measure(args.measure, args.run, bare=not args.no_bare)))
    elif args.prepare_judge:
        run = prepare(args.rows, ["prose"])["prose"]
        print(json.dumps(judge_credential(run, args.judge_rpm, args.prepare_judge)))
    elif args.measure_judge:
        _setup_django()
        print(json.dumps(measure_judge(int(args.measure_judge), args.credential)))
    else:
        return False
    return True


def main() -> None:
    parser = _parser()
    args = parser.parse_args()
    if _child_mode(args):
        return
    cases = [] if args.judge_only else [n.strip() for n in args.kinds.split(",") if n.strip()]
    unknown = [n for n in cases + args.million_kinds.split(",") if n not in CASES]
    if unknown:
        parser.error(f"unknown kinds: {', '.join(unknown)} (known: {', '.join(CASES)})")
    env = {k: v for k, v in os.environ.items() if k not in SCRUBBED} | ENV
    lines: list[str] = []
    with tempfile.TemporaryDirectory(prefix="studio-bench-evaluation-") as data_dir:
        env["STUDIO_DATA_DIR"] = data_dir
        if args.db == "postgres":
            env["DATABASE_URL"] = _create_database()
            database = "PostgreSQL (services mode's database; the broker the embedded stub)"
        else:
            database = "SQLite (the embedded mode's database)"
        try:
            if cases:
                lines += table(_run(cases, args, env), database, args.rows)
            if args.million and not args.judge_only:
                lines += ["", *million_lines(_million(args, env))]
            if args.judge or args.judge_only:
                lines += [
                    "",
                    *judge_lines(run_judge(args, env, _child), args.judge_latency),
                ]
        finally:
            if args.db == "postgres":
                _drop_database()
    text = "\n".join(lines)
    print(text)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(text + "\n")


def _run(cases: list[str], args: argparse.Namespace, env: dict[str, str]) -> list[dict]:
    runs: dict[str, int] = {}
    for dataset in sorted({CASES[name].dataset for name in cases}):
        rows = args.math_rows if dataset == "maths" else args.rows
        started = time.perf_counter()
        runs |= _child(["--prepare", dataset, "--rows", str(rows)], env)
        print(
            f"{dataset}: {rows:,} rows made in {time.perf_counter() - started:.0f} s",
            flush=True,
        )
    results = []
    for name in cases:
        result = _child(["--measure", name, "--run", str(runs[CASES[name].dataset])], env)
        print(
            f"{name}: {result['e2e_rows_s']:,.0f} rows/s end to end, "
            f"{result.get('bare_rows_s', 0):,.0f} bare, ratio {result.get('ratio', 0):.2f}, "
            f"peak RSS {result['rss_peak_mib']:.0f} MiB",
            flush=True,
        )
        results.append(result)
    return results


def _million(args: argparse.Namespace, env: dict[str, str]) -> list[dict[str, Any]]:
    """--million-rows rows of each of --million-kinds, one run per dataset; memory only (no
    bare loop)."""
    rows = args.million_rows
    kinds = args.million_kinds.split(",")
    runs: dict[str, int] = {}
    for dataset in sorted({CASES[name].dataset for name in kinds}):
        started = time.perf_counter()
        runs |= _child(["--prepare", dataset, "--rows", str(rows)], env)
        print(
            f"{dataset}: {rows:,} rows made in {time.perf_counter() - started:.0f} s",
            flush=True,
        )
    results = []
    for name in kinds:
        run = str(runs[CASES[name].dataset])
        result = _child(["--measure", name, "--run", run, "--no-bare"], env)
        print(
            f"{rows:,} rows of {name}: peak RSS {result['rss_peak_mib']:.0f} MiB",
            flush=True,
        )
        results.append(result)
    return results


if __name__ == "__main__":
    main()
