"""The judges' settings and form: every bad setting is refused with a message that says what to
fix (from the service, the API and the page), the credential choice lists the project's own
credentials only, and the rubric is typed as lines. No call is made: the run is never filled."""

import json

import pytest

from evaluation.forms import EvaluationForm
from evaluation.models import Evaluation
from evaluation.scoring.services import EvaluationInvalid, evaluation_create
from generation.services import run_create
from studio.services import credential_create, project_create, schema_create
from tests.fixtures import client_for

pytestmark = pytest.mark.django_db

RUBRIC_TEXT = "accuracy (1-5): the answer is correct\ncites_source (pass/fail): it names a source"


@pytest.fixture
def qa_run(project, owner):
    spec = {
        "columns": [
            {"name": "question", "kind": "category", "values": ["Capital of France?"]},
            {"name": "answer", "kind": "category", "values": ["Paris"]},
            {"name": "other", "kind": "category", "values": ["Lyon"]},
        ]
    }
    schema = schema_create(project=project, user=owner, name="qa", data=spec)
    return run_create(schema=schema, user=owner, num_rows=2)  # never filled: no worker


@pytest.fixture
def credential(project):
    return credential_create(
        project=project, name="judge key", provider="openai", api_key="sk-test-key-0000"
    )


@pytest.fixture
def strangers_credential(stranger):
    elsewhere = project_create(user=stranger, name="Elsewhere", description="")
    return credential_create(
        project=elsewhere, name="their key", provider="openai", api_key="sk-their-key-0000"
    )


def judge(credential_id, **overrides):
    return {
        "column": "answer",
        "credential_id": credential_id,
        "model": "gpt-4o-mini",
        "prompt": "Q: {{ question }} A: {{ answer }}",
        "criteria": [{"name": "accuracy", "description": "correct", "max_score": 5}],
        "pass_threshold": 3,
        **overrides,
    }


def pairwise(credential_id, **overrides):
    return {
        "column": "answer",
        "column_b": "other",
        "credential_id": credential_id,
        "model": "gpt-4o-mini",
        "prompt": "Which answer to {{ question }} is better?",
        **overrides,
    }


BAD = [
    ("llm_judge", {"criteria": []}, "criteria: the rubric is empty"),
    ("llm_judge", {"pass_threshold": 7}, "pass_threshold: 7 is outside the criteria's scores"),
    ("llm_judge", {"pass_threshold": None}, "pass_threshold: give the mean score"),
    (
        "llm_judge",
        {"prompt": "Q: {{ question }} A: {{ answer }} {{ nope }}"},
        "prompt: '{{ nope }}' is not a column of run",
    ),
    ("llm_judge", {"prompt": "Rate {{ question }}"}, "the judge never sees the column it scores"),
    ("llm_judge", {"prompt": "{{ answer.__class__ }}"}, "access to '__class__' is not allowed"),
    ("llm_judge", {"prompt": "{{ answer "}, "Template syntax error"),
    (
        "llm_judge",
        {"criteria": [{"name": "Bad Name", "description": "x"}]},
        "criterion 'Bad Name' has an invalid name",
    ),
    (
        "llm_judge",
        {"criteria": [{"name": "a", "description": "x", "min_score": 5, "max_score": 1}]},
        "must be below its highest",
    ),
    ("llm_judge", {"credential_id": 999_999}, "credential_id: credential 999999 is not one of"),
    ("llm_judge", {"model": " "}, "model: name the judge's model"),
    ("llm_judge", {"prompt": ""}, "prompt: write what the judge reads"),
    ("pairwise_judge", {"column_b": "answer"}, "column_b: compare two different columns"),
    ("pairwise_judge", {"column_b": "nope"}, "has no column 'nope'"),
]


@pytest.mark.parametrize(("kind", "overrides", "message"), BAD)
def test_bad_judge_settings_are_refused_with_a_clear_message(
    qa_run, owner, credential, kind, overrides, message
):
    build = judge if kind == "llm_judge" else pairwise
    settings = {**build(credential.pk), **overrides}
    with pytest.raises(EvaluationInvalid) as caught:
        evaluation_create(run=qa_run, user=owner, name="bad", kind=kind, settings=settings)
    assert any(message in text for text in caught.value.messages), caught.value.messages
    response = client_for(owner).post(
        f"/api/runs/{qa_run.pk}/evaluations",
        json.dumps({"name": "bad", "kind": kind, "settings": settings}),
        content_type="application/json",
    )
    assert response.status_code == 422
    assert message in response.json()["detail"]
    assert not Evaluation.objects.exists()


@pytest.mark.parametrize("kind", ["llm_judge", "pairwise_judge"])
def test_a_credential_of_another_project_is_refused(qa_run, owner, strangers_credential, kind):
    build = judge if kind == "llm_judge" else pairwise
    with pytest.raises(EvaluationInvalid, match="is not one of this project's credentials"):
        evaluation_create(
            run=qa_run, user=owner, name="x", kind=kind, settings=build(strangers_credential.pk)
        )


def test_good_settings_are_stored_as_given(qa_run, owner, credential):
    evaluation = evaluation_create(
        run=qa_run, user=owner, name="judge", kind="llm_judge", settings=judge(credential.pk)
    )
    assert evaluation.settings["criteria"] == [
        {"name": "accuracy", "description": "correct", "min_score": 1, "max_score": 5}
    ]
    assert evaluation.settings["temperature"] == 0 and evaluation.settings["max_reasks"] == 2


def test_the_form_offers_only_the_projects_credentials(
    qa_run, owner, credential, strangers_credential
):
    form = EvaluationForm(
        columns=qa_run.spec.output_columns(),
        credentials=qa_run.project.credentials.order_by("name"),
    )
    offered = list(form.fields["credential_id"].queryset)
    assert offered == [credential]
    html = client_for(owner).get(f"/runs/{qa_run.pk}/evaluations/new/").content.decode()
    assert "judge key" in html and "their key" not in html


def _judge_form(credential, **overrides):
    return {
        "name": "judge",
        "kind": "llm_judge",
        "column": "answer",
        "credential_id": str(credential.pk),
        "model": "gpt-4o-mini",
        "prompt": "Q: {{ question }} A: {{ answer }}",
        "criteria": RUBRIC_TEXT,
        "pass_threshold": "0.5",
        "temperature": "",
        "max_reasks": "",
        **overrides,
    }


def test_the_page_creates_a_judge_from_its_rubric_lines(qa_run, owner, credential):
    response = client_for(owner).post(
        f"/runs/{qa_run.pk}/evaluations/new/", _judge_form(credential)
    )
    assert response.status_code == 302
    evaluation = Evaluation.objects.get()
    assert evaluation.settings["criteria"] == [
        {
            "name": "accuracy",
            "description": "the answer is correct",
            "min_score": 1,
            "max_score": 5,
        },
        {
            "name": "cites_source",
            "description": "it names a source",
            "min_score": 0,
            "max_score": 1,
        },
    ]
    assert evaluation.settings["credential_id"] == credential.pk
    assert evaluation.settings["temperature"] == 0 and evaluation.settings["max_reasks"] == 2


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"criteria": "accuracy is what matters"}, "criteria", "Line 1: write 'name (1-5)"),
        ({"criteria": ""}, "criteria", "the rubric is empty"),
        ({"pass_threshold": "9"}, "pass_threshold", "9 is outside the criteria's scores (0 to 5)"),
        ({"prompt": "{{ answer }} {{ missing }}"}, "prompt", "'{{ missing }}' is not a column"),
        ({"credential_id": "999999"}, "credential_id", "Select a valid choice"),
    ],
)
def test_the_page_shows_judge_errors_next_to_their_fields(
    qa_run, owner, credential, overrides, field, message
):
    response = client_for(owner).post(
        f"/runs/{qa_run.pk}/evaluations/new/", _judge_form(credential, **overrides)
    )
    assert response.status_code == 200
    form = response.context["form"]
    assert any(message in error for error in form.errors.get(field, [])), form.errors
    assert not Evaluation.objects.exists()


def test_a_pairwise_judge_is_created_from_the_page(qa_run, owner, credential):
    response = client_for(owner).post(
        f"/runs/{qa_run.pk}/evaluations/new/",
        {
            "name": "answer vs other",
            "kind": "pairwise_judge",
            "column": "answer",
            "column_b": "other",
            "credential_id": str(credential.pk),
            "model": "gpt-4o-mini",
            "prompt": "Which answer to {{ question }} is better?",
        },
    )
    assert response.status_code == 302, response.context["form"].errors
    assert Evaluation.objects.get().settings["column_b"] == "other"
