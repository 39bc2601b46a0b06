"""Rows as exported records, and the export history of a run."""

from __future__ import annotations

from collections.abc import Iterator

from django.db.models import QuerySet
from django.http import Http404

from evaluation.models import HubExport
from generation.models import Row, Run
from studio.permissions import Action
from studio.selectors import AnyUser, authorize


def export_rows(*, run: Run, review: str | None = Row.Review.ACCEPTED) -> QuerySet[Row]:
    rows = run.rows.filter(status=Row.Status.GENERATED)
    if review:
        rows = rows.filter(review_status=review)
    return rows.order_by("index")


def export_records(*, run: Run, review: str | None = Row.Review.ACCEPTED) -> Iterator[dict]:
    """The output columns of each exported row (a seed table's fields, not its column's name),
    a reviewer's edit taking precedence."""
    columns = run.spec.output_columns()
    for values, edited in (
        export_rows(run=run, review=review)
        .values_list("values", "edited_values")
        .iterator(chunk_size=1000)
    ):
        final = edited if edited is not None else values
        yield {name: final.get(name) for name in columns}


def hub_export_list(*, run: Run) -> QuerySet[HubExport]:
    return run.hub_exports.order_by("-created_at")


def hub_export_get_for_user(*, user: AnyUser, export_id: int, action: Action) -> HubExport:
    export = HubExport.objects.filter(pk=export_id).select_related("run", "run__project").first()
    if export is None:
        raise Http404("No such export")
    authorize(user=user, project=export.run.project, action=action, missing="No such export")
    return export
