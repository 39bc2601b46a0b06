"""The one interface every provider implements, and its one error type."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class ProviderConfig:
    provider: str  # "openai", "anthropic", "openai_compatible" or "simulator"
    api_key: str
    base_url: str | None = None
    timeout: float = 60.0


@dataclass(frozen=True)
class CompletionRequest:
    model: str
    prompt: str
    system: str = ""
    temperature: float = 0.7
    max_tokens: int = 512

    def messages(self) -> list[dict[str, str]]:
        return [{"role": "user", "content": self.prompt}]

    def ledger_key(self, *, provider: str, base_url: str | None, sample: str) -> str:
        """A stable hash of what is asked. ``sample`` tells apart rows that ask the same
        question (by default the run seed and row index), so a retried or resumed row hits its
        own earlier answer while two rows with equal prompts still get two samples."""
        payload = {
            "provider": provider,
            "base_url": base_url or "",
            "model": self.model,
            "system": self.system,
            "messages": self.messages(),
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            "sample": sample,
        }
        encoded = json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()
        return hashlib.sha256(encoded).hexdigest()


@dataclass
class Completion:
    text: str
    input_tokens: int
    output_tokens: int
    latency_ms: int
    # Rate-limit headers as the provider sent them, for the limiter to adapt.
    rate_limit_headers: dict[str, str] = field(default_factory=dict)


class ProviderError(Exception):
    """A failed call. ``retryable`` says whether trying again may succeed (429, 5xx, timeouts,
    dropped connections); ``message`` is the provider's own words, shown to the user."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        retryable: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.retryable = retryable
        self.retry_after = retry_after

    def __str__(self) -> str:
        return f"HTTP {self.status}: {self.message}" if self.status else self.message


class Provider(Protocol):
    async def complete(self, request: CompletionRequest) -> Completion: ...

    async def aclose(self) -> None: ...


RATE_LIMIT_HEADER_PREFIXES = ("x-ratelimit-", "anthropic-ratelimit-", "retry-after")


def rate_limit_headers(headers: object) -> dict[str, str]:
    items = getattr(headers, "items", None)
    if items is None:
        return {}
    return {
        key.lower(): value
        for key, value in items()
        if key.lower().startswith(RATE_LIMIT_HEADER_PREFIXES)
    }


def parse_retry_after(headers: object) -> float | None:
    get = getattr(headers, "get", None)
    raw = get("retry-after") if get else None
    try:
        return float(raw) if raw is not None else None
    except ValueError:
        return None
