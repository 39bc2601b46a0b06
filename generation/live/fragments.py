"""The HTML a websocket push carries: the same partials the run page renders, marked for
htmx's out-of-band swap. Rendered from the database, so every push tells the truth.

Each socket keeps a ``LivePage``: the rows its page holds (a ``LiveWindow``) and the last HTML
sent of each fragment, so a push carries only the fragments that changed — the controls and the
errors panel are not replaced under the user's pointer four times a second."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.template.loader import render_to_string

from generation import live
from generation.live.panels import run_panel, run_panels, with_badges
from generation.live.window import LiveWindow, RowState
from generation.models import Row, Run
from generation.selectors import (
    RunCounters,
    row_list_recent,
    run_counters,
    run_error_summary,
    run_outlook,
)

# Fragment id → template; every one is a top-level element swapped by id.
FRAGMENTS = {
    "run-counters": "generation/partials/run_counters.html",
    "run-controls": "generation/partials/run_controls.html",
    "run-errors": "generation/partials/run_errors.html",
    "rows-note": "generation/partials/rows_note.html",
}
ERRORS_SHOWN = 8

# The counters are aggregates over the run's rows and ledger: a millisecond or two for a small
# run, ~40 ms on PostgreSQL for a 100 000-row run (docs/performance.md). A socket recomputes
# them at most once per COUNTERS_COST_FACTOR times what they cost last time (at most a tenth of
# the database's time per watching page, whatever the run's size), and never keeps them longer
# than COUNTERS_MAX_AGE_SECONDS. A small run's counters are fresh in every push; a push that
# reused them is followed by another (consumers.py), so the page ends exact.
COUNTERS_COST_FACTOR = 10
COUNTERS_MAX_AGE_SECONDS = 5.0


@dataclass
class LivePage:
    """What one socket's page shows."""

    run_id: int
    columns: list[str]
    window: LiveWindow
    # The watching member's role: the fragments show only the controls it may use.
    role: str | None = None
    sent: dict[str, str] = field(default_factory=dict)
    # The error summary is a scan of the failed rows: redone only when this key changes.
    errors_key: tuple[int, str] | None = None
    error_summary: list[tuple[str, int]] = field(default_factory=list)
    # The counters last computed, when (live.clock()) and what they cost (seconds).
    counters: RunCounters | None = None
    counters_at: float = 0.0
    counters_cost: float = 0.0
    # The last push reused counters that may be out of date.
    counters_stale: bool = False
    # A page that shows one run panel only (an evaluation's page shows the run's evaluations):
    # its id. Such a page gets that panel and nothing else, no rows and no counters it has no
    # element for (htmx would report every other fragment as an out-of-band swap without target).
    only_panel: str | None = None

    def counters_for(self, run: Run) -> RunCounters:
        now = live.clock()
        keep = min(COUNTERS_MAX_AGE_SECONDS, COUNTERS_COST_FACTOR * self.counters_cost)
        if self.counters is not None and now - self.counters_at < keep:
            self.counters_stale = True
            return self.counters
        self.counters = run_counters(run=run)
        self.counters_at, self.counters_cost = now, live.clock() - now
        self.counters_stale = False
        return self.counters


def run_page_context(*, run: Run, columns: list[str], counters: RunCounters | None = None) -> dict:
    """What the run page's fragments need; the page view renders them with it too."""
    if counters is None:
        counters = run_counters(run=run)
    return {
        "run": run,
        "counters": counters,
        "outlook": run_outlook(run=run, counters=counters),
        "columns": columns,
        "live_limit": live.LIVE_ROWS_SHOWN,
    }


def _load_run(run_id: int, role: str | None) -> Run:
    run = Run.objects.select_related("project").get(pk=run_id)
    run.project.member_role = role  # what the `may` template filter reads (studio/selectors.py)
    return run


def _fragments(run: Run, page: LivePage, *, only_changed: bool) -> list[str]:
    if page.only_panel is not None:
        rendered = {page.only_panel: run_panel(run, page.only_panel, oob=True)}
        return _changed(page, rendered, only_changed=only_changed)
    context = run_page_context(run=run, columns=page.columns, counters=page.counters_for(run)) | {
        "oob": True
    }
    errors_key = (context["counters"].failed, run.status)
    if errors_key != page.errors_key:
        page.errors_key = errors_key
        page.error_summary = run_error_summary(run=run, limit=ERRORS_SHOWN)
    context["error_summary"] = page.error_summary
    rendered = {
        fragment_id: render_to_string(template, context)
        for fragment_id, template in FRAGMENTS.items()
    } | run_panels(run, oob=True)
    return _changed(page, rendered, only_changed=only_changed)


def _changed(page: LivePage, rendered: dict[str, str], *, only_changed: bool) -> list[str]:
    parts: list[str] = []
    for fragment_id, html in rendered.items():
        if only_changed and page.sent.get(fragment_id) == html:
            continue
        page.sent[fragment_id] = html
        parts.append(html)
    return parts


def render_initial_state(
    *, run_id: int, role: str | None, only_panel: str | None = None
) -> tuple[str, LivePage]:
    """Everything the page shows, from the database; the rows container is replaced whole, so
    a reconnecting page ends up with exactly these rows. ``only_panel``: a registered run
    panel's id, for a page that shows that panel only."""
    run = _load_run(run_id, role)
    if only_panel is not None:
        columns = run.spec.output_columns()
        page = LivePage(
            run_id=run_id,
            columns=columns,
            window=LiveWindow(size=0, horizon=live.NEW_ROW_HORIZON, shown=[]),
        )
        page.role, page.only_panel = role, only_panel
        return "".join(_fragments(run, page, only_changed=False)), page
    rows = with_badges(row_list_recent(run=run, limit=live.LIVE_ROWS_SHOWN))
    window = LiveWindow(
        size=live.LIVE_ROWS_SHOWN,
        horizon=live.NEW_ROW_HORIZON,
        shown=[RowState(row.pk, row.finished_at) for row in rows],
    )
    page = LivePage(run_id=run_id, columns=run.spec.output_columns(), window=window, role=role)
    parts = _fragments(run, page, only_changed=False)
    parts.append(
        render_to_string(
            "generation/partials/run_live_state.html",
            {"rows": rows, "columns": page.columns, "project": run.project},
        )
    )
    return "".join(parts), page


def render_update(*, page: LivePage, row_ids: list[int]) -> str:
    """What changed since the last push: changed fragments, then the rows ("" if nothing)."""
    run = _load_run(page.run_id, page.role)
    if page.only_panel is not None:
        return "".join(_fragments(run, page, only_changed=True))
    rows = list(Row.objects.filter(run=run, pk__in=row_ids).defer("prompts", "calls"))
    with_badges(rows)
    change = page.window.apply(RowState(row.pk, row.finished_at) for row in rows)
    parts = _fragments(run, page, only_changed=True)
    if change:
        by_pk = {row.pk: row for row in rows}
        context = {
            "removed": change.removed,
            "new_rows": [by_pk[pk] for pk in change.new],
            "changed_rows": [by_pk[pk] for pk in change.changed],
            "columns": page.columns,
            "project": run.project,
        }
        parts.append(render_to_string("generation/partials/run_live_rows.html", context))
    return "".join(parts)
