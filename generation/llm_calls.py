"""How the engine's LLM asks become provider calls: ledger first, then the rate limiter, the
retry policy and the provider SDK, then the ledger again. A finished call is recorded before
its answer is used, so a crash after it never pays for it twice."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F

from generation.db_thread import DbThread
from generation.engine import LlmAnswer, LlmAsk, LlmFailure
from generation.models import LlmCall, Run
from generation.pricing import call_cost
from generation.providers import (
    CompletionRequest,
    Provider,
    ProviderConfig,
    ProviderError,
    build_provider,
)
from generation.ratelimit import limiter
from generation.retry import call_with_retries
from studio.crypto import SecretUnavailable
from studio.models import ProviderCredential
from studio.services import credential_api_key

MSG_CREDENTIAL_GONE = "The credential of column '{column}' was deleted"


class BudgetReached(Exception):
    """The next call could take the run past its budget. Not a row failure: the row stays
    pending and the run can go on once the budget is raised."""


def ledger_lookup(key: str) -> LlmCall | None:
    return LlmCall.objects.filter(key=key).first()


def ledger_record(**fields: object) -> None:
    """Record a finished call and add its cost to the run's spend, in one transaction."""
    try:
        with transaction.atomic():
            call = LlmCall.objects.create(**fields)
            if call.run_id is not None and call.cost_usd:
                Run.objects.filter(pk=call.run_id).update(spent_usd=F("spent_usd") + call.cost_usd)
    except IntegrityError:
        pass  # another worker recorded the same call first; the answer is equivalent


def budget_allows(run_id: int, next_call_cost: Decimal) -> bool:
    """Whether the run may spend ``next_call_cost`` more. Calls already in flight on other
    rows are not reserved, so a run can overshoot by at most its concurrency × one call."""
    run = Run.objects.filter(pk=run_id).values("budget_usd", "spent_usd").first()
    if run is None or run["budget_usd"] is None:
        return True
    return run["spent_usd"] + next_call_cost <= run["budget_usd"]


@dataclass
class CallContext:
    """Everything a batch of rows needs to call providers; used by one event loop."""

    credentials: dict[int, ProviderCredential]
    db: DbThread
    sample_prefix: str
    run_id: int | None = None
    check_budget: bool = True
    max_attempts: int = field(default_factory=lambda: settings.STUDIO_PROVIDER_MAX_ATTEMPTS)
    _providers: dict[int, Provider] = field(default_factory=dict)

    def _provider(self, credential: ProviderCredential) -> Provider:
        provider = self._providers.get(credential.pk)
        if provider is None:
            try:
                api_key = credential_api_key(credential=credential)
            except SecretUnavailable as exc:
                raise LlmFailure(str(exc)) from exc
            provider = build_provider(
                ProviderConfig(
                    provider=credential.provider,
                    api_key=api_key,
                    base_url=credential.base_url or None,
                    timeout=settings.STUDIO_PROVIDER_TIMEOUT,
                )
            )
            self._providers[credential.pk] = provider
        return provider

    async def __call__(self, ask: LlmAsk) -> LlmAnswer:
        column = ask.column
        credential = self.credentials.get(column.credential_id)
        if credential is None:
            raise LlmFailure(MSG_CREDENTIAL_GONE.replace("{column}", column.name))
        request = CompletionRequest(
            model=column.model,
            prompt=ask.prompt,
            system=ask.system,
            temperature=column.temperature,
            max_tokens=column.max_tokens,
        )
        key = request.ledger_key(
            provider=credential.provider,
            base_url=credential.base_url,
            sample=f"{self.sample_prefix}:{ask.row_index}",
        )
        cached = await self.db.run(ledger_lookup, key)
        if cached is not None:
            return LlmAnswer(
                text=cached.response_text,
                input_tokens=cached.input_tokens,
                output_tokens=cached.output_tokens,
                cost_usd=cached.cost_usd,
                latency_ms=0,
                from_ledger=True,
            )
        provider = self._provider(credential)
        if self.run_id is not None and self.check_budget:
            # The most this call can cost: the prompt (about 4 characters a token) and a full
            # answer of max_tokens.
            worst = call_cost(
                column.model,
                (len(request.system) + len(request.prompt)) // 4 + 1,
                request.max_tokens,
            )
            if not await self.db.run(budget_allows, self.run_id, worst):
                raise BudgetReached()

        async def attempt() -> object:
            await limiter.acquire(
                f"{credential.pk}:{column.model}", per_minute=credential.requests_per_minute
            )
            return await provider.complete(request)

        try:
            completion = await call_with_retries(attempt, max_attempts=self.max_attempts)
        except ProviderError as exc:
            raise LlmFailure(str(exc)) from exc
        cost = call_cost(column.model, completion.input_tokens, completion.output_tokens)
        await self.db.run(
            ledger_record,
            key=key,
            run_id=self.run_id,
            credential_id=credential.pk,
            provider=credential.provider,
            model=column.model,
            column=column.name,
            row_index=ask.row_index,
            request={
                "system": request.system,
                "messages": request.messages(),
                "temperature": request.temperature,
                "max_tokens": request.max_tokens,
            },
            response_text=completion.text,
            input_tokens=completion.input_tokens,
            output_tokens=completion.output_tokens,
            cost_usd=cost,
            latency_ms=completion.latency_ms,
        )
        return LlmAnswer(
            text=completion.text,
            input_tokens=completion.input_tokens,
            output_tokens=completion.output_tokens,
            cost_usd=cost if cost else Decimal(0),
            latency_ms=completion.latency_ms,
        )

    async def aclose(self) -> None:
        for provider in self._providers.values():
            await provider.aclose()
        self._providers.clear()
