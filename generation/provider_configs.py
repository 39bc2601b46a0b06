"""The one way a credential's key is handed to a provider client: ``credential_provider_config``
decrypts it only for a base URL the install's policy allows at this moment.

Why here, at each client's construction (the connection check, a chunk's or a preview's
clients, a batch step's), and not only when the credential is saved: a host name checked at
save time can resolve to a private address later (DNS rebinding), and an install can turn
``STUDIO_ALLOW_PRIVATE_PROVIDER_URLS`` off after credentials were saved. Constructing a client
is the last step before the key leaves that knows the credential, and it is cheap: one
resolution per client (a chunk's clients serve its 100 rows; a worker's pooled clients are
built once), none when private addresses are allowed (the embedded default). What remains open:
the HTTP client resolves the name again when it connects, so a name whose answers change within
that moment is not caught; provider clients follow no redirects (see the providers)."""

from __future__ import annotations

from django.conf import settings

from generation.providers import ProviderConfig
from studio.crypto import SecretUnavailable
from studio.models import ProviderCredential
from studio.provider_urls import ProviderUrlRefused, check_base_url
from studio.services import credential_api_key


class CredentialUnusable(Exception):
    """The credential's key cannot be used now: it cannot be decrypted, or its base URL is not
    allowed. The message says which, for the user."""


def credential_provider_config(*, credential: ProviderCredential, timeout: float) -> ProviderConfig:
    """The client configuration for ``credential``; raises CredentialUnusable."""
    base_url = credential.base_url or None
    if base_url and not credential.is_simulated:
        try:
            check_base_url(base_url, allow_private=settings.STUDIO_ALLOW_PRIVATE_PROVIDER_URLS)
        except ProviderUrlRefused as exc:
            raise CredentialUnusable(str(exc)) from exc
    try:
        api_key = credential_api_key(credential=credential)
    except SecretUnavailable as exc:
        raise CredentialUnusable(str(exc)) from exc
    return ProviderConfig(
        provider=credential.provider, api_key=api_key, base_url=base_url, timeout=timeout
    )
