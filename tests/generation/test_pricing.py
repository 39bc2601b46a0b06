"""Call costs from genai-prices, the fallback table and custom prices; pure."""

from decimal import Decimal

import pytest

from generation.pricing import PRICES_PER_MILLION, call_cost


@pytest.mark.parametrize(
    ("model", "provider"),
    [
        ("gpt-4o-mini", "openai"),
        ("gpt-4o-mini-2024-07-18", "openai"),  # dated variants match their family
        ("claude-haiku-4-5", "anthropic"),
        ("claude-sonnet-4-5", "anthropic"),
    ],
)
def test_known_models_have_plausible_costs(model, provider):
    cost = call_cost(model, 1_000, 500, provider=provider)
    # Between $0.01 and $100 per million tokens, in and out.
    assert Decimal("0.000015") < cost < Decimal("0.15")


def test_gpt_4o_mini_matches_its_list_price():
    assert call_cost("gpt-4o-mini", 1_000_000, 1_000_000, provider="openai") == pytest.approx(
        Decimal("0.75")
    )
    # The old call shape (no provider) still prices by the model name.
    assert call_cost("gpt-4o-mini", 1000, 1000) == pytest.approx(Decimal("0.00075"))


def test_a_custom_price_wins():
    custom = (Decimal("1"), Decimal("2"))
    assert call_cost("gpt-4o-mini", 1_000_000, 500_000, provider="openai", custom_price=custom) == 2
    assert call_cost(
        "my-llama", 2_000, 1_000, provider="openai_compatible", custom_price=custom
    ) == (Decimal("0.004"))


@pytest.mark.parametrize("provider", [None, "openai", "anthropic", "openai_compatible"])
def test_an_unknown_model_costs_nothing(provider):
    assert call_cost("no-such-model-xyz", 1000, 1000, provider=provider) == 0


def test_compatible_servers_are_free_unless_hosted_or_relaying_a_vendor_model():
    local = "http://127.0.0.1:8000/v1"
    # A self-hosted open model: free, even if some cloud sells a model of that name.
    assert call_cost("llama3.1:8b", 1000, 1000, provider="openai_compatible", base_url=local) == 0
    # A proxy relaying an OpenAI model: OpenAI's price.
    assert call_cost("gpt-4o-mini", 1000, 1000, provider="openai_compatible", base_url=local) > 0
    # A hosted service genai-prices knows by its URL: that service's price.
    assert (
        call_cost(
            "llama-3.1-8b-instant",
            10_000,
            1_000,
            provider="openai_compatible",
            base_url="https://api.groq.com/openai/v1",
        )
        > 0
    )


def test_the_simulator_is_free():
    assert call_cost("gpt-4o-mini", 1000, 1000, provider="simulator") == 0


def test_the_fallback_table_prices_what_genai_prices_does_not_know(monkeypatch):
    import generation.pricing as pricing

    monkeypatch.setattr(pricing, "_genai_price", lambda *a, **k: None)
    pricing._lookup.cache_clear()  # a cached answer would not ask genai-prices
    try:
        assert (
            call_cost("gpt-4o-mini", 1_000_000, 0, provider="openai")
            == (PRICES_PER_MILLION["gpt-4o-mini"][0])
        )
    finally:
        pricing._lookup.cache_clear()


@pytest.mark.parametrize(
    ("model", "per_million"),
    [("text-embedding-3-small", "0.02"), ("text-embedding-3-large", "0.13")],
)
def test_embeddings_are_priced_per_input_token(model, per_million, monkeypatch):
    import generation.pricing as pricing

    assert call_cost(model, 1_000_000, 0, provider="openai") == Decimal(per_million)
    monkeypatch.setattr(pricing, "_genai_price", lambda *a, **k: None)
    pricing._lookup.cache_clear()
    try:  # the table's own entry, when genai-prices does not know the model
        assert call_cost(model, 1_000_000, 0, provider="openai") == Decimal(per_million)
    finally:
        pricing._lookup.cache_clear()
