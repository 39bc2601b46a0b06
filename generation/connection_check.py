"""'Test connection' on a credential: one cheap provider call (listing models), reporting the
provider's own error message when it fails, and never more of the server's answer than a short,
cleaned status line: the base URL may point anywhere its user chose, and what an internal service
answers is not theirs to read (generation/providers/sdk_errors.py, ``sdk_error``)."""

from __future__ import annotations

import asyncio

from django.conf import settings

from generation.provider_configs import CredentialUnusable, credential_provider_config
from generation.providers import ProviderConfig, ProviderError, build_provider
from studio.models import ProviderCredential

# A check should answer quickly; a dead server is reported rather than waited on.
CHECK_TIMEOUT_SECONDS = 10


class ConnectionCheckFailed(Exception):
    """The message is the provider's, or says why the studio could not ask it."""


def credential_check_connection(*, credential: ProviderCredential, model: str | None = None) -> str:
    try:
        config = credential_provider_config(
            credential=credential,
            timeout=min(settings.STUDIO_PROVIDER_TIMEOUT, CHECK_TIMEOUT_SECONDS),
        )
    except CredentialUnusable as exc:  # refused before any connection is tried
        raise ConnectionCheckFailed(str(exc)) from exc
    return asyncio.run(_check(config, model))


async def _check(config: ProviderConfig, model: str | None) -> str:
    provider = build_provider(config)
    try:
        return await provider.check_connection(model)
    except ProviderError as exc:
        raise ConnectionCheckFailed(str(exc)) from exc
    finally:
        await provider.aclose()
