import dramatiq

from evaluation.hub_export import hub_export_push


@dramatiq.actor(queue_name="exports", max_retries=0, time_limit=30 * 60 * 1000)
def push_to_hub(export_id: int) -> None:
    hub_export_push(export_id=export_id)
