"""Provider plug-ins: one interface (``Provider.complete``), one module per provider."""

from generation.providers.anthropic_provider import AnthropicProvider
from generation.providers.base import (
    Completion,
    CompletionRequest,
    Provider,
    ProviderConfig,
    ProviderError,
)
from generation.providers.openai_provider import OpenAIProvider
from generation.providers.simulator import SIMULATED_PREFIX, SimulatedProvider

__all__ = [
    "SIMULATED_PREFIX",
    "Completion",
    "CompletionRequest",
    "Provider",
    "ProviderConfig",
    "ProviderError",
    "build_provider",
]


def build_provider(config: ProviderConfig) -> Provider:
    if config.provider in ("openai", "openai_compatible"):
        return OpenAIProvider(config)
    if config.provider == "anthropic":
        return AnthropicProvider(config)
    if config.provider == "simulator":
        return SimulatedProvider(config)
    raise ValueError(f"Unknown provider {config.provider!r}")
