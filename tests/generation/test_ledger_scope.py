"""The call ledger is the project's (issue 15): two users, each in their own project with their
own key on the same provider, run the same schema with the same seed. Each pays for their own
calls on their own key; a re-run inside a project is still answered from its ledger. Services
mode: Dramatiq on Redis, PostgreSQL, the real SDKs against the local fake provider."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.db import transaction

from generation import services
from generation.models import BatchJob, LlmCall, Row, Run
from generation.worker.ledger import ledger_lookup
from generation.worker.row_writes import ChunkWrites, chunk_writes_apply, record_calls
from studio.models import ProviderCredential
from studio.services import credential_create, project_create, schema_create
from tests.fixtures import PASSWORD, drain, qa_spec

pytestmark = pytest.mark.django_db(transaction=True)

KEY_A = "sk-alice-own-key-1111"
KEY_B = "sk-bob-own-key-2222"
SEED = 4242


@pytest.fixture(autouse=True)
def _fast_polls(settings):
    settings.STUDIO_BATCH_POLL_SECONDS = 0.2


def _tenant(name: str, api_key: str, llm_server, provider: str) -> tuple:
    """A user with their own project, credential (own key, same server) and the same schema."""
    user = get_user_model().objects.create_user(name, password=PASSWORD)
    project = project_create(user=user, name=f"{name}'s project")
    anthropic = provider == ProviderCredential.Provider.ANTHROPIC
    credential = credential_create(
        project=project,
        name="same server",
        provider=provider,
        base_url=llm_server.base_url if anthropic else llm_server.openai_base_url,
        api_key=api_key,
        requests_per_minute=6000,
    )
    spec = qa_spec(credential.pk)
    if anthropic:
        spec["columns"][1]["model"] = "claude-haiku-4-5"
    schema = schema_create(project=project, user=user, name="QA", data=spec)
    return user, schema


def _run(schema, user, rows: int, **kwargs) -> Run:
    return services.run_create(schema=schema, user=user, num_rows=rows, seed=SEED, **kwargs)


def _calls_with(llm_server, api_key: str) -> int:
    return sum(1 for r in llm_server.generation_requests() if r.api_key == api_key)


def _finished(run: Run) -> Run:
    run.refresh_from_db()
    assert run.status == Run.Status.FINISHED
    assert run.rows.filter(status=Row.Status.GENERATED).count() == run.num_rows
    return run


def test_another_projects_run_with_the_same_seed_pays_for_its_own_calls_on_its_own_key(
    worker, llm_server
):
    llm_server.valid_keys = {KEY_A, KEY_B}
    alice, alice_schema = _tenant("alice", KEY_A, llm_server, "openai_compatible")
    bob, bob_schema = _tenant("bob", KEY_B, llm_server, "openai_compatible")

    first = _run(alice_schema, alice, 3)
    drain(worker)
    assert _finished(first).spent_usd > 0
    assert _calls_with(llm_server, KEY_A) == 3

    # Same model, prompts and seed in Bob's project: Bob's provider answers, Bob pays.
    bobs = _run(bob_schema, bob, 3)
    drain(worker)
    bobs = _finished(bobs)
    assert _calls_with(llm_server, KEY_B) == 3
    assert _calls_with(llm_server, KEY_A) == 3  # Alice's key was not used for Bob
    assert bobs.spent_usd > 0
    assert all(row.cost_usd > 0 for row in bobs.rows.all())
    assert not any(row.calls["question"].get("from_ledger") for row in bobs.rows.all())
    assert LlmCall.objects.filter(run=bobs).count() == 3
    # Alice's ledger answered none of Bob's rows, and Bob's entries are his project's.
    assert set(LlmCall.objects.filter(run=bobs).values_list("project_id", flat=True)) == {
        bob_schema.project_id
    }

    # Inside Alice's project a re-run with the same seed is still answered by her ledger.
    again = _run(alice_schema, alice, 3)
    drain(worker)
    again = _finished(again)
    assert _calls_with(llm_server, KEY_A) == 3  # no new call
    assert again.spent_usd == 0
    assert [r.values for r in again.rows.all()] == [r.values for r in first.rows.all()]
    # And so is a re-run in Bob's.
    bobs_again = _run(bob_schema, bob, 3)
    drain(worker)
    assert _finished(bobs_again).spent_usd == 0
    assert _calls_with(llm_server, KEY_B) == 3


def test_fresh_samples_inside_a_project_still_pay_again(worker, llm_server):
    llm_server.valid_keys = {KEY_A}
    alice, schema = _tenant("alice", KEY_A, llm_server, "openai_compatible")
    _run(schema, alice, 2)
    drain(worker)
    fresh = _run(schema, alice, 2, fresh_samples=True)
    drain(worker)
    assert _finished(fresh).spent_usd > 0
    assert _calls_with(llm_server, KEY_A) == 4


@pytest.mark.parametrize("provider", ["openai_compatible", "anthropic"])
def test_another_projects_batch_run_with_the_same_seed_sends_its_own_batch(
    worker, llm_server, provider
):
    llm_server.valid_keys = {KEY_A, KEY_B}
    alice, alice_schema = _tenant("alice", KEY_A, llm_server, provider)
    bob, bob_schema = _tenant("bob", KEY_B, llm_server, provider)
    batch_provider = "anthropic" if provider == "anthropic" else "openai"

    first = _run(alice_schema, alice, 3, mode=Run.Mode.BATCH)
    drain(worker)
    assert _finished(first).spent_usd > 0
    creations = llm_server.batch_creations(batch_provider)
    assert [c.api_key for c in creations] == [KEY_A]

    bobs = _run(bob_schema, bob, 3, mode=Run.Mode.BATCH)
    drain(worker)
    bobs = _finished(bobs)
    creations = llm_server.batch_creations(batch_provider)
    assert [c.api_key for c in creations] == [KEY_A, KEY_B]
    (job,) = BatchJob.objects.filter(run=bobs)
    assert job.request_count == job.succeeded_count == 3
    assert bobs.spent_usd > 0
    assert LlmCall.objects.filter(run=bobs).count() == 3
    assert llm_server.generation_requests() == []  # not one online call either

    # Alice's re-run in batch mode is answered from her ledger: no new batch.
    again = _run(alice_schema, alice, 3, mode=Run.Mode.BATCH)
    drain(worker)
    assert _finished(again).spent_usd == Decimal(0)
    assert len(llm_server.batch_creations(batch_provider)) == 2


def test_the_grouped_lookup_reads_only_the_runs_projects_ledger_in_one_query(
    django_assert_num_queries, llm_server
):
    """Even an entry under the very same key (which scoped keys make impossible) in another
    project is not an answer: the chunk's one ``key IN (…)`` query filters by project."""
    alice, alice_schema = _tenant("alice", KEY_A, llm_server, "openai_compatible")
    bob, bob_schema = _tenant("bob", KEY_B, llm_server, "openai_compatible")
    alices = _run(alice_schema, alice, 1)
    bobs = _run(bob_schema, bob, 1)
    record = {
        "project_id": alices.project_id,
        "key": "k" * 64,
        "run_id": alices.pk,
        "provider": "openai_compatible",
        "model": "gpt-4o-mini",
        "request": {},
        "response_text": "Alice's paid answer",
        "cost_usd": Decimal("0.01"),
    }
    with transaction.atomic():
        record_calls(alices.pk, [record])
    lookups = ChunkWrites(lookups=["k" * 64, "x" * 64])
    with django_assert_num_queries(1):
        done = chunk_writes_apply(run_id=bobs.pk, project_id=bobs.project_id, writes=lookups)
    assert done.hits == {}
    done = chunk_writes_apply(run_id=alices.pk, project_id=alices.project_id, writes=lookups)
    assert done.hits["k" * 64].response_text == "Alice's paid answer"
    assert ledger_lookup(bobs.project_id, "k" * 64) is None
    assert ledger_lookup(alices.project_id, "k" * 64) is not None
