"""The one interface over the providers' batch APIs (OpenAI Batch API, Anthropic Message
Batches); ``registry.build_batch_client`` builds one. Pure: no Django.

A batch client sends many ``CompletionRequest``s as one provider batch, reads its state, reads
its results and cancels it. Each request carries a ``custom_id`` (our ledger key: 64 hex
characters, within both providers' limits) by which its result comes back, in any order.

The clients use the SDKs' synchronous clients (the batch steps run in plain actor threads, not in
an event loop) with the SDKs' own retries off: a failed status read is simply tried again at the
next poll, and a failed submission is retried by the caller with a bounded number of attempts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from generation.providers.base import Completion, CompletionRequest

# Anthropic: custom_id must match ^[a-zA-Z0-9_-]{1,64}$. OpenAI has no documented limit.
MAX_CUSTOM_ID = 64
MSG_NOT_PROCESSED = "The batch ended before this request was processed ({reason})"
MSG_NO_RESULT = "The provider's batch results have no answer for this request"


@dataclass(frozen=True)
class BatchItem:
    custom_id: str
    request: CompletionRequest


@dataclass(frozen=True)
class Submitted:
    batch_id: str
    input_file_id: str = ""  # OpenAI's uploaded JSONL file


@dataclass(frozen=True)
class BatchState:
    """What a status read found. ``ended``: results can be read (all requests finished,
    failed, expired or were cancelled). ``error``: the whole batch failed (OpenAI validation
    errors); every request then fails with it."""

    ended: bool
    status: str  # the provider's own word, shown to the user
    succeeded: int = 0
    failed: int = 0
    error: str | None = None


@dataclass(frozen=True)
class BatchResult:
    """One request's outcome: a completion, or the provider's message why it failed."""

    custom_id: str
    completion: Completion | None = None
    error: str | None = None


class BatchClient(Protocol):
    def submit(self, items: list[BatchItem], *, metadata: dict[str, str]) -> Submitted: ...

    def find_submitted(self, job_marker: str) -> Submitted | None:
        """A batch an earlier attempt created with ``metadata["studio_job"] == job_marker``
        (None: not found, or the provider cannot tell)."""
        ...

    def state(self, batch_id: str) -> BatchState: ...

    def results(
        self, batch_id: str, requests: dict[str, CompletionRequest]
    ) -> list[BatchResult]: ...

    def cancel(self, batch_id: str) -> None: ...

    def close(self) -> None: ...


def status_error(status: int | None, message: str) -> str:
    """The message of a failed request, worded like an online ``ProviderError``."""
    return f"HTTP {status}: {message}" if status else message
