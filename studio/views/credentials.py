"""Adding a provider credential to a project and changing its key or base URL."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from studio import selectors, services
from studio.credential_rules import CredentialInvalid
from studio.forms import CredentialForm, CredentialKeyForm
from studio.permissions import Action
from studio.schema import SchemaError


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
