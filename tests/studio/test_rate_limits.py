"""Guessing is slowed down: the sign-in form locks a username from one address after a few
wrong passwords (django-axes), wrong API bearer tokens lock their address out for a window, and
API tokens cannot be minted without bound. Time moves with fake clocks, never with sleeps."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from studio import throttles
from studio.models import ApiToken
from studio.services import api_token_create
from tests.fixtures import PASSWORD

pytestmark = pytest.mark.django_db


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def fake_clock(monkeypatch) -> FakeClock:
    clock = FakeClock()
    monkeypatch.setattr(throttles, "clock", clock)
    return clock


def _sign_in(address: str, password: str):
    client = Client(REMOTE_ADDR=address)
    response = client.post("/login/", {"username": "owner", "password": password})
    return client, response


def test_the_sign_in_form_locks_a_username_from_an_address_after_failures(
    owner, settings, monkeypatch
):
    settings.AXES_FAILURE_LIMIT = 3
    settings.AXES_COOLOFF_TIME = timedelta(minutes=15)
    start = timezone.now()
    monkeypatch.setattr("axes.handlers.proxy.now", lambda: start)
    for _ in range(2):
        assert _sign_in("198.51.100.1", "wrong")[1].status_code == 200  # the form, with its error
    locked = _sign_in("198.51.100.1", "wrong")[1]
    assert locked.status_code == 429
    assert "Too many failed sign-ins" in locked.content.decode()
    # Locked: even the right password is refused from that address...
    assert _sign_in("198.51.100.1", PASSWORD)[1].status_code == 429
    # ...but not from another one,
    assert _sign_in("198.51.100.2", PASSWORD)[1].status_code == 302
    # and the cool-off ends.
    monkeypatch.setattr("axes.handlers.proxy.now", lambda: start + timedelta(minutes=16))
    client, response = _sign_in("198.51.100.1", PASSWORD)
    assert response.status_code == 302
    assert client.get("/").status_code == 200


def _api(address: str, token: str):
    return Client(REMOTE_ADDR=address).get(
        "/api/projects", headers={"Authorization": f"Bearer {token}"}
    )


def test_wrong_bearer_tokens_lock_their_address_out_for_a_window(owner, settings, fake_clock):
    settings.STUDIO_API_TOKEN_FAILURE_LIMIT = 3
    settings.STUDIO_API_TOKEN_FAILURE_WINDOW = 60
    _, good = api_token_create(user=owner, name="cli")
    address = "203.0.113.9"
    assert _api(address, good).status_code == 200
    for guess in ("dst_guess1", "dst_guess2", "not-even-a-token"):
        assert _api(address, guess).status_code in (401, 403)
    refused = _api(address, good)
    assert refused.status_code == 429
    assert "Too many wrong API tokens" in refused.json()["detail"]
    assert _api("203.0.113.10", good).status_code == 200  # other addresses are not affected
    fake_clock.now += 61
    assert _api(address, good).status_code == 200


def test_the_token_page_refuses_to_create_tokens_without_bound(owner, settings, fake_clock):
    settings.STUDIO_API_TOKEN_CREATE_LIMIT = 2
    client = Client()
    client.force_login(owner)
    for name in ("one", "two"):
        assert client.post("/settings/tokens/", {"name": name}).status_code == 200
    refused = client.post("/settings/tokens/", {"name": "three"})
    assert refused.status_code == 429
    assert "You created 2 tokens in the last hour" in refused.content.decode()
    assert ApiToken.objects.filter(user=owner).count() == 2
    other = get_user_model().objects.create_user("other", password=PASSWORD)
    client.force_login(other)
    assert client.post("/settings/tokens/", {"name": "mine"}).status_code == 200
    client.force_login(owner)
    fake_clock.now += 3600
    assert client.post("/settings/tokens/", {"name": "three"}).status_code == 200
    assert ApiToken.objects.filter(user=owner).count() == 3
