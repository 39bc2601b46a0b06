"""Cosine similarity of two embeddings, −1 to 1 (pure: no Django, no numpy needed for the
few hundred to few thousand dimensions of an embedding)."""

from __future__ import annotations

import math
from collections.abc import Sequence


class NotComparable(ValueError):
    """Two vectors whose cosine is undefined: different lengths, or one of them all zeros."""


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    """a·b / (|a| |b|), clamped to [−1, 1] against rounding. Raises ``NotComparable`` for
    vectors of different lengths, or when either has no length (an empty text's zero
    vector): no direction, so no angle."""
    if len(a) != len(b):
        raise NotComparable(f"the embeddings have {len(a)} and {len(b)} dimensions")
    dot = math.fsum(x * y for x, y in zip(a, b, strict=True))
    norm_a = math.sqrt(math.fsum(x * x for x in a))
    norm_b = math.sqrt(math.fsum(y * y for y in b))
    if norm_a == 0 or norm_b == 0:
        raise NotComparable("an embedding is all zeros: its text has nothing to compare")
    return max(-1.0, min(1.0, dot / (norm_a * norm_b)))
