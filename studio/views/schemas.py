"""A schema's page (create, edit and save as a new version), and its import, export and
restore of an earlier version."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.text import slugify
from django.views.decorators.http import require_http_methods, require_POST

from studio import selectors, services
from studio.forms import (
    COLUMN_KINDS,
    SchemaImportForm,
    SchemaMetaForm,
    build_column_formset,
    column_initial,
    spec_from_formset,
)
from studio.permissions import Action
from studio.schema import SchemaError, parse_spec
from studio.schema.recipes import RECIPES
from studio.schema.serialization import spec_to_json, spec_to_yaml
from studio.signed_in import SignedInRequest
from studio.views.schema_designer import column_problems

MAX_PREVIEW_ROWS = 10
NEW_SCHEMA_COLUMNS = [
    {"name": "", "kind": "category"},
    {"name": "", "kind": "llm_text"},
]


@login_required
@require_http_methods(["GET", "POST"])
def schema_create(request: SignedInRequest, project_id: int) -> HttpResponse:
    project = selectors.project_get_for_user(
        user=request.user, project_id=project_id, action=Action.DESIGN
    )
    return _schema_page(request, project=project)


@login_required
@require_http_methods(["GET", "POST"])
def schema_edit(request: SignedInRequest, schema_id: int) -> HttpResponse:
    schema = selectors.schema_get_for_user(
        user=request.user,
        schema_id=schema_id,
        action=Action.DESIGN if request.method == "POST" else Action.VIEW,
    )
    return _schema_page(request, project=schema.project, schema=schema)


def _schema_page(request: SignedInRequest, *, project, schema=None) -> HttpResponse:
    post = request.POST if request.method == "POST" else None
    meta_initial, columns_initial = _initial_for(request, project, schema)
    meta = SchemaMetaForm(post, initial=meta_initial)
    formset = build_column_formset(project=project, data=post, initial=columns_initial)
    problems: list[str] = []
    if post is not None and meta.is_valid() and formset.is_valid():
        data = spec_from_formset(formset)
        try:
            if schema is None:
                schema = services.schema_create(
                    project=project, user=request.user, data=data, **meta.cleaned_data
                )
            else:
                services.schema_update(
                    schema=schema, data=data, user=request.user, **meta.cleaned_data
                )
        except SchemaError as exc:
            problems = exc.messages
            # As the live check does: each problem also beside the column it names.
            for form, items in zip(
                formset.forms, column_problems(formset.forms, problems), strict=True
            ):
                form.column_problems = items
        else:
            messages.success(request, f"Schema '{schema.name}' saved (version {schema.version}).")
            return redirect("schema-edit", schema.pk)
    elif post is not None:
        problems = [*meta.non_field_errors(), *formset.non_form_errors()] or [
            "Fix the fields marked below."
        ]
    context = {
        "project": project,
        "schema": schema,
        "meta": meta,
        "formset": formset,
        "problems": problems,
        "levels": _levels(schema.spec) if schema else [],
        "column_kinds": COLUMN_KINDS,
        "preview_counts": range(1, MAX_PREVIEW_ROWS + 1),
        "recipes": sorted(RECIPES.items(), key=lambda item: item[1].title),
        "recipes_open": "recipe" in request.GET,
        "import_form": SchemaImportForm(),
        "runs": schema.runs.order_by("-created_at")[:10] if schema else [],
        "versions": _versions(schema) if schema else [],
    }
    return render(request, "studio/schema_form.html", context, status=400 if problems else 200)


def _initial_for(request: HttpRequest, project, schema) -> tuple[dict, list[dict]]:
    if schema is not None:
        initial = {"name": schema.name, "description": schema.description}
        return initial, [column_initial(c) for c in schema.spec["columns"]]
    recipe = RECIPES.get(request.GET.get("recipe", ""))
    if recipe is None:
        return {}, NEW_SCHEMA_COLUMNS
    credential = selectors.credential_list(project=project).first()
    seed_file_id = 0
    if recipe.needs_upload is not None:  # the newest file of the kind the recipe reads
        newest = selectors.seed_file_list(project=project).filter(kind=recipe.needs_upload).first()
        seed_file_id = newest.pk if newest else 0
    data = recipe.build(credential.pk if credential else 0, seed_file_id=seed_file_id)
    initial = {"name": data["name"], "description": data["description"]}
    return initial, [column_initial(c) for c in data["columns"]]


def _levels(spec: dict) -> list[list[str]]:
    try:
        return parse_spec(spec).levels()
    except SchemaError:
        return []


def _versions(schema) -> list:
    versions = list(schema.versions.select_related("created_by")[:20])
    for version in versions:
        version.yaml = spec_to_yaml(version.spec)
    return versions


@login_required
@require_POST
def schema_import(request: SignedInRequest, project_id: int) -> HttpResponse:
    project = selectors.project_get_for_user(
        user=request.user, project_id=project_id, action=Action.DESIGN
    )
    form = SchemaImportForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            schema = services.schema_import(
                project=project,
                user=request.user,
                text=form.cleaned_text(),
                name=form.cleaned_data.get("name") or None,
            )
        except SchemaError as exc:
            for message in exc.messages:
                messages.error(request, message)
        else:
            messages.success(request, f"Imported schema '{schema.name}'.")
            return redirect("schema-edit", schema.pk)
    else:
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, str(error))
    return redirect("schema-create", project.pk)


@login_required
def schema_export(request: HttpRequest, schema_id: int) -> HttpResponse:
    schema = selectors.schema_get_for_user(
        user=request.user, schema_id=schema_id, action=Action.VIEW
    )
    as_json = request.GET.get("format") == "json"
    text, content_type, extension = (
        (
            spec_to_json(schema.spec, name=schema.name, description=schema.description),
            "application/json",
            "json",
        )
        if as_json
        else (
            spec_to_yaml(schema.spec, name=schema.name, description=schema.description),
            "application/yaml",
            "yaml",
        )
    )
    response = HttpResponse(text, content_type=f"{content_type}; charset=utf-8")
    filename = slugify(schema.name) or "schema"
    response["Content-Disposition"] = (
        f'attachment; filename="{filename}-v{schema.version}.{extension}"'
    )
    return response


@login_required
@require_POST
def schema_restore(request: SignedInRequest, schema_id: int, version: int) -> HttpResponse:
    schema = selectors.schema_get_for_user(
        user=request.user, schema_id=schema_id, action=Action.DESIGN
    )
    selectors.schema_version_get(schema=schema, version=version)
    try:
        services.schema_restore(schema=schema, version=version, user=request.user)
    except SchemaError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(request, f"Restored version {version} as version {schema.version}.")
    return redirect("schema-edit", schema.pk)
