"""The ``call_llm`` of a batch pass, and what batched calls cost.

A batch pass uses the online ``CallContext`` (same ledger keys, same structured-output re-asks,
same judge handling) with one change, its miss policy ``DeferToBatch``: a ledger miss is not
called, it is *deferred*. Only the miss path differs, so an answer recorded by a batch serves a
later online run with the same seed, and the other way round.

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

from generation.engine import LlmFailure
from generation.pricing import call_cost
from generation.providers import CompletionRequest
from generation.providers.registry import BATCH_PROVIDERS
from generation.token_estimate import estimate_request_tokens
from generation.worker.call_price import credential_price
from generation.worker.llm_calls import CallContext, LedgerMiss, PaidCall
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
class DeferToBatch:
    """The miss policy of a batch pass (``CallContext(on_miss=DeferToBatch(...))``).
    ``errors`` maps ledger keys to the provider's message for requests that failed in the
    batches collected before this pass; ``deferred`` collects this pass's misses (one per key)."""

    errors: dict[str, str] = field(default_factory=dict)
    deferred: dict[str, DeferredCall] = field(default_factory=dict)

    async def __call__(self, context: CallContext, miss: LedgerMiss) -> PaidCall:
        if miss.credential.provider not in BATCH_PROVIDERS:
            # The simulator has no batch API: it answers online, as in an online run.
            return await context.call_provider(miss)
        error = self.errors.get(miss.key)
        if error is not None:
            raise LlmFailure(error, attempts=miss.reask + 1)
        self.deferred.setdefault(
            miss.key,
            DeferredCall(
                miss.key,
                miss.credential.pk,
                miss.request,
                miss.ask.column.name,
                miss.ask.row_index,
                miss.reask,
            ),
        )
        raise Deferred(miss.key)
