"""Seed table and document: rows or chunks of a file uploaded to the project. They share how
rows are picked (``sampling``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django import forms

from studio.models import SeedFile
from studio.schema import DocumentColumn, SeedDataColumn

from .base import ColumnKind, KindField

SAMPLING_CHOICES = [
    ("shuffle", "Shuffled, each row once per pass"),
    ("random", "Random, with replacement"),
    ("ordered", "In file order"),
]


def _bind_tables(field: forms.Field, project: Any) -> None:
    seeds = project.seed_files.defer("text").order_by("name")
    field.queryset = seeds.filter(kind=SeedFile.Kind.TABLE)  # type: ignore[attr-defined]
    # The table's fields are the variables the column provides: say which they are.
    field.label_from_instance = lambda seed: (  # type: ignore[attr-defined]
        f"{seed.name} — {', '.join(seed.columns)}" if seed.columns else seed.name
    )


def _bind_documents(field: forms.Field, project: Any) -> None:
    seeds = project.seed_files.defer("text").order_by("name")
    field.queryset = seeds.filter(kind=SeedFile.Kind.DOCUMENT)  # type: ignore[attr-defined]


SEED_FILE = KindField(
    "seed_file",
    forms.ModelChoiceField(queryset=SeedFile.objects.none(), required=False, label="Table"),
    bind=_bind_tables,
)
DOCUMENT_FILE = KindField(
    "document_file",
    forms.ModelChoiceField(queryset=SeedFile.objects.none(), required=False, label="Document"),
    bind=_bind_documents,
)
SAMPLING = KindField(
    "sampling", forms.ChoiceField(choices=SAMPLING_CHOICES, required=False), new_value="shuffle"
)
CHUNK_SIZE = KindField(
    "chunk_size",
    forms.IntegerField(required=False, initial=1500, min_value=100, max_value=20000),
    new_value="1500",
)
CHUNK_OVERLAP = KindField(
    "chunk_overlap", forms.IntegerField(required=False, initial=150, min_value=0), new_value="150"
)


def table_spec(data: Mapping[str, Any]) -> dict[str, Any]:
    seed = data.get("seed_file")
    return {
        "seed_file_id": seed.pk if seed else 0,
        "fields": list(seed.columns) if seed else [],
        "sampling": data.get("sampling") or "shuffle",
    }


def document_spec(data: Mapping[str, Any]) -> dict[str, Any]:
    document = data.get("document_file")
    overlap = data.get("chunk_overlap")
    return {
        "seed_file_id": document.pk if document else 0,
        "chunk_size": data.get("chunk_size") or 1500,
        "chunk_overlap": overlap if overlap is not None else 150,
        "sampling": data.get("sampling") or "shuffle",
    }


SEED_DATA = ColumnKind(
    name="seed_data",
    label="Rows of an uploaded table",
    group="Seed data",
    spec_model=SeedDataColumn,
    fields=(SEED_FILE, SAMPLING),
    to_spec=table_spec,
    to_initial=lambda column: {"seed_file": column.get("seed_file_id")},
)
DOCUMENT = ColumnKind(
    name="document",
    label="Chunks of an uploaded document",
    group="Seed data",
    spec_model=DocumentColumn,
    fields=(DOCUMENT_FILE, SAMPLING, CHUNK_SIZE, CHUNK_OVERLAP),
    to_spec=document_spec,
    to_initial=lambda column: {"document_file": column.get("seed_file_id")},
)
