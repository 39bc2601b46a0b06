"""The rate limiter's interface, its configuration and the pure scheduling arithmetic (GCRA)
that both backends share: the in-memory backend runs it in Python, the Redis backend runs the
same steps in Lua (redis_backend.py); keep the two in step.

GCRA, the "generic cell rate algorithm" (a leaky bucket kept as one number per budget: the
*theoretical arrival time* ``tat``, when the bucket would be full again). For a budget of
``limit`` units per ``window`` with a burst capacity of ``capacity`` units:

    interval = window × (1 + margin) / (limit + 1 − capacity)     seconds of budget one unit uses
    a call of ``cost`` units may start at  start ≥ tat − (capacity − min(cost, capacity)) × interval
    and then                               tat ← max(tat, start) + cost × interval

With that interval no half-open window of ``window`` seconds ever holds more than ``limit`` units
(n calls in a window satisfy (n − capacity) × interval < window), while a saturated run gets
(limit + 1 − capacity) / (limit × (1 + margin)) of the budget: ≥ 98 % with the defaults below
(1 % margin, 1 % burst), for any limit.

Requests always cost 1. A token estimate larger than the burst capacity cannot fit the bucket:
such a call waits until the bucket is full and leaves it in debt (the next calls wait for the
debt), which keeps the pace at ~98 % of the TPM. The window that ends with such a call then holds
at most limit / (1 + margin) + cost tokens, so it stays within the limit for calls up to about
2 % of the TPM (margin + burst) and otherwise may exceed it by the call's excess over that. The
alternative (making every big call wait for room it can never reuse) halves the throughput;
provider token limits are buckets themselves, and the estimate (max_tokens included) is far
above the real usage that record_usage later books.

Requests and tokens are two budgets of one key; a call starts when *both* allow it and is
charged to both at that start time. The reservation is made in the same step as the check, so
a client needs one round trip and then sleeps until its slot: no polling, no herd.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import re2

DEFAULT_PREFIX = "studio:ratelimit"


class RateLimiter(Protocol):
    """Requests and tokens per window (a minute in production) per key; the app's key is
    ``f"{credential_id}:{model}"``. Every method is safe to call from any thread's event loop."""

    async def acquire(self, key: str, *, rpm: int, tpm: int, tokens: int) -> None:
        """Wait until both budgets allow a call estimated at ``tokens``, and charge it.
        ``rpm``/``tpm`` ≤ 0 means that budget is unlimited."""
        ...

    async def record_usage(self, key: str, *, estimated: int, actual: int, tpm: int) -> None:
        """Correct the token budget once the provider reported the call's real usage."""
        ...

    async def observe_headers(self, key: str, headers: Mapping[str, str]) -> None:
        """Pause the key for every worker when the provider says a budget is (nearly) spent."""
        ...

    async def penalize(self, key: str, retry_after: float | None) -> None:
        """A 429: pause the key for every worker for ``retry_after`` seconds."""
        ...

    async def aclose(self) -> None:
        """Release what this event loop holds (the Redis connections); call at loop end."""
        ...


@dataclass(frozen=True)
class LimiterConfig:
    # The budget's period. 60 in production (RPM/TPM); tests shrink it to run in seconds.
    window_seconds: float = 60.0
    # The window is stretched by this fraction: it absorbs the jitter between the moment a slot
    # is granted and the moment the request reaches the provider (600 ms of a 60 s window).
    margin: float = 0.01
    # Burst capacity as a fraction of the limit (at least 1 unit). Small on purpose: providers
    # enforce limits over sub-minute periods too (OpenAI "quantizes" 60 000 RPM to 1 000 a
    # second; Anthropic's token bucket refills continuously), so a paced run is never 429'd
    # while a run that fires its whole minute at once is.
    burst_fraction: float = 0.01
    # observe_headers pauses when a budget's remaining is at or below this fraction of its
    # advertised limit (0 when the provider does not send the limit).
    low_fraction: float = 0.005
    # Longest pause a header or a 429 may impose at once: a skewed clock or a daily limit must
    # not freeze a key for hours; if still exhausted, the next answer pauses it again.
    max_pause: float = 300.0
    # Pause for a 429 or an exhausted budget that says nothing about when to come back.
    default_pause: float = 1.0
    # A key with no limit has nothing to charge, only pauses to honour: the Redis backend reads
    # its pause at most this often per event loop (a pause set by another worker is seen that
    # much later; this worker's own 429s and headers at once) instead of once per call.
    pause_recheck: float = 0.1


def budget(limit: int, config: LimiterConfig) -> tuple[float, int]:
    """``(interval, capacity)`` of a budget of ``limit`` units per window."""
    capacity = max(1, math.floor(limit * config.burst_fraction))
    interval = config.window_seconds * (1 + config.margin) / (limit + 1 - capacity)
    return interval, capacity


@dataclass
class KeyState:
    """One key's state: the theoretical arrival time of each budget, and the pause."""

    request_tat: float | None = None
    token_tat: float | None = None
    paused_until: float = 0.0


@dataclass(frozen=True)
class Grant:
    granted: bool  # False: the key is paused; wait, then ask again (the pause may be extended)
    wait: float  # seconds from now until the slot (or the end of the pause)


def reserve(
    state: KeyState, now: float, *, rpm: int, tpm: int, tokens: int, config: LimiterConfig
) -> Grant:
    """Check and charge one call; mutates ``state``. Mirrors ACQUIRE_LUA."""
    if state.paused_until > now:
        return Grant(False, state.paused_until - now)
    start = now
    request_tat = state.request_tat if state.request_tat is not None else now
    token_tat = state.token_tat if state.token_tat is not None else now
    if rpm > 0:
        r_interval, r_capacity = budget(rpm, config)
        start = max(start, request_tat - (r_capacity - 1) * r_interval)
    cost = min(tokens, tpm) if tpm > 0 and tokens > 0 else 0
    if cost:
        t_interval, t_capacity = budget(tpm, config)
        start = max(start, token_tat - (t_capacity - min(cost, t_capacity)) * t_interval)
    if rpm > 0:
        state.request_tat = max(request_tat, start) + r_interval
    if cost:
        state.token_tat = max(token_tat, start) + cost * t_interval
    return Grant(True, start - now)


def correct_usage(
    state: KeyState, now: float, *, estimated: int, actual: int, config: LimiterConfig, tpm: int
) -> None:
    """Move the token budget by what the call really used. Mirrors USAGE_LUA. A refund never
    makes the bucket fuller than full (``tat`` never goes below ``now``)."""
    if tpm <= 0:
        return
    delta = min(max(actual, 0), tpm) - min(max(estimated, 0), tpm)
    if delta == 0:
        return
    interval, _ = budget(tpm, config)
    base = max(state.token_tat if state.token_tat is not None else now, now)
    state.token_tat = max(now, base + delta * interval)


def pause(state: KeyState, now: float, seconds: float) -> None:
    """Extend (never shorten) the key's pause. Mirrors PAUSE_LUA."""
    state.paused_until = max(state.paused_until, now + seconds)


# ---- provider headers ------------------------------------------------------------------------

# RE2: the header is the provider's; re backtracks quadratically on a long run of digits.
_DURATION = re2.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
# (remaining, reset, limit) header names per budget. OpenAI's resets are durations ("6m0s"),
# Anthropic's are RFC 3339 times.
_OPENAI = [
    (f"x-ratelimit-remaining-{k}", f"x-ratelimit-reset-{k}", f"x-ratelimit-limit-{k}")
    for k in ("requests", "tokens")
]
_ANTHROPIC = [
    (
        f"anthropic-ratelimit-{k}-remaining",
        f"anthropic-ratelimit-{k}-reset",
        f"anthropic-ratelimit-{k}-limit",
    )
    for k in ("requests", "tokens", "input-tokens", "output-tokens")
]


def parse_duration(text: str) -> float | None:
    """Seconds in an OpenAI reset value: "1s", "6m0s", "20ms", "1h2m3.5s", or a bare number."""
    text = text.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    parts = _DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text.replace(" ", ""):
        return None
    scale = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
    return sum(float(number) * scale[unit] for number, unit in parts)


def parse_reset(text: str, wall_now: float) -> float | None:
    """Seconds until a reset given as a duration or as an RFC 3339 time."""
    seconds = parse_duration(text)
    if seconds is not None:
        return seconds
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    return max(0.0, moment.timestamp() - wall_now)


def _number(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        return None


def pause_from_headers(
    headers: Mapping[str, str], *, wall_now: float, config: LimiterConfig
) -> float:
    """How long every worker on the key should wait, from a response's rate-limit headers:
    the longest reset among budgets whose remaining is at or below the low-water mark (0: no
    budget is low). ``wall_now`` is ``time.time()``, for Anthropic's absolute reset times."""
    lowered = {k.lower(): v for k, v in headers.items()}
    longest = 0.0
    for remaining_name, reset_name, limit_name in _OPENAI + _ANTHROPIC:
        remaining = _number(lowered.get(remaining_name))
        if remaining is None:
            continue
        limit = _number(lowered.get(limit_name))
        low_water = math.floor(limit * config.low_fraction) if limit else 0
        if remaining > low_water:
            continue
        reset_text = lowered.get(reset_name)
        seconds = parse_reset(reset_text, wall_now) if reset_text else None
        if seconds is None:
            seconds = _number(lowered.get("retry-after"))
        longest = max(longest, config.default_pause if seconds is None else seconds)
    return min(longest, config.max_pause)


def clamp_pause(seconds: float | None, config: LimiterConfig) -> float:
    """A 429's retry-after, bounded (missing or nonsense: the default pause)."""
    if seconds is None or math.isnan(seconds) or seconds < 0:
        return config.default_pause
    return min(seconds, config.max_pause)
