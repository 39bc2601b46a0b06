"""The HTML a websocket push carries: the same partials the run page renders, marked for
htmx's out-of-band swap. Rendered from the database, so every push tells the truth."""

from __future__ import annotations

from django.template.loader import render_to_string

from generation import live
from generation.models import Row, Run
from generation.selectors import row_list_recent, run_counters, run_error_summary


def _run_context(run: Run) -> dict:
    return {
        "run": run,
        "counters": run_counters(run=run),
        "error_summary": run_error_summary(run=run),
        "columns": _output_columns(run),
        "oob": True,
    }


def _output_columns(run: Run) -> list[str]:
    return [c["name"] for c in run.spec_snapshot["columns"] if not c.get("drop")]


def render_initial_state(*, run_id: int) -> tuple[str, list[int]]:
    run = Run.objects.select_related("project").get(pk=run_id)
    rows = row_list_recent(run=run, limit=live.LIVE_ROWS_SHOWN)
    context = _run_context(run) | {"rows": rows}
    html = render_to_string("generation/partials/run_live_state.html", context)
    return html, [row.pk for row in rows]


def render_update(*, run_id: int, row_ids: list[int], already_sent: set[int]) -> str:
    run = Run.objects.select_related("project").get(pk=run_id)
    rows = list(Row.objects.filter(run=run, pk__in=row_ids).order_by("finished_at", "index"))
    context = _run_context(run) | {
        "new_rows": [row for row in rows if row.pk not in already_sent],
        "changed_rows": [row for row in rows if row.pk in already_sent],
    }
    return render_to_string("generation/partials/run_live_update.html", context)
