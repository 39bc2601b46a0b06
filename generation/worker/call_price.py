"""What a call made with one credential costs: the most it can (held against the run's budget
before it is sent) and what it did (recorded in the ledger). ``pricing.call_cost`` knows the
prices; this is how a credential chooses among them."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from generation.pricing import call_cost
from generation.providers import CompletionRequest
from studio.models import ProviderCredential


def credential_price(credential: ProviderCredential) -> tuple[Decimal, Decimal] | None:
    """The credential's own price (USD per million input, output tokens), None when it sets
    neither, so the provider's list price applies."""
    if credential.input_price_per_million is None and credential.output_price_per_million is None:
        return None
    return (
        credential.input_price_per_million or Decimal(0),
        credential.output_price_per_million or Decimal(0),
    )


@dataclass(frozen=True, slots=True)
class CallPrice:
    """The price of one model's calls through one credential."""

    model: str
    provider: str
    base_url: str | None
    custom_price: tuple[Decimal, Decimal] | None

    @classmethod
    def of(cls, credential: ProviderCredential, model: str) -> CallPrice:
        return cls(
            model=model,
            provider=credential.provider,
            base_url=credential.base_url or None,
            custom_price=credential_price(credential),
        )

    def cost(self, input_tokens: int, output_tokens: int) -> Decimal:
        return call_cost(
            self.model,
            input_tokens,
            output_tokens,
            provider=self.provider,
            base_url=self.base_url,
            custom_price=self.custom_price,
        )

    def worst(self, request: CompletionRequest, tokens: int) -> Decimal:
        """The most a call of ``request`` can cost: its ``tokens`` estimated (prompt and a full
        ``max_tokens`` answer), all of ``max_tokens`` answered."""
        return self.cost(tokens - request.max_tokens, request.max_tokens)
