"""Coverage of a sampler column: expected shares from weights, the total variation distance."""

import pytest

from evaluation.metrics.coverage import coverage, expected_shares, mixed_shares, total_variation


def test_weights_become_shares_and_no_weights_mean_uniform():
    assert expected_shares(["a", "b", "c"], [2, 1, 1]) == {"a": 0.5, "b": 0.25, "c": 0.25}
    assert expected_shares(["a", "b", "c"], None) == pytest.approx({v: 1 / 3 for v in "abc"})


def test_a_subcategory_mixes_its_shares_by_the_parents():
    parent = {"x": 0.5, "y": 0.5}
    children = {"x": {"p": 1.0}, "y": {"p": 0.5, "q": 0.5}}
    assert mixed_shares(parent, children) == {"p": 0.75, "q": 0.25}


def test_total_variation_is_half_the_sum_of_the_differences():
    assert total_variation({"a": 0.5, "b": 0.5}, {"a": 0.5, "b": 0.5}) == 0
    assert total_variation({"a": 1.0}, {"b": 1.0}) == 1
    # expected .5 .25 .25, observed .5 .5 0 → (0 + .25 + .25) / 2
    assert total_variation({"a": 0.5, "b": 0.25, "c": 0.25}, {"a": 0.5, "b": 0.5}) == pytest.approx(
        0.25
    )


def test_the_table_lists_configured_values_in_order_then_unexpected_ones():
    figures = coverage([("a", 0.5), ("b", 0.25), ("c", 0.25)], {"b": 2, "a": 1, "zz": 1})
    assert [(v["value"], v["count"]) for v in figures["values"]] == [
        ("a", 1),
        ("b", 2),
        ("c", 0),
        ("zz", 1),
    ]
    assert figures["values"][1]["observed"] == 0.5
    assert figures["rows"] == 4 and figures["unexpected"] == 1
    # |.5-.25| + |.25-.5| + |.25-0| + |0-.25| = 1, halved
    assert figures["tvd"] == pytest.approx(0.5)
    assert coverage([("a", 1.0)], {})["tvd"] is None
