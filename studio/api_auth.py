"""API authentication: a personal token (``Authorization: Bearer dst_…``) or the browser session."""

from __future__ import annotations

from django.http import HttpRequest
from ninja.security import HttpBearer, django_auth

from studio.services import api_token_authenticate
from studio.throttles import bearer_failure_record, bearer_failures_check


class ApiTokenAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> object | None:
        bearer_failures_check(request)  # 429 after too many wrong tokens from this address
        user = api_token_authenticate(plain=token)
        if user is not None:
            request.user = user
        else:
            bearer_failure_record(request)
        return user


api_auth = [ApiTokenAuth(), django_auth]
