from django.contrib import admin

from generation.models import LlmCall, Row, Run


@admin.register(Run)
class RunAdmin(admin.ModelAdmin):
    list_display = ["id", "project", "schema_name", "status", "num_rows", "created_at"]
    list_filter = ["status"]
    list_select_related = ["project"]


@admin.register(Row)
class RowAdmin(admin.ModelAdmin):
    list_display = ["id", "run", "index", "status", "review_status"]
    list_filter = ["status", "review_status"]
    raw_id_fields = ["run", "reviewed_by"]


@admin.register(LlmCall)
class LlmCallAdmin(admin.ModelAdmin):
    list_display = ["key", "provider", "model", "input_tokens", "output_tokens", "cost_usd"]
    list_filter = ["provider"]
    raw_id_fields = ["run", "credential"]
