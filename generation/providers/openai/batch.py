"""OpenAI's Batch API (and OpenAI-compatible servers that implement it) through the ``openai``
SDK: upload the requests as a JSONL file (``purpose="batch"``), create a batch on
``/v1/chat/completions`` with a 24 h window, read its state, download its output and error files,
cancel it.

Each JSONL line is ``{"custom_id", "method": "POST", "url": "/v1/chat/completions", "body"}``
where ``body`` is what the online provider sends (``online.chat_body``). Output lines are
``{"custom_id", "response": {"status_code", "body"}, "error"}``; failed requests land in the
error file with a non-200 ``status_code`` and the API's error body, or with ``error`` set (e.g.
expired) and no response."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Final, TypeVar

import openai

from generation.providers.base import Completion, CompletionRequest, ProviderConfig, ProviderError
from generation.providers.batch import (
    MSG_NOT_PROCESSED,
    BatchItem,
    BatchResult,
    BatchState,
    Submitted,
    status_error,
)
from generation.providers.openai.online import chat_body, chat_completion
from generation.providers.sdk_errors import error_message, sdk_guarded_sync

T = TypeVar("T")
ENDPOINT: Final = "/v1/chat/completions"
ENDED = ("completed", "expired", "cancelled", "failed")
# How many of the newest batches ``find_submitted`` looks through.
FIND_LIMIT = 100
METADATA_JOB = "studio_job"


def _guarded(call: Callable[[], T]) -> T:
    return sdk_guarded_sync(call, openai)


def _completion(body: Any) -> Completion | str:
    """The completion in a chat-completions answer body, or why there is none."""
    try:
        return chat_completion(body)
    except ProviderError as exc:
        return exc.message


def _line_result(line: dict[str, Any]) -> BatchResult:
    custom_id = str(line.get("custom_id"))
    response = line.get("response") or {}
    status = response.get("status_code")
    if status == 200:
        found = _completion(response.get("body"))
        if isinstance(found, Completion):
            return BatchResult(custom_id, completion=found)
        return BatchResult(custom_id, error=found)
    error = line.get("error")
    if response:
        message = error_message(response.get("body"), f"The request failed ({status})")
        return BatchResult(custom_id, error=status_error(status, message))
    if isinstance(error, dict) and error.get("message"):
        return BatchResult(custom_id, error=str(error["message"]))
    return BatchResult(custom_id, error="The request failed without a message")


class OpenAIBatchClient:
    def __init__(self, config: ProviderConfig) -> None:
        self._client = openai.OpenAI(
            api_key=config.api_key or "not-needed",
            base_url=config.base_url or None,
            timeout=config.timeout,
            max_retries=0,
            # No redirects: they would lead the key to an unchecked URL (provider_configs.py).
            http_client=openai.DefaultHttpxClient(follow_redirects=False),
        )

    def submit(self, items: list[BatchItem], *, metadata: dict[str, str]) -> Submitted:
        lines = [
            json.dumps(
                {
                    "custom_id": item.custom_id,
                    "method": "POST",
                    "url": ENDPOINT,
                    "body": chat_body(item.request),
                },
                ensure_ascii=False,
            )
            for item in items
        ]
        content = ("\n".join(lines) + "\n").encode()
        uploaded = _guarded(
            lambda: self._client.files.create(
                file=("studio-batch.jsonl", content, "application/jsonl"), purpose="batch"
            )
        )
        batch = _guarded(
            lambda: self._client.batches.create(
                input_file_id=uploaded.id,
                endpoint=ENDPOINT,
                completion_window="24h",
                metadata=metadata,
            )
        )
        return Submitted(batch_id=batch.id, input_file_id=uploaded.id)

    def find_submitted(self, job_marker: str) -> Submitted | None:
        """A batch created earlier with ``metadata[studio_job] == job_marker`` (a worker that
        died between creating a batch and recording its id), among the newest batches."""
        page = _guarded(lambda: self._client.batches.list(limit=FIND_LIMIT))
        for batch in page.data:
            if (batch.metadata or {}).get(METADATA_JOB) == job_marker:
                return Submitted(batch_id=batch.id, input_file_id=batch.input_file_id)
        return None

    def state(self, batch_id: str) -> BatchState:
        batch = _guarded(lambda: self._client.batches.retrieve(batch_id))
        counts = batch.request_counts
        error = None
        if batch.status == "failed":
            found = [e.message for e in ((batch.errors.data if batch.errors else None) or [])]
            error = "The provider refused the batch: " + (
                "; ".join(m for m in found if m)[:1000] or "no reason given"
            )
        return BatchState(
            ended=batch.status in ENDED,
            status=batch.status,
            succeeded=counts.completed if counts else 0,
            failed=counts.failed if counts else 0,
            error=error,
        )

    def _file_lines(self, file_id: str | None) -> list[dict[str, Any]]:
        if not file_id:
            return []
        text = _guarded(lambda: self._client.files.content(file_id)).text
        lines = []
        for raw in text.splitlines():
            if raw.strip():
                try:
                    lines.append(json.loads(raw))
                except ValueError as exc:
                    raise ProviderError(
                        f"The provider sent an invalid batch result line: {exc}", retryable=True
                    ) from exc
        return lines

    def results(self, batch_id: str, requests: dict[str, CompletionRequest]) -> list[BatchResult]:
        batch = _guarded(lambda: self._client.batches.retrieve(batch_id))
        found: dict[str, BatchResult] = {}
        for line in self._file_lines(batch.output_file_id) + self._file_lines(batch.error_file_id):
            result = _line_result(line)
            if result.custom_id in requests:
                found[result.custom_id] = result
        missing = MSG_NOT_PROCESSED.replace("{reason}", batch.status)
        return [
            found.get(custom_id, BatchResult(custom_id, error=missing)) for custom_id in requests
        ]

    def cancel(self, batch_id: str) -> None:
        _guarded(lambda: self._client.batches.cancel(batch_id))

    def close(self) -> None:
        self._client.close()
