"""Settings read from the environment refuse values that would break the studio, with the
variable's name in the message, instead of failing later in a worker."""

import os
import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.env import env_int


def test_a_number_setting_below_its_minimum_is_refused_with_its_name(monkeypatch):
    monkeypatch.setenv("STUDIO_BUDGET_HOLD_SECONDS", "0")
    with pytest.raises(ImproperlyConfigured, match="STUDIO_BUDGET_HOLD_SECONDS must be at least"):
        env_int("STUDIO_BUDGET_HOLD_SECONDS", 60, minimum=10)
    monkeypatch.setenv("STUDIO_BUDGET_HOLD_SECONDS", "ten")
    with pytest.raises(ImproperlyConfigured, match="must be an integer, not 'ten'"):
        env_int("STUDIO_BUDGET_HOLD_SECONDS", 60, minimum=10)
    monkeypatch.setenv("STUDIO_BUDGET_HOLD_SECONDS", "10")
    assert env_int("STUDIO_BUDGET_HOLD_SECONDS", 60, minimum=10) == 10
    monkeypatch.delenv("STUDIO_BUDGET_HOLD_SECONDS")
    assert env_int("STUDIO_BUDGET_HOLD_SECONDS", 60, minimum=10) == 60


def test_the_studio_does_not_start_with_a_chunk_size_of_zero():
    env = {**os.environ, "STUDIO_CHUNK_SIZE": "0", "DJANGO_SETTINGS_MODULE": "config.settings"}
    done = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode != 0
    assert "STUDIO_CHUNK_SIZE must be at least 1, not 0" in done.stderr


def _setting_in_a_fresh_process(env: dict[str, str], name: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", f"from django.conf import settings; print(settings.{name})"],
        capture_output=True,
        text=True,
        env={**env, "DJANGO_SETTINGS_MODULE": "config.settings"},
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_private_provider_urls_are_allowed_in_embedded_mode_only_unless_set(tmp_path):
    services = {k: v for k, v in os.environ.items() if k != "STUDIO_ALLOW_PRIVATE_PROVIDER_URLS"}
    embedded = {k: v for k, v in services.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    embedded["STUDIO_DATA_DIR"] = str(tmp_path)
    name = "STUDIO_ALLOW_PRIVATE_PROVIDER_URLS"
    assert _setting_in_a_fresh_process(services, name) == "False"
    assert _setting_in_a_fresh_process(embedded, name) == "True"
    assert _setting_in_a_fresh_process({**services, name: "true"}, name) == "True"
