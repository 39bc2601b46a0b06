"""Create a run's pending rows in one statement.

A new run has ``num_rows`` rows that differ only in their index. ``bulk_create`` builds a model
instance per row and sends every value of every row, within the web request that starts the run
and before its first chunk can be sent. Here the database makes them itself from one row's
values and a series of indexes (``generate_series`` on PostgreSQL, a recursive CTE elsewhere).

The values come from the model (each field's default, prepared by the field for this database),
so a field added to ``Row`` later is filled like ``bulk_create`` would fill it.
"""

from __future__ import annotations

from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections

from generation.models import Row


def pending_rows_insert(*, run_id: int, count: int, using: str = DEFAULT_DB_ALIAS) -> None:
    """Insert rows ``0 … count - 1`` of the run, every other field at its default."""
    if count <= 0:
        return
    connection = connections[using]
    template = Row(run_id=run_id, index=0)
    quote = connection.ops.quote_name
    postgres = connection.vendor == "postgresql"
    columns: list[str] = []
    values: list[str] = []
    params: list[Any] = []
    for field in Row._meta.concrete_fields:
        if field.primary_key:
            continue
        columns.append(quote(field.column))
        if field.attname == "index":
            values.append("seq.i")
            continue
        params.append(field.get_db_prep_save(field.pre_save(template, add=True), connection))
        # PostgreSQL types a SELECT's parameters before the INSERT sees them: say which type.
        values.append(f"CAST(%s AS {field.db_type(connection)})" if postgres else "%s")
    insert = f"INSERT INTO {quote(Row._meta.db_table)} ({', '.join(columns)}) "
    select = f"SELECT {', '.join(values)} FROM "
    with connection.cursor() as cursor:
        if postgres:
            cursor.execute(
                insert + select + "generate_series(0, %s) AS seq(i)", [*params, count - 1]
            )
        else:
            cursor.execute(
                "WITH RECURSIVE seq(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM seq WHERE i + 1 < %s) "
                + insert
                + select
                + "seq",
                [count, *params],
            )
