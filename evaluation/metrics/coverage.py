"""Coverage of a sampler column: the share of each value among the rows against the share its
weights give it, and the total variation distance between the two distributions (half the sum
of the absolute differences: 0 when they agree, 1 when they share nothing)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

# A column with more values than this lists the ones furthest from their expected share.
MAX_VALUES_SHOWN = 40


def expected_shares(values: Sequence[str], weights: Sequence[float] | None) -> dict[str, float]:
    """Weights normalised to shares (uniform without weights); a value listed twice adds up."""
    if weights is None:
        weights = [1.0] * len(values)
    total = float(sum(weights))
    shares: dict[str, float] = {}
    for value, weight in zip(values, weights, strict=True):
        shares[value] = shares.get(value, 0.0) + (weight / total if total else 0.0)
    return shares


def mixed_shares(
    parent: Mapping[str, float], children: Mapping[str, Mapping[str, float]]
) -> dict[str, float]:
    """The share of each value of a column drawn from ``children[parent value]``: the sum over
    the parent's values of P(parent value) × P(value | parent value)."""
    shares: dict[str, float] = {}
    for parent_value, parent_share in parent.items():
        for value, share in children.get(parent_value, {}).items():
            shares[value] = shares.get(value, 0.0) + parent_share * share
    return shares


def total_variation(expected: Mapping[str, float], observed: Mapping[str, float]) -> float:
    values = set(expected) | set(observed)
    return 0.5 * sum(abs(expected.get(v, 0.0) - observed.get(v, 0.0)) for v in values)


def coverage(expected: Sequence[tuple[str, float]], counts: Mapping[str, int]) -> dict[str, Any]:
    """The figures of one column: each value's expected and observed share and count (the
    configured values in their order, then values no weight allows), and the distance."""
    rows = sum(counts.values())
    observed = {value: count / rows for value, count in counts.items()} if rows else {}
    shares = dict(expected)
    listed = [value for value, _ in expected] + sorted(v for v in counts if v not in shares)
    table: list[dict[str, Any]] = [
        {
            "value": value,
            "expected": shares.get(value, 0.0),
            "observed": observed.get(value, 0.0),
            "count": counts.get(value, 0),
        }
        for value in dict.fromkeys(listed)
    ]
    hidden = 0
    if len(table) > MAX_VALUES_SHOWN:
        hidden = len(table) - MAX_VALUES_SHOWN
        table.sort(key=lambda r: -abs(r["observed"] - r["expected"]))
        table = table[:MAX_VALUES_SHOWN]
    return {
        "rows": rows,
        "tvd": total_variation(shares, observed) if rows else None,
        "values": table,
        "values_hidden": hidden,
        "unexpected": sum(c for v, c in counts.items() if shares.get(v, 0.0) == 0.0),
    }
