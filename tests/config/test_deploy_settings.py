"""Services mode passes Django's deployment checklist; the embedded mode keeps plain HTTP on
this machine working (no redirect to HTTPS, no HSTS, no secure-only cookies)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
# security.W021: HSTS preloading commits the whole domain (and its subdomains) to HTTPS in
# browsers' built-in lists; only the domain's owner can decide it: DJANGO_SECURE_HSTS_PRELOAD.
ALLOWED = {"security.W021"}
SETTING_NAMES = (
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
)


def _env(**extra: str) -> dict[str, str]:
    """The test process's environment minus every studio/Django variable, plus ``extra``."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("STUDIO_", "DJANGO_")) and key not in {"DATABASE_URL", "REDIS_URL"}
    }
    return {**env, **extra}


def _services_env(**extra: str) -> dict[str, str]:
    return _env(
        DATABASE_URL=os.environ["DATABASE_URL"],
        REDIS_URL=os.environ["REDIS_URL"],
        DJANGO_SECRET_KEY="a-long-random-deployment-secret-" + "x7Qp2LrV9sKd4mZ8wNc1" * 2,
        STUDIO_ENCRYPTION_KEYS=os.environ["STUDIO_ENCRYPTION_KEYS"],
        DJANGO_ALLOWED_HOSTS="studio.example.com",
        **extra,
    )


def _manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO_ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "config.settings"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def _settings(env: dict[str, str]) -> dict[str, str]:
    code = "from django.conf import settings; " + "; ".join(
        f"print({name!r}, getattr(settings, {name!r}))" for name in SETTING_NAMES
    )
    done = _manage(env, "shell", "-c", code)
    assert done.returncode == 0, done.stderr
    pairs = (line.split(" ", 1) for line in done.stdout.splitlines() if " " in line)
    return {name: value for name, value in pairs if name in SETTING_NAMES}


def test_services_mode_passes_check_deploy():
    done = _manage(_services_env(), "check", "--deploy", "--fail-level", "WARNING")
    found = set(re.findall(r"\((\w+\.\w\d+)\)", done.stdout + done.stderr))
    assert found <= ALLOWED, done.stdout + done.stderr
    preload = _manage(
        _services_env(DJANGO_SECURE_HSTS_PRELOAD="true"),
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
    )
    assert preload.returncode == 0, preload.stdout + preload.stderr


def test_services_mode_serves_https_only_and_the_embedded_mode_plain_http(tmp_path):
    services = _settings(_services_env())
    assert services == {
        "SECURE_SSL_REDIRECT": "True",
        "SECURE_HSTS_SECONDS": "31536000",
        "SESSION_COOKIE_SECURE": "True",
        "CSRF_COOKIE_SECURE": "True",
    }
    embedded = _settings(_env(STUDIO_DATA_DIR=str(tmp_path)))
    assert embedded == {
        "SECURE_SSL_REDIRECT": "False",
        "SECURE_HSTS_SECONDS": "0",
        "SESSION_COOKIE_SECURE": "False",
        "CSRF_COOKIE_SECURE": "False",
    }
