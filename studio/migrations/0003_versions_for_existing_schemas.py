from django.db import migrations


def record_current_versions(apps, schema_editor):
    DatasetSchema = apps.get_model("studio", "DatasetSchema")
    DatasetSchemaVersion = apps.get_model("studio", "DatasetSchemaVersion")
    for schema in DatasetSchema.objects.all():
        DatasetSchemaVersion.objects.get_or_create(
            schema=schema,
            version=schema.version,
            defaults={"name": schema.name, "spec": schema.spec, "created_by": schema.created_by},
        )


class Migration(migrations.Migration):
    dependencies = [("studio", "0002_versions_seed_files_custom_prices")]
    operations = [migrations.RunPython(record_current_versions, migrations.RunPython.noop)]
