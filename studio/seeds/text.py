"""Bytes to text for uploads: UTF-8 only, with a message that points at the bad byte."""

from __future__ import annotations

from .errors import SeedFileError

__all__ = ["decode_utf8", "storable_text", "without_nul"]


def decode_utf8(data: bytes) -> str:
    """The text of a UTF-8 file (a leading byte-order mark is dropped), newlines as ``\\n``.

    Guessing another encoding would silently corrupt accents; telling the user
    where the first bad byte is lets them find and fix it.
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise SeedFileError(
            f"The file is not UTF-8 text: byte 0x{data[exc.start]:02X} at offset {exc.start} "
            f"(line {line}) is not valid UTF-8; save the file as UTF-8 and upload it again"
        ) from None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def without_nul(text: str) -> str:
    """``text`` without NUL characters, which PostgreSQL refuses in text and JSON columns."""
    return text.replace("\x00", "") if "\x00" in text else text


def storable_text(text: str) -> str:
    """``text`` as PostgreSQL can store it: no NUL, and a lone UTF-16 surrogate (JSON's
    ``"\\ud800"``, which no UTF-8 text can hold) replaced by U+FFFD."""
    text = without_nul(text)
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    return text
