"""The ``call_llm`` of a batch pass, and what batched calls cost.

``BatchCallContext`` is the online ``CallContext`` (same ledger keys, same structured-output
re-asks, same judge handling) with one change: a ledger miss is not called, it is *deferred*.
Only the miss path differs, so an answer recorded by a batch serves a later online run with the
same seed, and the other way round.

Price: both OpenAI (Batch API) and Anthropic (Message Batches) bill batched requests at 50% of
their standard rates. We apply that factor to whatever price the online call would have had,
including a credential's custom price (assumption: a negotiated or self-hosted price is discounted
the same way; a self-hosted price of 0 stays 0). OpenAI-compatible servers that implement the
Batch API are assumed to follow OpenAI's discount.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from generation.engine import LlmAsk, LlmFailure
from generation.pricing import call_cost
from generation.providers import Completion, CompletionRequest
from generation.providers.registry import BATCH_PROVIDERS
from generation.token_estimate import estimate_request_tokens
from generation.worker.llm_calls import CallContext, _Paid, credential_price, ledger_lookup
from studio.models import ProviderCredential

BATCH_PRICE_FACTOR = Decimal("0.5")


class Deferred(Exception):
    """The answer is not in the ledger yet: the request goes into the next batch and the row
    stays pending. Deliberately not an ``LlmFailure`` (nor a ``ValueError``), so the engine
    does not record it as a column error but lets it end the row's fill."""


def batch_call_cost(
    credential: ProviderCredential, model: str, input_tokens: int, output_tokens: int
) -> Decimal:
    """What a batched call costs: the online price times ``BATCH_PRICE_FACTOR``."""
    online = call_cost(
        model,
        input_tokens,
        output_tokens,
        provider=credential.provider,
        base_url=credential.base_url or None,
        custom_price=credential_price(credential),
    )
    return online * BATCH_PRICE_FACTOR


def request_record(request: CompletionRequest) -> dict[str, Any]:
    """What a ``BatchRequest`` stores: the ledger's request fields plus what rebuilds it."""
    return {
        "model": request.model,
        "system": request.system,
        "messages": request.messages(),
        "temperature": request.temperature,
        "max_tokens": request.max_tokens,
        "json_schema": request.json_schema,
        "schema_name": request.schema_name,
    }


def request_from_record(record: dict[str, Any]) -> CompletionRequest:
    return CompletionRequest(
        model=record["model"],
        system=record.get("system") or "",
        conversation=tuple(record.get("messages") or ()),
        temperature=record.get("temperature", 0.7),
        max_tokens=record.get("max_tokens", 512),
        json_schema=record.get("json_schema"),
        schema_name=record.get("schema_name") or "answer",
    )


def worst_case_cost(credential: ProviderCredential, request: CompletionRequest) -> Decimal:
    """The most a batched request can cost: the estimated prompt and a full ``max_tokens``
    answer, at the batch price (the online path's budget check, halved)."""
    tokens = estimate_request_tokens(request)
    return batch_call_cost(
        credential, request.model, tokens - request.max_tokens, request.max_tokens
    )


@dataclass(frozen=True)
class DeferredCall:
    key: str
    credential_id: int
    request: CompletionRequest
    column: str
    row_index: int
    reask: int


@dataclass
class BatchCallContext(CallContext):
    """``CallContext`` for a batch pass. ``errors`` maps ledger keys to the provider's message
    for requests that failed in the batches collected before this pass; ``deferred`` collects
    this pass's misses (one per key)."""

    errors: dict[str, str] = field(default_factory=dict)
    deferred: dict[str, DeferredCall] = field(default_factory=dict)

    async def _paid_call(
        self, credential: ProviderCredential, ask: LlmAsk, request: CompletionRequest, *, reask: int
    ) -> _Paid:
        if credential.provider not in BATCH_PROVIDERS:
            # The simulator has no batch API: it answers online, as in an online run.
            return await super()._paid_call(credential, ask, request, reask=reask)
        # The same key as CallContext._paid_call: batch and online answers are interchangeable.
        key = request.ledger_key(
            project_id=self.project_id,
            provider=credential.provider,
            base_url=credential.base_url,
            sample=f"{self.sample_prefix}:{ask.row_index}",
        )
        cached = await self.db.run(ledger_lookup, self.project_id, key)
        if cached is not None:
            completion = Completion(
                text=cached.response_text,
                input_tokens=cached.input_tokens,
                output_tokens=cached.output_tokens,
                latency_ms=0,
            )
            return _Paid(completion, cached.cost_usd, True)
        error = self.errors.get(key)
        if error is not None:
            raise LlmFailure(error, attempts=reask + 1)
        self.deferred.setdefault(
            key,
            DeferredCall(key, credential.pk, request, ask.column.name, ask.row_index, reask),
        )
        raise Deferred(key)
