"""How the engine's LLM asks become provider calls: ledger first, then the rate limiter, the
retry policy and the provider SDK, then the ledger again. A finished call is recorded before
its answer is used, so a crash after it never pays for it twice."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError

from generation.db_thread import DbThread
from generation.engine import LlmAnswer, LlmAsk, LlmFailure
from generation.models import LlmCall
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


def ledger_lookup(key: str) -> LlmCall | None:
    return LlmCall.objects.filter(key=key).first()


def ledger_record(**fields: object) -> None:
    try:
        LlmCall.objects.create(**fields)
    except IntegrityError:
        pass  # another worker recorded the same call first; the answer is equivalent


@dataclass
class CallContext:
    """Everything a batch of rows needs to call providers; used by one event loop."""

    credentials: dict[int, ProviderCredential]
    db: DbThread
    sample_prefix: str
    run_id: int | None = None
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
