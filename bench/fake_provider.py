"""The benchmark's provider: the test suite's fake OpenAI/Anthropic server in a process of its
own (so the CPU the benchmark measures is the studio's alone), with the knobs a benchmark needs
on top of the suite's: a tokens-per-minute limit, a random error rate, sub-minute enforcement of
both limits, and a log of every generation request for the rates and the 429 share.

    python -m bench.fake_provider [--port 0]    # prints "PORT <n>", serves until SIGTERM

Control (JSON over HTTP, on the same port):
    POST /bench/configure {"latency": 0.2, "rpm_limit": 600, "tpm_limit": null,
                           "error_rate": 0.0, "bucket_seconds": 1.0, "seed": 1,
                           "burst_every": 0, "burst_seconds": 0, "burst_retry_after": 1,
                           "log_prompts": false}
        resets the server (records, windows) and applies the knobs; a 429 burst answers every
        generation request with 429 (retry-after ``burst_retry_after``) for ``burst_seconds``
        out of every ``burst_every`` seconds, counted from the configure (make chaos);
    GET  /bench/stats  -> {"requests": [[arrival, done, status], ...]}  (wall-clock seconds;
        with ``log_prompts`` each entry has a fourth item: the last user message's first
        200 characters, to tell which row and column a request was for)

Limits are enforced twice, as providers do: over a sliding 60 s window (the suite's fake), and
over shorter periods by a bucket refilled continuously at limit/60 per second that holds
``bucket_seconds`` worth of the limit (Anthropic's token bucket; OpenAI quantizes per second).
A client that fires a minute's budget at once is therefore 429'd, as it would be in production.
TPM counts what the answer's usage reports (prompt + completion tokens)."""

from __future__ import annotations

import argparse
import json
import math
import random
import signal
import sys
import threading
import time
from typing import Any

from tests.fakes import llm_server
from tests.fakes.llm_server import (
    ANSWER_PREFIX,
    GENERATION_PATHS,
    PROMPT_CHARS,
    FakeLLMServer,
    RecordedRequest,
    Reply,
    count_tokens,
    json_reply,
)

# Hundreds of connections open at once (one pool per chunk): a listen backlog of 5 (the
# socketserver default) would drop SYNs and add 1 s retransmits to the measured latency.
llm_server._QuietServer.request_queue_size = 1024


class _Bucket:
    """Continuously refilled bucket: ``capacity`` units, ``rate`` units per second."""

    def __init__(self, limit: int, bucket_seconds: float) -> None:
        self.rate = limit / 60.0
        self.capacity = max(1.0, limit * bucket_seconds / 60.0)
        self.level = self.capacity
        self.stamp = time.monotonic()

    def take(self, cost: float, now: float) -> float:
        """Take ``cost`` units; 0 when taken, else the seconds until they would be there."""
        self.level = min(self.capacity, self.level + (now - self.stamp) * self.rate)
        self.stamp = now
        cost = min(cost, self.capacity)
        if self.level >= cost:
            self.level -= cost
            return 0.0
        return (cost - self.level) / self.rate


class BenchLLMServer(FakeLLMServer):
    # ``latency`` as the base class reads it per request: the configured mean, spread uniformly
    # by ``latency_jitter`` (0.25: ±25 %), as real providers' latencies spread.
    @property
    def latency(self) -> float:
        if not self.latency_jitter:
            return self._latency
        return self._latency * (1 + self.latency_jitter * (2 * self._jitter_rng.random() - 1))

    @latency.setter
    def latency(self, value: float) -> None:
        self._latency = value

    def reset(self) -> None:
        self.latency_jitter = 0.0  # before the base class's reset sets and may read latency
        self._jitter_rng = random.Random(1)
        super().reset()
        with self._lock:
            self.tpm_limit: int | None = None
            self.error_rate: float = 0.0
            self.bucket_seconds: float = 1.0
            self._rng = random.Random(1)
            self._request_bucket: _Bucket | None = None
            self._token_bucket: _Bucket | None = None
            self._token_window: list[tuple[float, int]] = []
            self.log: list[tuple] = []
            self.burst_every = 0.0
            self.burst_seconds = 0.0
            self.burst_retry_after = 1
            self.log_prompts = False
            self._configured_at = time.monotonic()

    def configure(self, knobs: dict[str, Any]) -> None:
        self.reset()
        with self._lock:
            self.latency = float(knobs.get("latency") or 0.0)
            self.latency_jitter = float(knobs.get("latency_jitter") or 0.0)
            self._jitter_rng = random.Random(knobs.get("seed", 1))
            self.rpm_limit = knobs.get("rpm_limit") or None
            self.tpm_limit = knobs.get("tpm_limit") or None
            self.error_rate = float(knobs.get("error_rate") or 0.0)
            self.bucket_seconds = float(knobs.get("bucket_seconds") or 1.0)
            self.burst_every = float(knobs.get("burst_every") or 0.0)
            self.burst_seconds = float(knobs.get("burst_seconds") or 0.0)
            self.burst_retry_after = int(knobs.get("burst_retry_after") or 1)
            self.log_prompts = bool(knobs.get("log_prompts"))
            self._rng = random.Random(knobs.get("seed", 1))
            if self.rpm_limit:
                self._request_bucket = _Bucket(self.rpm_limit, self.bucket_seconds)
            if self.tpm_limit:
                self.tokens_limit = self.tpm_limit  # advertised in the rate-limit headers
                self._token_bucket = _Bucket(self.tpm_limit, self.bucket_seconds)
            # Only generation requests are logged, and the base class need not keep them all.
            self.requests = _Discard()

    # ---- control and logging -------------------------------------------------------------

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Reply:
        if path.startswith("/bench/"):
            return self._control(method, path, body)
        arrival = time.time()
        reply = super().handle(method, path, headers, body)
        if method == "POST" and path.split("?")[0].rstrip("/") in GENERATION_PATHS:
            entry: tuple = (arrival, time.time(), reply.status)
            if self.log_prompts:
                entry += (_last_user_message(body)[:200],)
            with self._lock:
                self.log.append(entry)
        return reply

    def _control(self, method: str, path: str, body: bytes) -> Reply:
        if method == "POST" and path == "/bench/configure":
            self.configure(json.loads(body or b"{}"))
            return json_reply(200, {"ok": True})
        if method == "GET" and path == "/bench/stats":
            with self._lock:
                return json_reply(200, {"requests": list(self.log)})
        return json_reply(404, {"error": f"unknown {method} {path}"})

    # ---- limits and errors ---------------------------------------------------------------

    @staticmethod
    def _usage_tokens(req: RecordedRequest) -> int:
        answer = ANSWER_PREFIX + req.last_user_message[:PROMPT_CHARS]
        return FakeLLMServer._prompt_tokens(req) + count_tokens(answer)

    def _generate(self, req: RecordedRequest) -> Reply:
        now = time.monotonic()
        with self._lock:
            wait = 0.0
            if self._request_bucket is not None:
                wait = self._request_bucket.take(1, now)
            if not wait and self.tpm_limit:
                tokens = self._usage_tokens(req)
                self._token_window = [(t, n) for t, n in self._token_window if t > now - 60]
                if sum(n for _, n in self._token_window) + tokens > self.tpm_limit:
                    wait = self._token_window[0][0] + 60 - now if self._token_window else 1.0
                elif self._token_bucket is not None:
                    wait = self._token_bucket.take(tokens, now)
                if not wait:
                    self._token_window.append((now, tokens))
            if self.burst_every and (now - self._configured_at) % self.burst_every < (
                self.burst_seconds
            ):
                retry_after = str(self.burst_retry_after)
                return self.error_reply(req.provider, 429, headers={"retry-after": retry_after})
            if wait:
                retry_after = str(max(1, math.ceil(wait)))
                return self.error_reply(req.provider, 429, headers={"retry-after": retry_after})
            if self.error_rate and self._rng.random() < self.error_rate:
                return self.error_reply(req.provider, 503)
        return super()._generate(req)  # the sliding 60 s RPM window, then the answer


def _last_user_message(body: bytes) -> str:
    try:
        return RecordedRequest(
            "POST", "/v1/chat/completions", {}, json.loads(body)
        ).last_user_message
    except (ValueError, TypeError, AttributeError, KeyError):
        return ""


class _Discard(list):
    """The base class appends every request here; the benchmark keeps its own compact log."""

    def append(self, item: object) -> None:
        return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    server = BenchLLMServer(port=args.port)
    server.configure({})
    server.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    print(f"PORT {server.port}", flush=True)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        server.stop()
    sys.exit(0)


if __name__ == "__main__":
    main()
