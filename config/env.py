"""Reading settings from the environment: each helper fails loudly, naming the variable, on a
value it cannot use (``ImproperlyConfigured`` stops the process at start, not later in a
worker). An unset or empty variable gives the default."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

__all__ = ["env_bool", "env_int", "env_list", "fernet_key", "local_secret", "random_secret_key"]


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {raw!r}")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, not {raw!r}") from exc
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, not {value}")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def local_secret(data_dir: Path, filename: str, make: Callable[[], str]) -> str:
    """A per-install secret kept in the ignored data folder (embedded mode only).

    Services mode must get its secrets from the environment, so that every web and worker
    process on every machine shares them; there this is never called.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / filename
    if not path.exists():
        path.write_text(make())
        path.chmod(0o600)
    return path.read_text().strip()


def random_secret_key() -> str:
    """A new random secret key."""
    return secrets.token_urlsafe(50)


def fernet_key() -> str:
    """A new key for the credentials' encryption."""
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()
