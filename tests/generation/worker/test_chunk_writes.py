"""A chunk's grouped writes: one flush stores every finished call and row it can, and skips
(as a single ledger write does) a call that cannot be stored, without failing the others."""

from decimal import Decimal

import pytest

from generation import services
from generation.engine import RowOutcome
from generation.models import LlmCall, Row
from generation.worker.row_writes import ChunkWrites, chunk_writes_apply

pytestmark = pytest.mark.django_db


def _call(run, row, key, credential_id):
    return {
        "project_id": run.project_id,
        "key": key,
        "run_id": run.pk,
        "credential_id": credential_id,
        "provider": "openai_compatible",
        "model": "gpt-4o-mini",
        "column": "question",
        "row_index": row.index,
        "reask": 0,
        "request": {"messages": []},
        "response_text": f"answer {row.index}",
        "input_tokens": 10,
        "output_tokens": 5,
        "cost_usd": Decimal("0.0001"),
        "latency_ms": 50,
    }


def test_a_call_whose_credential_is_gone_is_skipped_and_the_rest_is_stored(
    qa_schema, owner, openai_credential
):
    run = services.run_create(schema=qa_schema, user=owner, num_rows=2)
    first, second = run.rows.order_by("index")
    writes = ChunkWrites(
        records=[
            _call(run, first, "a" * 64, openai_credential.pk),
            _call(run, second, "b" * 64, openai_credential.pk + 1000),  # deleted meanwhile
        ],
        outcomes=[(row.pk, RowOutcome(values={"question": "q"})) for row in (first, second)],
        read_state=True,
    )
    done = chunk_writes_apply(run_id=run.pk, project_id=run.project_id, writes=writes)

    assert sorted(done.stored) == sorted([first.pk, second.pk])
    assert run.rows.filter(status=Row.Status.GENERATED).count() == 2
    assert list(LlmCall.objects.values_list("key", flat=True)) == ["a" * 64]
    assert done.state.spent_usd == Decimal("0.0001")  # only what was recorded


def test_rows_already_written_by_another_worker_are_left_alone(qa_schema, owner):
    run = services.run_create(schema=qa_schema, user=owner, num_rows=1)
    (row,) = run.rows.all()
    outcome = RowOutcome(values={"question": "first"})
    assert chunk_writes_apply(
        run_id=run.pk, project_id=run.project_id, writes=ChunkWrites(outcomes=[(row.pk, outcome)])
    ).stored
    again = RowOutcome(values={"question": "second"})
    done = chunk_writes_apply(
        run_id=run.pk, project_id=run.project_id, writes=ChunkWrites(outcomes=[(row.pk, again)])
    )
    assert done.stored == []
    row.refresh_from_db()
    assert row.values == {"question": "first"}


@pytest.mark.django_db(databases=["default", "embedded"])
@pytest.mark.parametrize("using", ["default", "embedded"])
def test_the_ledger_stores_each_key_once_and_charges_only_new_entries(using):
    """PostgreSQL (services) and SQLite (embedded) alike: an entry another worker recorded
    first is neither stored again nor added to the run's spend; every field round-trips."""
    from django.contrib.auth import get_user_model
    from django.db import transaction

    from generation.models import Run
    from generation.worker.row_writes import record_calls
    from studio.models import Project

    user = get_user_model().objects.db_manager(using).create_user("ledger", password="x")
    project = Project.objects.using(using).create(name="Ledger", owner=user)
    run = Run.objects.using(using).create(
        project=project, schema_name="s", spec_snapshot={}, num_rows=3, seed=1
    )
    rows = [Row(run=run, index=i) for i in range(3)]

    def call(row, key, cost):
        return _call(run, row, key, None) | {"cost_usd": Decimal(cost)}

    with transaction.atomic(using=using):
        record_calls(run.pk, [call(rows[0], "a" * 64, "0.25")], using=using)
    with transaction.atomic(using=using):
        record_calls(
            run.pk,
            [
                call(rows[0], "a" * 64, "0.25"),  # recorded by another worker first
                call(rows[1], "b" * 64, "0.125"),
                call(rows[1], "b" * 64, "0.125"),  # twice in one flush
                call(rows[2], "c" * 64, "0.0000004"),  # below the ledger's precision
            ],
            using=using,
        )

    stored = {c.key[0]: c for c in LlmCall.objects.using(using).filter(run_id=run.pk)}
    assert sorted(stored) == ["a", "b", "c"]
    assert LlmCall.objects.using(using).count() == 3
    b = stored["b"]
    assert (b.row_index, b.reask, b.request, b.response_text) == (
        1,
        0,
        {"messages": []},
        "answer 1",
    )
    assert (b.input_tokens, b.output_tokens, b.latency_ms) == (10, 5, 50)
    assert b.cost_usd == Decimal("0.125") and b.created_at is not None
    assert stored["c"].cost_usd == Decimal(0)
    # The run's spend is the sum of its ledger entries: 0.25 once, 0.125 once.
    run.refresh_from_db(using=using)
    assert run.spent_usd == Decimal("0.375")
    assert sum(c.cost_usd for c in stored.values()) == run.spent_usd
