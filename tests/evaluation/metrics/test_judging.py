"""A pairwise judge's two verdicts per row and the rates over every row, worked by hand."""

import pytest

from evaluation.metrics.judging import PairwiseOutcome, pairwise_outcome, pairwise_rates


@pytest.mark.parametrize(
    ("in_order", "swapped", "expected"),
    [
        # Column A shown first, then column B shown first: "A" means whichever came first.
        ("A", "B", PairwiseOutcome(1.0, "a", False)),  # A both times
        ("B", "A", PairwiseOutcome(0.0, "b", False)),  # B both times
        ("A", "A", PairwiseOutcome(0.5, "tie", True)),  # the first position won twice
        ("B", "B", PairwiseOutcome(0.5, "tie", True)),  # the second position won twice
        ("tie", "tie", PairwiseOutcome(0.5, "tie", False)),
        ("A", "tie", PairwiseOutcome(0.5, "tie", True)),
        ("tie", "A", PairwiseOutcome(0.5, "tie", True)),
    ],
)
def test_pairwise_outcome(in_order, swapped, expected):
    assert pairwise_outcome(in_order, swapped) == expected


def test_pairwise_rates_count_wins_ties_and_flips_over_the_rows_asked():
    details = [
        {"winner": "a", "position_flip": False},
        {"winner": "a", "position_flip": False},
        {"winner": "b", "position_flip": False},
        {"winner": "tie", "position_flip": True},
        {"winner": "tie", "position_flip": False, "identical": True},  # not asked
        {},  # a failed row's detail: left out
    ]
    rates = pairwise_rates(details).as_dict()
    assert rates == {
        "judged": 5,
        "a_win_rate": 2 / 5,
        "b_win_rate": 1 / 5,
        "tie_rate": 2 / 5,
        "position_flip_rate": 1 / 4,
    }


def test_no_verdict_gives_no_rate():
    assert pairwise_rates([]).as_dict() == {
        "judged": 0,
        "a_win_rate": None,
        "b_win_rate": None,
        "tie_rate": None,
        "position_flip_rate": None,
    }
