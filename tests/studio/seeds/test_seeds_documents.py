"""Document text extraction (text, Markdown, PDF) and chunking."""

import io
import random

import pytest
from pypdf import PdfReader, PdfWriter

from studio.seeds import SeedFileError, chunk_spans, chunk_text, extract_text


def make_pdf(*pages: str) -> bytes:
    """A minimal valid PDF, one line of Helvetica text per page (pypdf cannot write text)."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [%s] /Count %d >>"
        % (" ".join(f"{4 + 2 * i} 0 R" for i in range(len(pages))).encode(), len(pages)),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    for i, text in enumerate(pages):
        escaped = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
        stream = f"BT /F1 12 Tf 72 720 Td ({escaped}) Tj ET".encode("latin-1")
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            b"/Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>" % (5 + 2 * i)
        )
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream))
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def rewritten(pdf: bytes, **encrypt: str) -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    if encrypt:
        writer.encrypt(**encrypt)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def refused(data: bytes, filename: str) -> str:
    with pytest.raises(SeedFileError) as info:
        extract_text(data, filename)
    return str(info.value)


# --- Extraction -------------------------------------------------------------------------


def test_text_and_markdown() -> None:
    assert extract_text(b"Hello\r\nworld\n", "notes.txt") == "Hello\nworld\n"
    assert extract_text("# Titre\n\nÉté.".encode(), "README.MD") == "# Titre\n\nÉté."
    assert extract_text(b"\xef\xbb\xbfbom", "a.markdown") == "bom"
    assert extract_text(b"a\x00b", "a.txt") == "ab"


def test_text_that_is_not_utf8_names_the_byte_and_line() -> None:
    assert refused(b"ok\nok\ncaf\xe9", "a.txt") == (
        "The file is not UTF-8 text: byte 0xE9 at offset 9 (line 3) is not valid UTF-8; "
        "save the file as UTF-8 and upload it again"
    )


def test_empty_or_unknown_documents() -> None:
    assert refused(b"", "a.txt") == "The file is empty"
    assert refused(b"  \n ", "a.md") == "The file is empty"
    assert refused(b"\x00\x00", "a.txt") == "The file has no text"
    assert refused(b"x", "a.docx") == (
        "Files '.docx' are not supported as documents; upload a .txt, .md, .markdown, .pdf file"
    )


def test_pdf_text_is_extracted_page_by_page() -> None:
    pdf = make_pdf("First page (intro).", "Second page.")
    assert extract_text(pdf, "paper.pdf") == "First page (intro).\n\nSecond page."


def test_pdf_with_an_empty_user_password_opens() -> None:
    pdf = rewritten(make_pdf("Readable."), user_password="", owner_password="owner")
    assert extract_text(pdf, "a.pdf") == "Readable."


def test_password_protected_pdf() -> None:
    pdf = rewritten(make_pdf("Secret."), user_password="secret", owner_password="owner")
    assert refused(pdf, "a.pdf") == (
        "The PDF is protected by a password; remove the password and upload it again"
    )


def test_pdf_without_text() -> None:
    writer = PdfWriter()
    writer.add_blank_page(200, 200)
    buffer = io.BytesIO()
    writer.write(buffer)
    assert refused(buffer.getvalue(), "scan.pdf") == (
        "The PDF has no extractable text (it may be scanned images); run text recognition "
        "(OCR) on it, or upload its text as a .txt file"
    )


def test_broken_pdfs() -> None:
    assert refused(b"plain text, not a PDF", "a.pdf") == (
        "The file is not a PDF (it has no %PDF header); check its type"
    )
    pdf = make_pdf("Hello.")
    for broken in (b"%PDF-1.4\ngarbage", pdf[: len(pdf) // 2]):
        assert refused(broken, "a.pdf").startswith(
            "The PDF could not be read (it may be damaged or incomplete): "
        )


# --- Chunking ---------------------------------------------------------------------------

PROSE = "\n\n".join(
    " ".join(f"Sentence {p}.{s} says something about topic {p} with a few words." for s in range(6))
    for p in range(40)
)


def assert_chunk_properties(text: str, size: int, overlap: int) -> None:
    spans = chunk_spans(text, size, overlap)
    assert spans[0][0] == 0 and spans[-1][1] == len(text)
    for (start, stop), (next_start, next_stop) in zip(spans, spans[1:], strict=False):
        assert 0 < stop - start <= size
        # Consecutive chunks touch or overlap (coverage), by no more than asked.
        assert start < next_start <= stop
        assert stop - next_start <= overlap
        assert next_stop > stop
    chunks = chunk_text(text, size, overlap)
    assert all(chunk and chunk == chunk.strip() and len(chunk) <= size for chunk in chunks)
    assert chunks == chunk_text(text, size, overlap)


@pytest.mark.parametrize(("size", "overlap"), [(100, 0), (300, 50), (1500, 150), (250, 200)])
def test_chunks_cover_the_text_with_bounded_overlap(size: int, overlap: int) -> None:
    assert_chunk_properties(PROSE, size, overlap)


def test_random_texts_keep_the_properties() -> None:
    rng = random.Random(5)
    alphabet = "abc de.\n" + "é。 "
    for _ in range(200):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 600)))
        size = rng.randint(100, 300)
        assert_chunk_properties(text, size, rng.randint(0, size * 8 // 10))


def test_chunks_end_at_paragraphs_then_sentences() -> None:
    chunks = chunk_text(PROSE, 1000, 100)
    assert len(chunks) > 10
    # Each chunk but the last ends a sentence (a paragraph, here).
    assert all(chunk.endswith(".") for chunk in chunks)
    sentence_text = " ".join(f"This is sentence number {i}." for i in range(200))
    for chunk in chunk_text(sentence_text, 200, 40):
        assert chunk.startswith("This is") and chunk.endswith(".")


def test_text_without_breaks_is_cut_at_the_size() -> None:
    assert chunk_text("x" * 250, 100, 10) == ["x" * 100, "x" * 100, "x" * 70]


def test_short_text_is_one_chunk_and_blank_text_none() -> None:
    assert chunk_text("  short text \n", 100, 10) == ["short text"]
    assert chunk_text("", 100, 10) == []
    assert chunk_text("   \n\n  ", 100, 10) == []


def test_the_overlap_begins_at_a_sentence() -> None:
    (_, stop), (next_start, _) = chunk_spans(PROSE, 1500, 150)[:2]
    overlap = PROSE[next_start:stop]
    assert 0 < len(overlap) <= 150
    assert overlap.startswith("Sentence ") and overlap.strip().endswith("words.")


def test_an_overlap_close_to_the_size_is_refused_before_it_floods_memory() -> None:
    with pytest.raises(ValueError, match="repeats the text more than 10 times over"):
        chunk_text("word " * 100_000, 100, 99)


def test_invalid_chunk_settings() -> None:
    with pytest.raises(ValueError, match="overlap"):
        chunk_text("text", 100, 100)
    with pytest.raises(ValueError, match="size"):
        chunk_text("text", 0, 0)
