"""What a call cost, in US dollars.

Prices come from ``genai-prices`` (pydantic's maintained price database: it ships its data inside
the package, ``genai_prices/data.py``, so lookups are offline; it matches model names with their
dated variants, e.g. ``gpt-4o-mini-2024-07-18``, and applies tiered prices such as Claude's long-
context rates). Our small table below is the fallback for when the package does not know a
model, and a credential's custom price (for self-hosted or negotiated prices) beats both.

Which price applies, by the credential's provider:

- ``custom_price`` given → that (USD per million input, output tokens), whatever the provider.
- ``openai`` / ``anthropic`` → that provider's list price for the model.
- ``openai_compatible`` → first the hosted service behind ``base_url`` when genai-prices knows
  its URL (OpenRouter, Groq, Together, DeepSeek, Mistral, ...); otherwise, only when the model
  name is an OpenAI or Anthropic model (a LiteLLM-style proxy relaying ``gpt-4o-mini`` bills at
  OpenAI's price), that price; otherwise 0: a self-hosted server
  (vLLM, Ollama, llama.cpp) costs nothing per token, and an open-weights model name must not be
  priced at whichever cloud host happens to sell it.
- ``None`` (caller did not say) → the model name alone, as before.
- ``simulator`` → 0.

Unknown models cost 0 rather than a guess.
"""

from __future__ import annotations

import logging
import warnings
from decimal import Decimal
from functools import lru_cache

logger = logging.getLogger(__name__)

PRICES_PER_MILLION: dict[str, tuple[Decimal, Decimal]] = {
    "gpt-4o": (Decimal("2.50"), Decimal("10.00")),
    "gpt-4o-mini": (Decimal("0.15"), Decimal("0.60")),
    "gpt-4.1": (Decimal("2.00"), Decimal("8.00")),
    "gpt-4.1-mini": (Decimal("0.40"), Decimal("1.60")),
    "gpt-4.1-nano": (Decimal("0.10"), Decimal("0.40")),
    "gpt-5": (Decimal("1.25"), Decimal("10.00")),
    "gpt-5-mini": (Decimal("0.25"), Decimal("2.00")),
    "gpt-5-nano": (Decimal("0.05"), Decimal("0.40")),
    "claude-3-5-haiku-latest": (Decimal("0.80"), Decimal("4.00")),
    "claude-haiku-4-5": (Decimal("1.00"), Decimal("5.00")),
    "claude-sonnet-4-5": (Decimal("3.00"), Decimal("15.00")),
    "claude-opus-4-1": (Decimal("15.00"), Decimal("75.00")),
    # Embeddings: input tokens only.
    "text-embedding-3-small": (Decimal("0.02"), Decimal("0")),
    "text-embedding-3-large": (Decimal("0.13"), Decimal("0")),
    "text-embedding-ada-002": (Decimal("0.10"), Decimal("0")),
}
MILLION = Decimal(1_000_000)
ZERO = Decimal(0)
# Model names a compatible endpoint may relay at the vendor's own price (see the docstring).
VENDOR_PROVIDERS = ("openai", "anthropic")

Price = tuple[Decimal, Decimal]


def _genai_price(
    model: str,
    input_tokens: int,
    output_tokens: int,
    *,
    provider_id: str | None = None,
    api_url: str | None = None,
) -> tuple[Decimal, str] | None:
    """(cost, the provider genai-prices matched) or None when it does not know the model."""
    try:
        from genai_prices import Usage, calc_price
    except ImportError:  # the dependency is optional at run time: the table still works
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if api_url is not None:
                result = calc_price(
                    Usage(input_tokens=input_tokens, output_tokens=output_tokens),
                    model,
                    provider_api_url=api_url,
                )
            else:
                result = calc_price(
                    Usage(input_tokens=input_tokens, output_tokens=output_tokens),
                    model,
                    provider_id=provider_id,
                )
    except LookupError:
        return None
    except Exception:  # a data problem in the package must never fail a paid call
        logger.warning("genai-prices failed for model %r", model, exc_info=True)
        return None
    return Decimal(result.total_price), result.provider.id


def _table_price(model: str) -> Price | None:
    return PRICES_PER_MILLION.get(model)


def _from_price(price: Price, input_tokens: int, output_tokens: int) -> Decimal:
    return (price[0] * input_tokens + price[1] * output_tokens) / MILLION


# Cached: genai-prices matches the model and computes a tiered price on every call (0.2 ms of
# CPU each, twice per call). The cost depends only on these five values, and a run repeats them.
@lru_cache(maxsize=16384)
def _lookup(
    model: str,
    input_tokens: int,
    output_tokens: int,
    provider: str | None,
    base_url: str | None,
) -> Decimal | None:
    """The cost by the rules of the module docstring, None when no price applies."""
    if provider == "simulator":
        return None
    if provider == "openai_compatible":
        if base_url:
            hosted = _genai_price(model, input_tokens, output_tokens, api_url=base_url)
            if hosted is not None:
                return hosted[0]
        relayed = _genai_price(model, input_tokens, output_tokens)
        if relayed is not None and relayed[1] in VENDOR_PROVIDERS:
            return relayed[0]
        table = _table_price(model)
        return _from_price(table, input_tokens, output_tokens) if table else None
    provider_id = provider if provider in VENDOR_PROVIDERS else None
    found = _genai_price(model, input_tokens, output_tokens, provider_id=provider_id)
    if found is not None:
        return found[0]
    table = _table_price(model)
    return _from_price(table, input_tokens, output_tokens) if table else None


def call_cost(
    model: str,
    input_tokens: int,
    output_tokens: int,
    *,
    provider: str | None = None,
    base_url: str | None = None,
    custom_price: Price | None = None,
) -> Decimal:
    """The cost of one call in USD; 0 when no price is known."""
    if custom_price is not None:
        return _from_price(custom_price, input_tokens, output_tokens)
    cost = _lookup(model, input_tokens, output_tokens, provider, base_url)
    return cost if cost is not None else ZERO
