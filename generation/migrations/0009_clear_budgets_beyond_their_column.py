"""Budgets too large for their column (12 digits, 4 decimals) could be saved on SQLite, which
does not check a column's digits; reading one back then failed (decimal.InvalidOperation) on
every page of its project, and no page could change it. Such a budget, 100 million USD or more,
is no limit in effect: it becomes none. PostgreSQL never stored one, so nothing changes there."""

from django.db import migrations

LIMIT = 10**8


def clear_budgets_beyond_their_column(apps, schema_editor):  # noqa: ANN001, ANN201
    # Raw SQL: the ORM cannot read the rows it would fix.
    schema_editor.execute(
        "UPDATE generation_run SET budget_usd = NULL WHERE budget_usd >= %s OR budget_usd <= %s",
        [LIMIT, -LIMIT],
    )


class Migration(migrations.Migration):
    dependencies = [("generation", "0008_run_swept_at")]

    operations = [
        migrations.RunPython(clear_budgets_beyond_their_column, migrations.RunPython.noop),
    ]
