"""The SVG charts' geometry: bars proportional to their counts, labels readable."""

from evaluation.charts import (
    HEIGHT,
    LABEL_SPACE,
    grouped_histogram,
    histogram_bars,
    horizontal_bars,
    stacked_bars,
)


def test_histogram_bars_are_proportional_to_counts():
    bars = histogram_bars(
        [{"low": 0.5, "high": 1.5, "count": 2}, {"low": 1.5, "high": 2.5, "count": 4}]
    )
    plot = HEIGHT - LABEL_SPACE
    assert [b.height for b in bars] == [plot / 2, plot]
    assert [b.label for b in bars] == ["1", "2"]  # integer bins are labelled by their integer
    assert bars[0].x < bars[1].x


def test_horizontal_bars_scale_and_missing_values():
    bars, height = horizontal_bars([("a", 1.0), ("b", 0.5), ("c", None)], scale=(0.0, 1.0))
    assert bars[1].width == bars[0].width / 2
    assert bars[2].width == 0 and bars[2].value == "—"
    assert height == 3 * 22


def test_long_bin_labels_are_thinned_where_they_would_touch():
    from evaluation.charts import histogram_bars, labels_crowded
    from evaluation.metrics.stats import histogram

    cosines = histogram([-0.5, 0.9], scale=(-1, 1))  # ten bins, labels like "−0.8–−0.6"
    assert labels_crowded(histogram_bars(cosines))
    judge = histogram([1, 2, 3, 5])  # five bins labelled "1" … "5"
    assert not labels_crowded(histogram_bars(judge))


def test_grouped_histogram_draws_each_run_s_share_of_its_own_rows():
    a = [{"low": 0.5, "high": 1.5, "count": 1}, {"low": 1.5, "high": 2.5, "count": 3}]
    b = [{"low": 0.5, "high": 1.5, "count": 4}, {"low": 1.5, "high": 2.5, "count": 4}]
    grouped = grouped_histogram(a, b)
    plot = HEIGHT - LABEL_SPACE
    # Shares: A 25% and 75%, B 50% and 50%; the tallest (75%) fills the plot.
    assert [g.a.height for g in grouped] == [plot / 3, plot]
    assert [g.b.height for g in grouped] == [plot * 2 / 3, plot * 2 / 3]
    assert grouped[0].a.value == "25% (1 rows)" and grouped[0].b.x > grouped[0].a.x
    assert [g.label for g in grouped] == ["1", "2"]


def test_grouped_histogram_needs_the_same_bins():
    a = [{"low": 0.0, "high": 10.0, "count": 1}]
    b = [{"low": 0.0, "high": 20.0, "count": 1}]
    assert grouped_histogram(a, b) is None
    assert grouped_histogram([], []) is None
    one_side = grouped_histogram(a, [])
    assert one_side is not None and one_side[0].b.height == 0


def test_stacked_bars_split_each_row_into_its_shares():
    rows, height = stacked_bars([("A", [0.5, 0.25, 0.25]), ("B", [None, 1.0, 0.0])])
    first = rows[0].segments
    assert [s.width for s in first[1:]] == [first[0].width / 2] * 2
    assert first[1].x == first[0].x + first[0].width
    assert [s.value for s in rows[1].segments] == ["0%", "100%", "0%"]
    assert height == 2 * 30
