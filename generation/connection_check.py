"""'Test connection' on a credential: one cheap provider call (listing models), reporting the
provider's own words when it fails."""

from __future__ import annotations

import asyncio

from django.conf import settings

from generation.providers import ProviderConfig, ProviderError, build_provider
from studio.crypto import SecretUnavailable
from studio.models import ProviderCredential
from studio.services import credential_api_key

# A check should answer quickly; a dead server is reported rather than waited on.
CHECK_TIMEOUT_SECONDS = 10


class ConnectionCheckFailed(Exception):
    """The message is the provider's, or says why the studio could not ask it."""


def credential_check_connection(*, credential: ProviderCredential, model: str | None = None) -> str:
    try:
        api_key = credential_api_key(credential=credential)
    except SecretUnavailable as exc:
        raise ConnectionCheckFailed(str(exc)) from exc
    config = ProviderConfig(
        provider=credential.provider,
        api_key=api_key,
        base_url=credential.base_url or None,
        timeout=min(settings.STUDIO_PROVIDER_TIMEOUT, CHECK_TIMEOUT_SECONDS),
    )
    return asyncio.run(_check(config, model))


async def _check(config: ProviderConfig, model: str | None) -> str:
    provider = build_provider(config)
    try:
        return await provider.check_connection(model)
    except ProviderError as exc:
        raise ConnectionCheckFailed(str(exc)) from exc
    finally:
        await provider.aclose()
