from django.contrib import admin

from generation.models import BatchJob, BatchRequest, BudgetHold, LlmCall, Row, RowVersion, Run


@admin.register(Run)
class RunAdmin(admin.ModelAdmin):
    list_display = ["id", "project", "schema_name", "status", "mode", "num_rows", "created_at"]
    list_filter = ["status", "mode"]
    list_select_related = ["project"]


@admin.register(Row)
class RowAdmin(admin.ModelAdmin):
    list_display = ["id", "run", "index", "status", "review_status"]
    list_filter = ["status", "review_status"]
    raw_id_fields = ["run"]
    # Review decisions and edits are written by evaluation.services only (it publishes them to
    # the run's watchers after commit); the admin shows them.
    readonly_fields = ["review_status", "reviewed_by", "reviewed_at", "edited_values"]


@admin.register(LlmCall)
class LlmCallAdmin(admin.ModelAdmin):
    list_display = [
        "key",
        "project",
        "provider",
        "model",
        "input_tokens",
        "output_tokens",
        "cost_usd",
    ]
    list_filter = ["provider"]
    raw_id_fields = ["project", "run", "credential"]


@admin.register(BudgetHold)
class BudgetHoldAdmin(admin.ModelAdmin):
    list_display = ["id", "run", "amount_usd", "expires_at"]
    raw_id_fields = ["run"]


# --- batch mode ---


@admin.register(BatchJob)
class BatchJobAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "run",
        "provider",
        "pass_number",
        "status",
        "provider_status",
        "external_id",
        "request_count",
        "succeeded_count",
        "failed_count",
        "submitted_at",
        "finished_at",
    ]
    list_filter = ["status", "provider"]
    raw_id_fields = ["run", "credential"]
    search_fields = ["external_id"]


@admin.register(BatchRequest)
class BatchRequestAdmin(admin.ModelAdmin):
    list_display = ["key", "job", "column", "row_index", "reask", "open", "error"]
    list_filter = ["open"]
    raw_id_fields = ["job"]
    search_fields = ["key"]


@admin.register(RowVersion)
class RowVersionAdmin(admin.ModelAdmin):
    """A regenerated row's earlier values: a record, written by generation/regeneration.py."""

    list_display = ["row", "attempt", "reason", "created_by", "created_at"]
    raw_id_fields = ["row", "created_by"]
    readonly_fields = ["columns", "values", "errors", "edited_values", "review_status", "scores"]
