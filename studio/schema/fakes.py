"""Realistic fake values (names, emails, cities, ...) from Faker, reproducibly.

Building a Faker instance takes milliseconds (it loads every provider), so one
is kept per locale and per thread, and re-seeded for every value: the value
then depends only on the seed it is given, never on what was drawn before.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from faker import Faker

__all__ = ["fake_value"]

# Per thread: re-seeding then drawing is two steps, and a worker thread must
# not re-seed an instance between another thread's two steps.
_local = threading.local()


def _faker(locale: str) -> Faker:
    cache: dict[str, Faker] | None = getattr(_local, "fakers", None)
    if cache is None:
        cache = _local.fakers = {}
    instance = cache.get(locale)
    if instance is None:
        # Imported here: Faker takes ~0.3 s to import, and most schemas never need it.
        from faker import Faker

        instance = cache[locale] = Faker(locale)
    return instance


def fake_value(field: str, locale: str, seed: int) -> str:
    """Faker's ``field`` (e.g. 'email') in ``locale``, determined by ``seed`` alone."""
    faker = _faker(locale)
    faker.seed_instance(seed)
    return str(getattr(faker, field)())
