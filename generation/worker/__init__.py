"""The worker runtime: what a Dramatiq worker does with one chunk of a run's rows (fill the rows
on the worker's event loop, pay each LLM call once through the ledger, hold the run's budget,
write the results) and the sweeper that resumes stalled runs. The actors that enter it are in
``generation/actors.py``; the pure row engine it drives is ``generation/engine.py``."""
