"""The summary's numbers against hand-computed values."""

import pytest

from evaluation.metrics.stats import breakdown, histogram, summarise


def test_summary_of_scores_with_gaps_and_pass_fail():
    summary = summarise(
        [(1.0, True, None), (3.0, False, None), (None, None, None), (2.0, True, None)]
    )
    assert summary["count"] == 4 and summary["scored"] == 3
    assert summary["mean"] == 2.0 and summary["median"] == 2.0
    assert (summary["min"], summary["max"]) == (1.0, 3.0)
    assert summary["pass_rate"] == pytest.approx(2 / 3)


def test_judge_scores_get_one_bin_per_integer_and_criterion_means():
    summary = summarise(
        [
            (4.0, True, {"clarity": 5, "accuracy": 3}),
            (2.0, False, {"clarity": 1, "accuracy": 3}),
            (4.0, True, {"clarity": 4, "accuracy": 4}),
        ],
        scale=(1, 5),
    )
    assert [(b["low"] + 0.5, b["count"]) for b in summary["histogram"]] == [
        (1, 0),
        (2, 1),
        (3, 0),
        (4, 2),
        (5, 0),
    ]
    assert summary["criteria"] == {
        "clarity": pytest.approx(10 / 3),
        "accuracy": pytest.approx(10 / 3),
    }


def test_continuous_values_fill_ten_equal_bins_and_the_maximum_lands_in_the_last():
    bins = histogram([0.0, 0.05, 0.5, 0.99, 1.0], scale=(0.0, 1.0))
    assert len(bins) == 10
    assert [b["count"] for b in bins] == [2, 0, 0, 0, 0, 1, 0, 0, 0, 2]


def test_no_scores_give_an_empty_summary_not_an_error():
    summary = summarise([])
    assert summary["mean"] is None and summary["histogram"] == [] and summary["pass_rate"] is None


def test_breakdown_by_column_value_most_frequent_first():
    groups = breakdown(
        [(1.0, True, "easy"), (0.0, False, "hard"), (1.0, True, "easy"), (None, None, None)]
    )
    assert [(g["value"], g["count"], g["mean"]) for g in groups] == [
        ("easy", 2, 1.0),
        ("hard", 1, 0.0),
        ("—", 1, None),
    ]
