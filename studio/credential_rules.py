"""The one set of rules a credential's fields obey, whoever sends them: the API takes these models
as its request bodies, the forms run them in ``clean``, and the services run them again before
saving (so a caller that skips both still cannot store what the pages cannot show).

Limits are the database columns' (name length, price digits) or far beyond any real provider's
(requests and tokens per minute); a base URL must pass the install's provider URL policy
(studio.provider_urls). Each error names its field."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any

from django.conf import settings
from pydantic import BaseModel, Field, ValidationError, ValidationInfo, field_validator

from studio.models import ProviderCredential
from studio.provider_urls import ProviderUrlRefused, check_base_url

Provider = ProviderCredential.Provider

MAX_NAME_LENGTH = ProviderCredential._meta.get_field("name").max_length
MAX_BASE_URL_LENGTH = ProviderCredential._meta.get_field("base_url").max_length
# Real keys are 50-200 characters; a longer "key" is a paste gone wrong.
MAX_API_KEY_LENGTH = 1000
# Far above any provider tier (OpenAI's highest is tens of thousands a minute) and within the
# PositiveIntegerField columns (2**31 - 1).
MAX_REQUESTS_PER_MINUTE = 1_000_000
MAX_TOKENS_PER_MINUTE = 1_000_000_000
# The price columns: max_digits=10, decimal_places=4.
PRICE_DIGITS = 10
PRICE_DECIMAL_PLACES = 4

_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")

MSG_CONTROL_CHARACTERS = "must not contain control characters (such as NUL bytes or line breaks)"
MSG_NAME_BLANK = "A credential needs a name"
MSG_NEEDS_BASE_URL = "An OpenAI-compatible server needs its base URL"
MSG_NEEDS_KEY = "This provider needs an API key"
MSG_SIMULATOR_URL = "The simulator makes no network call: leave the base URL empty"
MSG_KEY_FOR_NEW_URL = (
    "Enter the API key again to change the base URL: the stored key is only ever sent where "
    "it was entered for"
)


class CredentialInvalid(Exception):
    """A credential field breaks a rule. ``field`` is the form and API field name."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def _plain_text(value: str) -> str:
    if _CONTROL_CHARACTERS.search(value):
        raise ValueError(MSG_CONTROL_CHARACTERS)
    return value


def _allowed_base_url(value: str) -> str:
    """A base URL the install's policy allows (empty: the provider's own public API)."""
    value = value.strip()
    if value:
        try:
            check_base_url(value, allow_private=settings.STUDIO_ALLOW_PRIVATE_PROVIDER_URLS)
        except ProviderUrlRefused as exc:
            raise ValueError(str(exc)) from exc
    return value


RequestsPerMinute = Annotated[int, Field(ge=1, le=MAX_REQUESTS_PER_MINUTE)]
TokensPerMinute = Annotated[int, Field(ge=1, le=MAX_TOKENS_PER_MINUTE)]
Price = Annotated[
    Decimal, Field(ge=0, max_digits=PRICE_DIGITS, decimal_places=PRICE_DECIMAL_PLACES)
]


class CredentialFields(BaseModel):
    """A new credential. Field order matters: ``base_url`` and ``api_key`` are checked against
    the ``provider`` validated before them."""

    name: str = Field(min_length=1, max_length=MAX_NAME_LENGTH)
    provider: Provider
    base_url: str = Field(default="", max_length=MAX_BASE_URL_LENGTH)
    api_key: str = Field(default="", max_length=MAX_API_KEY_LENGTH)
    requests_per_minute: RequestsPerMinute = 500
    tokens_per_minute: TokensPerMinute = 200_000
    input_price_per_million: Price | None = None
    output_price_per_million: Price | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        value = _plain_text(value).strip()
        if not value:
            raise ValueError(MSG_NAME_BLANK)
        return value

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, value: str, info: ValidationInfo) -> str:
        value = _allowed_base_url(_plain_text(value))
        provider = info.data.get("provider")
        if provider == Provider.OPENAI_COMPATIBLE and not value:
            raise ValueError(MSG_NEEDS_BASE_URL)
        if provider == Provider.SIMULATOR and value:
            raise ValueError(MSG_SIMULATOR_URL)
        return value

    @field_validator("api_key")
    @classmethod
    def _api_key(cls, value: str, info: ValidationInfo) -> str:
        value = _plain_text(value.strip())
        if info.data.get("provider") in (Provider.OPENAI, Provider.ANTHROPIC) and not value:
            raise ValueError(MSG_NEEDS_KEY)
        return value

    def service_arguments(self) -> dict[str, Any]:
        """The keyword arguments of ``services.credential_create``."""
        return {**self.model_dump(), "provider": str(self.provider.value)}


class CredentialChange(BaseModel):
    """A change to a credential: a new key, a new base URL, or both (None: unchanged). Whether
    the change is allowed for this credential (its provider, its stored key) is the service's
    to say (``services.credential_update``)."""

    api_key: str | None = Field(default=None, max_length=MAX_API_KEY_LENGTH)
    base_url: str | None = Field(default=None, max_length=MAX_BASE_URL_LENGTH)

    @field_validator("api_key")
    @classmethod
    def _api_key(cls, value: str | None) -> str | None:
        return None if value is None else _plain_text(value.strip())

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, value: str | None) -> str | None:
        return None if value is None else _allowed_base_url(_plain_text(value))


def first_error(exc: ValidationError) -> CredentialInvalid:
    """The first broken rule of a validation, as the services raise it."""
    error = exc.errors()[0]
    field = str(error["loc"][0]) if error["loc"] else "__all__"
    return CredentialInvalid(field, error_message(error))


def error_message(error: Any) -> str:
    """A pydantic error's message without pydantic's "Value error, " prefix."""
    message = str(error["msg"])
    return message.removeprefix("Value error, ")


def field_errors(exc: ValidationError) -> dict[str, list[str]]:
    """Every broken rule, by field, for a form."""
    errors: dict[str, list[str]] = {}
    for error in exc.errors():
        field = str(error["loc"][0]) if error["loc"] else "__all__"
        errors.setdefault(field, []).append(error_message(error))
    return errors
