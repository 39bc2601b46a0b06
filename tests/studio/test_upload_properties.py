"""Property-based: no bytes or structure as an upload, and no text as a schema import, gives
anything but the module's own clear error (SeedFileError, SchemaError), and whatever is
accepted can be stored."""

from __future__ import annotations

import io
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from studio.models import SeedFile
from studio.schema import SchemaError
from studio.schema.serialization import document_from_text
from studio.seeds import SeedFileError, extract_text, read_table
from studio.services import seed_file_upload
from tests.studio.seeds.test_seeds_documents import make_pdf

FAST = settings(max_examples=150, deadline=None, derandomize=True)
SLOW = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

TABLE_NAMES = ["t.csv", "t.tsv", "t.jsonl", "t.json", "t.parquet"]
SMALL_LIMITS = {"max_columns": 20, "max_rows": 500, "max_cells": 2000, "max_bytes": 50_000}

# JSON-like values, including what breaks naive code: NUL, lone surrogates, huge and
# negative numbers, deep nesting.
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=10**4000, max_value=10**4400)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(alphabet=st.characters(codec=None), max_size=30)
    | st.sampled_from(["\x00", "\ud800", "a\udfffb", "é", "💥"])
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=30,
)
nested = st.integers(min_value=1, max_value=3000).map(lambda n: "[" * n + "]" * n)


def dumps(value: object) -> str:
    """JSON text of ``value``, long integers included (json.dumps refuses them)."""
    import sys

    limit = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(0)
    try:
        return json.dumps(value)
    finally:
        sys.set_int_max_str_digits(limit)


def parquet_bytes() -> bytes:
    buffer = io.BytesIO()
    table = pa.table({"q": ["a", "b", "c"] * 50, "n": list(range(150)), "x": [[1.5]] * 150})
    pq.write_table(table, buffer, compression="zstd")
    return buffer.getvalue()


PARQUET = parquet_bytes()
PDF = make_pdf("First page.", "Second page.")


def mutated(original: bytes) -> st.SearchStrategy[bytes]:
    """``original`` with a few bytes overwritten, or cut short."""
    edits = st.lists(st.tuples(st.integers(0, len(original) - 1), st.integers(0, 255)), max_size=6)

    def apply(pair: tuple[list[tuple[int, int]], int]) -> bytes:
        changes, cut = pair
        data = bytearray(original)
        for position, value in changes:
            data[position] = value
        return bytes(data[:cut])

    return st.tuples(edits, st.integers(1, len(original))).map(apply)


def read_or_refuse(data: bytes, name: str) -> None:
    try:
        table = read_table(data, name, **SMALL_LIMITS)
    except SeedFileError:
        return
    for row in table.rows:
        json.dumps(row, ensure_ascii=False).encode("utf-8")  # storable as UTF-8 JSON


@FAST
@given(data=st.binary(max_size=400), name=st.sampled_from(TABLE_NAMES))
def test_arbitrary_bytes_as_a_table(data: bytes, name: str) -> None:
    read_or_refuse(data, name)


@FAST
@given(rows=st.lists(json_values, max_size=6), name=st.sampled_from(["t.json", "t.jsonl"]))
def test_arbitrary_json_structures_as_a_table(rows: list[object], name: str) -> None:
    text = dumps(rows) if name == "t.json" else "\n".join(dumps(r) for r in rows)
    read_or_refuse(text.encode("utf-8", "surrogatepass"), name)


@FAST
@given(depth=nested, name=st.sampled_from(["t.json", "t.jsonl", "t.csv"]))
def test_deep_nesting_as_a_table(depth: str, name: str) -> None:
    text = {"t.json": f'[{{"a": {depth}}}]', "t.jsonl": f'{{"a": {depth}}}', "t.csv": f"a\n{depth}"}
    read_or_refuse(text[name].encode(), name)


@FAST
@given(cells=st.lists(st.lists(st.text(max_size=12), min_size=1, max_size=4), max_size=8))
def test_arbitrary_csv_cells(cells: list[list[str]]) -> None:
    text = "\n".join(",".join(row) for row in cells)
    read_or_refuse(text.encode("utf-8", "surrogatepass"), "t.csv")


@FAST
@given(data=mutated(PARQUET))
def test_damaged_parquet(data: bytes) -> None:
    read_or_refuse(data, "t.parquet")


@settings(max_examples=60, deadline=None, derandomize=True)
@given(
    data=mutated(PDF) | st.binary(max_size=300), name=st.sampled_from(["a.pdf", "a.txt", "a.md"])
)
def test_arbitrary_documents(data: bytes, name: str) -> None:
    try:
        text = extract_text(data, name, max_chars=100_000, max_pages=50)
    except SeedFileError:
        return
    assert "\x00" not in text
    text.encode("utf-8")


def import_or_refuse(text: str) -> None:
    try:
        document_from_text(text)
    except SchemaError:
        pass


@FAST
@given(text=st.text(alphabet=st.characters(codec=None), max_size=300))
def test_arbitrary_text_as_a_schema(text: str) -> None:
    import_or_refuse(text)


columns = st.lists(
    st.dictionaries(
        st.sampled_from(["name", "kind", "low", "high", "values", "prompt", "schema", "x"]),
        json_values | st.sampled_from(["uuid", "integer", "category", "llm_text", "a", "n"]),
        max_size=5,
    ),
    max_size=4,
)


@FAST
@given(
    body=st.fixed_dictionaries({"columns": columns}) | json_values,
    as_yaml=st.booleans(),
)
def test_arbitrary_structures_as_a_schema(body: object, as_yaml: bool) -> None:
    if as_yaml:
        try:
            text = yaml.safe_dump(body, allow_unicode=True)
        except (yaml.YAMLError, ValueError):
            return  # not representable in YAML (e.g. a lone surrogate)
    else:
        text = dumps(body)
    import_or_refuse(text)


@FAST
@given(depth=nested, as_yaml=st.booleans())
def test_deep_nesting_as_a_schema(depth: str, as_yaml: bool) -> None:
    import_or_refuse(f"columns: {depth}\n" if as_yaml else f'{{"columns": {depth}}}')


@pytest.mark.django_db
@SLOW
@given(
    data=st.binary(max_size=200)
    | st.lists(json_values, max_size=4).map(
        lambda rows: "\n".join(map(dumps, rows)).encode("utf-8", "surrogatepass")
    ),
    name=st.sampled_from(["t.csv", "t.jsonl", "t.json", "t.parquet", "t.txt"]),
)
def test_uploads_are_stored_or_refused(project, owner, data: bytes, name: str) -> None:
    before = SeedFile.objects.count()
    try:
        seed_file_upload(project=project, user=owner, filename=name, data=data)
    except SeedFileError:
        assert SeedFile.objects.count() == before
