"""How big a batch job may be and how long its steps wait: the batch settings, and the limits
of the providers' batch APIs and of the database that the jobs keep within."""

from __future__ import annotations

import os
from datetime import timedelta

from django.conf import settings

# A worker that claimed a job for sending and has not recorded the provider's id after this long
# is presumed dead; the next poll takes the job over.
SUBMIT_LEASE = timedelta(minutes=10)
MAX_SUBMIT_ATTEMPTS = 5
# Provider limits: OpenAI 50,000 requests and 200 MB a batch; Anthropic 100,000 and 256 MB.
# Stay under both, with a margin for the JSONL framing.
MAX_BATCH_BYTES = 150 * 1024 * 1024
# Batch management calls move whole files; give them more time than one online call.
MIN_BATCH_TIMEOUT = 300.0
# Keys in one ``IN (...)`` lookup, rows in one bulk statement.
IN_CLAUSE = 1000


def setting(name: str, default: float) -> float:
    """A batch setting from Django settings, else the environment, else ``default``."""
    value = getattr(settings, name, None)
    if value is None:
        return float(os.environ.get(name, default))
    return float(value)


def max_batch_requests() -> int:
    return int(setting("STUDIO_BATCH_MAX_REQUESTS", 50_000))
