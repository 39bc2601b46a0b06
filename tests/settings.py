"""Settings for the test suite: services mode (PostgreSQL, Dramatiq on Redis, channels-redis),
the services this machine and CI start. pytest-django reads this module before any conftest
runs, so the environment is set here; `make test` passes the same values explicitly."""

import os

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/14")
os.environ.setdefault("DJANGO_SECRET_KEY", "test-only-secret-key-not-for-production")
os.environ.setdefault("STUDIO_ENCRYPTION_KEYS", "dGVzdC1vbmx5LWtleS10ZXN0LW9ubHkta2V5LXRlc3Q=")
os.environ.setdefault("DJANGO_SECURE_COOKIES", "false")
os.environ.setdefault("STUDIO_QUEUE_NAMESPACE", f"studio-test-{os.getpid()}")
os.environ.setdefault("STUDIO_CHANNELS_PREFIX", f"studio-test-live-{os.getpid()}")
os.environ.setdefault("STUDIO_TEST_DATABASE_NAME", "test_studio")
# Security: counters of this run only; wrong API tokens (the access tests send many from
# 127.0.0.1) are not limited unless a test asks (tests/studio/test_rate_limits.py).
os.environ.setdefault("STUDIO_CACHE_PREFIX", f"studio-test-cache-{os.getpid()}")
os.environ.setdefault("STUDIO_API_TOKEN_FAILURE_LIMIT", "1000000")
os.environ["HF_HUB_DISABLE_XET"] = "1"
# The fake providers listen on 127.0.0.1, which services mode refuses by default; set in the
# environment so the worker processes some tests start allow it too. The tests of the refusal
# turn it off.
os.environ["STUDIO_ALLOW_PRIVATE_PROVIDER_URLS"] = "true"

from config.settings import *  # noqa: F403

# Tests retry fast: the policy is the same, the waits are shorter.
STUDIO_PROVIDER_TIMEOUT = 10
# Worker threads close their connection after each message, so the test database can be dropped.
DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405
# Creating the cast of users with the real hasher costs a second per test.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Provider batches are polled quickly in tests.
STUDIO_BATCH_POLL_SECONDS = 0.2
# Embedded mode's database, for the few tests of SQL written per database vendor
# (pytest-django creates it, in memory, only for tests that ask for it).
DATABASES["embedded"] = {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}  # noqa: F405
# No stalled-run sweeper thread in the workers the tests start in this process: the sweep is
# tested by calling it (tests/generation/worker/test_stalled_runs.py).
STUDIO_STALLED_RUN_CHECK_SECONDS = 0
