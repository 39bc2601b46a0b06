"""Sign-up and the API tokens of the signed-in user."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from studio import selectors, services, throttles
from studio.forms import ApiTokenForm, SignupForm
from studio.signed_in import SignedInRequest


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
