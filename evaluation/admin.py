from django.contrib import admin

from evaluation.models import (
    Evaluation,
    EvaluationChunk,
    HubExport,
    QualityGate,
    ReviewAction,
    Score,
)


@admin.register(HubExport)
class HubExportAdmin(admin.ModelAdmin):
    list_display = ["repo_id", "run", "status", "rows_pushed", "created_at"]
    list_filter = ["status"]
    exclude = ["token_encrypted"]
    raw_id_fields = ["run", "created_by"]


@admin.register(Evaluation)
class EvaluationAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "run", "version", "status", "is_current", "created_at"]
    list_filter = ["status", "kind"]
    raw_id_fields = ["run", "previous", "created_by"]
    readonly_fields = ["summary"]


@admin.register(EvaluationChunk)
class EvaluationChunkAdmin(admin.ModelAdmin):
    list_display = ["evaluation", "number", "start", "stop", "done"]
    raw_id_fields = ["evaluation"]


@admin.register(Score)
class ScoreAdmin(admin.ModelAdmin):
    list_display = ["evaluation", "row", "value", "passed"]
    list_filter = ["passed"]
    raw_id_fields = ["evaluation", "row"]


@admin.register(QualityGate)
class QualityGateAdmin(admin.ModelAdmin):
    list_display = ["evaluation", "action", "status", "round", "max_attempts", "created_at"]
    list_filter = ["action", "status"]
    raw_id_fields = ["evaluation", "created_by"]


@admin.register(ReviewAction)
class ReviewActionAdmin(admin.ModelAdmin):
    list_display = ["run", "row", "user", "kind", "column", "created_at", "undone_at"]
    list_filter = ["kind"]
    raw_id_fields = ["run", "row", "user"]
    readonly_fields = ["before", "after"]
