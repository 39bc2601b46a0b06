"""String similarity between an answer and its reference, 0–1 (rapidfuzz)."""

from __future__ import annotations

from typing import Literal

from rapidfuzz import fuzz
from rapidfuzz.distance import Levenshtein
from rapidfuzz.utils import default_process

Method = Literal["edit", "token_set"]


def similarity(answer: str, reference: str, *, method: Method, normalise: bool) -> float:
    """``edit``: 1 − Levenshtein distance / length of the longer text (1 for two empty texts).
    ``token_set``: rapidfuzz's token-set ratio / 100 — word order and repeated words do not
    count, and a text whose words are all in the other scores 1 (0 when either is empty).
    ``normalise``: compare lower-cased, punctuation replaced by spaces, ends trimmed
    (rapidfuzz's ``default_process``)."""
    processor = default_process if normalise else None
    if method == "token_set":
        return fuzz.token_set_ratio(answer, reference, processor=processor) / 100.0
    return float(Levenshtein.normalized_similarity(answer, reference, processor=processor))
