"""Errors raised when a user's dataset schema cannot be accepted.

Kept free of Django and pydantic so that every layer (forms, API, workers)
can catch one exception type and show its messages as they are.
"""

from __future__ import annotations

from collections.abc import Iterable


class SchemaError(ValueError):
    """A schema was rejected; ``messages`` holds one human-readable line per problem.

    Each message names the column it is about, so the UI can list them without
    having to know where they came from. It subclasses ValueError so that
    pydantic validators may raise it directly.
    """

    messages: list[str]

    def __init__(self, messages: str | Iterable[str]) -> None:
        # A bare string is one message, not an iterable of characters.
        collected = [messages] if isinstance(messages, str) else list(messages)
        if not collected:
            collected = ["The schema is invalid"]
        self.messages = collected
        super().__init__("; ".join(collected))

    def __str__(self) -> str:
        return "; ".join(self.messages)
