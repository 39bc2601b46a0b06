"""The call ledger becomes the project's (issue 15): each entry gets the project it was paid
in, and its key is scoped to that project as ``CompletionRequest.ledger_key`` now makes it, so
a resumed run finds its answers again and no other project ever does.

- An entry's project is its run's, else (a preview: no run) its credential's. An entry with
  neither cannot be attributed: it is deleted, not shared.
- Batch requests get their run's project's key too (their collected errors are looked up by
  key) and keep the old one as ``custom_id``: a batch sent before this answers under it.

Reverse: the project column goes (0007's reverse, then this one's schema step); the keys stay
scoped, which the old code never computes: it finds none of these answers (it pays again) and
still shares none across projects. Nothing is made up, so the data step's reverse is a no-op;
migrating forward again scopes those keys a second time (still found by no one, shared with no
one). Entries are re-keyed in batches of 1 000, one UPDATE each."""

import hashlib

import django.db.models.deletion
from django.db import migrations, models

BATCH = 1000


def scoped(project_id, key):
    # A copy of generation.providers.base.project_ledger_key as it was when this was written:
    # a migration must not change when the code does.
    return hashlib.sha256(f"project:{project_id}:{key}".encode()).hexdigest()


def _in_batches(queryset, fields):
    last = 0
    while True:
        rows = list(queryset.filter(pk__gt=last).order_by("pk").values_list("pk", *fields)[:BATCH])
        if not rows:
            return
        yield rows
        last = rows[-1][0]


def scope_ledger(apps, schema_editor):
    db = schema_editor.connection.alias
    LlmCall = apps.get_model("generation", "LlmCall")
    BatchRequest = apps.get_model("generation", "BatchRequest")
    LlmCall.objects.using(db).filter(run__isnull=True, credential__isnull=True).delete()
    entries = LlmCall.objects.using(db).filter(project__isnull=True)
    for rows in _in_batches(entries, ["key", "run__project_id", "credential__project_id"]):
        changed = []
        for pk, key, run_project, credential_project in rows:
            project_id = run_project or credential_project
            changed.append(LlmCall(pk=pk, project_id=project_id, key=scoped(project_id, key)))
        LlmCall.objects.using(db).bulk_update(changed, ["project", "key"])
    requests = BatchRequest.objects.using(db).all()
    for rows in _in_batches(requests, ["key", "job__run__project_id"]):
        BatchRequest.objects.using(db).bulk_update(
            [
                BatchRequest(pk=pk, key=scoped(project_id, key), custom_id=key)
                for pk, key, project_id in rows
            ],
            ["key", "custom_id"],
        )


class Migration(migrations.Migration):
    dependencies = [
        ("generation", "0005_budget_holds"),
        ("studio", "0003_versions_for_existing_schemas"),
    ]

    operations = [
        migrations.AddField(
            model_name="llmcall",
            name="project",
            field=models.ForeignKey(
                null=True,
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="llm_calls",
                to="studio.project",
            ),
        ),
        migrations.AddField(
            model_name="batchrequest",
            name="custom_id",
            field=models.CharField(blank=True, default="", max_length=64),
        ),
        migrations.RunPython(scope_ledger, migrations.RunPython.noop, elidable=False),
    ]
