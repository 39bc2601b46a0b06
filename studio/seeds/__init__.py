"""Uploaded seed files: tables whose rows feed generation, documents split into chunks.

Pure (no Django): the app passes the uploaded bytes and stores what comes back;
size limits are the app's (a setting).
"""

from .chunking import chunk_spans, chunk_text
from .documents import DOCUMENT_EXTENSIONS, extract_text
from .errors import SeedFileError
from .names import normalise_names
from .tables import TABLE_EXTENSIONS, Table, read_table
from .values import to_jsonable

__all__ = [
    "DOCUMENT_EXTENSIONS",
    "TABLE_EXTENSIONS",
    "SeedFileError",
    "Table",
    "chunk_spans",
    "chunk_text",
    "extract_text",
    "normalise_names",
    "read_table",
    "to_jsonable",
]
