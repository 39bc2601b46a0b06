"""The schema editor's live requests: a column added, duplicated, deleted or moved, and the
check of the whole form as the user types. Nothing here is saved."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.forms import BaseFormSet
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.utils.html import escape
from django.views.decorators.http import require_POST

from studio import selectors, services
from studio.designer import (
    DesignerError,
    apply_operation,
    columns_from_data,
    data_from_columns,
    form_index,
)
from studio.forms import build_column_formset, spec_from_formset
from studio.kinds import new_column
from studio.models import Project
from studio.permissions import Action
from studio.schema import SchemaError


def column_problems(forms: list, problems: list[str]) -> list[list[str]]:
    """Per column, the problems whose message names it (as ``'name'``)."""
    names = [(form["name"].value() or "").strip() for form in forms]
    return [[message for message in problems if name and f"'{name}'" in message] for name in names]


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


@login_required
@require_POST
def schema_check(request: HttpRequest, project_id: int) -> HttpResponse:
    """Validate the editor's content as the user types: problems beside each column, the
    dependency order once valid. Nothing is saved."""
    project = selectors.project_get_for_user(
        user=request.user, project_id=project_id, action=Action.DESIGN
    )
    formset = build_column_formset(project=project, data=request.POST)
    per_column: list[list[str]] = [[] for _ in formset.forms]
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
                per_column[i] += [f"{label}: {error}" for error in errors]
        problems = [str(error) for error in formset.non_form_errors()] or [
            "Fix the fields marked below."
        ]
    for items, named in zip(per_column, column_problems(formset.forms, problems), strict=True):
        items += named
    context = {
        "problems": problems,
        "levels": levels,
        "column_problems": per_column,
        "checked": True,
    }
    return render(request, "studio/partials/schema_check.html", context)
