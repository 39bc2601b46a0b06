"""The summary's histogram: bins a person reads at a glance."""

from evaluation.charts import histogram_bars
from evaluation.metrics.stats import histogram, nice_width


def test_lengths_get_round_bins_labelled_in_whole_characters():
    lengths = [43, 58, 120, 199, 77, 64, 150]
    bins = histogram(lengths)
    # 157 characters apart: bins of 20 from 40, each holding its low end, not its high one.
    assert [(b["low"], b["high"], b["count"]) for b in bins] == [
        (40, 60, 2),
        (60, 80, 2),
        (80, 100, 0),
        (100, 120, 0),
        (120, 140, 1),
        (140, 160, 1),
        (160, 180, 0),
        (180, 200, 1),
    ]
    assert [bar.label for bar in histogram_bars(bins)][:3] == ["40–59", "60–79", "80–99"]


def test_small_integer_scales_and_fractions_keep_their_bins():
    assert [b.label for b in histogram_bars(histogram([1, 2, 3, 5]))] == ["1", "2", "3", "4", "5"]
    labels = [b.label for b in histogram_bars(histogram([0.1, 0.93], scale=(0, 1)))]
    assert labels[0] == "0–0.10" and len(labels) == 10
    # A cosine's scale, −1 to 1: short labels with a true minus sign.
    labels = [b.label for b in histogram_bars(histogram([-0.5, 0.93], scale=(-1, 1)))]
    assert labels[:2] == ["−1–−0.8", "−0.8–−0.6"] and labels[5:7] == ["0–0.2", "0.2–0.4"]


def test_nice_widths():
    assert [nice_width(span, 10) for span in (40, 99, 150, 230, 1000, 4000)] == [
        5,
        10,
        20,
        25,
        100,
        500,
    ]


def test_one_repeated_fraction_is_one_bin_not_ten_beyond_it():
    # Five rows all scored 2/3 by a metric with no fixed scale: one bar labelled with the value,
    # not ten bins running up to 10.67.
    bins = histogram([2 / 3] * 5)
    assert [(b["count"]) for b in bins] == [5]
    assert [bar.label for bar in histogram_bars(bins)] == ["0.67"]
