"""How the engine's LLM asks become provider calls: ledger first (``ledger``), then on a miss
the context's miss policy: online, the call slot, the run's status and budget, the rate limiter,
the retry policy and the provider SDK (``online_call``), then the ledger again. A finished call
is committed to the ledger as soon as the database takes it, and always before (or with) its
row, so a resumed or redelivered row never pays for it twice."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from django.conf import settings

from generation.engine import LlmAnswer, LlmAsk, LlmFailure
from generation.models import LlmCall
from generation.provider_configs import CredentialUnusable, credential_provider_config
from generation.providers import (
    Completion,
    CompletionRequest,
    Provider,
    build_provider,
)
from generation.ratelimit import RateLimiter, build_rate_limiter
from generation.structured import complete_structured
from generation.token_estimate import estimate_request_tokens
from generation.worker.call_price import CallPrice
from generation.worker.call_slots import CallSlots
from generation.worker.db_thread import DbThread
from generation.worker.ledger import (
    ledger_completion,
    ledger_entry,
    ledger_lookup,
    ledger_record,
)
from generation.worker.loop import on_worker_loop, worker_provider
from generation.worker.online_call import OnlineCall
from studio.models import ProviderCredential
from studio.schema.llm_kinds import LlmJudgeColumn

if TYPE_CHECKING:
    from generation.worker.chunk_store import ChunkStore

MSG_CREDENTIAL_GONE = "The credential of column '{column}' was deleted"
MSG_INVALID_ANSWER = "The answer did not match the JSON schema after {tries} tries: {error}"


@dataclass
class PaidCall:
    completion: Completion
    cost: Decimal
    from_ledger: bool


@dataclass(slots=True)
class LedgerMiss:
    """A call the ledger could not answer (``key`` is its ledger key): what a ``MissPolicy``
    decides about."""

    credential: ProviderCredential
    ask: LlmAsk
    request: CompletionRequest
    key: str
    reask: int

    @property
    def row_index(self) -> int:
        return self.ask.row_index

    @property
    def model(self) -> str:
        return self.request.model

    def worst_cost(self, price: CallPrice, tokens: int) -> Decimal:
        return price.worst(self.request, tokens)

    async def send(self, provider: Provider) -> Completion:
        return await provider.complete(self.request)


class MissPolicy(Protocol):
    """What a ``CallContext`` does with a call the ledger cannot answer: call the provider
    now (``call_online``, the default), or defer it into a provider batch
    (generation/batch/calls.py). Either way the ledger key, the structured-output re-asks and
    the judge handling are the context's, so every policy's answers serve the others."""

    async def __call__(self, context: CallContext, miss: LedgerMiss) -> PaidCall: ...


async def call_online(context: CallContext, miss: LedgerMiss) -> PaidCall:
    return await context.call_provider(miss)


@dataclass
class CallContext:
    """Everything a batch of rows needs to call providers; used by one event loop.

    ``project_id`` is whose ledger answers and records the calls (the run's or the preview's
    project; the store's, when there is one). With a ``store`` (a run's chunk) the ledger and
    the budget go through its grouped flushes; without one (previews, batch passes) each is
    its own round trip on ``db``."""

    credentials: dict[int, ProviderCredential]
    db: DbThread
    sample_prefix: str
    project_id: int
    run_id: int | None = None
    check_budget: bool = True
    store: ChunkStore | None = None
    # Bounds the calls in flight and those not yet in the ledger; None: unbounded.
    call_slots: CallSlots | None = None
    # Where this chunk's calls queue for a slot, before its row index: its start order among
    # the chunks sharing the slots (call_slots.py).
    slot_order: int = 0
    max_attempts: int = field(default_factory=lambda: settings.STUDIO_PROVIDER_MAX_ATTEMPTS)
    limiter: RateLimiter = field(
        default_factory=lambda: build_rate_limiter(settings.STUDIO_REDIS_URL)
    )
    on_miss: MissPolicy = call_online
    # Row index → column → the attempt whose sample it asks for: a regenerated column asks a
    # fresh sample (``sample_key``), the others the one they were answered by before.
    row_samples: dict[int, dict[str, int]] = field(default_factory=dict)
    _providers: dict[int, Provider] = field(default_factory=dict)
    # Providers built here (not pooled by a worker thread's kept loop), closed by aclose.
    _owned: list[Provider] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.store is not None and self.store.project_id != self.project_id:
            raise ValueError("a chunk's calls use its run's project's ledger")

    def _provider(self, credential: ProviderCredential) -> Provider:
        provider = self._providers.get(credential.pk)
        if provider is None:
            try:
                config = credential_provider_config(
                    credential=credential, timeout=settings.STUDIO_PROVIDER_TIMEOUT
                )
            except CredentialUnusable as exc:
                raise LlmFailure(str(exc)) from exc
            provider = worker_provider(config)
            if provider is None:
                provider = build_provider(config)
                self._owned.append(provider)
            self._providers[credential.pk] = provider
        return provider

    async def _ledger_lookup(self, key: str) -> LlmCall | None:
        if self.store is not None:
            return await self.store.lookup(key)
        return await self.db.run(ledger_lookup, self.project_id, key)

    async def _ledger_record(
        self, fields: dict[str, Any], release: Callable[[], None], hold_id: int | None
    ) -> None:
        """Record a finished call, then ``release`` its unrecorded place (``CallSlots``) once
        the entry is committed. Its budget hold goes in that commit (the cost is spent now)."""
        if self.store is not None:
            try:
                self.store.record(fields, on_done=release, hold_id=hold_id)
            except BaseException:  # the chunk's store failed before: nothing was queued
                release()
                raise
        else:
            try:
                await self.db.run(ledger_record, **fields)
            finally:
                release()

    async def __call__(self, ask: LlmAsk) -> LlmAnswer:
        column = ask.column
        credential = self.credentials.get(column.credential_id)
        if credential is None or credential.project_id != self.project_id:
            raise LlmFailure(MSG_CREDENTIAL_GONE.replace("{column}", column.name))
        schema = column.response_schema()
        request = CompletionRequest(
            model=column.model,
            prompt=ask.prompt,
            system=ask.system,
            temperature=column.temperature,
            max_tokens=column.max_tokens,
            json_schema=schema,
            schema_name=column.name,
        )
        paid: list[PaidCall] = []

        async def call(current: CompletionRequest) -> Completion:
            paid.append(await self._paid_call(credential, ask, current, reask=len(paid)))
            return paid[-1].completion

        if schema is None:
            text, parsed = (await call(request)).text, None
        else:
            # A schema is only set for structured and judge columns, which have max_reasks.
            max_reasks = getattr(column, "max_reasks", 0)
            result = await complete_structured(call, request, max_reasks=max_reasks)
            if not result.ok:
                raise LlmFailure(
                    MSG_INVALID_ANSWER.replace("{tries}", str(len(result.attempts))).replace(
                        "{error}", result.error or "invalid"
                    ),
                    raw_text=result.text,
                    attempts=len(result.attempts),
                )
            text, parsed = result.text, result.parsed
            if isinstance(column, LlmJudgeColumn):
                try:
                    parsed = column.interpret(parsed)
                except ValueError as exc:
                    raise LlmFailure(str(exc), raw_text=text, attempts=len(paid)) from exc
        return LlmAnswer(
            text=text,
            parsed=parsed,
            input_tokens=sum(p.completion.input_tokens for p in paid),
            output_tokens=sum(p.completion.output_tokens for p in paid),
            cost_usd=sum((p.cost for p in paid), Decimal(0)),
            latency_ms=sum(p.completion.latency_ms for p in paid),
            from_ledger=all(p.from_ledger for p in paid),
            attempts=len(paid),
        )

    async def _paid_call(
        self, credential: ProviderCredential, ask: LlmAsk, request: CompletionRequest, *, reask: int
    ) -> PaidCall:
        """One call: answered by the ledger when it was made before, else by the miss policy."""
        key = request.ledger_key(
            project_id=self.project_id,
            provider=credential.provider,
            base_url=credential.base_url,
            sample=self.sample_key(ask),
        )
        cached = await self._ledger_lookup(key)
        if cached is not None:
            return PaidCall(ledger_completion(cached), cached.cost_usd, True)
        return await self.on_miss(self, LedgerMiss(credential, ask, request, key, reask))

    def sample_key(self, ask: LlmAsk) -> str:
        """The sample a call asks for: the row's, or for a column regenerated at attempt ``n``
        (generation/regeneration.py) a fresh one per attempt, so the ledger does not give the
        old answer again, while the same attempt asked twice is answered by it."""
        sample = f"{self.sample_prefix}:{ask.row_index}"
        attempt = self.row_samples.get(ask.row_index, {}).get(ask.column.name)
        return sample if attempt is None else f"{sample}:attempt:{attempt}"

    async def call_provider(self, miss: LedgerMiss) -> PaidCall:
        """The online call of a ledger miss: priced, sent (``OnlineCall``: a call slot, the
        run's status and budget, the rate limiter, retries, the SDK), and recorded in the
        ledger before the answer is used."""
        credential, request = miss.credential, miss.request
        price = CallPrice.of(credential, request.model)
        tokens = estimate_request_tokens(request)
        call = OnlineCall(self, miss, self._provider(credential), price, tokens)
        completion = await call.send()
        try:
            cost = price.cost(completion.input_tokens, completion.output_tokens)
        except BaseException:
            call.recorded()
            call.settle()
            raise
        entry = ledger_entry(
            project_id=self.project_id,
            key=miss.key,
            run_id=self.run_id,
            credential=credential,
            ask=miss.ask,
            request=request,
            reask=miss.reask,
            completion=completion,
            cost=cost,
        )
        await self._ledger_record(entry, call.recorded, call.hold_id)
        return PaidCall(completion, cost, False)

    async def aclose(self) -> None:
        for provider in self._owned:
            await provider.aclose()
        self._owned.clear()
        self._providers.clear()
        if not on_worker_loop():
            # On the worker's actor loop the limiter's connections stay for the next chunk.
            await self.limiter.aclose()
