"""How long a text is: in characters, words, or estimated tokens."""

from __future__ import annotations

from typing import Literal

from generation.token_estimate import text_tokens

Unit = Literal["characters", "words", "tokens"]


def measure(text: str, unit: Unit) -> int:
    """Tokens are estimated as the rate limiter does (generation/token_estimate.py: about 4
    ASCII characters a token, one a non-ASCII character): no tokenizer is downloaded."""
    if unit == "words":
        return len(text.split())
    if unit == "tokens":
        return text_tokens(text)
    return len(text)
