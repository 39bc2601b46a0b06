"""Embedding similarity through the real openai SDK against the fake server: the cosines of its
deterministic vectors, one batched request, tokens and cost on the ledger and the run's spend,
a re-run that sends nothing, a 429 retried; the offline simulator, labelled; bad settings
refused with a clear message, from the API and the form."""

import json
from decimal import Decimal

import pytest

from evaluation.metrics.embedding import cosine
from evaluation.models import Evaluation, Score
from evaluation.scoring.services import EvaluationInvalid, evaluation_create, evaluation_rerun
from generation.models import LlmCall
from studio.models import ProviderCredential
from studio.services import credential_create, project_create
from tests.evaluation.conftest import ROWS
from tests.fakes.llm_server import fake_embedding
from tests.fixtures import client_for, drain

pytestmark = pytest.mark.django_db(transaction=True)

ANSWERS = ["Paris", "tokyo!", "4", "Saturn", "Shakespeare", "It is Lima"]
GOLD = ["Paris", "Tokyo", "4", "Jupiter", "Shakespeare", "Lima"]
PRICE = Decimal("1000")  # the credential's own price per million input tokens: visible costs


def settings_for(credential, **overrides):
    return {
        "column": "answer",
        "reference_column": "gold",
        "credential_id": credential.pk,
        "model": "text-embedding-3-small",
        "threshold": 0.99,
        **overrides,
    }


def _scores(evaluation):
    return dict(Score.objects.filter(evaluation=evaluation).values_list("row__index", "value"))


def _create(run, owner, settings, name="meaning"):
    return evaluation_create(
        run=run, user=owner, name=name, kind="embedding_similarity", settings=settings
    )


@pytest.fixture
def priced_credential(openai_credential):
    openai_credential.input_price_per_million = PRICE
    openai_credential.save(update_fields=["input_price_per_million"])
    return openai_credential


def test_cosines_of_the_providers_embeddings_paid_once_and_free_on_a_rerun(
    gold_run, owner, worker, priced_credential, llm_server
):
    evaluation = _create(gold_run, owner, settings_for(priced_credential))
    drain(worker)
    evaluation.refresh_from_db()
    assert evaluation.status == "done" and evaluation.rows_scored == ROWS
    expected = {
        i: cosine(fake_embedding(a), fake_embedding(g))
        for i, (a, g) in enumerate(zip(ANSWERS, GOLD, strict=True))
    }
    assert _scores(evaluation) == pytest.approx(expected, abs=1e-5)
    passed = dict(Score.objects.filter(evaluation=evaluation).values_list("row__index", "passed"))
    assert passed == {0: True, 1: False, 2: True, 3: False, 4: True, 5: False}

    # One request with the chunk's distinct texts (Paris, 4 and Shakespeare once each).
    sent = llm_server.embedding_requests()
    assert len(sent) == 1 and not llm_server.generation_requests()
    assert sorted(sent[0].body["input"]) == sorted(set(ANSWERS + GOLD))
    assert sent[0].body["model"] == "text-embedding-3-small"

    # Its tokens and cost are on the ledger (the credential's price), and in the run's spend.
    call = LlmCall.objects.get()
    assert call.run_id == gold_run.pk and call.column == "embedding_similarity"
    assert call.input_tokens > 0 and call.output_tokens == 0
    assert call.cost_usd == PRICE * call.input_tokens / 1_000_000
    gold_run.refresh_from_db()
    assert gold_run.spent_usd == call.cost_usd
    assert evaluation.summary["figures"] == {"Embeddings": "text-embedding-3-small"}

    # A re-run asks the same texts: the ledger answers, nothing is sent or paid again.
    newer = evaluation_rerun(evaluation=evaluation, user=owner)
    drain(worker)
    newer.refresh_from_db()
    assert newer.status == "done"
    assert _scores(newer) == pytest.approx(_scores(evaluation))
    assert len(llm_server.embedding_requests()) == 1
    assert LlmCall.objects.count() == 1
    gold_run.refresh_from_db()
    assert gold_run.spent_usd == call.cost_usd


def test_a_429_is_retried_and_paid_once(gold_run, owner, worker, openai_credential, llm_server):
    llm_server.raw_reply_next(llm_server.error_reply("openai", 429, headers={"retry-after": "0"}))
    evaluation = _create(gold_run, owner, settings_for(openai_credential, threshold=None))
    drain(worker)
    evaluation.refresh_from_db()
    assert evaluation.status == "done" and evaluation.rows_failed == 0
    assert [r.status for r in llm_server.embedding_requests()] == [429, 200]
    assert _scores(evaluation)[0] == pytest.approx(1.0)
    assert LlmCall.objects.count() == 1


def test_a_provider_error_fails_the_rows_with_its_message(
    gold_run, owner, worker, openai_credential, llm_server
):
    llm_server.raw_reply_next(
        llm_server.error_reply("openai", 400, message="This model does not embed.")
    )
    evaluation = _create(gold_run, owner, settings_for(openai_credential))
    drain(worker)
    evaluation.refresh_from_db()
    assert evaluation.status == "done" and evaluation.rows_failed == ROWS
    errors = set(Score.objects.filter(evaluation=evaluation).values_list("error", flat=True))
    assert len(errors) == 1 and "This model does not embed." in errors.pop()
    assert not LlmCall.objects.exists()


def test_the_simulator_embeds_offline_and_says_its_embeddings_are_not_semantic(
    gold_run, owner, worker, project, llm_server
):
    simulator = credential_create(project=project, name="demo", provider="simulator")
    evaluation = _create(gold_run, owner, settings_for(simulator, threshold=0.5))
    drain(worker)
    evaluation.refresh_from_db()
    assert evaluation.status == "done" and evaluation.rows_failed == 0
    scores = _scores(evaluation)
    assert scores[0] == pytest.approx(1.0)  # "Paris" against "Paris"
    assert 0.5 < scores[1] < 1  # "tokyo!" against "Tokyo": most letters shared
    assert scores[5] > scores[3]  # "It is Lima" shares more with "Lima" than Saturn with Jupiter
    assert not llm_server.requests  # no network
    note = "simulated embeddings, not semantic"
    assert evaluation.summary["figures"]["Embeddings"] == "simulated, not semantic"
    assert Score.objects.filter(evaluation=evaluation, detail__note=note).count() == ROWS
    html = client_for(owner).get(f"/evaluations/{evaluation.pk}/").content.decode()
    assert "simulated, not semantic" in html and html.count(note) >= ROWS  # summary, rows


def test_an_empty_text_is_not_embedded(gold_run, owner, worker, project):
    simulator = credential_create(project=project, name="demo", provider="simulator")
    evaluation = _create(
        gold_run, owner, settings_for(simulator, reference_column=None, reference_value=" ")
    )
    drain(worker)
    errors = set(Score.objects.filter(evaluation=evaluation).values_list("error", flat=True))
    assert errors == {"Nothing to compare: the reference is empty"}


@pytest.fixture
def other_projects_credential(owner):
    other = project_create(user=owner, name="Other", description="")
    return credential_create(project=other, name="elsewhere", provider="simulator")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"column": "nope"}, "has no column 'nope'"),
        ({"reference_column": "missing"}, "has no column 'missing'"),
        ({"credential_id": None}, "credential_id: choose the credential whose embeddings"),
        ("anthropic", "Anthropic has no embeddings endpoint"),
        ("elsewhere", "is not one of this project's credentials"),
        ({"model": " "}, "name the embeddings model"),
        ({"threshold": 1.5}, "threshold: must be between -1 and 1"),
        ({"threshold": -2}, "threshold: must be between -1 and 1"),
    ],
)
def test_bad_settings_are_refused_with_a_clear_message(
    gold_run,
    owner,
    openai_credential,
    anthropic_credential,
    other_projects_credential,
    change,
    message,
):
    credentials = {"anthropic": anthropic_credential, "elsewhere": other_projects_credential}
    if isinstance(change, str):
        change = {"credential_id": credentials[change].pk}
    settings = settings_for(openai_credential, **change)
    with pytest.raises(EvaluationInvalid, match=message):
        _create(gold_run, owner, settings)
    response = client_for(owner).post(
        f"/api/runs/{gold_run.pk}/evaluations",
        json.dumps({"name": "bad", "kind": "embedding_similarity", "settings": settings}),
        content_type="application/json",
    )
    assert response.status_code == 422
    assert message in response.json()["detail"]
    assert not Evaluation.objects.exists()


def test_settings_without_a_credential_say_which_to_choose(gold_run, owner, openai_credential):
    settings = settings_for(openai_credential)
    del settings["credential_id"]
    with pytest.raises(EvaluationInvalid, match="choose the credential whose embeddings"):
        _create(gold_run, owner, settings)


def test_a_run_out_of_budget_pays_for_no_embeddings(
    gold_run, owner, worker, priced_credential, llm_server
):
    gold_run.budget_usd = Decimal("0.000001")
    gold_run.save(update_fields=["budget_usd"])
    evaluation = _create(gold_run, owner, settings_for(priced_credential))
    drain(worker)
    evaluation.refresh_from_db()
    assert evaluation.status == "done" and evaluation.rows_failed == ROWS
    errors = set(Score.objects.filter(evaluation=evaluation).values_list("error", flat=True))
    assert len(errors) == 1 and "past its budget" in errors.pop()
    assert not llm_server.embedding_requests() and not LlmCall.objects.exists()


def test_the_form_refuses_an_anthropic_credential_next_to_its_field(
    gold_run, owner, anthropic_credential
):
    response = client_for(owner).post(
        f"/runs/{gold_run.pk}/evaluations/new/",
        {
            "name": "meaning",
            "kind": "embedding_similarity",
            "column": "answer",
            "reference_column": "gold",
            "credential_id": anthropic_credential.pk,
            "model": "text-embedding-3-small",
        },
    )
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert "Anthropic has no embeddings endpoint" in errors["credential_id"][0]
    assert not Evaluation.objects.exists()


def test_api_creates_an_embedding_similarity_evaluation(gold_run, owner, worker, project):
    simulator = credential_create(project=project, name="demo", provider="simulator")
    client = client_for(owner)
    created = client.post(
        f"/api/runs/{gold_run.pk}/evaluations",
        json.dumps(
            {
                "name": "meaning",
                "kind": "embedding_similarity",
                "settings": settings_for(simulator, reference_column=None, reference_value="Paris"),
            }
        ),
        content_type="application/json",
    )
    assert created.status_code == 202
    drain(worker)
    evaluation_id = created.json()["id"]
    summary = client.get(f"/api/evaluations/{evaluation_id}/summary").json()["summary"]
    assert summary["scored"] == ROWS and summary["pass_rate"] == pytest.approx(1 / 6)
    assert ProviderCredential.objects.get(pk=simulator.pk).provider == "simulator"
