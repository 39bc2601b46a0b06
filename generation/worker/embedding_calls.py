"""Embeddings through the same call path as completions: the ledger first, then on a miss the
online call (``OnlineCall``: call slot, the run's status and budget, the shared rate limiter
over requests and tokens, retries on 429/5xx/timeouts, the SDK), priced per input token
(``CallPrice``) and recorded in the ledger with the run's spend before the vectors are used.
A request embeds several texts; its ledger entry keeps their vectors (float32, base64), so
asking the same texts again in the project is answered at once and paid nothing."""

from __future__ import annotations

import base64
import json
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from generation.engine import LlmFailure
from generation.providers import (
    Completion,
    EmbeddingRequest,
    Provider,
    ProviderError,
)
from generation.token_estimate import text_tokens
from generation.worker.call_price import CallPrice
from generation.worker.online_call import OnlineCall
from studio.models import ProviderCredential

if TYPE_CHECKING:
    from generation.worker.llm_calls import CallContext

MSG_CREDENTIAL_GONE = "The embeddings credential was deleted, or is not this project's"
MSG_COUNT = "The provider returned {got} embeddings for {asked} texts"
MSG_BAD_ENTRY = "The ledger entry of these embeddings cannot be read: {error}"


@dataclass(frozen=True, slots=True)
class EmbeddingMiss:
    """An embeddings request the ledger could not answer, as ``OnlineCall`` sends it."""

    credential: ProviderCredential
    request: EmbeddingRequest
    key: str
    row_index: int
    reask: int = 0

    @property
    def model(self) -> str:
        return self.request.model

    def worst_cost(self, price: CallPrice, tokens: int) -> Decimal:
        # Embeddings are priced by their input; there is no answer to pay for.
        return price.cost(tokens, 0)

    async def send(self, provider: Provider) -> Completion:
        """The provider's vectors as a completion whose text is what the ledger stores."""
        answer = await provider.embed(self.request)
        if len(answer.vectors) != len(self.request.texts):
            message = MSG_COUNT.format(got=len(answer.vectors), asked=len(self.request.texts))
            raise ProviderError(message, retryable=True)
        return Completion(
            text=encode_vectors(answer.vectors),
            input_tokens=answer.input_tokens,
            output_tokens=0,
            latency_ms=answer.latency_ms,
            rate_limit_headers=answer.rate_limit_headers,
        )


@dataclass(frozen=True, slots=True)
class EmbeddedTexts:
    vectors: list[list[float]]
    input_tokens: int
    cost_usd: Decimal
    from_ledger: bool


def encode_vectors(vectors: Sequence[Sequence[float]]) -> str:
    """The vectors as the ledger keeps them: float32 little-endian, base64, one per text (a
    third of the size of JSON numbers; a cosine does not need more precision)."""
    return json.dumps(
        {"embeddings": [base64.b64encode(struct.pack(f"<{len(v)}f", *v)).decode() for v in vectors]}
    )


def decode_vectors(text: str) -> list[list[float]]:
    try:
        encoded = json.loads(text)["embeddings"]
        vectors = []
        for item in encoded:
            raw = base64.b64decode(item)
            vectors.append(list(struct.unpack(f"<{len(raw) // 4}f", raw)))
    except (ValueError, KeyError, TypeError, struct.error) as exc:
        raise LlmFailure(MSG_BAD_ENTRY.format(error=exc)) from exc
    return vectors


def estimate_tokens(texts: Sequence[str]) -> int:
    return sum(text_tokens(text) for text in texts) or 1


def _entry(
    context: CallContext, miss: EmbeddingMiss, column: str, completion: Completion, cost: Decimal
) -> dict[str, Any]:
    """The fields of the ledger entry (an ``LlmCall``) of a finished embeddings call."""
    return {
        "project_id": context.project_id,
        "key": miss.key,
        "run_id": context.run_id,
        "credential_id": miss.credential.pk,
        "provider": miss.credential.provider,
        "model": miss.model,
        "column": column[:64],
        "row_index": miss.row_index,
        "reask": 0,
        "request": {"embeddings": True, "input": list(miss.request.texts)},
        "response_text": completion.text,
        "input_tokens": completion.input_tokens,
        "output_tokens": 0,
        "cost_usd": cost,
        "latency_ms": completion.latency_ms,
    }


async def embed_texts(
    context: CallContext,
    *,
    credential_id: int,
    model: str,
    texts: Sequence[str],
    column: str,
    row_index: int,
) -> EmbeddedTexts:
    """The vectors of ``texts`` (one request: the caller bounds its size), from the ledger when
    this project asked them before, else paid through the online call. A failure for good
    raises ``LlmFailure`` (the provider's message); ``BudgetReached`` and ``RunStopped`` as
    for completions. ``column`` and ``row_index`` (the first row's) label the ledger entry."""
    credential = context.credentials.get(credential_id)
    if credential is None or credential.project_id != context.project_id:
        raise LlmFailure(MSG_CREDENTIAL_GONE)
    request = EmbeddingRequest(model=model, texts=tuple(texts))
    key = request.ledger_key(
        project_id=context.project_id,
        provider=credential.provider,
        base_url=credential.base_url or None,
    )
    cached = await context._ledger_lookup(key)
    if cached is not None:
        vectors = decode_vectors(cached.response_text)
        return EmbeddedTexts(vectors, cached.input_tokens, cached.cost_usd, True)
    price = CallPrice.of(credential, model)
    miss = EmbeddingMiss(credential, request, key, row_index)
    call = OnlineCall(context, miss, context._provider(credential), price, estimate_tokens(texts))
    completion = await call.send()
    try:
        cost = price.cost(completion.input_tokens, 0)
        vectors = decode_vectors(completion.text)
    except BaseException:
        call.recorded()
        call.settle()
        raise
    entry = _entry(context, miss, column, completion, cost)
    await context._ledger_record(entry, call.recorded, call.hold_id)
    return EmbeddedTexts(vectors, completion.input_tokens, cost, False)
