"""Encryption at rest for provider keys and Hub tokens.

Fernet (from ``cryptography``) gives authenticated encryption; MultiFernet lets an operator rotate
keys by prepending a new one to ``STUDIO_ENCRYPTION_KEYS`` while old tokens still decrypt.
"""

from __future__ import annotations

import base64
import hashlib
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


class SecretUnavailable(Exception):
    """A stored secret cannot be decrypted with the configured keys."""


def _as_fernet(key: str) -> Fernet:
    try:
        return Fernet(key.encode())
    except ValueError:
        # Not a Fernet key: derive one, so a plain passphrase from the environment also works.
        digest = hashlib.sha256(key.encode()).digest()
        return Fernet(base64.urlsafe_b64encode(digest))


@cache
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([_as_fernet(key) for key in keys])


def encrypt_secret(plain: str) -> str:
    return _fernet(tuple(settings.STUDIO_ENCRYPTION_KEYS)).encrypt(plain.encode()).decode()


def decrypt_secret(token: str) -> str:
    try:
        return _fernet(tuple(settings.STUDIO_ENCRYPTION_KEYS)).decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise SecretUnavailable(
            "This secret cannot be decrypted with the current STUDIO_ENCRYPTION_KEYS; "
            "enter it again."
        ) from exc
