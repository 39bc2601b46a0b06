"""The text of an uploaded document (plain text, Markdown, PDF), ready for chunking.

The app stores the extracted text once at upload; generation then only splits
it (``chunk_text``), so a worker never parses a PDF.
"""

from __future__ import annotations

import io
import re
from pathlib import PurePath

import re2

from .chunking import chunk_spans, chunk_text
from .errors import SeedFileError
from .text import decode_utf8, storable_text

__all__ = ["DOCUMENT_EXTENSIONS", "chunk_spans", "chunk_text", "extract_text"]

DOCUMENT_EXTENSIONS = (".txt", ".md", ".markdown", ".pdf")

# PDF extraction pads layouts with runs of blank lines and spaces.
_BLANK_LINES = re.compile(r"\n[ \t]*(?:\n[ \t]*){2,}")
# RE2: with re a long run of spaces without a newline is scanned once per space.
_TRAILING_SPACE = re2.compile(r"[ \t]+\n")


def extract_text(
    data: bytes, filename: str, *, max_chars: int = 20_000_000, max_pages: int = 2000
) -> str:
    """The document's text, newlines as ``\\n``; SeedFileError when there is none to use.

    Bounded by ``max_chars`` of text and ``max_pages`` of PDF: a small PDF can draw the
    same compressed text on thousands of pages."""
    extension = PurePath(filename).suffix.lower()
    if extension not in DOCUMENT_EXTENSIONS:
        shown = f"'{extension}'" if extension else "without an extension"
        raise SeedFileError(
            f"Files {shown} are not supported as documents; upload a "
            + ", ".join(DOCUMENT_EXTENSIONS)
            + " file"
        )
    if not data.strip():
        raise SeedFileError("The file is empty")
    if extension == ".pdf":
        text = _pdf_text(data, max_chars, max_pages)
    else:
        text = decode_utf8(data)
    _check_chars(len(text), max_chars)
    text = storable_text(text)
    if not text.strip():
        raise SeedFileError("The file has no text")
    return text


def _check_chars(count: int, max_chars: int) -> None:
    if count > max_chars:
        raise SeedFileError(
            f"The document has more than {max_chars:,} characters of text; "
            f"the limit is {max_chars:,}: split it into smaller files"
        )


def _pdf_text(data: bytes, max_chars: int, max_pages: int) -> str:
    from pypdf.errors import FileNotDecryptedError, PyPdfError

    if b"%PDF-" not in data[:1024]:
        raise SeedFileError("The file is not a PDF (it has no %PDF header); check its type")
    try:
        texts = _page_texts(data, max_chars, max_pages)
    except SeedFileError:
        raise
    except FileNotDecryptedError:
        raise SeedFileError(_MSG_PASSWORD) from None
    except (
        PyPdfError,
        OSError,
        KeyError,
        TypeError,
        ValueError,
        AttributeError,
        RecursionError,
    ) as exc:
        # pypdf reports broken files with a variety of exception types.
        raise SeedFileError(
            f"The PDF could not be read (it may be damaged or incomplete): {exc}"
        ) from None
    text = "\n\n".join(t.strip() for t in texts if t.strip())
    text = _BLANK_LINES.sub("\n\n", _TRAILING_SPACE.sub("\n", text.replace("\r\n", "\n")))
    if not text.strip():
        raise SeedFileError(
            "The PDF has no extractable text (it may be scanned images); "
            "run text recognition (OCR) on it, or upload its text as a .txt file"
        )
    return text


_MSG_PASSWORD = "The PDF is protected by a password; remove the password and upload it again"


def _page_texts(data: bytes, max_chars: int, max_pages: int) -> list[str]:
    """Each page's text; SeedFileError past the limits or on a page that cannot be read (other
    errors of a broken file are the caller's to translate)."""
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    reader = PdfReader(io.BytesIO(data))
    if reader.is_encrypted:
        # Many PDFs are "encrypted" with an empty password only to forbid
        # editing; those open without asking anyone for anything.
        try:
            opened = bool(reader.decrypt(""))
        except (PyPdfError, NotImplementedError, ValueError):
            opened = False
        if not opened:
            raise SeedFileError(_MSG_PASSWORD)
    pages = reader.pages
    if len(pages) > max_pages:
        raise SeedFileError(
            f"The PDF has {len(pages):,} pages; the limit is {max_pages:,}: "
            "split it into smaller files"
        )
    texts: list[str] = []
    total = 0
    for number, page in enumerate(pages, start=1):
        try:
            texts.append(page.extract_text() or "")
        except (PyPdfError, KeyError, TypeError, ValueError, RecursionError) as exc:
            raise SeedFileError(f"Page {number} of the PDF could not be read: {exc}") from None
        total += len(texts[-1])
        _check_chars(total, max_chars)
    return texts
