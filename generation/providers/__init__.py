"""Provider plug-ins: one interface (``Provider.complete``, ``embed``, ``check_connection``;
``batch.BatchClient`` for batch APIs), one sub-package per provider, one ``registry``.

The SDK-backed providers are imported on first use (``build_provider``, ``build_batch_client``):
the openai and anthropic SDKs are slow to import, and the pure modules that only need the
request and error types (the rate limiter, structured output, a worker process starting up)
should not pay for them."""

from __future__ import annotations

from generation.providers.answer_hook import on_answer
from generation.providers.base import (
    Completion,
    CompletionRequest,
    EmbeddingRequest,
    Embeddings,
    Message,
    Provider,
    ProviderConfig,
    ProviderError,
)
from generation.providers.registry import build_batch_client, build_provider

__all__ = [
    "Completion",
    "CompletionRequest",
    "EmbeddingRequest",
    "Embeddings",
    "Message",
    "Provider",
    "ProviderConfig",
    "ProviderError",
    "build_batch_client",
    "build_provider",
    "on_answer",
]
