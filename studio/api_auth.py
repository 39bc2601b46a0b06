"""API authentication: a personal token (``Authorization: Bearer dst_…``) or the browser session.

A request that sends a bearer token is judged by the token alone: an unknown or revoked one is a
401, never a fall back to the session (whose CSRF check would answer a misleading 403, and which
a script sending a token did not mean to use)."""

from __future__ import annotations

from django.http import HttpRequest
from ninja.errors import AuthenticationError
from ninja.security import HttpBearer, django_auth

from studio.services import api_token_authenticate
from studio.throttles import bearer_failure_record, bearer_failures_check


class ApiTokenAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> object | None:
        bearer_failures_check(request)  # 429 after too many wrong tokens from this address
        user = api_token_authenticate(plain=token)
        if user is None:
            bearer_failure_record(request)
            raise AuthenticationError()
        request.user = user
        return user


api_auth = [ApiTokenAuth(), django_auth]
