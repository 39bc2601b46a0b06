"""Export formats: pure functions over row records (dicts of column → value)."""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Iterator
from typing import Any


def jsonl_lines(records: Iterable[dict[str, Any]]) -> Iterator[str]:
    """One JSON object per line, UTF-8 kept as is (no \\u escapes)."""
    for record in records:
        yield json.dumps(record, ensure_ascii=False, default=str) + "\n"


def parquet_bytes(records: list[dict[str, Any]], columns: list[str]) -> bytes:
    import pandas as pd  # here: seconds to import, for the one format that needs it

    frame = pd.DataFrame.from_records(records, columns=columns)
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False, engine="pyarrow")
    return buffer.getvalue()
