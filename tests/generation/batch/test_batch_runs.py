"""Batch mode end to end in services mode: Dramatiq on Redis, PostgreSQL, and the real openai and
anthropic SDKs against the fake's Batch API and Message Batches endpoints."""

from __future__ import annotations

import time
from decimal import Decimal

import dramatiq
import pytest

from generation import services
from generation.batch.actors import batch_pass
from generation.batch.calls import BATCH_PRICE_FACTOR, request_from_record
from generation.batch.jobs import _claim_for_sending, _client
from generation.models import BatchJob, LlmCall, Row, Run
from generation.pricing import call_cost
from generation.providers.batch import BatchItem
from studio.models import ProviderCredential
from studio.services import credential_create, schema_create
from tests.fixtures import drain

pytestmark = pytest.mark.django_db(transaction=True)

COT_SCHEMA = {
    "type": "object",
    "properties": {"reasoning": {"type": "string"}, "answer": {"type": "string"}},
    "required": ["reasoning", "answer"],
}


@pytest.fixture(autouse=True)
def _fast_polls(settings):
    settings.STUDIO_BATCH_POLL_SECONDS = 0.2


def two_step_spec(credential_id: int, model: str = "gpt-4o-mini", max_tokens: int = 512) -> dict:
    """A question about a topic, then an answer to that question: two dependent LLM columns."""
    spec = {
        "columns": [
            {"name": "topic", "kind": "category", "values": ["space", "oceans", "volcanoes"]},
            {
                "name": "question",
                "kind": "llm_text",
                "credential_id": credential_id,
                "model": model,
                "prompt": "Write a question about {{ topic }}",
            },
            {
                "name": "answer",
                "kind": "llm_text",
                "credential_id": credential_id,
                "model": model,
                "prompt": "Answer this: {{ question }}",
            },
        ]
    }
    for column in spec["columns"][1:]:
        column["max_tokens"] = max_tokens
    return spec


def batch_run(project, owner, spec: dict, rows: int, **kwargs) -> Run:
    schema = schema_create(project=project, user=owner, name="batched", data=spec)
    return services.run_create(schema=schema, user=owner, num_rows=rows, mode="batch", **kwargs)


def assert_batch_prices(run: Run, credential: ProviderCredential) -> None:
    calls = list(LlmCall.objects.filter(run=run))
    assert calls
    for call in calls:
        online = call_cost(
            call.model,
            call.input_tokens,
            call.output_tokens,
            provider=credential.provider,
            base_url=credential.base_url,
        )
        assert online > 0
        assert call.cost_usd == pytest.approx(online * BATCH_PRICE_FACTOR, abs=Decimal("1e-6"))
        assert call.request["batch"]  # the provider batch that answered it
    run.refresh_from_db()
    assert run.spent_usd == sum(c.cost_usd for c in calls)


def wait_for(condition, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_an_openai_compatible_batch_run_finishes_through_two_batches_at_half_price(
    worker, project, owner, openai_credential, llm_server
):
    run = batch_run(project, owner, two_step_spec(openai_credential.pk), 6)
    drain(worker)
    run.refresh_from_db()
    assert run.status == Run.Status.FINISHED
    rows = list(run.rows.all())
    assert [r.status for r in rows] == [Row.Status.GENERATED] * 6
    for row in rows:
        assert row.values["topic"] in row.values["question"]
        assert row.values["answer"].startswith("Simulated answer to: Answer this: Simulated")
        assert row.cost_usd > 0
    assert llm_server.generation_requests() == []  # not one online call
    assert len(llm_server.batch_creations("openai")) == 2
    jobs = list(BatchJob.objects.filter(run=run).order_by("pass_number"))
    assert [(j.pass_number, j.request_count, j.succeeded_count) for j in jobs] == [
        (1, 6, 6),
        (2, 6, 6),
    ]
    assert all(j.status == BatchJob.Status.DONE and j.external_id for j in jobs)
    # The uploaded JSONL: one chat-completions line per request, custom_id = the ledger key.
    upload = next(r for r in llm_server.requests if r.path == "/v1/files")
    assert b'"purpose"' in upload.raw and b'"url": "/v1/chat/completions"' in upload.raw
    assert set(LlmCall.objects.filter(run=run).values_list("key", flat=True)) == {
        key for job in jobs for key in job.requests.values_list("key", flat=True)
    }
    assert_batch_prices(run, openai_credential)


def test_an_anthropic_batch_run_finishes_through_two_message_batches_at_half_price(
    worker, project, owner, anthropic_credential, llm_server
):
    run = batch_run(project, owner, two_step_spec(anthropic_credential.pk, "claude-haiku-4-5"), 4)
    drain(worker)
    run.refresh_from_db()
    assert run.status == Run.Status.FINISHED
    assert run.rows.filter(status=Row.Status.GENERATED).count() == 4
    assert llm_server.generation_requests() == []
    creations = llm_server.batch_creations("anthropic")
    assert len(creations) == 2
    sent = creations[0].body["requests"]
    assert len(sent) == 4
    assert all(len(item["custom_id"]) == 64 for item in sent)  # the ledger key, as it is
    assert sent[0]["params"]["model"] == "claude-haiku-4-5"
    assert "temperature" not in sent[0]["params"]  # as online: this SDK generation takes none
    assert_batch_prices(run, anthropic_credential)


def test_a_structured_answer_that_is_invalid_is_re_asked_in_the_next_batch(
    worker, project, owner, anthropic_credential, llm_server
):
    spec = {
        "columns": [
            {"name": "topic", "kind": "category", "values": ["space"]},
            {
                "name": "solution",
                "kind": "llm_structured",
                "credential_id": anthropic_credential.pk,
                "model": "claude-haiku-4-5",
                "prompt": "Solve a puzzle about {{ topic }}",
                "json_schema": COT_SCHEMA,
                "max_reasks": 2,
            },
            {"name": "final", "kind": "expression", "template": "{{ solution.answer }}"},
        ]
    }
    llm_server.invalid_json_next(1)
    run = batch_run(project, owner, spec, 1)
    drain(worker)
    row = run.rows.get()
    assert row.status == Row.Status.GENERATED
    assert set(row.values["solution"]) == {"reasoning", "answer"}
    assert row.calls["solution"]["attempts"] == 2
    creations = llm_server.batch_creations()
    assert len(creations) == 2
    reask = creations[1].body["requests"][0]["params"]
    assert reask["tool_choice"] == {"type": "tool", "name": "solution"}
    assert "did not match the required JSON schema" in reask["messages"][-1]["content"]
    assert sorted(LlmCall.objects.values_list("reask", flat=True)) == [0, 1]
    assert llm_server.generation_requests() == []


def test_requests_that_fail_in_a_batch_fail_their_rows_with_the_providers_message(
    worker, project, owner, openai_credential, llm_server
):
    llm_server.fail_batch_requests("oceans", status=400, message="This prompt was refused.")
    run = batch_run(project, owner, two_step_spec(openai_credential.pk), 9, seed=3)
    drain(worker)
    run.refresh_from_db()
    assert run.status == Run.Status.FAILED
    failed = list(run.rows.filter(status=Row.Status.FAILED))
    assert failed and all(r.values["topic"] == "oceans" for r in failed)
    for row in failed:
        assert row.errors["question"] == "HTTP 400: This prompt was refused."
        assert "answer" in row.errors  # skipped: it depends on the failed column
    generated = run.rows.filter(status=Row.Status.GENERATED).count()
    assert generated + len(failed) == 9
    # Only the rows that worked went on to the second batch.
    second = BatchJob.objects.get(run=run, pass_number=2)
    assert second.request_count == generated

    # The provider accepts them now: retrying asks again (the old errors are not reused).
    llm_server.reset()
    llm_server.valid_keys = {"sk-test-good-key"}
    assert services.run_retry_failed(run=run) == len(failed)
    drain(worker)
    run.refresh_from_db()
    assert run.status == Run.Status.FINISHED
    assert run.rows.filter(status=Row.Status.GENERATED).count() == 9
    assert llm_server.generation_requests() == []


def test_a_worker_lost_after_submitting_resumes_polling_without_submitting_again(
    project, owner, openai_credential, llm_server, transactional_db
):
    llm_server.batch_polls_in_progress = 2
    broker = dramatiq.get_broker()
    broker.flush_all()
    run = batch_run(project, owner, two_step_spec(openai_credential.pk), 3)
    broker.flush_all()  # nobody ran the first pass yet
    batch_pass(run.pk)  # the pass runs here: it submits the first batch and sends a poll...
    broker.flush_all()  # ...which the dying worker takes with it
    job = BatchJob.objects.get(run=run)
    assert job.status == BatchJob.Status.IN_PROGRESS and job.external_id
    assert len(llm_server.batch_creations()) == 1

    worker = dramatiq.Worker(broker, worker_threads=2, worker_timeout=100)
    worker.start()
    try:
        assert services.run_resume_unfinished() == 1
        drain(worker)
    finally:
        worker.stop()
        broker.flush_all()
    run.refresh_from_db()
    assert run.status == Run.Status.FINISHED
    assert run.rows.filter(status=Row.Status.GENERATED).count() == 3
    creations = llm_server.batch_creations()
    assert len(creations) == 2  # the first batch was polled again, not sent again
    assert BatchJob.objects.filter(run=run).count() == 2


def test_a_batch_created_by_a_worker_that_died_before_recording_it_is_found_not_resent(
    project, owner, openai_credential, llm_server, transactional_db, monkeypatch
):
    from generation.batch import flow

    broker = dramatiq.get_broker()
    broker.flush_all()
    run = batch_run(project, owner, two_step_spec(openai_credential.pk), 2)
    broker.flush_all()
    monkeypatch.setattr(flow, "job_submit", lambda job_id: False)  # the pass only makes the job
    batch_pass(run.pk)
    monkeypatch.undo()
    broker.flush_all()
    job = BatchJob.objects.get(run=run)
    # The worker claims the job, creates the batch at the provider, and dies before saving its id.
    assert _claim_for_sending(job.pk)
    client = _client(openai_credential)
    items = [BatchItem(r.key, request_from_record(r.request)) for r in job.requests.all()]
    created = client.submit(items, metadata={"studio_job": str(job.pk)})
    client.close()
    BatchJob.objects.filter(pk=job.pk).update(claimed_at=job.created_at.replace(year=2000))

    worker = dramatiq.Worker(broker, worker_threads=2, worker_timeout=100)
    worker.start()
    try:
        services.run_resume_unfinished()
        drain(worker)
    finally:
        worker.stop()
        broker.flush_all()
    job.refresh_from_db()
    assert job.external_id == created.batch_id  # found by its metadata
    assert len(llm_server.batch_creations()) == 2  # that one, and the second column's
    run.refresh_from_db()
    assert run.status == Run.Status.FINISHED


def test_cancelling_a_batch_run_cancels_its_provider_batch(
    worker, project, owner, openai_credential, llm_server
):
    llm_server.batch_polls_in_progress = 10_000
    run = batch_run(project, owner, two_step_spec(openai_credential.pk), 3)
    wait_for(lambda: BatchJob.objects.filter(run=run, status="in_progress").exists())
    services.run_cancel(run=run)
    drain(worker)
    run.refresh_from_db()
    assert run.status == Run.Status.CANCELLED
    job = BatchJob.objects.get(run=run)
    assert job.status == BatchJob.Status.CANCELLED and job.cancel_requested
    [cancel] = llm_server.batch_cancels()
    assert cancel.path == f"/v1/batches/{job.external_id}/cancel"
    assert llm_server.batches[job.external_id].status == "cancelled"
    assert set(job.requests.values_list("open", flat=True)) == {False}
    assert run.rows.filter(status=Row.Status.PENDING).count() == 3
    assert not LlmCall.objects.exists()


def test_a_paused_run_still_collects_its_open_batch_and_goes_on_when_resumed(
    worker, project, owner, openai_credential, llm_server
):
    llm_server.batch_polls_in_progress = 3
    run = batch_run(project, owner, two_step_spec(openai_credential.pk), 3)
    wait_for(lambda: BatchJob.objects.filter(run=run, status="in_progress").exists())
    services.run_pause(run=run)
    drain(worker)
    run.refresh_from_db()
    assert run.status == Run.Status.PAUSED
    job = BatchJob.objects.get(run=run)
    assert job.status == BatchJob.Status.COLLECTED  # what was paid for is in the ledger
    assert LlmCall.objects.filter(run=run).count() == 3
    assert run.rows.filter(status=Row.Status.PENDING).count() == 3

    services.run_resume(run=run)
    drain(worker)
    run.refresh_from_db()
    assert run.status == Run.Status.FINISHED
    assert len(llm_server.batch_creations()) == 2


def test_a_pass_larger_than_a_providers_batch_limit_is_split(
    worker, project, owner, openai_credential, llm_server, settings
):
    settings.STUDIO_BATCH_MAX_REQUESTS = 2
    run = batch_run(project, owner, two_step_spec(openai_credential.pk), 5)
    drain(worker)
    run.refresh_from_db()
    assert run.status == Run.Status.FINISHED
    sizes = list(
        BatchJob.objects.filter(run=run).order_by("pk").values_list("pass_number", "request_count")
    )
    assert sizes == [(1, 2), (1, 2), (1, 1), (2, 2), (2, 2), (2, 1)]


def test_a_budget_is_checked_before_each_batch_and_raising_it_goes_on(
    worker, project, owner, openai_credential, llm_server
):
    # A custom price of 100 USD per million tokens (halved in batches): the worst case of one
    # request (~15 prompt tokens and a full 20-token answer) is about 0.00175 USD, what the
    # fake's answers cost about 0.0007, so the budget runs out after a few calls.
    ProviderCredential.objects.filter(pk=openai_credential.pk).update(
        input_price_per_million=100, output_price_per_million=100
    )
    budget = Decimal("0.005")
    spec = two_step_spec(openai_credential.pk, max_tokens=20)
    run = batch_run(project, owner, spec, 6, budget_usd=budget)
    drain(worker)
    run.refresh_from_db()
    assert run.status == Run.Status.BUDGET_REACHED
    assert 0 < run.spent_usd <= budget
    assert run.rows.filter(status=Row.Status.FAILED).count() == 0
    assert run.rows.filter(status=Row.Status.PENDING).exists()
    assert BatchJob.objects.filter(run=run).first().request_count == 2  # what fitted
    for call in LlmCall.objects.filter(run=run):  # the custom price, halved
        expected = Decimal(100 * (call.input_tokens + call.output_tokens)) / 1_000_000 / 2
        assert call.cost_usd == expected.quantize(Decimal("0.000001"))

    services.run_set_budget(run=run, budget_usd=Decimal("1"))
    drain(worker)
    run.refresh_from_db()
    assert run.status == Run.Status.FINISHED
    assert run.rows.filter(status=Row.Status.GENERATED).count() == 6
    assert llm_server.generation_requests() == []


def test_batch_answers_serve_a_later_online_run_with_the_same_seed(
    worker, project, owner, openai_credential, llm_server
):
    run = batch_run(project, owner, two_step_spec(openai_credential.pk), 3, seed=11)
    drain(worker)
    online = services.run_create(schema=run.schema, user=owner, num_rows=3, seed=11)
    drain(worker)
    online.refresh_from_db()
    assert online.status == Run.Status.FINISHED
    assert llm_server.generation_requests() == []  # every call came from the ledger
    assert dict(online.rows.values_list("index", "values")) == dict(
        run.rows.values_list("index", "values")
    )


def test_the_simulator_answers_a_batch_run_online(worker, project, owner, llm_server):
    simulator = credential_create(
        project=project, name="sim", provider=ProviderCredential.Provider.SIMULATOR
    )
    run = batch_run(project, owner, two_step_spec(simulator.pk), 3)
    drain(worker)
    run.refresh_from_db()
    assert run.status == Run.Status.FINISHED
    assert not BatchJob.objects.filter(run=run).exists()
    assert run.rows.filter(status=Row.Status.GENERATED).count() == 3


def test_the_run_form_starts_a_batch_run(owner_client, qa_schema, owner):
    response = owner_client.post(f"/schemas/{qa_schema.pk}/runs/", {"num_rows": "2", "batch": "on"})
    assert response.status_code in (200, 302)
    run = Run.objects.get()
    assert run.mode == Run.Mode.BATCH
    owner_client.post(f"/schemas/{qa_schema.pk}/runs/", {"num_rows": "2"})
    assert Run.objects.order_by("-pk").first().mode == Run.Mode.ONLINE


def test_the_api_starts_a_batch_run_and_says_its_mode(qa_schema, owner):
    import json

    from django.test import Client

    from studio.services import api_token_create

    _, token = api_token_create(user=owner, name="tests")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    response = client.post(
        f"/api/schemas/{qa_schema.pk}/runs",
        data=json.dumps({"num_rows": 2, "mode": "batch"}),
        content_type="application/json",
    )
    assert response.status_code == 201
    assert response.json()["mode"] == "batch"
    assert Run.objects.get().mode == Run.Mode.BATCH
    bad = client.post(
        f"/api/schemas/{qa_schema.pk}/runs",
        data=json.dumps({"num_rows": 2, "mode": "overnight"}),
        content_type="application/json",
    )
    assert bad.status_code == 422
