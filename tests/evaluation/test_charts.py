"""The SVG charts' geometry: bars proportional to their counts, labels readable."""

from evaluation.charts import HEIGHT, LABEL_SPACE, histogram_bars, horizontal_bars


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
