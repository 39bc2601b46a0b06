"""Uploading, showing and deleting a project's seed files (tables and documents)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from studio import selectors, services
from studio.forms import SeedUploadForm
from studio.permissions import Action
from studio.seeds import SeedFileError, chunk_text
from studio.signed_in import SignedInRequest
from studio.views.projects import project_page

PREVIEW_CHUNK_SIZE = 1500
PREVIEW_CHUNK_OVERLAP = 150


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
    return project_page(request, project, form, status=400)


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
