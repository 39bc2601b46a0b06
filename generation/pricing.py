"""Prices in US dollars per million tokens (input, output) for common models.

A small table we keep by hand: prices change, so unknown models cost 0 and the run page says the
cost is unknown rather than guessing. Self-hosted models (vLLM, Ollama) are free here.
"""

from __future__ import annotations

from decimal import Decimal

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
}
MILLION = Decimal(1_000_000)


def known_price(model: str) -> bool:
    return model in PRICES_PER_MILLION


def call_cost(model: str, input_tokens: int, output_tokens: int) -> Decimal:
    price = PRICES_PER_MILLION.get(model)
    if price is None:
        return Decimal(0)
    return (price[0] * input_tokens + price[1] * output_tokens) / MILLION
