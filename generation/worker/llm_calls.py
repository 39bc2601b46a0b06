"""How the engine's LLM asks become provider calls: ledger first, then the rate limiter, the
retry policy and the provider SDK, then the ledger again. A finished call is committed to the
ledger as soon as the database takes it, and always before (or with) its row, so a resumed or
redelivered row never pays for it twice."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from django.conf import settings
from django.db import IntegrityError, transaction

from generation.engine import LlmAnswer, LlmAsk, LlmFailure
from generation.models import LlmCall, Run
from generation.pricing import call_cost
from generation.provider_configs import CredentialUnusable, credential_provider_config
from generation.providers import (
    Completion,
    CompletionRequest,
    Provider,
    ProviderError,
    build_provider,
    on_answer,
)
from generation.ratelimit import RateLimiter, build_rate_limiter, limited_call
from generation.retry import call_with_retries
from generation.structured import complete_structured
from generation.token_estimate import estimate_request_tokens
from generation.worker.call_slots import CallLease, CallSlots
from generation.worker.db_thread import DbThread
from generation.worker.loop import on_worker_loop, worker_provider
from generation.worker.row_writes import record_calls
from studio.models import ProviderCredential
from studio.schema.llm_kinds import LlmJudgeColumn

if TYPE_CHECKING:
    from generation.worker.chunk_store import ChunkStore

MSG_CREDENTIAL_GONE = "The credential of column '{column}' was deleted"
MSG_INVALID_ANSWER = "The answer did not match the JSON schema after {tries} tries: {error}"


class RunStopped(Exception):
    """The run was paused or cancelled while the row waited: the row stays pending."""


class BudgetReached(Exception):
    """The next call could take the run past its budget. Not a row failure: the row stays
    pending and the run can go on once the budget is raised."""


def ledger_lookup(project_id: int, key: str) -> LlmCall | None:
    """The answer recorded for ``key`` in this project's ledger (never another project's)."""
    return LlmCall.objects.filter(project_id=project_id, key=key).first()


def ledger_record(**fields: Any) -> None:
    """Record a finished call and add its cost to the run's spend, in one transaction."""
    try:
        with transaction.atomic():
            record_calls(fields.get("run_id"), [fields])
    except IntegrityError:
        pass  # recorded by another worker first (the answer is equivalent), or its row is gone


def budget_allows(run_id: int, next_call_cost: Decimal) -> bool:
    """Whether the run may spend ``next_call_cost`` more. Calls already in flight on other
    rows are not reserved, so a run can overshoot by at most its concurrency × one call."""
    run = Run.objects.filter(pk=run_id).values("budget_usd", "spent_usd").first()
    if run is None or run["budget_usd"] is None:
        return True
    return run["spent_usd"] + next_call_cost <= run["budget_usd"]


def credential_price(credential: ProviderCredential) -> tuple[Decimal, Decimal] | None:
    if credential.input_price_per_million is None and credential.output_price_per_million is None:
        return None
    return (
        credential.input_price_per_million or Decimal(0),
        credential.output_price_per_million or Decimal(0),
    )


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

    async def _may_call(self, worst_cost: Callable[[], Decimal], held: bool) -> int | None:
        """Raise when the run must not make this call: paused or cancelled meanwhile (seen
        through the chunk's store), or its budget would not cover the call's worst cost
        (``worst_cost`` is priced only when the run has a budget). Returns the budget hold
        taken for the call in a chunk (None: no budget, or ``held`` already, on a retry)."""
        if self.run_id is None:
            return None
        if self.store is not None and not (await self.store.state()).running:
            raise RunStopped()
        if not self.check_budget or held:
            return None
        if self.store is None:
            if not await self.db.run(budget_allows, self.run_id, worst_cost()):
                raise BudgetReached()
            return None
        if (await self.store.state()).budget_usd is None:
            return None
        # Every call in flight, of every worker, holds the worst it can cost in the database
        # until its cost is spent: together they cannot pass the budget (budget_holds).
        answer = await self.store.hold(worst_cost())
        if not answer.running:
            raise RunStopped()
        if not answer.granted:
            raise BudgetReached()
        return answer.hold_id

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
            sample=f"{self.sample_prefix}:{ask.row_index}",
        )
        cached = await self._ledger_lookup(key)
        if cached is not None:
            completion = Completion(
                text=cached.response_text,
                input_tokens=cached.input_tokens,
                output_tokens=cached.output_tokens,
                latency_ms=0,
            )
            return PaidCall(completion, cached.cost_usd, True)
        return await self.on_miss(self, LedgerMiss(credential, ask, request, key, reask))

    async def call_provider(self, miss: LedgerMiss) -> PaidCall:
        """The online call of a ledger miss: budget check, rate limiter, retries, the SDK,
        and the ledger again before the answer is used."""
        credential, ask, request, key, reask = (
            miss.credential,
            miss.ask,
            miss.request,
            miss.key,
            miss.reask,
        )
        price: dict[str, Any] = {
            "provider": credential.provider,
            "base_url": credential.base_url or None,
            "custom_price": credential_price(credential),
        }
        tokens = estimate_request_tokens(request)

        def worst() -> Decimal:
            # The most this call can cost: the estimated prompt and a full max_tokens answer.
            return call_cost(
                request.model, tokens - request.max_tokens, request.max_tokens, **price
            )

        provider = self._provider(credential)

        hold_id: int | None = None
        held = False
        slots = self.call_slots
        lease: CallLease | None = None

        def release() -> None:
            if lease is not None:
                lease.recorded()

        async def attempt() -> Completion:
            nonlocal hold_id, held, lease
            # A slot first (calls in flight are bounded, rows waiting for one are ready to
            # send), then the run's status and budget as they are now, then the limiter. The
            # slot goes to the next call as soon as the answer arrives (the provider's response
            # hook); the call's unrecorded place is held until its ledger entry is committed
            # (released by _ledger_record).
            lease = None
            if slots is not None:
                lease = await slots.lease((self.slot_order, ask.row_index))
            try:
                # Every attempt looks at the run's status; the budget is held once per call.
                taken = await self._may_call(worst, held)
                held, hold_id = True, hold_id if taken is None else taken
                with on_answer(lease.answered if lease is not None else None):
                    return await limited_call(
                        self.limiter,
                        f"{credential.pk}:{request.model}",
                        lambda: provider.complete(request),
                        rpm=credential.requests_per_minute,
                        tpm=credential.tokens_per_minute,
                        tokens=tokens,
                    )
            except BaseException:
                if lease is not None:
                    lease.release()
                raise

        try:
            completion = await call_with_retries(attempt, max_attempts=self.max_attempts)
        except BaseException as exc:
            if self.store is not None:
                self.store.settle(hold_id)  # nothing was paid: nothing to hold
            if isinstance(exc, ProviderError):
                raise LlmFailure(str(exc), attempts=reask + 1) from exc
            raise
        if lease is not None:
            lease.answered()  # given back on arrival already, unless the provider has no hook
        try:
            cost = call_cost(
                request.model, completion.input_tokens, completion.output_tokens, **price
            )
        except BaseException:
            release()
            if self.store is not None:
                self.store.settle(hold_id)
            raise
        await self._ledger_record(
            {
                "project_id": self.project_id,
                "key": key,
                "run_id": self.run_id,
                "credential_id": credential.pk,
                "provider": credential.provider,
                "model": request.model,
                "column": ask.column.name,
                "row_index": ask.row_index,
                "reask": reask,
                "request": {
                    "system": request.system,
                    "messages": request.messages(),
                    "temperature": request.temperature,
                    "max_tokens": request.max_tokens,
                    "json_schema": request.json_schema,
                },
                "response_text": completion.text,
                "input_tokens": completion.input_tokens,
                "output_tokens": completion.output_tokens,
                "cost_usd": cost,
                "latency_ms": completion.latency_ms,
            },
            release,
            hold_id,
        )
        return PaidCall(completion, cost, False)

    async def aclose(self) -> None:
        for provider in self._owned:
            await provider.aclose()
        self._owned.clear()
        self._providers.clear()
        if not on_worker_loop():
            # On the worker's actor loop the limiter's connections stay for the next chunk.
            await self.limiter.aclose()
