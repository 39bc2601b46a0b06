"""Which sample each column of a regenerated row asks for (``CallContext.row_samples``)."""

from __future__ import annotations

from generation.models import RowVersion


def regenerated_samples(*, run_id: int, row_ids: list[int]) -> dict[int, dict[str, int]]:
    """Row index → column → the attempt that last regenerated it, for the rows among
    ``row_ids`` that were regenerated. A version of attempt ``n`` lists the columns attempt
    ``n + 1`` asked afresh; a column regenerated twice takes the later attempt."""
    samples: dict[int, dict[str, int]] = {}
    versions = (
        RowVersion.objects.filter(row__run_id=run_id, row_id__in=row_ids)
        .order_by("attempt")
        .values_list("row__index", "attempt", "columns")
    )
    for index, attempt, columns in versions.iterator():
        row = samples.setdefault(index, {})
        for column in columns or []:
            row[column] = attempt + 1
    return samples
