"""Provider plug-ins: one interface (``Provider.complete``, ``embed``, ``check_connection``),
one module per provider.

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
from generation.providers.simulator import SIMULATED_PREFIX, SimulatedProvider

if TYPE_CHECKING:
    from generation.providers.anthropic_provider import AnthropicProvider
    from generation.providers.openai_provider import OpenAIProvider

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
    "build_provider",
    "on_answer",
]


def __getattr__(name: str) -> Any:
    if name == "OpenAIProvider":
        from generation.providers.openai_provider import OpenAIProvider

        return OpenAIProvider
    if name == "AnthropicProvider":
        from generation.providers.anthropic_provider import AnthropicProvider

        return AnthropicProvider
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def build_provider(config: ProviderConfig) -> Provider:
    if config.provider in ("openai", "openai_compatible"):
        from generation.providers.openai_provider import OpenAIProvider

        return OpenAIProvider(config)
    if config.provider == "anthropic":
        from generation.providers.anthropic_provider import AnthropicProvider

        return AnthropicProvider(config)
    if config.provider == "simulator":
        return SimulatedProvider(config)
    raise ValueError(f"Unknown provider {config.provider!r}")
