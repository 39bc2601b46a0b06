"""The run page's parts that are not the websocket: counters, rate and ETA, budget, the errors
panel and its "retry these", the row panel, and the run board of the dashboard and project page."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from generation import live, services
from generation.models import BudgetHold, Row, Run
from generation.selectors import run_counters, run_outlook
from tests.fixtures import client_for

pytestmark = pytest.mark.django_db

LLM_SPEC = {
    "columns": [
        {"name": "topic", "kind": "category", "values": ["space"]},
        {
            "name": "question",
            "kind": "llm_text",
            "credential_id": 1,  # a snapshot is a valid schema (run.spec reads it typed)
            "model": "gpt-4o-mini",
            "prompt": "Ask {{ topic }}",
        },
    ]
}


def make_run(project, owner, rows=10, status=Run.Status.RUNNING, **fields):
    run = Run.objects.create(
        project=project,
        schema_name="QA",
        spec_snapshot=LLM_SPEC,
        seed=1,
        num_rows=rows,
        status=status,
        created_by=owner,
        started_at=timezone.now() - timedelta(minutes=5),
        **fields,
    )
    Row.objects.bulk_create([Row(run=run, index=i) for i in range(rows)])
    return run


def finish(run, indices, *, ago=0.0, errors=None, **fields):
    status = Row.Status.FAILED if errors else Row.Status.GENERATED
    Row.objects.filter(run=run, index__in=indices).update(
        status=status,
        values={"topic": "space", "question": "Why is space dark?"},
        errors=errors or {},
        finished_at=timezone.now() - timedelta(seconds=ago),
        **fields,
    )


# ---- the run page -------------------------------------------------------------------------------


def test_run_page_shows_counters_rate_eta_and_budget(project, owner):
    run = make_run(project, owner, rows=100, budget_usd=Decimal("2"), spent_usd=Decimal("0.5"))
    finish(run, range(30), ago=10)  # 30 rows in the last minute → 30/min; 70 left → 140 s
    html = client_for(owner).get(f"/runs/{run.pk}/").content.decode()
    assert 'id="run-progress">30 / 100 rows<' in html
    assert 'id="count-pending">70<' in html
    assert 'id="run-rate">30<' in html
    assert "about 2 min 20 s left" in html
    assert "$0.5000" in html and "of $2.0000" in html
    assert 'aria-valuenow="25"' in html  # a quarter of the budget
    assert 'id="run-pause"' in html and 'id="run-cancel"' in html


def test_run_page_shows_what_calls_in_flight_hold_and_why_a_budget_stopped_the_run(project, owner):
    run = make_run(project, owner, budget_usd=Decimal("1"), spent_usd=Decimal("0.9"))
    hold = BudgetHold.objects.create(
        run=run, amount_usd=Decimal("0.06"), expires_at=timezone.now() + timedelta(minutes=5)
    )
    BudgetHold.objects.create(  # a dead worker's, expired: not counted
        run=run, amount_usd=Decimal("0.5"), expires_at=timezone.now() - timedelta(seconds=1)
    )
    client = client_for(owner)
    html = client.get(f"/runs/{run.pk}/").content.decode()
    assert "+ $0.0600 of the budget held by calls in flight." in html
    assert 'id="run-budget-note"' not in html

    hold.delete()
    Run.objects.filter(pk=run.pk).update(status=Run.Status.BUDGET_REACHED)
    html = client.get(f"/runs/{run.pk}/").content.decode()
    assert 'id="run-held"' not in html
    assert "could have cost more than the $0.1000 left of the budget." in html


def test_outlook_after_the_run_is_its_average_rate_without_eta(project, owner):
    run = make_run(project, owner, rows=10, status=Run.Status.FINISHED)
    finish(run, range(10))
    Run.objects.filter(pk=run.pk).update(finished_at=run.started_at + timedelta(minutes=2))
    run.refresh_from_db()
    outlook = run_outlook(run=run, counters=run_counters(run=run))
    assert outlook.rows_per_minute == pytest.approx(5)
    assert outlook.eta_seconds is None and outlook.eta_display == ""
    assert outlook.budget_percent is None


def test_run_page_keeps_a_bounded_list_and_points_to_older_rows(project, owner):
    run = make_run(project, owner, rows=live.LIVE_ROWS_SHOWN + 20)
    finish(run, range(live.LIVE_ROWS_SHOWN + 20))
    html = client_for(owner).get(f"/runs/{run.pk}/").content.decode()
    assert html.count('class="row-card ') == live.LIVE_ROWS_SHOWN
    assert f"The newest {live.LIVE_ROWS_SHOWN} of {live.LIVE_ROWS_SHOWN + 20} finished" in html
    assert f'href="/runs/{run.pk}/rows/"' in html


def test_errors_panel_groups_messages_and_offers_retry_once_the_run_stopped(project, owner):
    run = make_run(project, owner, rows=6)
    finish(run, range(3), errors={"question": "Rate limited"})
    finish(run, [3], errors={"question": "Bad key"})
    owner_client = client_for(owner)
    running = owner_client.get(f"/runs/{run.pk}/").content.decode()
    assert "Rate limited" in running and "Retry these" not in running  # not while it runs
    Run.objects.filter(pk=run.pk).update(status=Run.Status.PAUSED)
    html = owner_client.get(f"/runs/{run.pk}/").content.decode()
    panel = re.search(r'<section id="run-errors".*?</section>', html, re.S).group(0)
    assert panel.index("Rate limited") < panel.index("Bad key")  # most frequent first
    assert "Retry these 3" in panel and "Retry these 1" in panel
    assert 'name="csrfmiddlewaretoken"' in panel  # works without JavaScript too


def test_long_values_are_truncated_with_a_way_to_expand(project, owner):
    run = make_run(project, owner, rows=1)
    finish(run, [0])
    Row.objects.filter(run=run).update(values={"topic": "space", "question": "x" * 500})
    html = client_for(owner).get(f"/runs/{run.pk}/").content.decode()
    assert '<details class="long-value"><summary>' + "x" * 279 + "…</summary>" in html
    assert "x" * 500 in html


# ---- retry these --------------------------------------------------------------------------------


def test_retry_these_retries_only_rows_with_that_message(project, owner):
    run = make_run(project, owner, rows=6, status=Run.Status.FAILED)
    finish(run, range(3), errors={"question": "Rate limited"})
    finish(run, [3], errors={"question": "Bad key"})
    count = services.run_retry_failed_matching(run=run, message="Rate limited")
    assert count == 3
    statuses = dict(run.rows.values_list("index", "status"))
    assert [statuses[i] for i in range(4)] == ["pending", "pending", "pending", "failed"]
    assert run.status == Run.Status.RUNNING
    assert run.rows.get(index=0).errors == {}


def test_retry_these_view_answers_htmx_with_204(project, owner):
    run = make_run(project, owner, rows=2, status=Run.Status.FAILED)
    finish(run, [0], errors={"question": "Rate limited"})
    response = client_for(owner).post(
        f"/runs/{run.pk}/retry-matching/", {"message": "Rate limited"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 204
    assert run.rows.get(index=0).status == Row.Status.PENDING


def test_retry_these_without_a_message_is_refused(project, owner):
    run = make_run(project, owner, rows=1, status=Run.Status.FAILED)
    response = client_for(owner).post(f"/runs/{run.pk}/retry-matching/", {})
    assert response.status_code == 400


# ---- the row panel ------------------------------------------------------------------------------


def call_row(run):
    finish(run, [0], latency_ms=820, cost_usd=Decimal("0.000150"))
    Row.objects.filter(run=run, index=0).update(
        prompts={"question": "Ask <space>"},
        calls={
            "question": {
                "raw": "Why is space dark?",
                "attempts": 2,
                "cost_usd": "0.000150",
                "from_ledger": False,
            }
        },
    )
    return run.rows.get(index=0)


def test_row_panel_shows_prompt_raw_response_attempts_and_cost(project, owner):
    run = make_run(project, owner, rows=1)
    row = call_row(run)
    response = client_for(owner).get(f"/rows/{row.pk}/", HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert html.startswith('<aside id="row-panel"')
    assert "Ask &lt;space&gt;" in html  # escaped
    assert "Why is space dark?" in html
    assert "2 attempts" in html and "$0.000150" in html and "820 ms" in html
    assert "data-close-panel" in html


def test_row_panel_shows_the_error_of_a_failed_call(project, owner):
    run = make_run(project, owner, rows=1)
    finish(run, [0], errors={"question": "Incorrect API key provided"})
    Row.objects.filter(run=run).update(
        prompts={"question": "Ask space"}, calls={"question": {"raw": None, "attempts": 1}}
    )
    html = client_for(owner).get(f"/rows/{run.rows.get().pk}/", HTTP_HX_REQUEST="true")
    html = html.content.decode()
    assert 'class="error call-error">Incorrect API key provided<' in html
    assert "(no answer)" in html


def test_row_detail_is_a_page_of_its_own_without_htmx(project, owner):
    row = call_row(make_run(project, owner, rows=1))
    html = client_for(owner).get(f"/rows/{row.pk}/").content.decode()
    assert "<html" in html and "Why is space dark?" in html
    assert "data-close-panel" not in html


# ---- the run board (dashboard, project page) ----------------------------------------------------


def test_board_shows_progress_and_polls_while_a_run_goes(project, owner):
    going = make_run(project, owner, rows=10)
    finish(going, range(4))
    finish(going, [4], errors={"question": "Boom"})
    done = make_run(project, owner, rows=3, status=Run.Status.FINISHED)
    html = client_for(owner).get("/runs/status/").content.decode()
    assert 'hx-trigger="every 2s"' in html
    line = re.search(rf'id="run-line-{going.pk}".*?</li>', html, re.S).group(0)
    assert "5 / 10 rows · 1 failed" in line and "Running" in line
    assert f'id="run-line-{done.pk}"' in html and "3 / 3 rows" in html
    assert html.index(f"run-line-{going.pk}") < html.index(f"run-line-{done.pk}")


def test_board_stops_polling_when_no_run_goes(project, owner):
    make_run(project, owner, rows=3, status=Run.Status.FINISHED)
    html = client_for(owner).get(f"/projects/{project.pk}/runs/status/").content.decode()
    assert "hx-trigger" not in html and "hx-get" not in html
    assert 'id="project-runs"' in html


def test_dashboard_and_project_page_load_the_board(project, owner):
    owner_client = client_for(owner)
    assert 'hx-get="/runs/status/"' in owner_client.get("/").content.decode()
    project_page = owner_client.get(f"/projects/{project.pk}/").content.decode()
    assert f'hx-get="/projects/{project.pk}/runs/status/"' in project_page


def test_board_lists_only_the_users_runs(project, owner, stranger):
    make_run(project, owner, rows=3)
    html = client_for(stranger).get("/runs/status/").content.decode()
    assert "run-line-" not in html


# ---- access -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", "/rows/{row}/"),
        ("post", "/runs/{run}/retry-matching/"),
        ("get", "/projects/{project}/runs/status/"),
    ],
)
def test_stranger_gets_404(project, owner, stranger, method, url):
    run = make_run(project, owner, rows=1, status=Run.Status.FAILED)
    finish(run, [0], errors={"question": "Boom"})
    url = url.format(row=run.rows.get().pk, run=run.pk, project=project.pk)
    response = getattr(client_for(stranger), method)(url, {"message": "Boom"})
    assert response.status_code == 404
    assert run.rows.get().status == Row.Status.FAILED


@pytest.mark.parametrize("url", ["/rows/{row}/", "/runs/{run}/retry-matching/", "/runs/status/"])
def test_anonymous_visitor_is_sent_to_login(client, project, owner, url):
    run = make_run(project, owner, rows=1)
    response = client.get(url.format(row=run.rows.get().pk, run=run.pk))
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_collaborator_sees_the_row_panel(project, owner, collaborator):
    row = call_row(make_run(project, owner, rows=1))
    assert client_for(collaborator).get(f"/rows/{row.pk}/").status_code == 200


def test_all_rows_page_opens_the_same_row_panel(project, owner):
    row = call_row(make_run(project, owner, rows=1))
    html = client_for(owner).get(f"/runs/{row.run_id}/rows/").content.decode()
    assert '<aside id="row-panel" class="row-panel" hidden></aside>' in html
    # Opened into the panel by studio.js's listener (a plain link without JavaScript).
    assert f'href="/rows/{row.pk}/" data-row-detail' in html
