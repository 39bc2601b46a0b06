"""URL wiring for the whole site: pages of the three apps, the REST API, the admin."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import path

from config.api_site import api
from evaluation import compare_views, focus_views, regenerate_views, table_views
from evaluation import evaluation_views as evaluation_pages
from evaluation import gate_views as gate_pages
from evaluation import views as evaluation_views
from generation import views as generation_views
from studio.views import (
    accounts,
    credentials,
    members,
    projects,
    schema_designer,
    schemas,
    seed_files,
)

urlpatterns = [
    path("", projects.project_list, name="project-list"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("signup/", accounts.signup, name="signup"),
    path("settings/tokens/", accounts.api_tokens, name="api-tokens"),
    path(
        "settings/tokens/<int:token_id>/revoke/",
        accounts.api_token_delete,
        name="api-token-delete",
    ),
    path("projects/<int:project_id>/", projects.project_detail, name="project-detail"),
    path("projects/<int:project_id>/members/", members.member_add, name="member-add"),
    path(
        "projects/<int:project_id>/members/<int:user_id>/role/",
        members.member_role,
        name="member-role",
    ),
    path(
        "projects/<int:project_id>/members/<int:user_id>/remove/",
        members.member_remove,
        name="member-remove",
    ),
    path(
        "projects/<int:project_id>/credentials/new/",
        credentials.credential_create,
        name="credential-create",
    ),
    path("credentials/<int:credential_id>/", credentials.credential_edit, name="credential-edit"),
    path(
        "credentials/<int:credential_id>/test/",
        generation_views.credential_test,
        name="credential-test",
    ),
    path("projects/<int:project_id>/schemas/new/", schemas.schema_create, name="schema-create"),
    path(
        "projects/<int:project_id>/schemas/preview/",
        generation_views.schema_preview,
        name="schema-preview",
    ),
    path(
        "projects/<int:project_id>/seed-files/",
        seed_files.seed_file_upload,
        name="seed-file-upload",
    ),
    path("seed-files/<int:seed_file_id>/", seed_files.seed_file_detail, name="seed-file-detail"),
    path(
        "seed-files/<int:seed_file_id>/delete/",
        seed_files.seed_file_delete,
        name="seed-file-delete",
    ),
    path(
        "projects/<int:project_id>/schemas/designer/",
        schema_designer.schema_designer_op,
        name="schema-designer-op",
    ),
    path(
        "projects/<int:project_id>/schemas/check/",
        schema_designer.schema_check,
        name="schema-check",
    ),
    path(
        "projects/<int:project_id>/schemas/import/",
        schemas.schema_import,
        name="schema-import",
    ),
    path("schemas/<int:schema_id>/", schemas.schema_edit, name="schema-edit"),
    path("schemas/<int:schema_id>/export/", schemas.schema_export, name="schema-export"),
    path(
        "schemas/<int:schema_id>/versions/<int:version>/restore/",
        schemas.schema_restore,
        name="schema-restore",
    ),
    path("schemas/<int:schema_id>/runs/", generation_views.run_create, name="run-create"),
    path("runs/<int:run_id>/", generation_views.run_detail, name="run-detail"),
    path("runs/<int:run_id>/rows/", generation_views.run_rows, name="run-rows"),
    path(
        "runs/<int:run_id>/actions/<slug:action>/", generation_views.run_action, name="run-action"
    ),
    path("runs/<int:run_id>/budget/", generation_views.run_budget, name="run-budget"),
    path(
        "runs/<int:run_id>/retry-matching/",
        generation_views.run_retry_matching,
        name="run-retry-matching",
    ),
    path("runs/status/", generation_views.run_board, name="run-board"),
    path(
        "projects/<int:project_id>/runs/status/",
        generation_views.run_board,
        name="project-run-board",
    ),
    path("rows/<int:row_id>/", generation_views.row_detail, name="row-detail"),
    path("rows/<int:row_id>/review/", evaluation_views.row_review, name="row-review"),
    path("runs/<int:run_id>/review/", focus_views.review_focus, name="run-review"),
    path(
        "runs/<int:run_id>/review/decide/",
        focus_views.review_focus_decide,
        name="run-review-decide",
    ),
    path("runs/<int:run_id>/review/edit/", focus_views.review_focus_edit, name="run-review-edit"),
    path("runs/<int:run_id>/review/undo/", focus_views.review_focus_undo, name="run-review-undo"),
    path("runs/<int:run_id>/review/table/", table_views.review_table, name="run-review-table"),
    path(
        "runs/<int:run_id>/review/table/bulk/",
        table_views.review_table_bulk,
        name="run-review-table-bulk",
    ),
    path(
        "runs/<int:run_id>/review/table/undo/",
        table_views.review_table_undo,
        name="run-review-table-undo",
    ),
    path(
        "runs/<int:run_id>/review/regenerate/",
        regenerate_views.review_focus_regenerate,
        name="run-review-regenerate",
    ),
    path(
        "rows/<int:row_id>/regenerate/",
        regenerate_views.row_regenerate_page,
        name="row-regenerate",
    ),
    path("runs/<int:run_id>/export/", evaluation_views.run_export, name="run-export"),
    path(
        "runs/<int:run_id>/export/hub-pushes/",
        evaluation_views.hub_exports_partial,
        name="hub-exports",
    ),
    path("runs/<int:run_id>/export.jsonl", evaluation_views.export_jsonl, name="export-jsonl"),
    path(
        "runs/<int:run_id>/evaluations/new/",
        evaluation_pages.evaluation_new,
        name="evaluation-new",
    ),
    path(
        "evaluations/<int:evaluation_id>/",
        evaluation_pages.evaluation_detail,
        name="evaluation-detail",
    ),
    path(
        "evaluations/<int:evaluation_id>/gate/regenerate/",
        gate_pages.gate_regenerate_page,
        name="gate-regenerate",
    ),
    path(
        "evaluations/<int:evaluation_id>/gate/reject/",
        gate_pages.gate_reject_page,
        name="gate-reject",
    ),
    path(
        "evaluations/<int:evaluation_id>/<slug:action>/",
        evaluation_pages.evaluation_action,
        name="evaluation-action",
    ),
    path("runs/<int:run_id>/compare/", compare_views.run_compare_pick, name="run-compare-pick"),
    path(
        "runs/<int:run_id>/compare/<int:other_run_id>/",
        compare_views.run_compare,
        name="run-compare",
    ),
    path("api/", api.urls),
    path("admin/", admin.site.urls),
]
