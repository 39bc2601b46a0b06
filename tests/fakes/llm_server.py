"""A local fake of the OpenAI and Anthropic HTTP APIs, for driving the real SDKs in tests.

Usage::

    with FakeLLMServer() as server:
        client = openai.OpenAI(base_url=server.openai_base_url, api_key="sk-test", max_retries=0)
        client = anthropic.Anthropic(base_url=server.base_url, api_key="sk-ant-test", max_retries=0)

Endpoints: OpenAI ``POST /v1/chat/completions``, ``POST /v1/embeddings``, ``GET /v1/models``;
Anthropic ``POST /v1/messages``, ``POST /v1/messages/count_tokens`` and ``GET /v1/models`` (answered
in the Anthropic shape when the ``anthropic-version`` header is present). Streaming is not supported.

Answers are deterministic: ``"Simulated answer to: " + last_user_message[:200]``. Structured output
(OpenAI ``response_format`` json_schema / json_object, Anthropic ``output_config.format``) is answered
with a JSON object built from the schema, and so is an Anthropic forced tool call (``tools`` with
``tool_choice`` type ``tool``/``any``: a ``tool_use`` block whose input is built from the tool's
``input_schema``); ``invalid_json_next`` makes such answers break their schema, and
``answer_when`` scripts them by prompt (a judge's scores for a given row).

Batch endpoints (see :class:`FakeBatch`): OpenAI ``POST /v1/files`` (multipart, ``purpose=batch``),
``GET /v1/files/{id}/content``, ``POST /v1/batches``, ``GET /v1/batches[/{id}]``,
``POST /v1/batches/{id}/cancel``; Anthropic ``POST /v1/messages/batches``,
``GET /v1/messages/batches/{id}``, ``GET /v1/messages/batches/{id}/results`` (JSONL) and
``POST /v1/messages/batches/{id}/cancel``. Each batched request is answered by the same code as
an online one (so ``invalid_json_next`` and ``fail_next`` apply to it too), when the batch ends:
it stays in progress for ``batch_polls_in_progress`` status reads. ``fail_batch_requests`` makes
matching batched requests fail individually. Batched requests are not generation requests:
``generation_requests()`` counts online calls only; ``batch_creations()`` counts batches.

Only *generation* requests (chat completions and messages) are subject to ``fail_next``,
``broken_json_next`` and ``rpm_limit``; authentication (``valid_keys``) and ``latency`` apply to all.

This module also holds :class:`BackgroundHTTPServer`, the small threaded-server base shared with
``hub_server.py``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
import struct
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import urlsplit

# --------------------------------------------------------------------------------------------
# Generic background HTTP server (shared with hub_server.py)
# --------------------------------------------------------------------------------------------


@dataclass
class Reply:
    """An HTTP response to send back: status, body bytes and extra headers."""

    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


def json_reply(status: int, payload: Any, headers: dict[str, str] | None = None) -> Reply:
    """Build a JSON ``Reply``."""
    body = json.dumps(payload).encode()
    return Reply(status, body, {"Content-Type": "application/json", **(headers or {})})


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True
    app: BackgroundHTTPServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Swallow errors such as a client hanging up mid-response (timeouts in tests)."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive; every reply carries Content-Length
    # TCP_NODELAY, as real HTTP servers set it: the headers and the body go out in two writes,
    # and with Nagle's algorithm the body waited for the client's delayed ACK (up to 40 ms on
    # Linux), a latency no real provider adds (docs/performance.md).
    disable_nagle_algorithm = True
    server: _QuietServer

    def _dispatch(self) -> None:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            raw = self._read_chunked()
        else:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        headers = {k.lower(): v for k, v in self.headers.items()}
        reply = self.server.app.handle(self.command, self.path, headers, raw)
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(reply.body)

    def _read_chunked(self) -> bytes:
        data = b""
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                self.rfile.readline()  # trailing CRLF
                return data
            data += self.rfile.read(size)
            self.rfile.readline()

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _dispatch

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet."""


class BackgroundHTTPServer:
    """A ``ThreadingHTTPServer`` on 127.0.0.1:<random port>, served from a daemon thread.

    Subclasses implement :meth:`handle`.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._address = (host, port)
        self._httpd: _QuietServer | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.RLock()

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Reply:
        """Answer one request (``headers`` keys are lower-case; ``path`` includes the query)."""
        raise NotImplementedError

    def start(self) -> Self:
        """Bind and start serving; returns ``self``."""
        if self._httpd is None:
            self._httpd = _QuietServer(self._address, _Handler)
            self._httpd.app = self
            self._thread = threading.Thread(
                target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            if self._thread is not None:
                self._thread.join(timeout=5)
            self._httpd = self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The bound port (server must be started)."""
        if self._httpd is None:
            raise RuntimeError("server is not started")
        return self._httpd.server_address[1]

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT`` (no trailing slash)."""
        return f"http://{self._address[0]}:{self.port}"


# --------------------------------------------------------------------------------------------
# Fake LLM server
# --------------------------------------------------------------------------------------------

CHAT_PATH = "/v1/chat/completions"
MESSAGES_PATH = "/v1/messages"
GENERATION_PATHS = (CHAT_PATH, MESSAGES_PATH)
ANSWER_PREFIX = "Simulated answer to: "
PROMPT_CHARS = 200

_OPENAI_ERRORS: dict[int, tuple[str, str | None, str]] = {  # status -> (type, code, message)
    400: ("invalid_request_error", None, "Invalid request."),
    401: ("invalid_request_error", "invalid_api_key", "Incorrect API key provided."),
    403: ("invalid_request_error", "unsupported_country_region_territory", "Forbidden."),
    404: ("invalid_request_error", "model_not_found", "The model does not exist."),
    429: ("requests", "rate_limit_exceeded", "Rate limit reached for requests."),
    500: ("server_error", None, "The server had an error while processing your request."),
    503: ("server_error", None, "The engine is currently overloaded, please try again later."),
}
_ANTHROPIC_ERRORS: dict[int, tuple[str, str]] = {  # status -> (type, message)
    400: ("invalid_request_error", "Invalid request."),
    401: ("authentication_error", "invalid x-api-key"),
    403: (
        "permission_error",
        "Your API key does not have permission to use the specified resource.",
    ),
    404: ("not_found_error", "Not found."),
    413: ("request_too_large", "Request exceeds the maximum allowed number of bytes."),
    429: ("rate_limit_error", "Number of requests has exceeded your per-minute rate limit."),
    500: ("api_error", "Internal server error."),
    529: ("overloaded_error", "Overloaded"),
}


@dataclass
class RecordedRequest:
    """One request seen by the fake (``headers`` keys are lower-case, ``body`` is parsed JSON)."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any
    status: int = 0  # status code of the reply that was sent
    raw: bytes = field(default=b"", repr=False)  # the body as sent (multipart uploads)

    @property
    def provider(self) -> str:
        """``"anthropic"`` or ``"openai"``."""
        if self.path.startswith(MESSAGES_PATH) or "anthropic-version" in self.headers:
            return "anthropic"
        return "openai"

    @property
    def is_generation(self) -> bool:
        return self.method == "POST" and self.path in GENERATION_PATHS

    @property
    def api_key(self) -> str | None:
        """Key from ``x-api-key`` or ``Authorization: Bearer``."""
        if key := self.headers.get("x-api-key"):
            return key
        auth = self.headers.get("authorization", "")
        return auth[7:] if auth.lower().startswith("bearer ") else None

    @property
    def last_user_message(self) -> str:
        """Text of the last ``user`` message ("" when none)."""
        messages = self.body.get("messages") if isinstance(self.body, dict) else None
        for message in reversed(messages or []):
            if isinstance(message, dict) and message.get("role") == "user":
                return _text_of(message.get("content"))
        return ""

    @property
    def first_user_message(self) -> str:
        """Text of the first ``user`` message (the prompt a re-ask repeats; "" when none)."""
        messages = self.body.get("messages") if isinstance(self.body, dict) else None
        for message in messages or []:
            if isinstance(message, dict) and message.get("role") == "user":
                return _text_of(message.get("content"))
        return ""

    @property
    def system_prompt(self) -> str:
        """Anthropic ``system`` or the OpenAI system/developer messages, joined."""
        if not isinstance(self.body, dict):
            return ""
        if "system" in self.body:
            return _text_of(self.body["system"])
        return "\n".join(
            _text_of(m.get("content"))
            for m in self.body.get("messages") or []
            if isinstance(m, dict) and m.get("role") in ("system", "developer")
        )


def _text_of(content: Any) -> str:
    """Flatten a message content (str or list of text parts/blocks) to text."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return ""


def count_tokens(text: str) -> int:
    """Cheap token heuristic: the number of whitespace-separated words (at least 1)."""
    return max(1, len(text.split()))


def sample_from_schema(
    schema: dict[str, Any], root: dict[str, Any] | None = None, name: str = "value"
) -> Any:
    """Build a value matching a JSON schema: required properties only, strings ``"Simulated <name>"``,
    numbers 1, booleans true, arrays of one item, enums/consts their first value."""
    root = root if root is not None else schema
    if "$ref" in schema:
        target: Any = root
        for part in schema["$ref"].lstrip("#/").split("/"):
            target = target[part]
        return sample_from_schema(target, root, name)
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    for key in ("anyOf", "oneOf", "allOf"):
        options = [s for s in schema.get(key, []) if s.get("type") != "null"]
        if options:
            return sample_from_schema(options[0], root, name)
    kind = schema.get("type", "object" if "properties" in schema else "string")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object":
        props = schema.get("properties", {})
        return {
            key: sample_from_schema(props.get(key, {}), root, key)
            for key in schema.get("required", [])
        }
    if kind == "array":
        count = max(1, schema.get("minItems", 1))
        return [sample_from_schema(schema.get("items", {}), root, name) for _ in range(count)]
    if kind in ("integer", "number"):
        return 1
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    return {
        "date-time": "2024-01-01T00:00:00Z",
        "date": "2024-01-01",
        "email": "user@example.com",
        "uri": "https://example.com",
    }.get(schema.get("format", ""), f"Simulated {name}")


def _violating(value: Any) -> Any:
    """``value`` made to break its schema: drop the first required property, else change type."""
    if isinstance(value, dict) and value:
        broken = dict(value)
        broken.pop(next(iter(broken)))
        return broken
    return ["not", "what", "the", "schema", "asks"] if isinstance(value, dict) else {"wrong": 1}


def fake_embedding(text: str, dims: int = 8) -> list[float]:
    """Deterministic unit-length vector derived from a SHA-256 of ``text``."""
    raw = b""
    while len(raw) < dims:
        raw += hashlib.sha256(raw + text.encode()).digest()
    values = [b / 127.5 - 1.0 for b in raw[:dims]]
    norm = math.sqrt(sum(v * v for v in values)) or 1.0
    return [round(v / norm, 6) for v in values]


FILES_PATH = "/v1/files"
BATCHES_PATH = "/v1/batches"
MESSAGE_BATCHES_PATH = "/v1/messages/batches"
BATCH_PATH_PREFIXES = (FILES_PATH, BATCHES_PATH, MESSAGE_BATCHES_PATH)
# Anthropic's rule for a batch request's custom_id.
ANTHROPIC_CUSTOM_ID = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
BATCH_DAY_SECONDS = 24 * 3600


@dataclass
class FakeBatch:
    """One batch held by the fake: its requests, and its results once it has ended.

    A batch reports "in progress" for ``polls_left`` status reads (the server's
    ``batch_polls_in_progress`` when it was created); the read after that processes every
    request with the online answer logic and ends the batch. A cancel before then ends it with
    every request cancelled."""

    id: str
    provider: str  # "openai" or "anthropic"
    requests: list[tuple[str, dict[str, Any]]]  # (custom_id, request body)
    polls_left: int
    created_at: float = field(default_factory=time.time)
    endpoint: str = CHAT_PATH
    input_file_id: str | None = None
    metadata: dict[str, str] | None = None
    status: str = "in_progress"  # OpenAI: validating/in_progress/cancelling/...; Anthropic too
    cancel_requested_at: float | None = None
    ended_at: float | None = None
    # custom_id -> (HTTP status, answer body or error body); None: cancelled, not processed.
    results: dict[str, tuple[int, dict[str, Any]] | None] = field(default_factory=dict)
    output_file_id: str | None = None
    error_file_id: str | None = None
    errors: list[dict[str, Any]] = field(default_factory=list)  # OpenAI validation errors

    @property
    def ended(self) -> bool:
        return self.ended_at is not None

    def counts(self) -> tuple[int, int, int]:
        """(succeeded, failed, cancelled) so far."""
        values = list(self.results.values())
        ok = sum(1 for v in values if v is not None and v[0] == 200)
        cancelled = sum(1 for v in values if v is None)
        return ok, len(values) - ok - cancelled, cancelled


def _iso(timestamp: float | None) -> str | None:
    if timestamp is None:
        return None
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _multipart_fields(content_type: str, body: bytes) -> dict[str, tuple[str | None, bytes]]:
    """name -> (filename, value) of a multipart/form-data body."""
    boundary = ""
    for part in content_type.split(";"):
        name, _, value = part.strip().partition("=")
        if name.lower() == "boundary":
            boundary = value.strip('"')
    if not boundary:
        return {}
    fields: dict[str, tuple[str | None, bytes]] = {}
    for chunk in body.split(b"--" + boundary.encode()):
        if not chunk.strip() or chunk.strip() == b"--":
            continue
        head, _, value = chunk.lstrip(b"\r\n").partition(b"\r\n\r\n")
        disposition = next(
            (
                line.decode()
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-disposition")
            ),
            "",
        )
        params = {}
        for item in disposition.split(";")[1:]:
            key, _, val = item.strip().partition("=")
            params[key] = val.strip('"')
        if "name" in params:
            fields[params["name"]] = (params.get("filename"), value.removesuffix(b"\r\n"))
    return fields


class FakeLLMServer(BackgroundHTTPServer):
    """Fake OpenAI + Anthropic API. Knobs may be changed while the server runs.

    Attributes:
        latency: seconds slept before answering any request.
        valid_keys: when not None, other API keys get a provider-shaped 401.
        rpm_limit: when not None, generation requests beyond it in a sliding 60 s window get 429.
        requests_limit / tokens_limit: values advertised in the rate-limit headers.
        models: ids listed by ``GET /v1/models``.
        requests: every request received (including rejected ones), oldest first.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(host, port)
        self.requests: list[RecordedRequest] = []
        self.reset()

    # ---- knobs ---------------------------------------------------------------------------

    def reset(self) -> None:
        """Restore default knobs and clear recorded requests and rate-limit windows."""
        with self._lock:
            self.latency: float = 0.0
            # Requests being handled now, and the most at once since the reset.
            self.in_flight: int = 0
            self.max_in_flight: int = 0
            self.valid_keys: set[str] | None = None
            self.rpm_limit: int | None = None
            self.requests_limit: int = 10_000
            self.tokens_limit: int = 2_000_000
            self.models: list[str] = [
                "gpt-4o-mini",
                "gpt-4o",
                "claude-sonnet-4-6",
                "claude-haiku-4-5",
            ]
            self._failures: deque[tuple[int, dict[str, str], str | None]] = deque()
            self._broken_json = 0
            self._wrong_shape = 0
            self._invalid_json = 0
            self._raw_replies: deque[Reply] = deque()
            self._scripted: list[tuple[str, deque[Any]]] = []
            self._window: deque[tuple[float, int]] = (
                deque()
            )  # (time, tokens) of accepted generations
            self.requests.clear()
            # Batch API state (see FakeBatch).
            self.batch_polls_in_progress: int = 1
            self.batches: dict[str, FakeBatch] = {}
            self.files: dict[str, dict[str, Any]] = {}
            self._batch_failures: list[tuple[str, int, str | None]] = []

    def fail_next(
        self,
        count: int = 1,
        status: int = 500,
        headers: dict[str, str] | None = None,
        message: str | None = None,
    ) -> None:
        """Make the next ``count`` generation requests fail with ``status`` (queued after earlier calls).

        ``headers`` (e.g. ``{"retry-after": "0"}``) are added to the error reply; ``message`` overrides
        the provider's default error message for that status.
        """
        with self._lock:
            self._failures.extend([(status, dict(headers or {}), message)] * count)

    def broken_json_next(self, count: int = 1) -> None:
        """Make the next ``count`` generation replies HTTP 200 with a truncated JSON body."""
        with self._lock:
            self._broken_json += count

    def wrong_shape_next(self, count: int = 1) -> None:
        """Make the next ``count`` generation replies HTTP 200 with valid JSON that is not a
        completion (a broken gateway): no choices / content, usage of the wrong type."""
        with self._lock:
            self._wrong_shape += count

    def invalid_json_next(self, count: int = 1) -> None:
        """Make the next ``count`` *structured* answers valid JSON that violates the schema (a
        required property missing, or a wrong type when nothing is required): for re-ask tests."""
        with self._lock:
            self._invalid_json += count

    def answer_when(self, match: str, *answers: Any) -> None:
        """Answer *structured* requests whose first user message contains ``match`` with
        ``answers`` in turn, the last one repeating, instead of a value sampled from the schema
        (until ``reset``; the first rule added that matches wins). The first user message stays
        the same in a re-ask, so ``answer_when(m, "not JSON", {...})`` is answered badly once,
        then well. A value is sent as JSON (an Anthropic tool call's input); a string as the
        answer's text as is (a model that ignored the format). ``invalid_json_next`` still
        applies after it."""
        if not answers:
            raise ValueError("answer_when needs at least one answer")
        with self._lock:
            self._scripted.append((match, deque(answers)))

    def _scripted_answer(self, req: RecordedRequest) -> tuple[bool, Any]:
        prompt = req.first_user_message
        with self._lock:
            for match, answers in self._scripted:
                if match in prompt:
                    return True, answers.popleft() if len(answers) > 1 else answers[0]
        return False, None

    def raw_reply_next(self, reply: Reply, count: int = 1) -> None:
        """Answer the next ``count`` requests of any kind (model listings included) with
        ``reply`` as is: an HTML page, a redirect, what a server that is no provider sends."""
        with self._lock:
            self._raw_replies.extend([reply] * count)

    def fail_batch_requests(
        self, match: str = "", status: int = 400, message: str | None = None
    ) -> None:
        """Make every *batched* request whose last user message contains ``match`` ("" = all)
        fail on its own with ``status`` and ``message`` (the rest of its batch still succeeds),
        until ``reset``."""
        with self._lock:
            self._batch_failures.append((match, status, message))

    # ---- records -------------------------------------------------------------------------

    def batch_creations(self, provider: str | None = None) -> list[RecordedRequest]:
        """Successful batch creations (OpenAI ``POST /v1/batches``, Anthropic
        ``POST /v1/messages/batches``), optionally of one provider."""
        with self._lock:
            return [
                r
                for r in self.requests
                if r.method == "POST"
                and r.path in (BATCHES_PATH, MESSAGE_BATCHES_PATH)
                and r.status == 200
                and (provider is None or r.provider == provider)
            ]

    def batch_cancels(self) -> list[RecordedRequest]:
        """Cancel requests received for batches of either provider."""
        with self._lock:
            return [r for r in self.requests if r.method == "POST" and r.path.endswith("/cancel")]

    def generation_requests(self) -> list[RecordedRequest]:
        """Recorded chat-completion / messages requests (every attempt, failed ones included)."""
        with self._lock:
            return [r for r in self.requests if r.is_generation]

    def embedding_requests(self) -> list[RecordedRequest]:
        """Recorded ``POST /v1/embeddings`` requests (every attempt, failed ones included)."""
        with self._lock:
            return [r for r in self.requests if r.path == "/v1/embeddings"]

    def prompts(self) -> list[str]:
        """Last user message of each generation request."""
        return [r.last_user_message for r in self.generation_requests()]

    @property
    def openai_base_url(self) -> str:
        """Base URL for ``openai.OpenAI(base_url=...)``; Anthropic uses :attr:`base_url`."""
        return self.base_url + "/v1"

    # ---- request handling ----------------------------------------------------------------

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Reply:
        """Record, authenticate, apply knobs, route."""
        try:
            parsed = json.loads(body) if body else None
        except ValueError:
            parsed = None
        record = RecordedRequest(method, urlsplit(path).path.rstrip("/"), headers, parsed, raw=body)
        with self._lock:
            self.requests.append(record)
            latency = self.latency
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if latency > 0:
                time.sleep(latency)
            with self._lock:
                raw = self._raw_replies.popleft() if self._raw_replies else None
            if raw is not None:  # a copy: the headers below are added per request
                reply = Reply(raw.status, raw.body, dict(raw.headers))
            else:
                reply = self._route(record, body_ok=parsed is not None or not body)
        finally:
            with self._lock:
                self.in_flight -= 1
        record.status = reply.status
        with self._lock:
            reply.headers.update(self._ratelimit_headers(record.provider))
        request_id = "req_" + uuid.uuid4().hex[:24]
        reply.headers["request-id" if record.provider == "anthropic" else "x-request-id"] = (
            request_id
        )
        return reply

    def _route(self, req: RecordedRequest, body_ok: bool) -> Reply:
        key = req.api_key
        valid = self.valid_keys
        if valid is not None and key not in valid:
            return self._auth_error(req.provider, key)
        if req.path.startswith(BATCH_PATH_PREFIXES):
            return self._batch_route(req)
        if not body_ok:
            return self.error_reply(req.provider, 400, message="Could not parse the JSON body.")
        if req.method == "GET" and req.path == "/v1/models":
            return self._models(req.provider)
        if req.method == "POST" and req.path == "/v1/embeddings":
            return self._embeddings(req.body)
        if req.method == "POST" and req.path == MESSAGES_PATH + "/count_tokens":
            return json_reply(200, {"input_tokens": self._prompt_tokens(req)})
        if not req.is_generation:
            return self.error_reply(
                req.provider, 404, message=f"Unknown path {req.method} {req.path}"
            )
        problem = self._validate(req)
        if problem:
            return self.error_reply(req.provider, 400, message=problem)
        if req.body.get("stream"):
            return self.error_reply(req.provider, 400, message="The fake server does not stream.")
        return self._generate(req)

    def _validate(self, req: RecordedRequest) -> str | None:
        if not isinstance(req.body, dict) or not isinstance(req.body.get("messages"), list):
            return "messages: Field required"
        if not req.body.get("model"):
            return "model: Field required"
        if req.provider == "anthropic" and "max_tokens" not in req.body:
            return "max_tokens: Field required"
        return None

    def _generate(self, req: RecordedRequest) -> Reply:
        now = time.monotonic()
        with self._lock:
            while self._window and self._window[0][0] <= now - 60:
                self._window.popleft()
            if self.rpm_limit is not None and len(self._window) >= self.rpm_limit:
                wait = max(1, math.ceil(self._window[0][0] + 60 - now))
                return self.error_reply(req.provider, 429, headers={"retry-after": str(wait)})
            prompt_tokens = self._prompt_tokens(req)
            self._window.append((now, prompt_tokens))
            if self._failures:
                status, headers, message = self._failures.popleft()
                return self.error_reply(req.provider, status, headers=headers, message=message)
            broken = self._broken_json > 0
            self._broken_json -= int(broken)
            wrong_shape = self._wrong_shape > 0
            self._wrong_shape -= int(wrong_shape)
        if wrong_shape:
            return json_reply(
                200, {"id": "oops", "content": "not blocks", "choices": [{}], "usage": "many"}
            )
        answer = ANSWER_PREFIX + req.last_user_message[:PROMPT_CHARS]
        schema_format = self._structured_format(req)
        tool = self._forced_tool(req)
        if tool is not None:
            schema_format = sample_from_schema(tool.get("input_schema") or {})
        if schema_format is not None:
            scripted, value = self._scripted_answer(req)
            if scripted and isinstance(value, str):
                schema_format, tool, answer = None, None, value
            elif scripted:
                schema_format = value
        if schema_format is not None:
            with self._lock:
                invalid = self._invalid_json > 0
                self._invalid_json -= int(invalid)
            if invalid:
                schema_format = _violating(schema_format)
            answer = json.dumps(schema_format)
        completion_tokens = count_tokens(answer)
        if req.provider == "anthropic":
            message = self._anthropic_message(req.body, answer, prompt_tokens, completion_tokens)
            if tool is not None:  # forced tool call: the answer is the tool's input
                message["content"] = [
                    {
                        "type": "tool_use",
                        "id": "toolu_" + uuid.uuid4().hex[:24],
                        "name": tool["name"],
                        "input": schema_format,
                    }
                ]
                message["stop_reason"] = "tool_use"
        else:
            message = self._openai_completion(req.body, answer, prompt_tokens, completion_tokens)
        reply = json_reply(200, message)
        if broken:
            reply.body = reply.body[: len(reply.body) // 2]
        return reply

    @staticmethod
    def _structured_format(req: RecordedRequest) -> Any | None:
        """The JSON value to answer when structured output is requested, else None."""
        body = req.body
        fmt = (
            body.get("response_format")
            or (body.get("output_config") or {}).get("format")
            or body.get("output_format")
        )
        if not isinstance(fmt, dict):
            return None
        if fmt.get("type") == "json_schema":
            schema = fmt.get("schema") or (fmt.get("json_schema") or {}).get("schema") or {}
            return sample_from_schema(schema)
        if fmt.get("type") == "json_object":
            return {"answer": ANSWER_PREFIX + req.last_user_message[:PROMPT_CHARS]}
        return None

    @staticmethod
    def _forced_tool(req: RecordedRequest) -> dict[str, Any] | None:
        """The Anthropic tool the request forces (``tool_choice`` type tool/any), else None."""
        if req.provider != "anthropic":
            return None
        tools = [t for t in req.body.get("tools") or [] if isinstance(t, dict)]
        choice = req.body.get("tool_choice") or {}
        if not tools or not isinstance(choice, dict):
            return None
        if choice.get("type") == "tool":
            return next((t for t in tools if t.get("name") == choice.get("name")), None)
        if choice.get("type") == "any":
            return tools[0]
        return None

    @staticmethod
    def _prompt_tokens(req: RecordedRequest) -> int:
        messages = (req.body.get("messages") if isinstance(req.body, dict) else None) or []
        texts = [req.system_prompt if req.provider == "anthropic" else ""]
        texts += [_text_of(m.get("content")) for m in messages if isinstance(m, dict)]
        return count_tokens(" ".join(texts))

    @staticmethod
    def _openai_completion(body: dict[str, Any], answer: str, prompt: int, completion: int) -> dict:
        choice = {
            "message": {"role": "assistant", "content": answer, "refusal": None, "annotations": []},
            "logprobs": None,
            "finish_reason": "stop",
        }
        return {
            "id": "chatcmpl-" + uuid.uuid4().hex[:24],
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body["model"],
            "choices": [{"index": i, **choice} for i in range(int(body.get("n") or 1))],
            "usage": {
                "prompt_tokens": prompt,
                "completion_tokens": completion,
                "total_tokens": prompt + completion,
            },
            "service_tier": "default",
            "system_fingerprint": "fp_fake",
        }

    @staticmethod
    def _anthropic_message(body: dict[str, Any], answer: str, prompt: int, completion: int) -> dict:
        return {
            "id": "msg_" + uuid.uuid4().hex[:24],
            "type": "message",
            "role": "assistant",
            "model": body["model"],
            "content": [{"type": "text", "text": answer}],
            "stop_reason": "end_turn",
            "stop_sequence": None,
            "usage": {"input_tokens": prompt, "output_tokens": completion},
        }

    def _embeddings(self, body: Any) -> Reply:
        if not isinstance(body, dict) or "input" not in body:
            return self.error_reply("openai", 400, message="input: Field required")
        inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
        inputs = [i if isinstance(i, str) else json.dumps(i) for i in inputs]
        dims = int(body.get("dimensions") or 8)
        data = []
        for index, text in enumerate(inputs):
            vector: Any = fake_embedding(text, dims)
            if body.get("encoding_format") == "base64":  # the SDK's default on the wire
                vector = base64.b64encode(struct.pack(f"<{dims}f", *vector)).decode()
            data.append({"object": "embedding", "index": index, "embedding": vector})
        tokens = sum(count_tokens(t) for t in inputs)
        return json_reply(
            200,
            {
                "object": "list",
                "data": data,
                "model": body.get("model", ""),
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            },
        )

    def _models(self, provider: str) -> Reply:
        if provider == "anthropic":
            data = [
                {"type": "model", "id": m, "display_name": m, "created_at": "2025-01-01T00:00:00Z"}
                for m in self.models
            ]
            return json_reply(
                200,
                {
                    "data": data,
                    "has_more": False,
                    "first_id": self.models[0] if self.models else None,
                    "last_id": self.models[-1] if self.models else None,
                },
            )
        data = [
            {"id": m, "object": "model", "created": 1_700_000_000, "owned_by": "fake"}
            for m in self.models
        ]
        return json_reply(200, {"object": "list", "data": data})

    # ---- errors and headers --------------------------------------------------------------

    def _auth_error(self, provider: str, key: str | None) -> Reply:
        if provider == "anthropic":
            message = "invalid x-api-key" if key else "x-api-key header is required"
            return self.error_reply(provider, 401, message=message)
        if not key:
            return self.error_reply(provider, 401, message="You didn't provide an API key.")
        masked = f"{key[:3]}...{key[-4:]}"
        return self.error_reply(provider, 401, message=f"Incorrect API key provided: {masked}.")

    @staticmethod
    def error_reply(
        provider: str,
        status: int,
        headers: dict[str, str] | None = None,
        message: str | None = None,
    ) -> Reply:
        """A provider-shaped JSON error reply."""
        if provider == "anthropic":
            kind, default = _ANTHROPIC_ERRORS.get(
                status, _ANTHROPIC_ERRORS[500 if status >= 500 else 400]
            )
            payload: dict[str, Any] = {
                "type": "error",
                "error": {"type": kind, "message": message or default},
                "request_id": "req_" + uuid.uuid4().hex[:24],
            }
        else:
            kind, code, default = _OPENAI_ERRORS.get(
                status, _OPENAI_ERRORS[500 if status >= 500 else 400]
            )
            payload = {
                "error": {"message": message or default, "type": kind, "param": None, "code": code}
            }
        return json_reply(status, payload, headers)

    def _ratelimit_headers(self, provider: str) -> dict[str, str]:
        """Provider-style rate-limit headers for the current sliding window (lock held)."""
        now = time.monotonic()
        limit = self.rpm_limit if self.rpm_limit is not None else self.requests_limit
        used = sum(1 for t, _ in self._window if t > now - 60)
        tokens = sum(n for t, n in self._window if t > now - 60)
        reset = max(0, math.ceil(self._window[0][0] + 60 - now)) if self._window else 0
        remaining = str(max(0, limit - used))
        tokens_remaining = str(max(0, self.tokens_limit - tokens))
        if provider == "anthropic":
            reset_at = datetime.fromtimestamp(time.time() + reset, UTC).strftime(
                "%Y-%m-%dT%H:%M:%SZ"
            )
            return {
                "anthropic-ratelimit-requests-limit": str(limit),
                "anthropic-ratelimit-requests-remaining": remaining,
                "anthropic-ratelimit-requests-reset": reset_at,
                "anthropic-ratelimit-tokens-limit": str(self.tokens_limit),
                "anthropic-ratelimit-tokens-remaining": tokens_remaining,
                "anthropic-ratelimit-tokens-reset": reset_at,
            }
        return {
            "x-ratelimit-limit-requests": str(limit),
            "x-ratelimit-remaining-requests": remaining,
            "x-ratelimit-reset-requests": f"{reset}s",
            "x-ratelimit-limit-tokens": str(self.tokens_limit),
            "x-ratelimit-remaining-tokens": tokens_remaining,
            "x-ratelimit-reset-tokens": f"{reset}s",
        }

    # ---- batch APIs ----------------------------------------------------------------------

    def _batch_route(self, req: RecordedRequest) -> Reply:
        parts = req.path.split("/")  # "", "v1", ...
        if req.path.startswith(MESSAGE_BATCHES_PATH):
            rest = parts[4:]  # after /v1/messages/batches
            if req.method == "POST" and not rest:
                return self._anthropic_batch_create(req)
            batch = self.batches.get(rest[0]) if rest else None
            if batch is None or batch.provider != "anthropic":
                return self.error_reply("anthropic", 404, message="Batch not found.")
            if req.method == "GET" and len(rest) == 1:
                return json_reply(200, self._anthropic_batch_read(batch, advance=True))
            if req.method == "GET" and rest[1:] == ["results"]:
                return self._anthropic_batch_results(batch)
            if req.method == "POST" and rest[1:] == ["cancel"]:
                return json_reply(200, self._batch_cancel(batch))
        elif req.path.startswith(FILES_PATH):
            rest = parts[3:]
            if req.method == "POST" and not rest:
                return self._openai_file_upload(req)
            stored = self.files.get(rest[0]) if rest else None
            if stored is None:
                return self.error_reply("openai", 404, message="No such File object.")
            if req.method == "GET" and rest[1:] == ["content"]:
                return Reply(200, stored["content"], {"Content-Type": "application/octet-stream"})
            if req.method == "GET" and len(rest) == 1:
                return json_reply(200, stored["object"])
        else:
            rest = parts[3:]
            if req.method == "POST" and not rest:
                return self._openai_batch_create(req)
            if req.method == "GET" and not rest:
                return self._openai_batch_list()
            batch = self.batches.get(rest[0]) if rest else None
            if batch is None or batch.provider != "openai":
                return self.error_reply("openai", 404, message="No such batch.")
            if req.method == "GET" and len(rest) == 1:
                return json_reply(200, self._openai_batch_read(batch, advance=True))
            if req.method == "POST" and rest[1:] == ["cancel"]:
                return json_reply(200, self._batch_cancel(batch))
        return self.error_reply(req.provider, 404, message=f"Unknown path {req.method} {req.path}")

    def _advance(self, batch: FakeBatch) -> None:
        """One status read: count down, then process every request (or cancel the rest).
        Under the (re-entrant) lock, so two concurrent reads never process a batch twice."""
        with self._lock:
            if batch.ended:
                return
            cancelled = batch.cancel_requested_at is not None
            if not cancelled and batch.polls_left > 0:
                batch.polls_left -= 1
                batch.status = "in_progress"
                return
            for custom_id, body in batch.requests:
                batch.results[custom_id] = (
                    None if cancelled else self._batch_answer(batch.provider, body)
                )
            batch.ended_at = time.time()
            if batch.provider == "anthropic":
                batch.status = "ended"
            else:
                batch.status = "cancelled" if cancelled else "completed"
                self._openai_result_files(batch)

    def _batch_answer(self, provider: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """Answer one batched request exactly as the online endpoint would."""
        path = MESSAGES_PATH if provider == "anthropic" else CHAT_PATH
        headers = {"anthropic-version": "2023-06-01"} if provider == "anthropic" else {}
        req = RecordedRequest("POST", path, headers, body)
        with self._lock:
            failures = list(self._batch_failures)
        for match, status, message in failures:
            if match in req.last_user_message:
                reply = self.error_reply(provider, status, message=message)
                return status, json.loads(reply.body)
        problem = self._validate(req)
        reply = self.error_reply(provider, 400, message=problem) if problem else self._generate(req)
        try:
            payload = json.loads(reply.body)
        except ValueError:  # broken_json_next: the batch API would report a server error
            reply = self.error_reply(provider, 500)
            payload = json.loads(reply.body)
        return reply.status, payload

    def _batch_cancel(self, batch: FakeBatch) -> dict[str, Any]:
        with self._lock:
            if not batch.ended and batch.cancel_requested_at is None:
                batch.cancel_requested_at = time.time()
                batch.status = "canceling" if batch.provider == "anthropic" else "cancelling"
        if batch.provider == "anthropic":
            return self._anthropic_batch_read(batch, advance=False)
        return self._openai_batch_read(batch, advance=False)

    # -- OpenAI: files and batches

    def _openai_file_upload(self, req: RecordedRequest) -> Reply:
        fields = _multipart_fields(req.headers.get("content-type", ""), req.raw)
        if "file" not in fields or "purpose" not in fields:
            return self.error_reply("openai", 400, message="file and purpose are required.")
        filename, content = fields["file"]
        purpose = fields["purpose"][1].decode()
        file_id = self._store_file(filename or "upload", content, purpose)
        return json_reply(200, self.files[file_id]["object"])

    def _store_file(self, filename: str, content: bytes, purpose: str) -> str:
        file_id = "file-" + uuid.uuid4().hex[:24]
        self.files[file_id] = {
            "content": content,
            "object": {
                "id": file_id,
                "object": "file",
                "bytes": len(content),
                "created_at": int(time.time()),
                "filename": filename,
                "purpose": purpose,
                "status": "processed",
            },
        }
        return file_id

    def _openai_batch_create(self, req: RecordedRequest) -> Reply:
        body = req.body if isinstance(req.body, dict) else {}
        endpoint = body.get("endpoint")
        if body.get("completion_window") != "24h":
            return self.error_reply("openai", 400, message="completion_window must be 24h.")
        if endpoint != CHAT_PATH:
            return self.error_reply("openai", 400, message=f"Unsupported endpoint {endpoint}.")
        stored = self.files.get(body.get("input_file_id") or "")
        if stored is None:
            return self.error_reply("openai", 400, message="The input file does not exist.")
        if stored["object"]["purpose"] != "batch":
            return self.error_reply("openai", 400, message="The file's purpose must be batch.")
        batch = FakeBatch(
            id="batch_" + uuid.uuid4().hex[:24],
            provider="openai",
            requests=[],
            polls_left=self.batch_polls_in_progress,
            input_file_id=stored["object"]["id"],
            metadata=body.get("metadata"),
            status="validating",
        )
        seen: set[str] = set()
        for number, line in enumerate(stored["content"].decode().splitlines(), start=1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except ValueError:
                item = None
            problem = None
            if not isinstance(item, dict) or not isinstance(item.get("body"), dict):
                problem = ("invalid_json_line", "This line is not a valid request.")
            elif item.get("method") != "POST" or item.get("url") != endpoint:
                problem = ("invalid_url", f"The url must be {endpoint} with method POST.")
            elif not item.get("custom_id") or item["custom_id"] in seen:
                problem = ("duplicate_custom_id", "The custom_id is missing or not unique.")
            elif item["body"].get("model") is None:
                problem = ("missing_required_parameter", "model is required.")
            if problem:
                batch.errors.append(
                    {"code": problem[0], "message": problem[1], "line": number, "param": None}
                )
                continue
            seen.add(item["custom_id"])
            batch.requests.append((item["custom_id"], item["body"]))
        if batch.errors:  # validation failed: the batch ends at once, nothing is processed
            batch.status = "failed"
            batch.ended_at = time.time()
        with self._lock:
            self.batches[batch.id] = batch
        return json_reply(200, self._openai_batch_read(batch, advance=False))

    def _openai_result_files(self, batch: FakeBatch) -> None:
        """Write the output file (answers) and error file (failed or cancelled requests)."""
        output: list[str] = []
        errors: list[str] = []
        for custom_id, result in batch.results.items():
            line: dict[str, Any] = {
                "id": "batch_req_" + uuid.uuid4().hex[:24],
                "custom_id": custom_id,
            }
            if result is None:
                line["response"] = None
                line["error"] = {
                    "code": "batch_cancelled",
                    "message": "This request was cancelled before it was processed.",
                }
                errors.append(json.dumps(line))
                continue
            status, payload = result
            line["response"] = {
                "status_code": status,
                "request_id": "req_" + uuid.uuid4().hex[:24],
                "body": payload,
            }
            line["error"] = None
            (output if status == 200 else errors).append(json.dumps(line))
        if output:
            content = ("\n".join(output) + "\n").encode()
            batch.output_file_id = self._store_file("batch_output.jsonl", content, "batch_output")
        if errors:
            content = ("\n".join(errors) + "\n").encode()
            batch.error_file_id = self._store_file("batch_errors.jsonl", content, "batch_output")

    def _openai_batch_read(self, batch: FakeBatch, *, advance: bool) -> dict[str, Any]:
        if advance:
            self._advance(batch)
        ok, failed, _ = batch.counts()
        created = int(batch.created_at)
        ended = int(batch.ended_at) if batch.ended_at else None
        return {
            "id": batch.id,
            "object": "batch",
            "endpoint": batch.endpoint,
            "errors": {"object": "list", "data": batch.errors} if batch.errors else None,
            "input_file_id": batch.input_file_id,
            "completion_window": "24h",
            "status": batch.status,
            "output_file_id": batch.output_file_id,
            "error_file_id": batch.error_file_id,
            "created_at": created,
            "in_progress_at": created,
            "expires_at": created + BATCH_DAY_SECONDS,
            "completed_at": ended if batch.status == "completed" else None,
            "failed_at": ended if batch.status == "failed" else None,
            "cancelling_at": int(batch.cancel_requested_at) if batch.cancel_requested_at else None,
            "cancelled_at": ended if batch.status == "cancelled" else None,
            "request_counts": {
                "total": len(batch.requests),
                "completed": ok,
                "failed": failed,
            },
            "metadata": batch.metadata,
        }

    def _openai_batch_list(self) -> Reply:
        with self._lock:
            batches = [b for b in self.batches.values() if b.provider == "openai"]
        data = [self._openai_batch_read(b, advance=False) for b in reversed(batches)]
        return json_reply(
            200,
            {
                "object": "list",
                "data": data,
                "first_id": data[0]["id"] if data else None,
                "last_id": data[-1]["id"] if data else None,
                "has_more": False,
            },
        )

    # -- Anthropic: message batches

    def _anthropic_batch_create(self, req: RecordedRequest) -> Reply:
        requests = req.body.get("requests") if isinstance(req.body, dict) else None
        if not isinstance(requests, list) or not requests:
            return self.error_reply("anthropic", 400, message="requests: Field required")
        seen: set[str] = set()
        items: list[tuple[str, dict[str, Any]]] = []
        for number, item in enumerate(requests):
            custom_id = item.get("custom_id") if isinstance(item, dict) else None
            params = item.get("params") if isinstance(item, dict) else None
            if not isinstance(custom_id, str) or not ANTHROPIC_CUSTOM_ID.match(custom_id):
                return self.error_reply(
                    "anthropic",
                    400,
                    message=f"requests.{number}.custom_id: String should match pattern "
                    "'^[a-zA-Z0-9_-]{1,64}$'",
                )
            if custom_id in seen:
                return self.error_reply(
                    "anthropic", 400, message=f"Duplicate custom_id {custom_id!r}."
                )
            problem = self._validate(
                RecordedRequest("POST", MESSAGES_PATH, {"anthropic-version": "x"}, params)
            )
            if problem:
                return self.error_reply("anthropic", 400, message=f"requests.{number}.{problem}")
            seen.add(custom_id)
            items.append((custom_id, params))
        batch = FakeBatch(
            id="msgbatch_" + uuid.uuid4().hex[:24],
            provider="anthropic",
            requests=items,
            polls_left=self.batch_polls_in_progress,
        )
        with self._lock:
            self.batches[batch.id] = batch
        return json_reply(200, self._anthropic_batch_read(batch, advance=False))

    def _anthropic_batch_read(self, batch: FakeBatch, *, advance: bool) -> dict[str, Any]:
        if advance:
            self._advance(batch)
        ok, failed, cancelled = batch.counts()
        return {
            "id": batch.id,
            "type": "message_batch",
            "processing_status": batch.status,
            "request_counts": {
                "processing": 0 if batch.ended else len(batch.requests),
                "succeeded": ok,
                "errored": failed,
                "canceled": cancelled,
                "expired": 0,
            },
            "ended_at": _iso(batch.ended_at),
            "created_at": _iso(batch.created_at),
            "expires_at": _iso(batch.created_at + BATCH_DAY_SECONDS),
            "archived_at": None,
            "cancel_initiated_at": _iso(batch.cancel_requested_at),
            "results_url": (
                f"{self.base_url}{MESSAGE_BATCHES_PATH}/{batch.id}/results" if batch.ended else None
            ),
        }

    def _anthropic_batch_results(self, batch: FakeBatch) -> Reply:
        if not batch.ended:
            return self.error_reply("anthropic", 400, message="The batch is still processing.")
        lines = []
        for custom_id, result in batch.results.items():
            if result is None:
                outcome: dict[str, Any] = {"type": "canceled"}
            elif result[0] == 200:
                outcome = {"type": "succeeded", "message": result[1]}
            else:
                outcome = {"type": "errored", "error": result[1]}
            lines.append(json.dumps({"custom_id": custom_id, "result": outcome}))
        body = ("\n".join(lines) + "\n").encode() if lines else b""
        return Reply(200, body, {"Content-Type": "application/binary"})
