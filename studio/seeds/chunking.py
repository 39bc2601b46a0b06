"""Split a document's text into overlapping chunks that end at natural breaks.

A chunk that stops mid-sentence gives a model half a thought to ask about, so
each chunk ends at the last paragraph, line, sentence or word break inside
the final fifth of its window; only text without any break is cut hard.
"""

from __future__ import annotations

__all__ = ["chunk_spans", "chunk_text"]

# Where to look for a break: the last 20% of the window.
_BREAK_ZONE = 0.2
# Chunks may repeat the text this many times over (an overlap of 90% of the
# size); beyond, a large document would make millions of near-identical chunks.
_MAX_REPEAT = 10
# Best first. A break falls just after its separator.
_SEPARATORS: tuple[tuple[str, ...], ...] = (
    ("\n\n",),
    ("\n",),
    (". ", "! ", "? ", "; ", "。", "！", "？"),
    (" ", "\t"),
)


def _break(text: str, start: int, end: int, after: int) -> int:
    """End of a chunk that may span ``text[start:end]``: after the best separator near ``end``.

    The end must pass ``after`` (the previous chunk's end), or a large overlap
    would find the same break again and repeat nearly the same chunk.
    """
    if end >= len(text):
        return len(text)
    zone_start = max(start + 1, after, end - int((end - start) * _BREAK_ZONE))
    for group in _SEPARATORS:
        # The separator must lie wholly inside [zone_start, end), so the chunk
        # (which keeps it) is no longer than the window.
        hits = [i + len(sep) for sep in group if (i := text.rfind(sep, zone_start, end)) != -1]
        if hits:
            return max(hits)
    return end


def _next_start(text: str, start: int, stop: int, overlap: int) -> int:
    """Where the chunk after ``text[start:stop]`` begins: up to ``overlap`` back.

    The overlap begins at its first line or sentence start (or else word
    start), so the next chunk does not open on half a thought.
    """
    candidate = max(stop - overlap, start + 1)
    if candidate >= stop or text[candidate - 1] in "\n ":
        return candidate
    for groups in (_SEPARATORS[1] + _SEPARATORS[2], _SEPARATORS[3]):
        hits = [i + len(sep) for sep in groups if (i := text.find(sep, candidate, stop)) != -1]
        starts = [hit for hit in hits if hit < stop]
        if starts:
            return min(starts)
    return candidate


def chunk_spans(text: str, size: int, overlap: int) -> list[tuple[int, int]]:
    """``(start, end)`` of each chunk: at most ``size`` long, consecutive spans
    touching or overlapping by at most ``overlap`` characters, together covering
    ``text``. Deterministic.
    """
    if size < 1:
        raise ValueError("size must be at least 1")
    if not 0 <= overlap < size:
        raise ValueError("overlap must be at least 0 and smaller than size")
    spans: list[tuple[int, int]] = []
    start = stop = covered = 0
    while start < len(text):
        stop = _break(text, start, min(start + size, len(text)), stop)
        spans.append((start, stop))
        covered += stop - start
        if covered > _MAX_REPEAT * len(text) + size:
            raise ValueError(
                f"A chunk overlap of {overlap} with a chunk size of {size} repeats the text more "
                f"than {_MAX_REPEAT} times over; use a smaller overlap"
            )
        if stop >= len(text):
            break
        start = _next_start(text, start, stop, overlap)
    return spans


def chunk_text(text: str, size: int, overlap: int) -> list[str]:
    """The chunks of ``text`` (see ``chunk_spans``), stripped, without empty ones."""
    chunks = (text[start:stop].strip() for start, stop in chunk_spans(text, size, overlap))
    return [chunk for chunk in chunks if chunk]
