"""Custom prices too large for their column (10 digits, 4 decimals) could be saved on SQLite,
which does not check a column's digits; reading one back then failed (decimal.InvalidOperation)
wherever the credential was read, and no page could change it. Such a price, a million USD per
million tokens or more, is no price anyone pays: it becomes none (the maintained price table).
PostgreSQL never stored one, so nothing changes there."""

from django.db import migrations

LIMIT = 10**6


def clear_prices_beyond_their_column(apps, schema_editor):  # noqa: ANN001, ANN201
    # Raw SQL: the ORM cannot read the rows it would fix.
    for column in ("input_price_per_million", "output_price_per_million"):
        schema_editor.execute(
            f"UPDATE studio_providercredential SET {column} = NULL "  # noqa: S608 - fixed names
            f"WHERE {column} >= %s OR {column} <= %s",
            [LIMIT, -LIMIT],
        )


class Migration(migrations.Migration):
    dependencies = [("studio", "0004_membership_reviewer_viewer_roles")]

    operations = [
        migrations.RunPython(clear_prices_beyond_their_column, migrations.RunPython.noop),
    ]
