"""The type of a request whose user has signed in (past ``login_required`` or the API's
authentication). Only a type: views annotate ``request`` with it, so the services, which take a
``User``, are handed one and mypy does not see ``AnonymousUser`` there."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails


class SignedInRequest(HttpRequest):
    user: User
    htmx: HtmxDetails  # set by django-htmx's middleware on every request
