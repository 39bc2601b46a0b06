"""The dataset-level kinds (duplicates, diversity, coverage) end to end: scored by the worker in
their one chunk over every target row, streamed and written in batches; a worker killed halfway
loses nothing and writes no score twice; bad settings refused; the figures on the page."""

import json
from dataclasses import replace

import pytest

from evaluation.kinds import KINDS, duplicates
from evaluation.metrics.diversity import distinct_n
from evaluation.models import Evaluation, EvaluationChunk, Score
from evaluation.scoring import dataset_chunk, services
from evaluation.scoring.chunks import score_chunk
from evaluation.scoring.services import EvaluationInvalid, evaluation_cancel, evaluation_create
from generation.models import Row, Run
from studio.services import schema_create
from tests.fixtures import client_for, drain

pytestmark = pytest.mark.django_db(transaction=True)

FOX = "The quick brown fox jumps over the lazy dog near the river bank."
FOX_JUMPED = "The quick brown fox jumped over the lazy dog near the river bank."
MARKETS = "Stock markets fell sharply on Monday after the announcement."
BREAD = "Baking bread at home takes flour, water, salt and a lot of patience."
GARDEN = "Tomatoes grow best in a sunny garden with regular watering."

# index: text, topic, hard, area. Clusters: {0, 2 (exact copy), 3 (near copy)}, {1, 5}, {4, 7}.
ROWS = [
    (FOX, "space", True, "planets"),
    (MARKETS, "oceans", False, "reefs"),
    (FOX.upper(), "space", False, "planets"),
    (FOX_JUMPED, "history", True, "rome"),
    (BREAD, "oceans", False, "reefs"),
    ("Stock  markets fell sharply on Monday after the announcement.", "oceans", True, "reefs"),
    (GARDEN, "space", False, "stars"),
    (BREAD, "history", True, "rome"),
]
SPEC = {
    "columns": [
        {
            "name": "topic",
            "kind": "category",
            "values": ["space", "oceans", "history"],
            "weights": [2, 1, 1],
        },
        {"name": "hard", "kind": "boolean", "probability": 0.25},
        {
            "name": "area",
            "kind": "subcategory",
            "parent": "topic",
            "values": {"space": ["planets", "stars"], "oceans": ["reefs"], "history": ["rome"]},
            "weights": {"space": [3, 1]},
        },
        {"name": "text", "kind": "expression", "template": "About {{ topic }}"},
    ]
}
DUPLICATES = {"column": "text", "similarity": 0.7}


def make_run(project, owner, spec, rows) -> Run:
    """A finished run whose rows are made directly (nothing generated)."""
    schema = schema_create(project=project, user=owner, name="texts", data=spec)
    run = Run.objects.create(
        project=project,
        schema=schema,
        schema_name=schema.name,
        schema_version=schema.version,
        spec_snapshot=schema.spec,
        seed=7,
        num_rows=len(rows),
        status=Run.Status.FINISHED,
        created_by=owner,
    )
    Row.objects.bulk_create(
        Row(run=run, index=index, status=Row.Status.GENERATED, values=values)
        for index, values in enumerate(rows)
    )
    return run


@pytest.fixture
def texts_run(project, owner) -> Run:
    return make_run(
        project,
        owner,
        SPEC,
        [
            {"topic": topic, "hard": hard, "area": area, "text": text}
            for text, topic, hard, area in ROWS
        ],
    )


def _scores(evaluation) -> dict[int, float | None]:
    return dict(Score.objects.filter(evaluation=evaluation).values_list("row__index", "value"))


def _details(evaluation) -> dict[int, dict]:
    return dict(Score.objects.filter(evaluation=evaluation).values_list("row__index", "detail"))


def _evaluate(run, owner, worker, kind, settings, name="dataset") -> Evaluation:
    evaluation = evaluation_create(run=run, user=owner, name=name, kind=kind, settings=settings)
    drain(worker)
    evaluation.refresh_from_db()
    assert evaluation.status == "done"
    return evaluation


EXPECTED_DUPLICATES = {0: 1.0, 1: 1.0, 2: 0.0, 3: 0.0, 4: 1.0, 5: 0.0, 6: 1.0, 7: 0.0}


def test_duplicates_give_each_row_its_cluster(texts_run, owner, worker):
    evaluation = _evaluate(texts_run, owner, worker, "duplicates", DUPLICATES)
    assert EvaluationChunk.objects.filter(evaluation=evaluation).count() == 1
    assert _scores(evaluation) == EXPECTED_DUPLICATES
    details = _details(evaluation)
    assert details[0] == details[3] == {"cluster": 0, "cluster_size": 3, "exact": False}
    assert details[5] == {"cluster": 1, "cluster_size": 2, "exact": True}
    assert details[7] == {"cluster": 4, "cluster_size": 2, "exact": True}
    assert details[6] == {"cluster": 6, "cluster_size": 1}
    assert evaluation.rows_scored == len(ROWS)
    figures = evaluation.summary["figures"]
    assert {k: figures[k] for k in ("duplicate_rows", "clusters", "largest_cluster")} == {
        "duplicate_rows": 4,
        "clusters": 3,
        "largest_cluster": 3,
    }
    assert (figures["exact_duplicate_rows"], figures["near_duplicate_rows"]) == (3, 1)
    assert figures["largest"] == [
        {"first": 0, "size": 3, "exact": False},
        {"first": 1, "size": 2, "exact": True},
        {"first": 4, "size": 2, "exact": True},
    ]
    assert evaluation.summary["pass_rate"] == 0.5


def test_a_reviewers_edit_is_what_is_compared(texts_run, owner, worker):
    Row.objects.filter(run=texts_run, index=6).update(
        edited_values={"topic": "space", "hard": False, "area": "stars", "text": MARKETS}
    )
    evaluation = _evaluate(texts_run, owner, worker, "duplicates", DUPLICATES)
    assert _scores(evaluation)[6] == 0.0
    assert _details(evaluation)[6] == {"cluster": 1, "cluster_size": 3, "exact": True}


def test_diversity_figures_and_each_rows_distinct_2(texts_run, owner, worker):
    evaluation = _evaluate(texts_run, owner, worker, "diversity", {"column": "text", "top_n": 1})
    figures = evaluation.summary["figures"]
    texts = [text for text, *_ in ROWS]
    assert figures["distinct_1"] == pytest.approx(distinct_n(texts, 1))
    assert figures["distinct_2"] == pytest.approx(distinct_n(texts, 2))
    # "the" is the commonest word: 3 in each fox sentence, 1 in each market one, 0 elsewhere.
    assert (figures["top"][0]["ngram"], figures["top"][0]["count"]) == ("the", 3 * 3 + 1 * 2)
    assert figures["top"][0]["share"] == pytest.approx(11 / figures["words"])
    # A row's own distinct-2: no word pair of the fox sentence repeats; "go go go" would.
    assert _scores(evaluation)[0] == 1.0


def test_coverage_compares_each_sampler_column_with_its_weights(texts_run, owner, worker):
    evaluation = _evaluate(texts_run, owner, worker, "coverage", {})
    columns = {c["column"]: c for c in evaluation.summary["figures"]["columns"]}
    assert list(columns) == ["topic", "hard", "area"]
    # topic: observed 3/8 3/8 2/8 against .5 .25 .25
    assert columns["topic"]["tvd"] == pytest.approx(0.125)
    assert [(v["value"], v["expected"], v["count"]) for v in columns["topic"]["values"]] == [
        ("space", 0.5, 3),
        ("oceans", 0.25, 3),
        ("history", 0.25, 2),
    ]
    # hard: half the rows against a probability of a quarter
    assert columns["hard"]["tvd"] == pytest.approx(0.25)
    # area: space's .5 split 3:1 between planets and stars; observed .25 .125 .375 .25
    area = {v["value"]: v["expected"] for v in columns["area"]["values"]}
    assert area == pytest.approx({"planets": 0.375, "stars": 0.125, "reefs": 0.25, "rome": 0.25})
    assert columns["area"]["tvd"] == pytest.approx(0.125)
    assert set(_scores(evaluation).values()) == {None}
    assert evaluation.rows_failed == 0

    only = _evaluate(texts_run, owner, worker, "coverage", {"column": "hard"}, name="hard")
    assert [c["column"] for c in only.summary["figures"]["columns"]] == ["hard"]


@pytest.mark.parametrize(
    ("kind", "settings", "message"),
    [
        (
            "duplicates",
            {"column": "text", "similarity": 0.3},
            "similarity: The similarity threshold must be between 0.5 and 1.0 (got 0.3)",
        ),
        ("duplicates", {"column": "text", "num_perm": 4}, "num_perm"),
        ("duplicates", {"column": "text", "shingles": "lines"}, "shingles"),
        ("duplicates", {"column": "nope"}, "has no column 'nope'"),
        ("diversity", {"column": "text", "top_n": 7}, "top_n"),
        ("coverage", {"column": "text"}, "Column 'text' is not a category, subcategory or boolean"),
        ("coverage", {"column": "nope"}, "Column 'nope' is not a category"),
    ],
)
def test_bad_settings_are_refused_with_a_clear_message(texts_run, owner, kind, settings, message):
    with pytest.raises(EvaluationInvalid, match=message.replace("(", r"\(").replace(")", r"\)")):
        evaluation_create(run=texts_run, user=owner, name="bad", kind=kind, settings=settings)
    response = client_for(owner).post(
        f"/api/runs/{texts_run.pk}/evaluations",
        json.dumps({"name": "bad", "kind": kind, "settings": settings}),
        content_type="application/json",
    )
    assert response.status_code == 422
    assert message in response.json()["detail"]
    assert not Evaluation.objects.exists()


def test_coverage_needs_a_sampler_column(project, owner):
    spec = {"columns": [{"name": "text", "kind": "expression", "template": "x"}]}
    run = make_run(project, owner, spec, [{"text": "x"}])
    with pytest.raises(EvaluationInvalid, match="no category, subcategory or boolean column"):
        evaluation_create(run=run, user=owner, name="c", kind="coverage", settings={})


class Killed(Exception):
    pass


@pytest.fixture
def no_worker(monkeypatch):
    """The chunk messages go nowhere: the test calls the chunk itself."""

    class Queue:
        def send(self, *args):
            pass

    monkeypatch.setattr(services, "score_chunk", Queue())


def test_a_worker_killed_between_batches_loses_nothing_and_writes_nothing_twice(
    texts_run, owner, no_worker, monkeypatch
):
    monkeypatch.setattr(dataset_chunk, "WRITE_BATCH", 3)
    real_write = dataset_chunk.scores_write
    calls = []

    def dies_after_one_batch(**kwargs):
        calls.append(kwargs)
        if len(calls) > 1:
            raise Killed
        return real_write(**kwargs)

    monkeypatch.setattr(dataset_chunk, "scores_write", dies_after_one_batch)
    evaluation = evaluation_create(
        run=texts_run, user=owner, name="dup", kind="duplicates", settings=DUPLICATES
    )
    with pytest.raises(Killed):
        score_chunk(evaluation_id=evaluation.pk, number=0)
    evaluation.refresh_from_db()
    assert Score.objects.filter(evaluation=evaluation).count() == 3
    assert evaluation.status == "running" and evaluation.rows_scored == 3
    assert not EvaluationChunk.objects.get(evaluation=evaluation).done

    monkeypatch.setattr(dataset_chunk, "scores_write", real_write)
    score_chunk(evaluation_id=evaluation.pk, number=0)  # the redelivered message
    score_chunk(evaluation_id=evaluation.pk, number=0)  # and once more after its commit
    evaluation.refresh_from_db()
    assert evaluation.status == "done"
    assert evaluation.rows_scored == len(ROWS)
    assert Score.objects.filter(evaluation=evaluation).count() == len(ROWS)
    assert _scores(evaluation) == EXPECTED_DUPLICATES
    assert evaluation.summary["figures"]["duplicate_rows"] == 4


def test_cancel_stops_the_batches(texts_run, owner, no_worker, monkeypatch):
    monkeypatch.setattr(dataset_chunk, "WRITE_BATCH", 3)
    real_write = dataset_chunk.scores_write

    def cancelled_after_one_batch(**kwargs):
        written = real_write(**kwargs)
        evaluation = Evaluation.objects.get(pk=kwargs["evaluation_id"])
        if evaluation.is_active:
            evaluation_cancel(evaluation=evaluation)
        return written

    monkeypatch.setattr(dataset_chunk, "scores_write", cancelled_after_one_batch)
    evaluation = evaluation_create(
        run=texts_run, user=owner, name="dup", kind="duplicates", settings=DUPLICATES
    )
    score_chunk(evaluation_id=evaluation.pk, number=0)
    evaluation.refresh_from_db()
    assert evaluation.status == "cancelled"
    assert Score.objects.filter(evaluation=evaluation).count() == 3


def test_a_kind_that_raises_fails_every_row(texts_run, owner, no_worker, monkeypatch):
    def broken(settings, rows):
        raise RuntimeError("metric bug")

    monkeypatch.setitem(KINDS, "duplicates", replace(duplicates.KIND, score_dataset=broken))
    evaluation = evaluation_create(
        run=texts_run, user=owner, name="dup", kind="duplicates", settings=DUPLICATES
    )
    score_chunk(evaluation_id=evaluation.pk, number=0)
    evaluation.refresh_from_db()
    assert evaluation.status == "done"
    assert evaluation.rows_failed == len(ROWS)
    assert set(Score.objects.filter(evaluation=evaluation).values_list("error", flat=True)) == {
        "Scoring failed: metric bug"
    }


def test_the_pages_show_each_kinds_figures(texts_run, owner, worker):
    client = client_for(owner)
    dup = _evaluate(texts_run, owner, worker, "duplicates", DUPLICATES, name="dup")
    html = client.get(f"/evaluations/{dup.pk}/").content.decode()
    assert 'id="figure-duplicate-rows">4<' in html
    assert 'id="figure-largest-cluster">3 rows<' in html
    assert "Show the 4 later duplicates" in html
    assert html.count('title="Show the rows of cluster') == 3
    cluster = client.get(f"/evaluations/{dup.pk}/?cluster=0").content.decode()
    assert "3 rows in cluster #0" in cluster
    later = client.get(f"/evaluations/{dup.pk}/?outcome=not_passed").content.decode()
    assert "4 rows" in later
    assert "Near duplicates: cluster" in later  # row 3's note
    row = texts_run.rows.get(index=3)
    panel = client.get(f"/rows/{row.pk}/").content.decode()
    assert f'/evaluations/{dup.pk}/?cluster=0#scores">#0</a> of 3 rows' in panel

    div = _evaluate(texts_run, owner, worker, "diversity", {"column": "text"}, name="div")
    html = client.get(f"/evaluations/{div.pk}/").content.decode()
    distinct_1 = f"{distinct_n([text for text, *_ in ROWS], 1):.3f}"
    assert f'id="figure-distinct-1">{distinct_1}<' in html
    assert 'aria-label="Most common n-grams by count"' in html
    assert ">brown fox<" in html  # the first of the pairs found in the three fox rows

    cov = _evaluate(texts_run, owner, worker, "coverage", {}, name="cov")
    html = client.get(f"/evaluations/{cov.pk}/").content.decode()
    assert "Coverage of <code>topic</code>" in html
    assert "total variation distance <strong>0.125</strong>" in html
    assert "space: 38% of the rows (expected 50%)" in html  # 3 of 8 rows
    assert "No numeric scores" not in html
    assert "By <code>topic</code>" not in html  # no mean score to break down
    assert "gives the rows no score of their own" in html


def test_the_form_creates_dataset_evaluations_and_shows_their_errors(texts_run, owner):
    client = client_for(owner)
    base = {"name": "dup", "kind": "duplicates", "column": "text", "shingles": "words"}
    response = client.post(f"/runs/{texts_run.pk}/evaluations/new/", {**base, "shingle_size": 3})
    assert response.status_code == 302
    assert Evaluation.objects.get().settings == {
        "column": "text",
        "shingles": "words",
        "shingle_size": 3,
        "similarity": 0.8,
        "num_perm": 128,
    }
    bad = client.post(f"/runs/{texts_run.pk}/evaluations/new/", {**base, "similarity": "1.5"})
    assert "must be between 0.5 and 1.0 (got 1.5)" in bad.content.decode()
    coverage = {"name": "cov", "kind": "coverage", "sampler_column": "text"}
    refused = client.post(f"/runs/{texts_run.pk}/evaluations/new/", coverage)
    assert "Column &#x27;text&#x27; is not a category" in refused.content.decode()
    every = client.post(
        f"/runs/{texts_run.pk}/evaluations/new/", {**coverage, "sampler_column": ""}
    )
    assert every.status_code == 302
    stored = Evaluation.objects.get(name="cov").settings
    assert [c["column"] for c in stored["expected"]] == ["topic", "hard", "area"]
