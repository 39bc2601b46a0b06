"""Load the seed data a batch of rows needs from the database (the Django side of ``data``)."""

from __future__ import annotations

from generation.seeds.data import SeedData, needed_table_rows
from studio.models import SeedFile, SeedRow
from studio.schema import SchemaSpec
from studio.schema.seed_kinds import DocumentColumn, SeedDataColumn


def load_seed_data(
    *, project_id: int, spec: SchemaSpec, seed: int | str, row_indices: list[int]
) -> SeedData:
    tables = [c for c in spec.columns if isinstance(c, SeedDataColumn)]
    documents = [c for c in spec.columns if isinstance(c, DocumentColumn)]
    data = SeedData()
    if not tables and not documents:
        return data
    ids = {c.seed_file_id for c in tables} | {c.seed_file_id for c in documents}
    files = {f.pk: f for f in SeedFile.objects.filter(project_id=project_id, pk__in=ids)}
    data.table_sizes = {pk: f.row_count for pk, f in files.items() if f.kind == SeedFile.Kind.TABLE}
    data.documents = {pk: f.text for pk, f in files.items() if f.kind == SeedFile.Kind.DOCUMENT}
    for file_id, indices in needed_table_rows(tables, seed, row_indices, data.table_sizes).items():
        for index, row in SeedRow.objects.filter(
            seed_file_id=file_id, index__in=indices
        ).values_list("index", "data"):
            data.table_rows[(file_id, index)] = row
    return data
