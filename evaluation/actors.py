import dramatiq

from evaluation.scoring.chunks import score_chunk as score_one_chunk


@dramatiq.actor(queue_name="exports", max_retries=0, time_limit=30 * 60 * 1000)
def push_to_hub(export_id: int) -> None:
    # Imported on the first push: pyarrow and huggingface_hub cost seconds at every start of
    # the web server (which only sends this message) and of every worker.
    from evaluation.hub_export import hub_export_push

    hub_export_push(export_id=export_id)


# Retried on database errors; a chunk's own scoring errors become failed scores (chunks.py).
@dramatiq.actor(queue_name="evaluations", max_retries=5, time_limit=60 * 60 * 1000)
def score_chunk(evaluation_id: int, number: int) -> None:
    score_one_chunk(evaluation_id=evaluation_id, number=number)


# One step of a quality gate's loop (evaluation/gate/steps.py): it fills regenerated rows and
# scores them here, so a round can take as long as a chunk of the run.
@dramatiq.actor(queue_name="evaluations", max_retries=5, time_limit=60 * 60 * 1000)
def gate_step(gate_id: int) -> None:
    from evaluation.gate.steps import gate_step as step

    step(gate_id=gate_id)
