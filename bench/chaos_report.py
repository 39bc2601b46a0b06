"""What ``make chaos`` prints at the end: the rows lost, and the calls paid twice, each put down to
the event its first answer straddles."""

from __future__ import annotations

import re
from collections import Counter

from bench.chaos_studio import (
    ERROR_RATE,
    LATENCY,
    ROW_CONCURRENCY,
    ROWS,
    STALLED_RUN_CHECK_SECONDS,
    STALLED_RUN_SECONDS,
    THREADS,
    WORKERS,
)

EVENT_WINDOW = 5.0
# The start of a prompt (bench/chaos_studio.create_run): which column, for which row.
REF = re.compile(r"^(Q|A) \[([0-9a-f-]{36})\]")


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
    rows = _rows(run_id, final)
    answered, statuses = _answers(requests)
    twice = _paid_twice(answered, moments)
    lines = [
        "",
        f"Chaos run: {ROWS} rows × 2 dependent LLM columns, {WORKERS} workers × {THREADS} "
        f"threads, row concurrency {ROW_CONCURRENCY}, fake latency {LATENCY:.1f} s ± 50 %, "
        f"{ERROR_RATE:.0%} 503, 429 for 2 s every 20 s (retry-after 1 s), "
        f"STUDIO_STALLED_RUN_SECONDS={STALLED_RUN_SECONDS} (checked every "
        f"{STALLED_RUN_CHECK_SECONDS} s; 0: never)",
        "Events:",
        *(f"  t={t:5.0f} s  {what}" for t, what in events),
        f"Rows: {rows['total']} total, {rows['generated']} generated, {rows['failed']} failed, "
        f"{rows['pending']} pending",
        *(f"  failed: {n} × {message[:120]}" for message, n in rows["reasons"].most_common(5)),
        f"Rows lost: {rows['lost']} (pending {rows['pending']} + failed without a reason "
        f"{rows['failed_no_reason']} + missing {rows['missing']})",
        f"Calls paid twice: {twice.total()} (a second 200 answer for the same row and column; "
        f"the first one around a kill -9: {twice['kill']}, a Redis restart: {twice['redis']}, "
        f"a PostgreSQL restart: {twice['postgres']}, none of them: {twice['none']})",
        f"Provider requests: {sum(statuses.values())} ("
        + ", ".join(f"{s}: {n}" for s, n in sorted(statuses.items()))
        + f"); ledger entries for the run: {rows['ledger']}, distinct (row, column) answered: "
        f"{len(answered)}",
        f"Run status: {final.get('run')}; finished by itself: {'yes' if finished else 'NO'}"
        + (f" ({resumed_note})" if resumed_note else ""),
        f"Wall time: {wall:.0f} s",
    ]
    return "\n".join(lines)


def _rows(run_id: int, final: dict) -> dict:
    """The run's rows by outcome (from ``final``, the counts when it ended), the reasons they
    failed, how many are lost, and its ledger entries (from the database)."""
    from generation.models import LlmCall, Row

    rows = Row.objects.filter(run_id=run_id)
    pending = final.get("pending", 0)
    total = sum(v for k, v in final.items() if k != "run")
    failed_no_reason = rows.filter(status="failed", errors={}).count()
    missing = max(0, ROWS - total)
    return {
        "total": total,
        "generated": final.get("generated", 0),
        "failed": final.get("failed", 0),
        "pending": pending,
        "failed_no_reason": failed_no_reason,
        "missing": missing,
        "lost": pending + failed_no_reason + missing,
        "reasons": Counter(
            message
            for errors in rows.filter(status="failed").values_list("errors", flat=True)
            for message in (errors or {}).values()
        ),
        "ledger": LlmCall.objects.filter(run_id=run_id).count(),
    }


def _answers(
    requests: list[list],
) -> tuple[dict[tuple[str, str], list[tuple[float, float]]], Counter]:
    """Provider answers (arrival, end) per (row, column), from the fake's request log, and the
    count of each status it answered."""
    answered: dict[tuple[str, str], list[tuple[float, float]]] = {}
    statuses: Counter = Counter()
    for arrival, ended, status, prompt in requests:
        statuses[status] += 1
        match = REF.match(prompt)
        if status == 200 and match:
            answered.setdefault((match.group(2), match.group(1)), []).append((arrival, ended))
    return answered, statuses


def _paid_twice(
    answered: dict[tuple[str, str], list[tuple[float, float]]], moments: list[tuple[str, float]]
) -> Counter:
    """Every answer but the last of a (row, column), by the event it straddles (asked before it,
    answered at most ``EVENT_WINDOW`` seconds before it or after it), else "none"."""
    twice: Counter = Counter()
    for answers in answered.values():
        answers.sort()
        for arrival, ended in answers[:-1]:
            near = [
                event
                for event, at in moments
                if arrival <= at + EVENT_WINDOW and ended >= at - EVENT_WINDOW
            ]
            twice[near[0] if near else "none"] += 1
    return twice
