"""Batch mode: a run whose LLM calls go through the providers' batch APIs (OpenAI's Batch API,
Anthropic's Message Batches): about half the price, answers within hours instead of seconds.

The call ledger is the mechanism. A batch run is filled in *passes*:

1. ``passes.fill_pass`` runs the ordinary engine over every pending row with a ``call_llm``
   (a ``CallContext`` whose miss policy is ``calls.DeferToBatch``) that answers from the
   ledger and, on a miss, records the request as *deferred* and stops that row (the row stays
   pending). A request that failed in the last collected batch fails its row with the
   provider's message instead.
2. ``job_creation.jobs_create`` groups the deferred requests per credential into ``BatchJob``s
   (with one ``BatchRequest`` per request, keyed by its ledger key, which is also the
   provider's custom_id), after a worst-case budget check; ``jobs.job_submit`` sends each one.
3. ``flow.poll_step`` (a Dramatiq message re-sent with a delay) reads each open job's state
   (``jobs.job_poll``); when a batch has ended it downloads the results and writes every answer
   into the ledger at the batch price, and each failure onto its ``BatchRequest``
   (``job_results``).
4. When no job of the run is open, the next pass starts: the rows whose answers arrived move on,
   their dependent columns and structured re-asks become the next batch's requests. A pass with
   nothing deferred finishes the run as usual.

Everything is in the database (jobs, requests, provider ids), every step is idempotent (claims
are conditional UPDATEs; at most one *open* request per ledger key), so a restarted worker
resumes: ``services.batch_enqueue`` polls a run with open jobs, or starts a pass.

The simulator has no batch API: its calls are made online, as in an online run.
"""
