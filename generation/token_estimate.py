"""How many tokens a call will use, guessed before it is sent, for the tokens-per-minute budget.

A heuristic, not a tokenizer: tiktoken downloads its vocabulary on first use and cannot load
offline. The estimate only has to be cheap and rarely low: the rate limiter charges it before the
call and corrects the budget with the usage the provider reports afterwards, so an overestimate
costs a little pacing for a moment while an underestimate risks a 429. Hence:

- about 4 characters a token for ASCII text (English averages ~4.0-4.5 with OpenAI's and
  Anthropic's tokenizers), rounded up per message;
- one token per non-ASCII character (CJK and many other scripts take one or more tokens a
  character; counting accented letters as whole tokens errs on the safe side);
- a few tokens of framing per message and for the reply's priming (OpenAI documents 3-4);
- plus ``max_tokens`` for the answer, the way OpenAI itself counts a request against its TPM.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

CHARS_PER_TOKEN = 4
TOKENS_PER_MESSAGE = 4
TOKENS_PER_REPLY = 3


def text_tokens(text: str) -> int:
    """Estimated tokens of a piece of text."""
    if text.isascii():
        return math.ceil(len(text) / CHARS_PER_TOKEN)
    ascii_chars = sum(1 for char in text if char.isascii())
    return math.ceil(ascii_chars / CHARS_PER_TOKEN) + (len(text) - ascii_chars)


def _content_text(content: object) -> str:
    """A message's text, whether its content is a string or a list of text parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            str(part.get("text", "")) if isinstance(part, Mapping) else str(part)
            for part in content
        )
    return "" if content is None else str(content)


def estimate_tokens(messages: Iterable[object], max_tokens: int) -> int:
    """Tokens a call with these ``messages`` (dicts with ``content``, or objects with a
    ``content`` attribute; a system prompt may be given as one more message) will use at most."""
    total = TOKENS_PER_REPLY
    for message in messages:
        content = (
            message.get("content")
            if isinstance(message, Mapping)
            else getattr(message, "content", message)
        )
        total += TOKENS_PER_MESSAGE + text_tokens(_content_text(content))
    return total + max(0, max_tokens)


class _RequestLike(Protocol):
    @property
    def system(self) -> str: ...
    @property
    def max_tokens(self) -> int: ...
    @property
    def json_schema(self) -> dict[str, Any] | None: ...

    def messages(self) -> list[dict[str, str]]: ...


def estimate_request_tokens(request: _RequestLike) -> int:
    """``estimate_tokens`` for a ``CompletionRequest``: its system prompt, its conversation, the
    JSON schema it sends (as a response format or a tool, it counts as input) and max_tokens."""
    messages: list[object] = list(request.messages())
    if request.system:
        messages.append({"content": request.system})
    if request.json_schema is not None:
        messages.append({"content": json.dumps(request.json_schema)})
    return estimate_tokens(messages, request.max_tokens)
