"""Provider plug-ins: one interface (``Provider.complete``, ``embed``, ``check_connection``;
``batch.BatchClient`` for batch APIs), one sub-package per provider, one ``registry``.

The SDK-backed providers are imported on first use (``build_provider`` or attribute access):
the openai and anthropic SDKs take ~2.5 s to import, and the pure modules that only need the
request and error types (the rate limiter, structured output, a worker process starting up)
should not pay for them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from generation.providers.base import (
    Completion,
    CompletionRequest,
    Message,
    Provider,
    ProviderConfig,
    ProviderError,
    on_answer,
)
from generation.providers.registry import build_batch_client, build_provider
from generation.providers.simulator.online import SIMULATED_PREFIX, SimulatedProvider

if TYPE_CHECKING:
    from generation.providers.anthropic.online import AnthropicProvider
    from generation.providers.openai.online import OpenAIProvider

__all__ = [
    "SIMULATED_PREFIX",
    "AnthropicProvider",
    "Completion",
    "CompletionRequest",
    "Message",
    "OpenAIProvider",
    "Provider",
    "ProviderConfig",
    "ProviderError",
    "SimulatedProvider",
    "build_batch_client",
    "build_provider",
    "on_answer",
]


def __getattr__(name: str) -> Any:
    if name == "OpenAIProvider":
        from generation.providers.openai.online import OpenAIProvider

        return OpenAIProvider
    if name == "AnthropicProvider":
        from generation.providers.anthropic.online import AnthropicProvider

        return AnthropicProvider
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
