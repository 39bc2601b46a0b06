"""The one interface every provider implements, and its one error type."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

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


@dataclass(frozen=True)
class EmbeddingRequest:
    """One embeddings call: ``texts`` in one request (the caller bounds how many)."""

    model: str
    texts: tuple[str, ...]

    def ledger_key(self, *, project_id: int, provider: str, base_url: str | None) -> str:
        """The call's key in project ``project_id``'s ledger. No ``sample``: an embedding is
        the same whenever it is asked, so a re-run (or another evaluation) asking the same
        texts in the same request is answered by the ledger."""
        payload = {
            "kind": "embeddings",
            "provider": provider,
            "base_url": base_url or "",
            "model": self.model,
            "texts": list(self.texts),
        }
        encoded = json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()
        return project_ledger_key(project_id, hashlib.sha256(encoded).hexdigest())


@dataclass
class Embeddings:
    """An embeddings answer: one vector per text, in the order asked."""

    vectors: list[list[float]]
    input_tokens: int
    latency_ms: int
    rate_limit_headers: dict[str, str] = field(default_factory=dict)


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

    async def embed(self, request: EmbeddingRequest) -> Embeddings: ...

    async def check_connection(self, model: str | None = None) -> str: ...

    async def aclose(self) -> None: ...
