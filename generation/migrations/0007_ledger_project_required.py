"""Every ledger entry belongs to a project (0006 attributed or deleted them all): the column
cannot be null, and a key is unique within its project, which is also the index of the grouped
``project = … AND key IN (…)`` lookup. A separate migration, as PostgreSQL does not alter a
table with rows just updated in the same transaction."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("generation", "0006_ledger_scoped_to_project"),
    ]

    operations = [
        migrations.AlterField(
            model_name="llmcall",
            name="project",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="llm_calls",
                to="studio.project",
            ),
        ),
        migrations.AlterField(
            model_name="llmcall",
            name="key",
            field=models.CharField(max_length=64),
        ),
        migrations.AddConstraint(
            model_name="llmcall",
            constraint=models.UniqueConstraint(
                fields=("project", "key"), name="llmcall_unique_in_project"
            ),
        ),
    ]
