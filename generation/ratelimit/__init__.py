"""Requests- and tokens-per-minute limiting per key (the app's key: ``f"{credential_id}:{model}"``),
shared by every worker: an in-memory backend for the embedded mode, a Redis backend for services.

Why GCRA (see core.py) rather than a sliding-window log or the ``limits`` library:

- A sliding-window log lets a whole minute's requests leave at once and then stalls; providers
  enforce their limits over shorter periods too (OpenAI quantizes per second, Anthropic refills a
  token bucket continuously), so that burst is exactly what earns 429s. GCRA paces calls evenly
  with a small burst, keeps ≤ limit in any window, and still uses ≥ 98 % of the budget.
- GCRA is one number per budget: an atomic Lua check-and-charge is O(1) and one round trip;
  a log is a sorted set per key that grows with the RPM (thousands of entries to scan and trim),
  and its token sums cannot be corrected afterwards without remembering which entry to fix.
- The same step reserves the slot, so a client sleeps exactly until its turn: no polling loop
  hammering Redis, no thundering herd when a window rolls over.
- ``limits`` (and ``pyrate-limiter``) answer "is this hit allowed now?" for one item per
  limit: no weighted reservation across two budgets at once (a call must fit both RPM and TPM
  and be charged to both at the same start time), no after-the-fact correction of a token
  charge, and no shared pause driven by response headers or 429s. Wrapping them would need
  extra Redis state and round trips beside theirs; the arithmetic here is twenty lines.
"""

from __future__ import annotations

import threading

from generation.ratelimit.core import (
    DEFAULT_PREFIX,
    LimiterConfig,
    RateLimiter,
    parse_duration,
    parse_reset,
    pause_from_headers,
)
from generation.ratelimit.limited import limited_call
from generation.ratelimit.memory import InMemoryRateLimiter
from generation.ratelimit.redis_backend import RedisRateLimiter

__all__ = [
    "DEFAULT_PREFIX",
    "InMemoryRateLimiter",
    "LimiterConfig",
    "RateLimiter",
    "RedisRateLimiter",
    "build_rate_limiter",
    "limited_call",
    "limiter",
    "parse_duration",
    "parse_reset",
    "pause_from_headers",
]

# One per process, shared by every chunk the process fills (every thread, every loop).
limiter = InMemoryRateLimiter()

_redis_limiters: dict[str, RedisRateLimiter] = {}
_redis_lock = threading.Lock()


def build_rate_limiter(redis_url: str | None) -> RateLimiter:
    """The process's limiter: Redis-backed (one per URL, so its per-loop clients are shared)
    when ``redis_url`` is set (settings.STUDIO_REDIS_URL), else the in-memory singleton."""
    if not redis_url:
        return limiter
    with _redis_lock:
        shared = _redis_limiters.get(redis_url)
        if shared is None:
            shared = _redis_limiters[redis_url] = RedisRateLimiter(redis_url)
        return shared
