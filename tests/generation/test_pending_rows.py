"""A new run's rows are made by the database in one statement (generation/pending_rows.py),
on PostgreSQL (services mode) and SQLite (embedded mode) alike: every row pending, unreviewed
and empty, as the model's defaults say, with the indexes 0 … n - 1 and nothing else."""

from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model

from generation import services
from generation.models import Row, Run
from generation.pending_rows import pending_rows_insert
from studio.models import Project

FIELDS = [
    f.attname for f in Row._meta.concrete_fields if f.attname not in ("id", "index", "run_id")
]


def _defaults() -> dict:
    template = Row()
    return {name: getattr(template, name) for name in FIELDS}


def _check(rows: list[Row], count: int) -> None:
    assert [row.index for row in rows] == list(range(count))
    expected = _defaults()
    assert expected["status"] == Row.Status.PENDING and expected["values"] == {}
    for row in rows:
        got = {name: getattr(row, name) for name in FIELDS}
        assert got == expected, row.index
    assert rows[0].cost_usd == Decimal(0) and rows[0].edited_values is None


@pytest.mark.django_db
def test_run_create_makes_every_row_pending_with_the_model_defaults(qa_schema, owner):
    run = services.run_create(schema=qa_schema, user=owner, num_rows=1234)
    rows = list(Row.objects.filter(run=run).order_by("index"))
    _check(rows, 1234)
    # The rows are ordinary rows: the run's pages and the engine read them as before.
    assert run.rows.filter(status=Row.Status.PENDING).count() == 1234


@pytest.mark.django_db(databases=["default", "embedded"])
def test_the_embedded_database_gets_the_same_rows():
    user = get_user_model().objects.db_manager("embedded").create_user("emb", password="x")
    project = Project.objects.using("embedded").create(name="Embedded", owner=user)
    run = Run.objects.using("embedded").create(
        project=project, schema_name="s", spec_snapshot={}, num_rows=700, seed=1
    )
    pending_rows_insert(run_id=run.pk, count=700, using="embedded")
    _check(list(Row.objects.using("embedded").filter(run_id=run.pk).order_by("index")), 700)
    assert not Row.objects.filter(run_id=run.pk).exists()  # nothing went to the other database


@pytest.mark.django_db
def test_a_second_insert_for_the_same_run_is_refused_whole(qa_schema, owner):
    from django.db import IntegrityError, transaction

    run = services.run_create(schema=qa_schema, user=owner, num_rows=5)
    with pytest.raises(IntegrityError), transaction.atomic():
        pending_rows_insert(run_id=run.pk, count=10)  # indexes 0-4 exist already
    assert run.rows.count() == 5
