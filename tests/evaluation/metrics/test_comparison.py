"""Two runs compared: differences, verdicts, evaluations matched, rows paired by seed position
and a pairwise judge's win rates, worked by hand."""

import pytest

from evaluation.metrics.comparison import (
    FigureDelta,
    PairedRow,
    compare_criteria,
    compare_figures,
    match_by_key,
    pair_by_index,
    paired_stats,
    verdict,
    win_rates,
)


@pytest.mark.parametrize(
    ("a", "b", "direction", "expected"),
    [
        (3.0, 4.0, "higher", "better"),
        (3.0, 2.5, "higher", "worse"),
        (3.0, 2.5, "lower", "better"),
        (3.0, 4.0, "lower", "worse"),
        (3.0, 4.0, "neutral", "changed"),
        (0.1 + 0.2, 0.3, "higher", "same"),  # float noise is no change
        (None, 4.0, "higher", ""),
        (3.0, None, "higher", ""),
    ],
)
def test_verdict(a, b, direction, expected):
    assert verdict(a, b, direction) == expected


def test_figures_differ_b_minus_a_and_a_pass_rate_is_better_higher_whatever_the_kind():
    a = {"mean": 120.0, "median": 100, "pass_rate": 0.5}
    b = {"mean": 150.0, "median": 100, "pass_rate": 0.25}
    assert compare_figures(a, b, direction="neutral") == [
        FigureDelta("mean", 120.0, 150.0, 30.0, "changed"),
        FigureDelta("median", 100.0, 100.0, 0.0, "same"),
        FigureDelta("pass_rate", 0.5, 0.25, -0.25, "worse"),
    ]


def test_a_missing_side_or_figure_gives_no_difference():
    figures = compare_figures({"mean": 3.0, "pass_rate": None}, None, direction="higher")
    assert [(f.a, f.b, f.delta, f.verdict) for f in figures] == [
        (3.0, None, None, ""),
        (None, None, None, ""),
        (None, None, None, ""),
    ]


def test_criteria_side_by_side_in_a_s_order_then_b_s_new_ones():
    a = {"accuracy": 4.0, "clarity": 3.0}
    b = {"clarity": 3.5, "accuracy": 3.0, "tone": 5.0}
    assert compare_criteria(a, b) == [
        FigureDelta("accuracy", 4.0, 3.0, -1.0, "worse"),
        FigureDelta("clarity", 3.0, 3.5, 0.5, "better"),
        FigureDelta("tone", None, 5.0, None, ""),
    ]


def test_evaluations_match_by_key_and_one_sided_ones_are_kept():
    a = [("judge", "llm_judge", 1), ("len", "length", 2), ("judge", "llm_judge", 9)]
    b = [("len", "length", 3), ("judge", "pairwise_judge", 4)]
    matched = match_by_key(a, b, key=lambda e: (e[0], e[1]))
    assert matched == [
        (("judge", "llm_judge"), ("judge", "llm_judge", 1), None),
        (("len", "length"), ("len", "length", 2), ("len", "length", 3)),
        (("judge", "pairwise_judge"), None, ("judge", "pairwise_judge", 4)),
    ]


def test_rows_pair_by_index_when_both_have_a_number():
    a = [(0, 1.0), (1, 2.0), (2, None), (4, 5.0), (5, 1.0)]
    b = [(0, 3.0), (2, 4.0), (3, 1.0), (4, 5.0), (6, 2.0)]
    assert list(pair_by_index(a, b)) == [PairedRow(0, 1.0, 3.0), PairedRow(4, 5.0, 5.0)]


def test_paired_stats_by_hand():
    pairs = [
        PairedRow(0, 1.0, 3.0),  # +2
        PairedRow(1, 4.0, 1.0),  # -3
        PairedRow(2, 2.0, 2.0),  # 0
        PairedRow(3, 2.0, 4.0),  # +2
        PairedRow(4, 5.0, 5.5),  # +0.5
    ]
    stats = paired_stats(pairs, largest=3)
    assert (stats.pairs, stats.b_higher, stats.a_higher, stats.equal) == (5, 3, 1, 1)
    assert stats.mean_difference == pytest.approx((2 - 3 + 0 + 2 + 0.5) / 5)  # 0.3
    assert stats.share_b_higher == pytest.approx(3 / 5)
    # Largest absolute difference first; equal ones by index.
    assert [p.index for p in stats.largest] == [1, 0, 3]
    assert stats.as_dict()["largest"][0] == {"index": 1, "a": 4.0, "b": 1.0, "delta": -3.0}


def test_rows_that_do_not_differ_are_never_listed_and_nothing_paired_gives_no_mean():
    stats = paired_stats([PairedRow(0, 1.0, 1.0)])
    assert stats.largest == [] and stats.equal == 1 and stats.mean_difference == 0.0
    empty = paired_stats([])
    assert empty.mean_difference is None and empty.share_b_higher is None


def test_win_rates_count_wins_ties_and_position_inconsistencies():
    details = [
        {"winner": "a", "position_flip": False},
        {"winner": "a", "position_flip": False},
        {"winner": "a", "position_flip": False},
        {"winner": "b", "position_flip": False},
        {"winner": "tie", "position_flip": True},
        {"winner": "tie", "position_flip": True},
        {"winner": "tie", "position_flip": False, "identical": True},  # not asked
        {"error": "no answer"},  # not judged
    ]
    rates = win_rates(details).as_dict()
    assert rates == {
        "judged": 7,
        "a_wins": 3,
        "b_wins": 1,
        "ties": 3,
        "a_win_rate": 3 / 7,
        "b_win_rate": 1 / 7,
        "tie_rate": 3 / 7,
        "inconsistent": 2,
        "compared": 6,
    }
    assert win_rates([]).as_dict()["a_win_rate"] is None
