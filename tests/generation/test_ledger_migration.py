"""Migration generation 0006/0007: the entries of the global ledger move to their project (the
run's, else the credential's) under the key the code now computes there, so a resumed run still
finds them; an entry that cannot be attributed is dropped, not shared."""

from __future__ import annotations

import dramatiq
import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from generation import services
from generation.batch import flow
from generation.batch.actors import batch_pass
from generation.batch.calls import request_from_record
from generation.batch.jobs import _claim_for_sending, _client
from generation.models import BatchJob, BatchRequest, LlmCall, Row, Run
from generation.providers import CompletionRequest
from generation.providers.base import project_ledger_key
from generation.providers.batch import BatchItem
from studio.services import schema_create
from tests.fixtures import drain, qa_spec

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("generation", "0005_budget_holds")]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    executor.loader.build_graph()
    return executor.loader.project_state(targets).apps


def _latest():
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


def test_existing_entries_move_to_their_projects_key_and_unattributable_ones_are_dropped():
    question = CompletionRequest(model="gpt-4o-mini", prompt="Write a question about space")

    def unscoped(sample):
        return question.request_key(provider="openai", base_url=None, sample=sample)

    old = _migrate(BEFORE)
    try:
        user = old.get_model("auth", "User").objects.create(username="alice")
        project_model = old.get_model("studio", "Project")
        alice, bob = (project_model.objects.create(name=n, owner=user) for n in ("A", "B"))
        credential = old.get_model("studio", "ProviderCredential").objects.create(
            project=bob, name="c", provider="openai"
        )
        run = old.get_model("generation", "Run").objects.create(
            project=alice, schema_name="s", spec_snapshot={}, num_rows=1, seed=1
        )
        call = old.get_model("generation", "LlmCall")
        fields = {"provider": "openai", "model": "gpt-4o-mini", "request": {}, "response_text": "a"}
        call.objects.create(key=unscoped("run-seed:1:0"), run=run, **fields)
        call.objects.create(key=unscoped("preview:9:0"), credential=credential, **fields)
        call.objects.create(key=unscoped("run-seed:1:1"), **fields)  # run and credential gone
        job = old.get_model("generation", "BatchJob").objects.create(run=run, provider="openai")
        old.get_model("generation", "BatchRequest").objects.create(
            job=job, key=unscoped("run-seed:1:2"), request={}
        )
    finally:
        _migrate(_latest())

    entries = {(c.project_id, c.key) for c in LlmCall.objects.all()}
    assert entries == {
        (
            alice.pk,
            question.ledger_key(
                project_id=alice.pk, provider="openai", base_url=None, sample="run-seed:1:0"
            ),
        ),
        (
            bob.pk,
            question.ledger_key(
                project_id=bob.pk, provider="openai", base_url=None, sample="preview:9:0"
            ),
        ),
    }
    request = BatchRequest.objects.get()
    assert request.key == question.ledger_key(
        project_id=alice.pk, provider="openai", base_url=None, sample="run-seed:1:2"
    )
    assert request.provider_id == unscoped("run-seed:1:2")  # what a batch sent before knows


def test_a_batch_sent_before_keys_were_scoped_is_collected_into_its_projects_ledger(
    project, owner, openai_credential, llm_server, monkeypatch, settings
):
    """Its provider answers under the old (unscoped) custom_ids; migration 0006 re-keyed its
    requests: the answers still reach the run, once, and nothing is sent again."""
    settings.STUDIO_BATCH_POLL_SECONDS = 0.2
    broker = dramatiq.get_broker()
    broker.flush_all()
    schema = schema_create(
        project=project, user=owner, name="QA", data=qa_spec(openai_credential.pk)
    )
    run = services.run_create(schema=schema, user=owner, num_rows=2, seed=5, mode="batch")
    broker.flush_all()
    monkeypatch.setattr(flow, "job_submit", lambda job_id: False)  # the pass only makes the job
    batch_pass(run.pk)
    monkeypatch.undo()
    broker.flush_all()
    job = BatchJob.objects.get(run=run)
    items = []
    for request in job.requests.all():
        old_key = request_from_record(request.request).request_key(
            provider=openai_credential.provider,
            base_url=openai_credential.base_url,
            sample=f"run-seed:5:{request.row_index}",
        )
        assert request.key == project_ledger_key(project.pk, old_key)
        BatchRequest.objects.filter(pk=request.pk).update(custom_id=old_key)  # as 0006 does
        items.append(BatchItem(old_key, request_from_record(request.request)))
    assert _claim_for_sending(job.pk)
    client = _client(openai_credential)
    created = client.submit(items, metadata={"studio_job": str(job.pk)})
    client.close()
    BatchJob.objects.filter(pk=job.pk).update(
        status=BatchJob.Status.IN_PROGRESS, external_id=created.batch_id
    )

    worker = dramatiq.Worker(broker, worker_threads=2, worker_timeout=100)
    worker.start()
    try:
        services.run_resume_unfinished()
        drain(worker)
    finally:
        worker.stop()
        broker.flush_all()
    run.refresh_from_db()
    assert run.status == Run.Status.FINISHED
    assert run.rows.filter(status=Row.Status.GENERATED).count() == 2
    assert len(llm_server.batch_creations()) == 1  # collected, not sent again
    assert set(LlmCall.objects.filter(run=run).values_list("project_id", "key")) == {
        (project.pk, key) for key in job.requests.values_list("key", flat=True)
    }
