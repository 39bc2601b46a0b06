"""Anthropic's Message Batches through the ``anthropic`` SDK: ``messages.batches.create`` with
``[{"custom_id", "params"}]`` (``params`` exactly what the online provider sends, a forced tool
call for structured output), ``retrieve``, ``results`` (JSONL, any order, matched by custom_id)
and ``cancel``.

custom_id must match ``^[a-zA-Z0-9_-]{1,64}$``: our ledger keys are 64 hex characters, so they
are used as they are (``submit`` refuses anything else rather than silently mapping it)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, TypeVar

import anthropic

from generation.providers.anthropic.online import (
    message_completion,
    message_params,
)
from generation.providers.base import CompletionRequest, ProviderConfig, ProviderError
from generation.providers.batch import (
    MSG_NOT_PROCESSED,
    BatchItem,
    BatchResult,
    BatchState,
    Submitted,
)
from generation.providers.sdk_errors import sdk_guarded_sync

T = TypeVar("T")
CUSTOM_ID = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


def _guarded(call: Callable[[], T]) -> T:
    return sdk_guarded_sync(call, anthropic)


def _succeeded(custom_id: str, message: Any, request: CompletionRequest) -> BatchResult:
    """A succeeded result read as the online provider reads its answer (the SDK's Message, as
    the JSON it came from)."""
    try:
        completion = message_completion(message.model_dump(mode="json"), request)
    except ProviderError as exc:
        return BatchResult(custom_id, error=exc.message)
    return BatchResult(custom_id, completion=completion)


def _error_text(result: Any) -> str:
    error = getattr(getattr(result, "error", None), "error", None)
    message = getattr(error, "message", None)
    kind = getattr(error, "type", None)
    if message:
        return f"{message} ({kind})" if kind else str(message)
    return "The request failed without a message"


class AnthropicBatchClient:
    def __init__(self, config: ProviderConfig) -> None:
        self._client = anthropic.Anthropic(
            api_key=config.api_key or "not-needed",
            base_url=config.base_url or None,
            timeout=config.timeout,
            max_retries=0,
            # No redirects: they would lead the key to an unchecked URL (provider_configs.py).
            http_client=anthropic.DefaultHttpxClient(follow_redirects=False),
        )

    def submit(self, items: list[BatchItem], *, metadata: dict[str, str]) -> Submitted:
        # Message Batches take no metadata; ``metadata`` is for the OpenAI client's recovery.
        for item in items:
            if not CUSTOM_ID.match(item.custom_id):
                raise ValueError(f"Not a valid Anthropic custom_id: {item.custom_id!r}")
        requests = [
            {"custom_id": item.custom_id, "params": message_params(item.request)} for item in items
        ]
        # ``message_params`` builds the SDK's ``Request`` TypedDict as a plain dict.
        batch = _guarded(
            lambda: self._client.messages.batches.create(requests=requests)  # type: ignore[arg-type]
        )
        return Submitted(batch_id=batch.id)

    def find_submitted(self, job_marker: str) -> Submitted | None:
        """Message Batches carry no metadata, so a batch whose id was lost cannot be found."""
        return None

    def state(self, batch_id: str) -> BatchState:
        batch = _guarded(lambda: self._client.messages.batches.retrieve(batch_id))
        counts = batch.request_counts
        return BatchState(
            ended=batch.processing_status == "ended",
            status=batch.processing_status,
            succeeded=counts.succeeded,
            failed=counts.errored + counts.canceled + counts.expired,
        )

    def results(self, batch_id: str, requests: dict[str, CompletionRequest]) -> list[BatchResult]:
        def read() -> list[Any]:
            return list(self._client.messages.batches.results(batch_id))

        found: dict[str, BatchResult] = {}
        for line in _guarded(read):
            request = requests.get(line.custom_id)
            if request is None:
                continue
            result = line.result
            if result.type == "succeeded":
                found[line.custom_id] = _succeeded(line.custom_id, result.message, request)
            elif result.type == "errored":
                found[line.custom_id] = BatchResult(line.custom_id, error=_error_text(result))
            else:  # canceled, expired
                found[line.custom_id] = BatchResult(
                    line.custom_id, error=MSG_NOT_PROCESSED.replace("{reason}", result.type)
                )
        missing = MSG_NOT_PROCESSED.replace("{reason}", "no result")
        return [
            found.get(custom_id, BatchResult(custom_id, error=missing)) for custom_id in requests
        ]

    def cancel(self, batch_id: str) -> None:
        _guarded(lambda: self._client.messages.batches.cancel(batch_id))

    def close(self) -> None:
        self._client.close()
