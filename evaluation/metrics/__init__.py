"""The metrics themselves: pure functions over texts and numbers, no Django. Each evaluation kind
(evaluation/kinds/) wraps one of them; the summaries and the judge–human agreement are here too."""
