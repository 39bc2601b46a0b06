"""Quality gates: act on the rows below an evaluation's threshold (reject them, or regenerate
and score them again until they pass, at most K times). ``services`` starts them, ``steps`` is
the loop a worker runs, ``rules`` says what "below" means for an evaluation."""
