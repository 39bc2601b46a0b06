"""The one provider registry: every provider a user can pick has an online implementation, and
the batch clients are exactly those of the providers with a batch API."""

from generation.providers import ProviderConfig, build_batch_client, build_provider
from generation.providers.registry import BATCH_PROVIDERS, PROVIDERS
from studio.models import ProviderCredential


def test_every_choosable_provider_is_registered():
    assert set(ProviderCredential.Provider.values) == set(PROVIDERS)


def test_each_provider_builds_its_online_provider_and_only_batch_providers_a_batch_client():
    for name in PROVIDERS:
        config = ProviderConfig(provider=name, api_key="sk-test", base_url="http://127.0.0.1:9")
        assert build_provider(config) is not None
        if name in BATCH_PROVIDERS:
            client = build_batch_client(config)
            client.close()
    assert set(BATCH_PROVIDERS) == {"openai", "openai_compatible", "anthropic"}
