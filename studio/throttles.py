"""Counters that slow down guessing where django-axes (the sign-in form) does not look: wrong API
bearer tokens per client address, and API token creations per user.

Fixed windows in Django's cache: Redis in services mode (every web process counts together),
process memory in the embedded mode. ``clock`` is module-level so tests can move time.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

clock = time.time

MSG_TOO_MANY_TOKENS_TRIED = "Too many wrong API tokens from this address; try again in {wait} s."
MSG_TOO_MANY_TOKENS_CREATED = (
    "You created {limit} tokens in the last hour; try again in {wait} min."
)
HOUR = 3600


@dataclass(frozen=True)
class Window:
    """One counter: at most ``limit`` events per ``seconds`` for one subject."""

    name: str
    limit: int
    seconds: int

    def _key(self, subject: str) -> tuple[str, int]:
        now = clock()
        start = int(now // self.seconds) * self.seconds
        return f"throttle:{self.name}:{subject}:{start}", int(start + self.seconds - now) + 1

    def wait(self, subject: str) -> int:
        """Seconds until the subject may try again; 0 when under the limit."""
        key, remaining = self._key(subject)
        return remaining if (cache.get(key) or 0) >= self.limit else 0

    def record(self, subject: str) -> None:
        key, remaining = self._key(subject)
        if not cache.add(key, 1, timeout=remaining + 1):
            try:
                cache.incr(key)
            except ValueError:  # expired between add and incr
                cache.add(key, 1, timeout=remaining + 1)


class TooManyAttempts(Exception):
    """Answered 429 with the message (the API maps it, pages render it)."""


def _bearer_window() -> Window:
    return Window(
        "api-token-failures",
        settings.STUDIO_API_TOKEN_FAILURE_LIMIT,
        settings.STUDIO_API_TOKEN_FAILURE_WINDOW,
    )


def _client_address(request: HttpRequest) -> str:
    # Behind a proxy, uvicorn --proxy-headers puts the client's address here.
    return request.META.get("REMOTE_ADDR") or "unknown"


def bearer_failures_check(request: HttpRequest) -> None:
    """Refuse, before looking the token up, a client that sent too many wrong tokens."""
    wait = _bearer_window().wait(_client_address(request))
    if wait:
        raise TooManyAttempts(MSG_TOO_MANY_TOKENS_TRIED.format(wait=wait))


def bearer_failure_record(request: HttpRequest) -> None:
    _bearer_window().record(_client_address(request))


def _creation_window() -> Window:
    return Window("api-token-creations", settings.STUDIO_API_TOKEN_CREATE_LIMIT, HOUR)


def token_creation_check(*, user_id: int) -> None:
    window = _creation_window()
    wait = window.wait(str(user_id))
    if wait:
        raise TooManyAttempts(
            MSG_TOO_MANY_TOKENS_CREATED.format(limit=window.limit, wait=(wait + 59) // 60)
        )


def token_creation_record(*, user_id: int) -> None:
    _creation_window().record(str(user_id))
