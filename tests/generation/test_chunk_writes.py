"""A chunk's grouped writes: one flush stores every finished call and row it can, and skips
(as a single ledger write does) a call that cannot be stored, without failing the others."""

from decimal import Decimal

import pytest

from generation import services
from generation.engine import RowOutcome
from generation.models import LlmCall, Row
from generation.row_writes import ChunkWrites, chunk_writes_apply

pytestmark = pytest.mark.django_db


def _call(run, row, key, credential_id):
    return {
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
    done = chunk_writes_apply(run_id=run.pk, writes=writes)

    assert sorted(done.stored) == sorted([first.pk, second.pk])
    assert run.rows.filter(status=Row.Status.GENERATED).count() == 2
    assert list(LlmCall.objects.values_list("key", flat=True)) == ["a" * 64]
    assert done.state.spent_usd == Decimal("0.0001")  # only what was recorded


def test_rows_already_written_by_another_worker_are_left_alone(qa_schema, owner):
    run = services.run_create(schema=qa_schema, user=owner, num_rows=1)
    (row,) = run.rows.all()
    outcome = RowOutcome(values={"question": "first"})
    assert chunk_writes_apply(
        run_id=run.pk, writes=ChunkWrites(outcomes=[(row.pk, outcome)])
    ).stored
    again = RowOutcome(values={"question": "second"})
    done = chunk_writes_apply(run_id=run.pk, writes=ChunkWrites(outcomes=[(row.pk, again)]))
    assert done.stored == []
    row.refresh_from_db()
    assert row.values == {"question": "first"}
