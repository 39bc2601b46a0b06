"""The one list of providers: each name maps to the factory of its online provider and, when it
has a batch API, of its batch client. Adding a provider is one sub-package
(``providers/<name>/online.py``, optionally ``batch.py``) and one entry here.

The factories import their module on first use: the openai and anthropic SDKs are slow to
import, which the pure modules and a worker process starting up should not pay for. This module
imports no implementation at load time, so the implementations can import the interfaces
(``base``, ``batch``) without a cycle."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from generation.providers.base import Provider, ProviderConfig
from generation.providers.batch import BatchClient


@dataclass(frozen=True)
class ProviderEntry:
    online: Callable[[ProviderConfig], Provider]
    batch: Callable[[ProviderConfig], BatchClient] | None = None


def _openai(config: ProviderConfig) -> Provider:
    from generation.providers.openai.online import OpenAIProvider

    return OpenAIProvider(config)


def _openai_batch(config: ProviderConfig) -> BatchClient:
    from generation.providers.openai.batch import OpenAIBatchClient

    return OpenAIBatchClient(config)


def _anthropic(config: ProviderConfig) -> Provider:
    from generation.providers.anthropic.online import AnthropicProvider

    return AnthropicProvider(config)


def _anthropic_batch(config: ProviderConfig) -> BatchClient:
    from generation.providers.anthropic.batch import AnthropicBatchClient

    return AnthropicBatchClient(config)


def _simulator(config: ProviderConfig) -> Provider:
    from generation.providers.simulator.online import SimulatedProvider

    return SimulatedProvider(config)


PROVIDERS: dict[str, ProviderEntry] = {
    "openai": ProviderEntry(online=_openai, batch=_openai_batch),
    "openai_compatible": ProviderEntry(online=_openai, batch=_openai_batch),
    "anthropic": ProviderEntry(online=_anthropic, batch=_anthropic_batch),
    "simulator": ProviderEntry(online=_simulator),
}

# The providers that have a batch API. The simulator answers online.
BATCH_PROVIDERS = tuple(name for name, entry in PROVIDERS.items() if entry.batch is not None)


def build_provider(config: ProviderConfig) -> Provider:
    entry = PROVIDERS.get(config.provider)
    if entry is None:
        raise ValueError(f"Unknown provider {config.provider!r}")
    return entry.online(config)


def build_batch_client(config: ProviderConfig) -> BatchClient:
    entry = PROVIDERS.get(config.provider)
    if entry is None or entry.batch is None:
        raise ValueError(f"The provider {config.provider!r} has no batch API")
    return entry.batch(config)
