from django.contrib import admin

from evaluation.models import HubExport


@admin.register(HubExport)
class HubExportAdmin(admin.ModelAdmin):
    list_display = ["repo_id", "run", "status", "rows_pushed", "created_at"]
    list_filter = ["status"]
    exclude = ["token_encrypted"]
    raw_id_fields = ["run", "created_by"]
