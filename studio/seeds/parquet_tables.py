"""Parquet tables, checked from their metadata before they are read, then read by batches."""

from __future__ import annotations

import io
from typing import Any

from .errors import SeedFileError
from .table_limits import (
    Parsed,
    TableLimits,
    check_cells,
    check_width,
    too_large_decoded,
    too_many_rows,
)

__all__ = ["read_parquet"]

# Parquet is read this many rows at a time, so its decoded size is counted as it grows.
_PARQUET_BATCH_ROWS = 1024


def read_parquet(data: bytes, limits: TableLimits) -> Parsed:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(io.BytesIO(data))
        metadata = parquet.metadata
        headers = list(parquet.schema_arrow.names)
        # Checked from the metadata, before reading a possibly huge file: what its pages
        # decompress to, and how many values (nested lists' items included) it holds.
        chunks = [
            metadata.row_group(g).column(c)
            for g in range(metadata.num_row_groups)
            for c in range(metadata.num_columns)
        ]
        uncompressed = sum(chunk.total_uncompressed_size for chunk in chunks)
        values = sum(chunk.num_values for chunk in chunks)
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise SeedFileError(f"The file is not a readable Parquet file: {exc}") from None
    check_width(len(headers), limits.columns)
    if metadata.num_rows > limits.rows:
        raise too_many_rows(limits.rows)
    check_cells(metadata.num_rows, len(headers), limits.cells)
    if values > limits.cells:
        raise SeedFileError(
            f"The table holds {values:,} values (items of lists included); "
            f"the limit is {limits.cells:,}"
        )
    if uncompressed > limits.bytes:
        raise too_large_decoded(limits.bytes, "its pages uncompressed")
    records: list[list[Any]] = []
    decoded = 0
    try:
        # By batches: a dictionary-encoded column's few bytes can decode to gigabytes, so
        # its decoded size is counted as it grows, not after.
        for batch in parquet.iter_batches(batch_size=_PARQUET_BATCH_ROWS):
            decoded += batch.nbytes
            if decoded > limits.bytes:
                raise too_large_decoded(limits.bytes, f"at row {len(records) + 1:,}")
            columns = [column.to_pylist() for column in batch.columns]
            records.extend(list(values) for values in zip(*columns, strict=True))
    except SeedFileError:
        raise
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise SeedFileError(f"The Parquet file could not be read: {exc}") from None
    return headers, records
