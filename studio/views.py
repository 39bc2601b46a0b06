"""Pages for accounts, projects, credentials, schemas and API tokens. Thin: fetch through a
selector (strangers get 404), validate with a form, call one service, render."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.forms import BaseFormSet
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.utils.html import escape
from django.utils.text import slugify
from django.views.decorators.http import require_http_methods, require_POST

from studio import selectors, services, throttles
from studio.credential_rules import CredentialInvalid
from studio.designer import (
    DesignerError,
    apply_operation,
    columns_from_data,
    data_from_columns,
    form_index,
)
from studio.forms import (
    COLUMN_KINDS,
    ApiTokenForm,
    CredentialForm,
    CredentialKeyForm,
    ProjectForm,
    SchemaImportForm,
    SchemaMetaForm,
    SeedUploadForm,
    SignupForm,
    build_column_formset,
    column_initial,
    spec_from_formset,
)
from studio.kinds import new_column
from studio.models import Project
from studio.permissions import Action
from studio.schema import SchemaError, parse_spec
from studio.schema.recipes import RECIPES
from studio.schema.serialization import spec_to_json, spec_to_yaml
from studio.seeds import SeedFileError, chunk_text
from studio.signed_in import SignedInRequest

MAX_PREVIEW_ROWS = 10
NEW_SCHEMA_COLUMNS = [
    {"name": "", "kind": "category"},
    {"name": "", "kind": "llm_text"},
]


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        return redirect("project-list")
    return render(request, "registration/signup.html", {"form": form})


@login_required
@require_http_methods(["GET", "POST"])
def project_list(request: SignedInRequest) -> HttpResponse:
    form = ProjectForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        project = services.project_create(user=request.user, **form.cleaned_data)
        return redirect("project-detail", project.pk)
    projects = selectors.project_list_for_user(user=request.user).annotate(
        run_count=Count("runs", distinct=True), schema_count=Count("schemas", distinct=True)
    )
    return render(request, "studio/project_list.html", {"projects": projects, "form": form})


@login_required
def project_detail(request: HttpRequest, project_id: int) -> HttpResponse:
    project = selectors.project_get_for_user(
        user=request.user, project_id=project_id, action=Action.VIEW
    )
    return _project_page(request, project, SeedUploadForm())


def _project_page(request: HttpRequest, project, upload_form, status: int = 200) -> HttpResponse:
    context = {
        "project": project,
        "credentials": selectors.credential_list(project=project),
        "schemas": selectors.schema_list(project=project),
        "runs": project.runs.order_by("-created_at")[:20],
        "seed_files": selectors.seed_file_list(project=project),
        "upload_form": upload_form,
    }
    return render(request, "studio/project_detail.html", context, status=status)


@login_required
@require_POST
def seed_file_upload(request: SignedInRequest, project_id: int) -> HttpResponse:
    project = selectors.project_get_for_user(
        user=request.user, project_id=project_id, action=Action.DESIGN
    )
    form = SeedUploadForm(request.POST, request.FILES)
    if form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            seed = services.seed_file_upload(
                project=project, user=request.user, filename=upload.name, data=upload.read()
            )
        except SeedFileError as exc:
            form.add_error("file", f"{upload.name}: {exc}")
        else:
            messages.success(request, f"Uploaded {seed.name}.")
            return redirect("seed-file-detail", seed.pk)
    return _project_page(request, project, form, status=400)


PREVIEW_CHUNK_SIZE = 1500
PREVIEW_CHUNK_OVERLAP = 150


@login_required
def seed_file_detail(request: HttpRequest, seed_file_id: int) -> HttpResponse:
    seed = selectors.seed_file_get_for_user(
        user=request.user, seed_file_id=seed_file_id, action=Action.VIEW
    )
    context: dict[str, Any] = {"project": seed.project, "seed": seed}
    if seed.kind == seed.Kind.TABLE:
        context["head"] = [
            [row.get(column) for column in seed.columns]
            for row in selectors.seed_file_head(seed_file=seed, count=10)
        ]
    else:
        chunks = chunk_text(seed.text, PREVIEW_CHUNK_SIZE, PREVIEW_CHUNK_OVERLAP)
        context.update(chunks=chunks[:3], chunk_count=len(chunks), chunk_size=PREVIEW_CHUNK_SIZE)
    return render(request, "studio/seed_file_detail.html", context)


@login_required
@require_POST
def seed_file_delete(request: HttpRequest, seed_file_id: int) -> HttpResponse:
    seed = selectors.seed_file_get_for_user(
        user=request.user, seed_file_id=seed_file_id, action=Action.DELETE_SEED_FILES
    )
    services.seed_file_delete(seed_file=seed)
    messages.success(request, f"Deleted {seed.name}.")
    return redirect("project-detail", seed.project_id)


@login_required
@require_http_methods(["GET", "POST"])
def credential_create(request: HttpRequest, project_id: int) -> HttpResponse:
    project = selectors.project_get_for_user(
        user=request.user, project_id=project_id, action=Action.MANAGE_CREDENTIALS
    )
    form = CredentialForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.credential_create(project=project, **form.cleaned_data)
        except SchemaError as exc:
            form.add_error("name", str(exc))
        except CredentialInvalid as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(request, "Credential saved. Its key is encrypted and hidden.")
            return redirect("project-detail", project.pk)
    return render(request, "studio/credential_form.html", {"project": project, "form": form})


@login_required
@require_http_methods(["GET", "POST"])
def credential_edit(request: HttpRequest, credential_id: int) -> HttpResponse:
    credential = selectors.credential_get_for_user(
        user=request.user, credential_id=credential_id, action=Action.MANAGE_CREDENTIALS
    )
    form = CredentialKeyForm(request.POST or None, initial={"base_url": credential.base_url})
    if request.method == "POST" and form.is_valid():
        try:
            services.credential_update(
                credential=credential,
                api_key=form.cleaned_data["api_key"] or None,
                base_url=form.cleaned_data["base_url"],
            )
        except CredentialInvalid as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(request, "Credential updated.")
            return redirect("project-detail", credential.project_id)
    context = {"project": credential.project, "credential": credential, "form": form}
    return render(request, "studio/credential_form.html", context)


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
                formset.forms, _column_problems(formset.forms, problems), strict=True
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


def _rebound(project: Project, post: QueryDict, columns: list[dict[str, list[str]]]) -> BaseFormSet:
    data = QueryDict(mutable=True)
    for key, values in data_from_columns(post, columns).items():
        data.setlist(key, values)
    return build_column_formset(project=project, data=data)


@login_required
@require_POST
def schema_designer_op(request: HttpRequest, project_id: int) -> HttpResponse:
    """Add, duplicate, delete or move a column in the editor, keeping everything typed."""
    project = selectors.project_get_for_user(
        user=request.user, project_id=project_id, action=Action.DESIGN
    )
    index = request.POST.get("index")
    new_kind = request.POST.get("new_kind") or "llm_text"
    try:
        columns = apply_operation(
            columns_from_data(request.POST),
            request.POST.get("op", ""),
            form_index(index),
            new_kind=new_kind,
            new_values=new_column(new_kind),
        )
    except DesignerError as exc:
        return HttpResponse(escape(str(exc)), status=400)
    formset = _rebound(project, request.POST, columns)
    for form in formset.forms:
        form.errors.clear()  # an edit in progress is not a mistake yet
    context = {"project": project, "formset": formset}
    return render(request, "studio/partials/schema_columns.html", context)


def _column_problems(forms: list, problems: list[str]) -> list[list[str]]:
    """Per column, the problems whose message names it (as ``'name'``)."""
    names = [(form["name"].value() or "").strip() for form in forms]
    return [[message for message in problems if name and f"'{name}'" in message] for name in names]


@login_required
@require_POST
def schema_check(request: HttpRequest, project_id: int) -> HttpResponse:
    """Validate the editor's content as the user types: problems beside each column, the
    dependency order once valid. Nothing is saved."""
    project = selectors.project_get_for_user(
        user=request.user, project_id=project_id, action=Action.DESIGN
    )
    formset = build_column_formset(project=project, data=request.POST)
    column_problems: list[list[str]] = [[] for _ in formset.forms]
    problems: list[str] = []
    levels: list[list[str]] = []
    if formset.is_valid():
        try:
            levels = services.schema_validate(
                project=project, data=spec_from_formset(formset)
            ).levels()
        except SchemaError as exc:
            problems = exc.messages
    else:
        for i, form in enumerate(formset.forms):
            for field, errors in form.errors.items():
                label = form.fields[field].label or field.replace("_", " ").capitalize()
                column_problems[i] += [f"{label}: {error}" for error in errors]
        problems = [str(error) for error in formset.non_form_errors()] or [
            "Fix the fields marked below."
        ]
    for items, named in zip(
        column_problems, _column_problems(formset.forms, problems), strict=True
    ):
        items += named
    context = {
        "problems": problems,
        "levels": levels,
        "column_problems": column_problems,
        "checked": True,
    }
    return render(request, "studio/partials/schema_check.html", context)


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


@login_required
@require_http_methods(["GET", "POST"])
def api_tokens(request: SignedInRequest) -> HttpResponse:
    form = ApiTokenForm(request.POST or None)
    created_plain = None
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            throttles.token_creation_check(user_id=request.user.pk)
        except throttles.TooManyAttempts as exc:
            form.add_error(None, str(exc))
            status = 429
        else:
            _, created_plain = services.api_token_create(user=request.user, **form.cleaned_data)
            throttles.token_creation_record(user_id=request.user.pk)
            form = ApiTokenForm()
    context = {
        "tokens": selectors.api_token_list(user=request.user),
        "form": form,
        "created_plain": created_plain,
    }
    return render(request, "studio/api_tokens.html", context, status=status)


@login_required
@require_POST
def api_token_delete(request: SignedInRequest, token_id: int) -> HttpResponse:
    token = selectors.api_token_get_for_user(user=request.user, token_id=token_id)
    services.api_token_delete(user=request.user, token_id=token.pk)
    messages.success(request, "Token revoked.")
    return redirect("api-tokens")
