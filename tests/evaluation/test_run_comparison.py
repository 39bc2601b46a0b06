"""Two runs compared, on the page and through the API: evaluations matched by name and kind,
differences B − A marked better or worse, rows paired by seed position, a pairwise judge's win
rates; nothing crosses projects; and a pairwise judge's own page shows win, tie and loss."""

from __future__ import annotations

import re

import pytest

from evaluation.metrics.stats import summarise
from evaluation.models import Evaluation, Score
from evaluation.selectors import MSG_OTHER_PROJECT
from generation.models import Row, Run
from studio.services import project_create
from tests.fixtures import client_for

SPEC = {"columns": [{"name": "a", "kind": "uuid"}]}
# A 1–5 judge: run A scores rows 0..3 as 2, 3, 4, 5; run B as 3, 3, 5, 1 (threshold 3).
JUDGE_A = [2.0, 3.0, 4.0, 5.0]
JUDGE_B = [3.0, 3.0, 5.0, 1.0]
# Pairwise verdicts on each row (column A against column B), "~" a verdict that flipped.
PAIRWISE_A = ["a", "a", "b", "tie~"]
PAIRWISE_B = ["a", "tie~", "tie~", "b"]


def make_run(project, *, seed: int = 7, rows: int = 4) -> Run:
    run = Run.objects.create(
        project=project,
        schema_name="QA",
        spec_snapshot=SPEC,
        seed=seed,
        num_rows=rows,
        status=Run.Status.FINISHED,
    )
    Row.objects.bulk_create(
        Row(run=run, index=i, status=Row.Status.GENERATED, values={"a": str(i)})
        for i in range(rows)
    )
    return run


def add_judge(run: Run, values: list[float], clarity: float) -> Evaluation:
    criteria = [{"accuracy": v, "clarity": clarity} for v in values]
    evaluation = Evaluation.objects.create(
        run=run, name="quality", kind="llm_judge", status="done", is_current=True
    )
    for row, value, scores in zip(run.rows.order_by("index"), values, criteria, strict=True):
        Score.objects.create(
            evaluation=evaluation,
            row=row,
            value=value,
            passed=value >= 3,
            detail={"scores": scores},
        )
    evaluation.summary = summarise(
        ((v, v >= 3, c) for v, c in zip(values, criteria, strict=True)), scale=(1.0, 5.0)
    )
    evaluation.save(update_fields=["summary"])
    return evaluation


def add_pairwise(run: Run, verdicts: list[str]) -> Evaluation:
    evaluation = Evaluation.objects.create(
        run=run,
        name="A vs B",
        kind="pairwise_judge",
        settings={"column": "answer", "column_b": "answer_v2"},
        status="done",
        is_current=True,
    )
    points = {"a": 1.0, "b": 0.0, "tie": 0.5}
    for row, verdict in zip(run.rows.order_by("index"), verdicts, strict=True):
        winner = verdict.rstrip("~")
        detail = {"winner": winner, "position_flip": verdict.endswith("~")}
        Score.objects.create(evaluation=evaluation, row=row, value=points[winner], detail=detail)
    wins = [v.rstrip("~") for v in verdicts]
    n = len(wins)
    evaluation.summary = summarise(((points[w], None, None) for w in wins), scale=(0.0, 1.0)) | {
        "pairwise": {
            "judged": n,
            "a_win_rate": wins.count("a") / n,
            "b_win_rate": wins.count("b") / n,
            "tie_rate": wins.count("tie") / n,
            "position_flip_rate": sum(v.endswith("~") for v in verdicts) / n,
        },
        "figures": {"Position flips": "25% (1 of 4)"},
    }
    evaluation.save(update_fields=["summary"])
    return evaluation


@pytest.fixture
def runs(project):
    a, b = make_run(project), make_run(project)
    add_judge(a, JUDGE_A, clarity=4.0)
    add_judge(b, JUDGE_B, clarity=5.0)
    add_pairwise(a, PAIRWISE_A)
    add_pairwise(b, PAIRWISE_B)
    length = Evaluation.objects.create(
        run=a, name="length", kind="length", status="done", is_current=True
    )
    length.summary = summarise([(10.0, True, None)])
    length.save(update_fields=["summary"])
    return a, b


def text(html: bytes) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html.decode()))


def test_the_api_gives_differences_paired_rows_and_win_rates(runs, owner):
    a, b = runs
    data = client_for(owner).get(f"/api/runs/{a.pk}/compare/{b.pk}").json()
    assert data["same_seed"] is True and data["a"]["id"] == a.pk
    by_name = {e["name"]: e for e in data["evaluations"]}
    judge = by_name["quality"]
    figures = {f["name"]: f for f in judge["figures"]}
    # Means 3.5 and 3.0, medians 3.5 and 3.0, pass rates 3/4 both.
    assert figures["mean"] | {"name": "mean"} == {
        "name": "mean",
        "a": 3.5,
        "b": 3.0,
        "delta": -0.5,
        "verdict": "worse",
    }
    assert figures["median"]["delta"] == -0.5
    assert (figures["pass_rate"]["a"], figures["pass_rate"]["verdict"]) == (0.75, "same")
    criteria = {f["name"]: (f["delta"], f["verdict"]) for f in judge["criteria"]}
    assert criteria == {"accuracy": (-0.5, "worse"), "clarity": (1.0, "better")}
    # Paired differences +1, 0, +1, −4: mean −0.5, B higher on 2 of 4 rows.
    paired = judge["paired"]
    assert paired["pairs"] == 4 and paired["mean_difference"] == -0.5
    assert paired["share_b_higher"] == 0.5 and paired["equal"] == 1
    assert [r["index"] for r in paired["largest"]] == [3, 0, 2]
    row3 = paired["largest"][0]
    assert row3["a_row_id"] == a.rows.get(index=3).pk
    assert row3["b_row_id"] == b.rows.get(index=3).pk
    pairwise = by_name["A vs B"]["pairwise"]
    assert (pairwise["a"]["a_wins"], pairwise["a"]["b_wins"], pairwise["a"]["ties"]) == (2, 1, 1)
    assert pairwise["a"]["a_win_rate"] == 0.5 and pairwise["a"]["inconsistent"] == 1
    assert pairwise["b"]["tie_rate"] == 0.5 and pairwise["b"]["inconsistent"] == 2
    # Its row score is column A's points: not paired, the win rates say it.
    assert by_name["A vs B"]["paired"] is None
    assert by_name["A vs B"]["columns"] == ["answer", "answer_v2"]
    assert by_name["length"]["present"] == "a" and by_name["length"]["b"] is None


def test_the_page_shows_both_runs_side_by_side_marked_better_or_worse(runs, owner):
    a, b = runs
    response = client_for(owner).get(f"/runs/{a.pk}/compare/{b.pk}/")
    assert response.status_code == 200
    html = response.content.decode()
    page = text(response.content)
    assert "rows are paired by position" in page
    quality = html[html.index('data-evaluation="quality"') :]
    mean_row = re.search(r'<tr class="figure-mean">.*?</tr>', quality, re.S).group(0)
    assert "3.5" in mean_row and "−0.5" in mean_row and "delta-worse" in mean_row
    assert "worse" in text(mean_row.encode())
    assert "+1 better" in page  # clarity
    assert f"Only in run #{a.pk} (A)" in page  # the length evaluation
    # Both runs' histograms on the same 1–5 bins, drawn as SVG.
    assert quality.count('class="side-a"') == 5 and quality.count('class="side-b"') == 5
    # The rows that differ most link to both rows.
    assert f'href="/rows/{a.rows.get(index=3).pk}/"' in html
    assert f'href="/rows/{b.rows.get(index=3).pk}/"' in html
    assert "Mean of B − A −0.5" in page and "B higher 50% (2)" in page
    # The pairwise judge: win rates of each run and the inconsistent verdicts.
    assert "2 of 4" in page and "1 of 4" in page
    assert "answer wins" in page and "answer_v2 wins" in page
    pairwise = html[html.index('data-evaluation="A vs B"') : html.index('data-evaluation="length"')]
    assert pairwise.count('class="part-0"') == 2  # one stacked bar per run
    assert 'style="' not in html


def test_runs_of_different_seeds_are_not_paired_by_position(project, owner):
    a, b = make_run(project, seed=1), make_run(project, seed=2)
    add_judge(a, JUDGE_A, clarity=4.0)
    add_judge(b, JUDGE_B, clarity=4.0)
    client = client_for(owner)
    data = client.get(f"/api/runs/{a.pk}/compare/{b.pk}").json()
    assert data["same_seed"] is False and data["evaluations"][0]["paired"] is None
    page = text(client.get(f"/runs/{a.pk}/compare/{b.pk}/").content)
    assert "rows are not paired by position" in page
    assert "Rows paired by position" not in page


def test_runs_without_evaluations_show_a_clear_empty_state(project, owner):
    a, b = make_run(project), make_run(project)
    page = text(client_for(owner).get(f"/runs/{a.pk}/compare/{b.pk}/").content)
    assert "Nothing to compare yet" in page
    assert client_for(owner).get(f"/api/runs/{a.pk}/compare/{b.pk}").json()["evaluations"] == []


def test_a_stranger_gets_404(runs, stranger):
    a, b = runs
    client = client_for(stranger)
    assert client.get(f"/runs/{a.pk}/compare/{b.pk}/").status_code == 404
    assert client.get(f"/api/runs/{a.pk}/compare/{b.pk}").status_code == 404
    assert client.get(f"/runs/{a.pk}/compare/").status_code == 404


def test_runs_of_two_projects_are_never_compared_even_by_their_owner(runs, owner):
    a, _ = runs
    elsewhere = make_run(project_create(user=owner, name="Other", description=""))
    client = client_for(owner)
    for first, second in ((a, elsewhere), (elsewhere, a)):
        assert client.get(f"/runs/{first.pk}/compare/{second.pk}/").status_code == 404
        api = client.get(f"/api/runs/{first.pk}/compare/{second.pk}")
        assert api.status_code == 404
    # Nor offered, nor reachable through the picker.
    picker = client.get(f"/runs/{a.pk}/compare/")
    assert f'value="{elsewhere.pk}"' not in picker.content.decode()
    refused = client.get(f"/runs/{a.pk}/compare/?b={elsewhere.pk}")
    assert refused.status_code == 400 and "Pick one of the project" in refused.content.decode()
    assert MSG_OTHER_PROJECT


def test_the_run_page_links_to_the_picker_which_goes_to_the_comparison(runs, owner):
    a, b = runs
    client = client_for(owner)
    assert f'href="/runs/{a.pk}/compare/"' in client.get(f"/runs/{a.pk}/").content.decode()
    picker = client.get(f"/runs/{a.pk}/compare/").content.decode()
    assert f'value="{b.pk}"' in picker and f'value="{a.pk}"' not in picker
    response = client.get(f"/runs/{a.pk}/compare/?b={b.pk}")
    assert response.status_code == 302 and response.url == f"/runs/{a.pk}/compare/{b.pk}/"
    assert client.get(f"/runs/{a.pk}/compare/?b=nonsense").status_code == 400


def test_a_pairwise_judge_shows_win_tie_and_loss_rates_not_a_mean(runs, owner):
    a, _ = runs
    evaluation = a.evaluations.get(kind="pairwise_judge")
    client = client_for(owner)
    html = client.get(f"/evaluations/{evaluation.pk}/").content.decode()
    assert 'id="summary-mean"' not in html
    assert re.search(r'id="summary-win-rate">50%<', html)
    assert re.search(r'id="summary-tie-rate">25%<', html)
    assert re.search(r'id="summary-loss-rate">25%<', html)
    assert "Position flips" in html
    panel = text(client.get(f"/runs/{a.pk}/").content)
    assert "A wins 50% · tie 25% · B wins 25%" in panel
