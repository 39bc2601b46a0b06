"""The reference-free checks end to end: JSON against a schema, length in tokens, regex must /
must not match, empty or refusal; scored by the worker, bad settings refused clearly."""

import json
import re

import pytest

from evaluation.models import Evaluation, Score
from evaluation.scoring.services import EvaluationInvalid, evaluation_create
from tests.evaluation.conftest import seed_table_run
from tests.fixtures import client_for, drain

pytestmark = pytest.mark.django_db(transaction=True)


def _create(run, owner, kind, settings):
    return evaluation_create(run=run, user=owner, name=kind, kind=kind, settings=settings)


def _scores(evaluation):
    return list(Score.objects.filter(evaluation=evaluation).order_by("row__index"))


def test_regex_must_and_must_not_match(gold_run, owner, worker):
    capital = _create(
        gold_run, owner, "regex_check", {"column": "question", "pattern": "^Capital of"}
    )
    no_digits = _create(
        gold_run,
        owner,
        "regex_check",
        {"column": "question", "pattern": r"\d", "expect": "no_match"},
    )
    loud = _create(
        gold_run,
        owner,
        "regex_check",
        {"column": "answer", "pattern": "^[A-Z]", "ignore_case": True},
    )
    drain(worker)
    assert [s.value for s in _scores(capital)] == [1.0, 1.0, 0.0, 0.0, 0.0, 1.0]
    assert _scores(capital)[0].detail == {
        "match": "Capital of",
        "rule": "matched 'Capital of' at 0",
    }
    assert [s.passed for s in _scores(no_digits)] == [True, True, False, True, True, True]
    assert _scores(no_digits)[2].detail["rule"] == "matched '2' at 0 (forbidden)"
    # Ignoring case, "tokyo!" starts with a letter too; "4" does not.
    assert [s.value for s in _scores(loud)] == [1.0, 1.0, 0.0, 1.0, 1.0, 1.0]


def test_length_in_estimated_tokens(gold_run, owner, worker):
    evaluation = _create(
        gold_run, owner, "length", {"column": "question", "unit": "tokens", "max_length": 4}
    )
    drain(worker)
    # About 4 characters a token, rounded up: "Capital of France?" has 18 → 5.
    questions = ["Capital of France?", "Capital of Japan?", "2+2?", "Largest planet?"]
    questions += ["Author of Hamlet?", "Capital of Peru?"]
    expected = [float(-(-len(q) // 4)) for q in questions]
    assert [s.value for s in _scores(evaluation)] == expected == [5.0, 5.0, 1.0, 4.0, 5.0, 4.0]
    assert [s.passed for s in _scores(evaluation)] == [False, False, True, True, False, True]


ANSWERS_CSV = (
    b"answer,note\n"
    b'"{""name"": ""Ada"", ""age"": 36}",valid\n'
    b'"{""name"": ""Bob"", ""age"": -2}",negative age\n'
    b'"{""name"": ""Cy""}",no age\n'
    b"As an AI language model I cannot answer that.,refusal\n"
    b",empty\n"
    b"I'm sorry but no comment.,custom refusal\n"
)
PERSON = {
    "type": "object",
    "required": ["name", "age"],
    "properties": {"name": {"type": "string"}, "age": {"type": "integer", "minimum": 0}},
}


def test_json_schema_validates_text_parsed_as_json_and_names_the_violation(worker, project, owner):
    run = seed_table_run(worker, project, owner, data=ANSWERS_CSV, name="answers")
    evaluation = _create(run, owner, "json_schema", {"column": "answer", "json_schema": PERSON})
    drain(worker)
    scores = _scores(evaluation)
    assert [s.value for s in scores] == [1.0, 0.0, 0.0, 0.0, 0.0, 0.0]
    assert scores[1].detail["rule"] == "$.age: -2 is less than the minimum of 0"
    assert scores[2].detail["rule"] == "$: 'age' is a required property"
    assert scores[3].detail["violation"].startswith("not JSON")
    evaluation.refresh_from_db()
    assert evaluation.summary["pass_rate"] == pytest.approx(1 / 6)


def test_refusals_and_empty_answers_score_zero_with_the_phrase(worker, project, owner):
    run = seed_table_run(worker, project, owner, data=ANSWERS_CSV, name="answers")
    built_in = _create(run, owner, "refusal", {"column": "answer"})
    extra = _create(run, owner, "refusal", {"column": "answer", "extra_phrases": ["No comment"]})
    drain(worker)
    scores = _scores(built_in)
    assert [s.value for s in scores] == [1.0, 1.0, 1.0, 0.0, 0.0, 1.0]
    assert scores[3].detail["phrase"] == "as an ai"
    assert scores[3].detail["rule"] == "refusal: matched “as an ai”"
    assert scores[4].detail == {"reason": "empty", "rule": "empty answer"}
    assert [s.passed for s in _scores(extra)] == [True, True, True, False, False, False]
    assert _scores(extra)[5].detail["phrase"] == "no comment"


@pytest.mark.parametrize(
    ("kind", "settings", "message"),
    [
        ("regex_check", {"column": "nope", "pattern": "a"}, "has no column 'nope'"),
        (
            "regex_check",
            {"column": "answer", "pattern": "(ab"},
            "pattern: the pattern is not a valid regular expression (missing )",
        ),
        (
            "regex_check",
            {"column": "answer", "pattern": "(?<=a)b"},
            "no backreferences or lookaround",
        ),
        (
            "regex_check",
            {"column": "answer", "pattern": "a" * 1001},
            "pattern: the pattern is too long",
        ),
        ("regex_check", {"column": "answer", "pattern": ""}, "pattern"),
        ("regex_check", {"column": "answer", "pattern": "a", "expect": "maybe"}, "expect"),
        (
            "json_schema",
            {"column": "answer", "json_schema": {"type": "nope"}},
            "json_schema: not a valid JSON Schema",
        ),
        (
            "json_schema",
            {"column": "answer", "json_schema": {"$ref": "https://example.com/s.json"}},
            "json_schema: $ref: only references inside the schema (#/...) are allowed",
        ),
        ("json_schema", {"column": "answer"}, "json_schema: Field required"),
        ("json_schema", {"column": "nope", "json_schema": {}}, "has no column 'nope'"),
        ("length", {"column": "answer", "unit": "pages"}, "unit"),
        (
            "refusal",
            {"column": "answer", "extra_phrases": [" "]},
            "extra_phrases: a phrase is empty",
        ),
        ("refusal", {"column": "answer", "extra_phrases": ["x"] * 51}, "at most 50 phrases"),
    ],
)
def test_bad_settings_are_refused_with_a_clear_message(gold_run, owner, kind, settings, message):
    with pytest.raises(EvaluationInvalid, match=re.escape(message)):
        _create(gold_run, owner, kind, settings)
    assert not Evaluation.objects.exists()
    response = client_for(owner).post(
        f"/api/runs/{gold_run.pk}/evaluations",
        json.dumps({"name": "bad", "kind": kind, "settings": settings}),
        content_type="application/json",
    )
    assert response.status_code == 422
    assert message in response.json()["detail"]


def _field_errors(html, name):
    field = html[html.index(f'name="{name}"') :]
    return field[: field.index("</label>")]


def test_the_form_parses_the_schema_and_shows_problems_next_to_their_fields(
    gold_run, owner, worker
):
    client = client_for(owner)
    form = {"name": "shape", "kind": "json_schema", "column": "answer"}
    not_json = client.post(
        f"/runs/{gold_run.pk}/evaluations/new/", {**form, "json_schema": "{type"}
    )
    assert "Not JSON" in _field_errors(not_json.content.decode(), "json_schema")
    invalid = client.post(
        f"/runs/{gold_run.pk}/evaluations/new/", {**form, "json_schema": '{"type": "nope"}'}
    )
    assert "not a valid JSON Schema" in _field_errors(invalid.content.decode(), "json_schema")
    pattern = client.post(
        f"/runs/{gold_run.pk}/evaluations/new/",
        {
            "name": "p",
            "kind": "regex_check",
            "column": "answer",
            "pattern": "(ab",
            "expect": "match",
        },
    )
    assert "missing )" in _field_errors(pattern.content.decode(), "pattern")
    assert not Evaluation.objects.exists()
    created = client.post(
        f"/runs/{gold_run.pk}/evaluations/new/",
        {**form, "json_schema": '{"type": "integer", "maximum": 10}'},
    )
    assert created.status_code == 302
    drain(worker)
    # Only "4" parses as JSON (a number); the other answers are no JSON at all.
    assert [s.passed for s in _scores(Evaluation.objects.get())] == [False, False, True] + [
        False
    ] * 3
