"""The one interface every provider implements, and its one error type."""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import hashlib
import json
import re
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeVar

if TYPE_CHECKING:
    import ssl

Role = Literal["user", "assistant"]


@dataclass(frozen=True)
class ProviderConfig:
    provider: str  # "openai", "anthropic", "openai_compatible" or "simulator"
    api_key: str
    base_url: str | None = None
    timeout: float = 60.0


@dataclass(frozen=True)
class Message:
    """One turn of a conversation. The system prompt is not a message: providers take it apart
    (Anthropic's ``system`` parameter, OpenAI's first message)."""

    role: Role
    content: str

    def as_dict(self) -> dict[str, str]:
        return {"role": self.role, "content": self.content}


@dataclass(frozen=True)
class CompletionRequest:
    """What one call asks. ``conversation`` is the multi-turn history (it ends with a user
    turn); ``prompt=`` is the older single-turn spelling, still accepted so existing callers keep
    working: given alone it becomes the one user message. After construction ``prompt`` always
    holds the text of the last user turn (what a single-turn caller passed in)."""

    model: str
    prompt: str = ""
    system: str = ""
    temperature: float = 0.7
    max_tokens: int = 512
    conversation: tuple[Message, ...] = ()
    # A JSON schema the answer must follow: the provider is asked for structured output (OpenAI
    # response_format, Anthropic a forced tool call). Validation is separate (structured.py).
    json_schema: dict[str, Any] | None = None
    schema_name: str = "answer"

    def __post_init__(self) -> None:
        # Frozen dataclass: normalise through object.__setattr__, once, at construction.
        conversation = tuple(
            m if isinstance(m, Message) else Message(m["role"], m["content"])
            for m in self.conversation
        )
        if not conversation and self.prompt:
            conversation = (Message("user", self.prompt),)
        object.__setattr__(self, "conversation", conversation)
        last_user = next((m.content for m in reversed(conversation) if m.role == "user"), "")
        object.__setattr__(self, "prompt", last_user)

    def with_turns(self, *turns: Message) -> CompletionRequest:
        """The same request with ``turns`` appended to the conversation."""
        return dataclasses.replace(self, prompt="", conversation=self.conversation + turns)

    def messages(self) -> list[dict[str, str]]:
        return [m.as_dict() for m in self.conversation]

    def ledger_key(
        self, *, project_id: int, provider: str, base_url: str | None, sample: str
    ) -> str:
        """The call's key in the ledger of project ``project_id``: answers are shared only
        inside one project (docs/architecture.md, "Calls"). Required, so no key can be made
        that another project's run would find."""
        return project_ledger_key(
            project_id, self.request_key(provider=provider, base_url=base_url, sample=sample)
        )

    def request_key(self, *, provider: str, base_url: str | None, sample: str) -> str:
        """A stable hash of what is asked, in no project. ``sample`` tells apart rows that ask
        the same question (by default the run seed and row index), so a retried or resumed row
        hits its own earlier answer while two rows with equal prompts still get two samples.
        Not a ledger key by itself: ``ledger_key`` scopes it to a project."""
        payload: dict[str, Any] = {
            "provider": provider,
            "base_url": base_url or "",
            "model": self.model,
            "system": self.system,
            "messages": self.messages(),
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            "sample": sample,
        }
        # Only present when set, so the keys of plain requests (and the ledger entries already
        # recorded under them) stay what they were before structured output existed.
        if self.json_schema is not None:
            payload["json_schema"] = self.json_schema
            payload["schema_name"] = self.schema_name
        encoded = json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()
        return hashlib.sha256(encoded).hexdigest()


def project_ledger_key(project_id: int, request_key: str) -> str:
    """``request_key`` scoped to one project: the same question asked in two projects has two
    keys, so no lookup by key (the ledger's, a batch request's, a provider's custom_id) can
    answer one project with another's paid answer. A hash of the unscoped key, so the entries
    recorded before keys were scoped could be moved to their project's key (migration
    generation 0006, which keeps its own copy of this formula)."""
    if not isinstance(project_id, int) or isinstance(project_id, bool):
        raise TypeError("a ledger key needs the project's id")
    return hashlib.sha256(f"project:{project_id}:{request_key}".encode()).hexdigest()


@dataclass
class Completion:
    text: str
    input_tokens: int
    output_tokens: int
    latency_ms: int
    # Rate-limit headers as the provider sent them, for the limiter to adapt.
    rate_limit_headers: dict[str, str] = field(default_factory=dict)
    # The validated JSON value of a structured answer. Providers leave it None: validation (and
    # re-asking) is generation.structured's job, not the transport's.
    parsed: object | None = None


class ProviderError(Exception):
    """A failed call. ``retryable`` says whether trying again may succeed (429, 5xx, timeouts,
    dropped connections); ``message`` is the provider's own words, shown to the user;
    ``rate_limit_headers`` are those of the error reply (a 429 says when the budget resets)."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        retryable: bool = False,
        retry_after: float | None = None,
        rate_limit_headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.retryable = retryable
        self.retry_after = retry_after
        self.rate_limit_headers = rate_limit_headers or {}

    def __str__(self) -> str:
        return f"HTTP {self.status}: {self.message}" if self.status else self.message


class Provider(Protocol):
    async def complete(self, request: CompletionRequest) -> Completion: ...

    async def embed(self, texts: list[str], *, model: str) -> list[list[float]]: ...

    async def check_connection(self, model: str | None = None) -> str: ...

    async def aclose(self) -> None: ...


RATE_LIMIT_HEADER_PREFIXES = ("x-ratelimit-", "anthropic-ratelimit-", "retry-after")
# OpenAI and Anthropic both require tool / schema names of this shape.
_NAME_RE = re.compile(r"[^a-zA-Z0-9_-]")

# Embedding requests are batched: OpenAI accepts up to 2048 inputs, smaller batches keep each
# request well under its size and token limits.
EMBED_BATCH = 256


def safe_schema_name(name: str) -> str:
    return _NAME_RE.sub("_", name)[:64] or "answer"


def rate_limit_headers(headers: object) -> dict[str, str]:
    items = getattr(headers, "items", None)
    if items is None:
        return {}
    return {
        key.lower(): value
        for key, value in items()
        if key.lower().startswith(RATE_LIMIT_HEADER_PREFIXES)
    }


def parse_retry_after(headers: object) -> float | None:
    get = getattr(headers, "get", None)
    raw = get("retry-after") if get else None
    try:
        return float(raw) if raw is not None else None
    except ValueError:
        return None


def error_message(body: object, fallback: str) -> str:
    """The provider's own error message from an error body (both APIs nest it in ``error``;
    vLLM puts it at the top), cleaned; ``fallback`` when the body is not that JSON format."""
    if isinstance(body, Mapping):
        error = body.get("error", body)
        if isinstance(error, Mapping) and error.get("message"):
            return clean_message(str(error["message"])) or fallback
    return fallback


# An error message read from a server is cut to this many characters: enough for a provider's
# explanation, too little to carry a page of whatever the server at the base URL holds.
MAX_SERVER_MESSAGE = 300
_MARKUP = re.compile(r"<[^<>]*>")
_SPACES_AND_CONTROLS = re.compile(r"[\s\x00-\x1f\x7f]+")
_MEDIA_TYPE = re.compile(r"[A-Za-z0-9.+-]+/[A-Za-z0-9.+-]+")


def clean_message(text: str) -> str:
    """A server's message as plain text for a page: no markup, no control characters, one
    line, at most MAX_SERVER_MESSAGE characters."""
    text = _SPACES_AND_CONTROLS.sub(" ", _MARKUP.sub(" ", text)).strip()
    if len(text) > MAX_SERVER_MESSAGE:
        text = text[: MAX_SERVER_MESSAGE - 1].rstrip() + "…"
    return text


def status_line(status: int, response: Any) -> str:
    """What a non-2xx answer that is not the provider's JSON error was ("Not Found from
    api.example.com"), without its body (the server at a base URL may be anything; its page is not
    ours to show)."""
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Unknown status"
    host = _host_of(response)
    return f"{phrase} from {host}" if host else phrase


def _host_of(response: Any) -> str:
    try:
        return str(response.request.url.host)
    except (AttributeError, RuntimeError):  # httpx raises RuntimeError for a missing request
        return ""


def not_json(response: Any) -> str:
    """What an answer that does not parse as JSON was, without its body: "expected a JSON
    answer, got text/html", or "the JSON answer is cut or malformed"."""
    header = str(response.headers.get("content-type", ""))
    found = _MEDIA_TYPE.match(header.strip())
    media_type = found.group(0).lower() if found else "no content type"
    if media_type.endswith("json"):
        return "the JSON answer is cut or malformed"
    return f"expected a JSON answer, got {media_type}"


async def list_model_ids(client: Any, path: str, params: dict[str, Any] | None = None) -> list[str]:
    """The model ids a server lists (OpenAI and Anthropic share ``{"data": [{"id": ...}]}``),
    through the SDK's request pipeline but read here: the SDKs' typed ``models.list`` crashed
    on a 200 that was not JSON (an HTML page at the base URL), and the check must say what it
    got instead ("expected a JSON answer, got text/html")."""
    import httpx2

    options = {"params": params} if params else {}
    response = await client.get(path, cast_to=httpx2.Response, options=options)
    host = _host_of(response)
    try:
        data = response.json()
    except ValueError:
        got = not_json(response) + (f" from {host}" if host else "")
        raise ProviderError(got, status=response.status_code) from None
    items = data.get("data") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise ProviderError(
            "expected a list of models (JSON with 'data'), got something else"
            + (f" from {host}" if host else ""),
            status=response.status_code,
        )
    return [str(item["id"]) for item in items if isinstance(item, dict) and "id" in item]


def batches(texts: list[str], size: int = EMBED_BATCH) -> Iterable[list[str]]:
    for start in range(0, len(texts), size):
        yield texts[start : start + size]


@functools.cache
def shared_ssl_context() -> ssl.SSLContext:
    """The TLS context every provider client of this process uses. Building one loads the CA
    bundle (~20 ms of CPU) and a client is built per chunk, so a context per client cost about
    1 ms a row (see docs/performance.md). Same defaults as the SDKs' own (SSL_CERT_FILE too)."""
    import httpx2

    return httpx2.create_ssl_context()


T = TypeVar("T")


def sdk_error(exc: Exception, sdk: Any) -> ProviderError | None:
    """Our error for an error of the openai or anthropic SDK (they share exception names);
    None for an exception that is not the SDK's to map."""
    if isinstance(exc, sdk.APIStatusError):
        status = exc.status_code
        return ProviderError(
            error_message(exc.body, status_line(status, exc.response)),
            status=status,
            # 408/409/429 and every 5xx (Anthropic's 529 "overloaded" included) may pass later.
            retryable=status in (408, 409, 429) or status >= 500,
            retry_after=parse_retry_after(exc.response.headers),
            rate_limit_headers=rate_limit_headers(exc.response.headers),
        )
    if isinstance(exc, sdk.APITimeoutError):
        dropped = _connection_failure(exc)
        if dropped is not None:
            return ProviderError(f"Cannot reach the provider: {dropped}", retryable=True)
        return ProviderError("The provider did not answer in time", retryable=True)
    if isinstance(exc, sdk.APIConnectionError):
        return ProviderError(f"Cannot reach the provider: {exc}", retryable=True)
    if isinstance(exc, sdk.APIResponseValidationError | ValueError):
        # A 200 whose body is not JSON (json.JSONDecodeError is a ValueError) or not the
        # expected shape: a broken proxy or a cut connection, so trying again may work.
        return invalid_answer(exc)
    return None


def invalid_answer(exc: Exception) -> ProviderError:
    return ProviderError(f"The provider sent an invalid answer: {exc}", retryable=True)


def _connection_failure(exc: BaseException) -> BaseException | None:
    """The aiohttp error behind an SDK "timeout" that was no timeout. The SDKs' aiohttp
    transport maps every aiohttp connection error (refused, reset, server gone) to a connect
    timeout; the user should read what happened."""
    import aiohttp

    cause = exc.__cause__ or exc.__context__
    for _ in range(5):
        if cause is None:
            return None
        if isinstance(cause, aiohttp.ClientConnectionError) and not isinstance(cause, TimeoutError):
            return cause
        cause = cause.__cause__ or cause.__context__
    return None


async def post_json(client: Any, path: str, body: dict[str, Any]) -> tuple[dict[str, Any], Any]:
    """POST ``body`` through an SDK client's own request pipeline (base URL, auth and version
    headers, timeout, error classes; the SDKs document ``client.post`` for requests they have
    no typed method for) and return the JSON answer with the response headers.

    Why not the typed ``create``: for the hot path of a run it costs twice the CPU of the
    request itself. It rebuilds the parameters through the SDK's TypedDict transform (a
    recursive walk over every message) and parses the answer into pydantic models, while we
    build plain JSON and read four fields (docs/performance.md: about 0.3 ms of the 1.3 ms a
    call costs). The wire format is the same; the tests run it against the protocol fakes."""
    import httpx2

    response = await client.post(path, body=body, cast_to=httpx2.Response)
    try:
        data = response.json()  # a ValueError (not JSON) is an invalid answer, as the SDK's own
    except ValueError:
        raise ValueError(not_json(response)) from None
    if not isinstance(data, dict):
        raise ValueError(f"expected a JSON object, got {type(data).__name__}")
    return data, response.headers


# Who is told when a call's answer arrives: its status and headers are in, the SDK has yet to
# read and parse the body. Per task (a client serves many concurrent calls): the caller sets it
# around its call with ``on_answer``; the providers' HTTP clients run ``answer_hooks``.
_on_answer: ContextVar[Callable[[], bool] | None] = ContextVar("on_answer", default=None)

# Turns of the event loop an answer gives way for when its callback woke another call (True):
# the woken call builds and sends its request before this answer is read, parsed and stored.
# When a round of answers arrives at once (a constant latency keeps calls in step), answers
# processed first-come-first-served kept every next request waiting for the whole round's
# processing (docs/performance.md, eighth round); three turns cover the woken call's way to
# the wire (its slot, the run's status, an in-memory limiter, the SDK's request).
ANSWER_GIVES_WAY = 3


@contextmanager
def on_answer(callback: Callable[[], bool] | None) -> Iterator[None]:
    """Within the block, ``callback`` is called as each of this task's provider answers
    arrives (a redirect's too, so it must be idempotent, as ``CallLease.answered`` is); it
    returns whether it woke another call, which this answer then gives way to."""
    token = _on_answer.set(callback)
    try:
        yield
    finally:
        _on_answer.reset(token)


async def _answer_arrived(response: Any) -> None:
    callback = _on_answer.get()
    if callback is not None and callback():
        for _ in range(ANSWER_GIVES_WAY):
            await asyncio.sleep(0)


def answer_hooks() -> dict[str, list[Callable[[Any], Awaitable[None]]]]:
    """The ``event_hooks`` of a provider's HTTP client: ``on_answer`` callbacks on arrival."""
    return {"response": [_answer_arrived]}


def field_path(data: Any, *path: str | int) -> Any:
    """``data[path[0]][path[1]]...``; a ValueError (an invalid answer) when the shape differs."""
    for step in path:
        try:
            data = data[step]
        except (KeyError, IndexError, TypeError) as exc:
            raise ValueError(f"the answer has no {'.'.join(map(str, path))}") from exc
    return data


def sdk_guarded_sync(call: Callable[[], T], sdk: Any) -> T:
    """``sdk_guarded`` for the SDKs' synchronous clients (batch mode)."""
    try:
        return call()
    except Exception as exc:
        mapped = sdk_error(exc, sdk)
        if mapped is None:
            raise
        raise mapped from exc


async def sdk_guarded(call: Callable[[], Awaitable[T]], sdk: Any) -> T:
    """Await an SDK call, raising our ProviderError for the SDK's errors."""
    try:
        return await call()
    except Exception as exc:
        mapped = sdk_error(exc, sdk)
        if mapped is None:
            raise
        raise mapped from exc
