"""A seed table is bounded by what it decodes to, not only its file size; inputs that used to
escape as RecursionError, ValueError or a database error are refused naming where."""

from __future__ import annotations

import io
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from studio.seeds import SeedFileError, extract_text, read_table
from tests.studio.seeds.test_seeds_documents import make_pdf


def refused(data: bytes, filename: str, **limits: int) -> str:
    with pytest.raises(SeedFileError) as info:
        read_table(data, filename, **limits)
    return str(info.value)


def dictionary_bomb(rows: int, value_size: int) -> bytes:
    """A tiny Parquet file: one long string, dictionary-encoded and compressed, many times."""
    table = pa.table({"text": pa.array(["x" * value_size] * rows)})
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="zstd", use_dictionary=True, row_group_size=rows)
    return buffer.getvalue()


def test_a_small_parquet_file_that_decodes_to_much_more_is_refused() -> None:
    bomb = dictionary_bomb(rows=200_000, value_size=1000)  # 200 MB of text decoded
    assert len(bomb) < 30_000
    message = refused(bomb, "bomb.parquet", max_bytes=10 * 1024 * 1024)
    assert "more than the limit of 10.5 MB once decoded" in message


def test_the_decoded_size_counts_for_text_formats_too() -> None:
    rows = "\n".join(json.dumps({"text": "y" * 100}) for _ in range(200)).encode()
    assert "once decoded (at row 90)" in refused(rows, "t.jsonl", max_bytes=10_000)
    assert len(read_table(rows, "t.jsonl", max_bytes=100_000)) == 200


def test_rows_times_columns_are_bounded() -> None:
    table = pa.table({f"c{i}": list(range(100)) for i in range(10)})
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    message = refused(buffer.getvalue(), "t.parquet", max_cells=500)
    assert message == "The table has 100 rows of 10 columns (1,000 values); the limit is 500 values"
    csv = b"a,b\n" + b"1,2\n" * 300
    assert "(600 values); the limit is 500" in refused(csv, "t.csv", max_cells=500)


def test_one_cell_is_bounded_and_named() -> None:
    csv = b"id,text\n1,short\n2," + b"z" * 5000 + b"\n"
    assert refused(csv, "t.csv", max_cell_bytes=4096) == (
        "Row 2, column 'text' holds 5,002 bytes; a value is at most 4,096 bytes"
    )


@pytest.mark.parametrize("name", ["t.json", "t.jsonl"])
def test_deeply_nested_json_is_refused_naming_where(name: str) -> None:
    deep = "[" * 100_000 + "]" * 100_000
    data = (f'[{{"a": {deep}}}]' if name == "t.json" else f'{{"a": 1}}\n{{"a": {deep}}}').encode()
    message = refused(data, name)
    assert "nests lists or objects too deeply" in message
    assert message.startswith("The file" if name == "t.json" else "JSONL line 2")


def test_nesting_under_the_parser_limit_is_still_bounded() -> None:
    value = json.dumps({"a": json.loads("[" * 40 + "]" * 40)})
    assert refused(value.encode(), "t.jsonl") == (
        "Row 1, column 'a' nests lists or objects more than 32 levels deep"
    )


@pytest.mark.parametrize("name", ["t.json", "t.jsonl"])
def test_integers_past_pythons_digit_limit_are_refused(name: str) -> None:
    row = '{"n": ' + "9" * 5000 + "}"
    message = refused((f"[{row}]" if name == "t.json" else row).encode(), name)
    assert "holds an integer of 5,000 digits (at most 4,300); write it as a string" in message


def test_nul_and_lone_surrogates_become_storable_text() -> None:
    data = b'{"a": "x\\u0000y", "b": {"k\\u0000": "\\ud800z"}}\n'
    row = read_table(data, "t.jsonl").rows[0]
    assert row == {"a": "xy", "b": {"k": "\ufffd\ufffd\ufffdz"}}
    json.dumps(row).encode("utf-8")  # storable


def test_a_pdf_past_the_page_limit_is_refused() -> None:
    pdf = make_pdf(*(f"Page {n}." for n in range(5)))
    with pytest.raises(SeedFileError, match="The PDF has 5 pages; the limit is 3"):
        extract_text(pdf, "a.pdf", max_pages=3)


def test_a_document_past_the_text_limit_is_refused() -> None:
    with pytest.raises(SeedFileError, match="more than 1,000 characters"):
        extract_text(b"word " * 300, "a.txt", max_chars=1000)
    pdf = make_pdf(*("A line of text on this page." for _ in range(60)))
    with pytest.raises(SeedFileError, match="more than 1,000 characters"):
        extract_text(pdf, "a.pdf", max_chars=1000)
