"""Reading uploaded tables: every format, name normalisation, values, and each refusal."""

import datetime as dt
import decimal
import io
import json
import math

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from studio.seeds import SeedFileError, Table, normalise_names, read_table, to_jsonable

ROWS = [{"question": "What?", "answer": "That."}, {"question": "Why?", "answer": "Because."}]


def refused(data: bytes, filename: str, **limits: int) -> str:
    with pytest.raises(SeedFileError) as info:
        read_table(data, filename, **limits)
    assert isinstance(info.value, ValueError)
    return str(info.value)


def parquet(table: pa.Table) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("data", "filename"),
    [
        (b"question,answer\nWhat?,That.\nWhy?,Because.\n", "qa.csv"),
        (b"question;answer\r\nWhat?;That.\r\n\r\nWhy?;Because.\r\n", "qa.CSV"),
        (b"question\tanswer\nWhat?\tThat.\nWhy?\tBecause.\n", "qa.tsv"),
        (b"\xef\xbb\xbfquestion|answer\nWhat?|That.\nWhy?|Because.\n", "qa.csv"),
        ("\n".join(json.dumps(r) for r in ROWS).encode() + b"\n\n", "qa.jsonl"),
        ("\n".join(json.dumps(r) for r in ROWS).encode(), "qa.ndjson"),
        (json.dumps(ROWS).encode(), "qa.json"),
        (parquet(pa.Table.from_pylist(ROWS)), "qa.parquet"),
    ],
)
def test_every_format_gives_the_same_table(data: bytes, filename: str) -> None:
    table = read_table(data, filename)
    assert isinstance(table, Table)
    assert table.columns == ["question", "answer"]
    assert table.rows == ROWS
    assert len(table) == 2
    assert table.head(1) == ROWS[:1]
    assert table.renamed == {}


def test_csv_keeps_quoted_delimiters_and_newlines_and_fills_short_rows() -> None:
    data = b'text,label,extra\n"a, b",x\n"line one\nline two",y,z\n'
    table = read_table(data, "t.csv")
    assert table.rows == [
        {"text": "a, b", "label": "x", "extra": None},
        {"text": "line one\nline two", "label": "y", "extra": "z"},
    ]


def test_csv_cells_may_be_long_articles() -> None:
    article = "word " * 100_000
    table = read_table(f'title,body\nLong,"{article}"\n'.encode(), "t.csv")
    assert table.rows[0]["body"] == article


def test_single_column_csv() -> None:
    assert read_table(b"topic\ncats\ndogs\n", "t.csv").rows == [
        {"topic": "cats"},
        {"topic": "dogs"},
    ]


def test_jsonl_objects_with_different_keys_are_aligned() -> None:
    data = b'{"a": 1, "b": {"x": [1, 2]}}\n{"c": NaN, "a": 3}\n'
    table = read_table(data, "t.jsonl")
    assert table.columns == ["a", "b", "c"]
    assert table.rows == [{"a": 1, "b": {"x": [1, 2]}, "c": None}, {"a": 3, "b": None, "c": None}]


def test_column_names_are_normalised_and_the_renames_reported() -> None:
    data = b"First Name,E-mail,2nd place,Ann\xc3\xa9e,index,name,NAME,,class\n1,2,3,4,5,6,7,8,9\n"
    table = read_table(data, "t.csv")
    assert table.columns == [
        "first_name",
        "e_mail",
        "col_2nd_place",
        "annee",
        "index_",
        "name",
        "name_2",
        "column_8",
        "class_",
    ]
    assert table.renamed == {
        "First Name": "first_name",
        "E-mail": "e_mail",
        "2nd place": "col_2nd_place",
        "Année": "annee",
        "index": "index_",
        "NAME": "name_2",
        "": "column_8",
        "class": "class_",
    }
    assert table.rows[0]["name_2"] == "7"


def test_repeated_headers_are_told_apart_in_the_renames() -> None:
    names, renamed = normalise_names(["Score", "Score", "score"])
    assert names == ["score", "score_2", "score_3"]
    assert renamed == {
        "Score (column 1)": "score",
        "Score (column 2)": "score_2",
        "score": "score_3",
    }


def test_long_and_unicode_only_names_stay_valid() -> None:
    names, _ = normalise_names(["x" * 100, "x" * 100, "名前", "__"])
    assert all(len(n) <= 64 for n in names)
    assert names[2:] == ["column_3", "column_4"]
    assert names[0] != names[1]


def test_parquet_values_become_json() -> None:
    table = pa.table(
        {
            "when": pa.array([dt.datetime(2024, 1, 2, 3, 4, 5), None]),
            "day": pa.array([dt.date(2024, 1, 2), dt.date(2024, 2, 3)]),
            "price": pa.array([decimal.Decimal("1.50"), decimal.Decimal("2")]),
            "score": pa.array([float("nan"), 0.5]),
            "tags": pa.array([["a", "b"], []]),
            "blob": pa.array([b"text", b"\xff\x00"]),
        }
    )
    rows = read_table(parquet(table), "t.parquet").rows
    assert rows == [
        {
            "when": "2024-01-02T03:04:05",
            "day": "2024-01-02",
            "price": 1.5,
            "score": None,
            "tags": ["a", "b"],
            "blob": "text",
        },
        {
            "when": None,
            "day": "2024-02-03",
            "price": 2,
            "score": 0.5,
            "tags": [],
            "blob": "base64:/wA=",
        },
    ]
    json.dumps(rows, allow_nan=False)


def test_to_jsonable_handles_numpy_and_pandas_values() -> None:
    import numpy as np
    import pandas as pd

    assert to_jsonable(np.int64(3)) == 3 and type(to_jsonable(np.int64(3))) is int
    assert to_jsonable(np.float32(0.5)) == 0.5
    assert to_jsonable(np.nan) is None
    assert to_jsonable(pd.NaT) is None
    assert to_jsonable(pd.Timestamp("2024-01-01T10:00")) == "2024-01-01T10:00:00"
    assert to_jsonable(np.array([1, 2])) == [1, 2]
    assert to_jsonable({"k": (1, math.inf)}) == {"k": [1, None]}
    assert to_jsonable("nul\x00byte") == "nulbyte"


# --- Refusals ---------------------------------------------------------------------------


def test_empty_files() -> None:
    for name in ("t.csv", "t.jsonl", "t.json", "t.parquet"):
        assert refused(b"", name) == "The file is empty"
        assert refused(b" \n\n", name) == "The file is empty"
    assert refused(b"question,answer\n", "t.csv") == "The file has no rows of data"
    assert refused(b"[]", "t.json") == "The file has no rows of data"


def test_not_utf8_names_the_byte_and_line() -> None:
    data = b"name\nJos\xe9\n"
    assert refused(data, "t.csv") == (
        "The file is not UTF-8 text: byte 0xE9 at offset 8 (line 2) is not valid UTF-8; "
        "save the file as UTF-8 and upload it again"
    )
    assert "(line 3)" in refused(b'{"a": 1}\n{"a": 2}\n{"a": "\xff"}\n', "t.jsonl")


def test_malformed_csv_names_the_line() -> None:
    assert refused(b'a,b\n1,2\n"x"y,3\n', "t.csv") == (
        "CSV line 3 is malformed: ',' expected after '\"'"
    )
    assert refused(b"a,b\n1,2\n1,2\n1,2,3\n", "t.csv") == (
        "CSV line 4 has 3 fields but the header has 2; check for an unquoted delimiter in a value"
    )
    assert refused(b'a,b\n1,2\n"open,3\n', "t.csv").startswith("CSV line 3 is malformed: ")


def test_malformed_jsonl_names_the_line_and_the_error() -> None:
    data = b'{"a": 1}\n\n{"a": 2,}\n'
    assert refused(data, "t.jsonl") == (
        "JSONL line 3 is not valid JSON: Expecting property name enclosed in double quotes (column 9)"
    )


def test_jsonl_line_that_is_not_an_object() -> None:
    assert refused(b'{"a": 1}\n[1, 2]\n', "t.jsonl") == (
        "JSONL line 2 is an array, not an object; each line must be one JSON object such as "
        '{"question": "...", "answer": "..."}'
    )
    assert refused(b'"text"\n', "t.jsonl").startswith("JSONL line 1 is a string, not an object")


def test_json_must_be_an_array_of_objects() -> None:
    assert refused(b'{"rows": []}', "t.json") == (
        "The file holds an object; a JSON table must be an array of objects: [{...}, {...}]"
    )
    assert refused(b'[{"a": 1}, 2]', "t.json") == "Item 2 of the array is a number, not an object"
    assert refused(b'[{"a": 1},\n {"a": }]', "t.json") == (
        "The file is not valid JSON: Expecting value (line 2, column 8)"
    )


def test_broken_parquet() -> None:
    message = refused(b"PAR1 this is not really parquet PAR1", "t.parquet")
    assert message.startswith("The file is not a readable Parquet file: ")
    good = parquet(pa.Table.from_pylist(ROWS))
    assert refused(good[: len(good) // 2], "t.parquet").startswith(
        "The file is not a readable Parquet file: "
    )


def test_too_many_columns_says_how_many_and_the_limit() -> None:
    header = ",".join(f"c{i}" for i in range(5)).encode()
    assert refused(header + b"\n" + b"1,2,3,4,5\n", "t.csv", max_columns=4) == (
        "The file has 5 columns; the limit is 4"
    )
    wide = json.dumps({f"c{i}": i for i in range(5)}).encode()
    assert refused(wide, "t.jsonl", max_columns=4) == "The file has 5 columns; the limit is 4"
    table = pa.Table.from_pylist([{f"c{i}": i for i in range(5)}])
    assert refused(parquet(table), "t.parquet", max_columns=4) == (
        "The file has 5 columns; the limit is 4"
    )


def test_too_many_rows() -> None:
    message = "The file has more than 2 rows; the limit is 2"
    assert refused(b"a\n1\n2\n3\n", "t.csv", max_rows=2) == message
    assert refused(b"{}\n{}\n{}\n", "t.jsonl", max_rows=2) == message
    assert refused(b"[{}, {}, {}]", "t.json", max_rows=2) == message
    rows = pa.Table.from_pylist([{"a": 1}] * 3)
    assert refused(parquet(rows), "t.parquet", max_rows=2) == message


def test_unknown_extension() -> None:
    assert refused(b"data", "sheet.xlsx") == (
        "Files '.xlsx' are not supported as tables; upload a .csv, .tsv, .jsonl, .ndjson, "
        ".json, .parquet file"
    )
    assert refused(b"data", "README").startswith("Files without an extension are not supported")
