"""The one NinjaAPI: mounts each app's router and translates each app's errors once.

This module is part of the project wiring (like urls.py), so it may import every app."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI, Swagger

from evaluation.api import router as evaluation_router
from evaluation.compare_api import router as compare_router
from evaluation.evaluation_api import router as evaluations_router
from evaluation.gate_api import router as gate_router
from evaluation.regenerate_api import router as regenerate_router
from evaluation.scoring.services import EvaluationError, EvaluationInvalid
from evaluation.services import ExportError, ReviewError
from evaluation.table_api import router as table_router
from generation.api import router as generation_router
from generation.services import RunError
from studio.api import router as studio_router
from studio.api_auth import api_auth
from studio.credential_rules import CredentialInvalid
from studio.form_validation import FormInvalid
from studio.members import MemberError
from studio.members_api import router as members_router
from studio.schema import SchemaError
from studio.seeds import SeedFileError
from studio.throttles import TooManyAttempts

api = NinjaAPI(
    title="Dataset Studio API",
    version="1",
    description="Everything the pages do: projects, credentials, schemas, runs, rows, review "
    "and export. Authenticate with a personal token: `Authorization: Bearer dst_…`.",
    auth=api_auth,
    docs_url="/docs",
    # Swagger UI from the files django-ninja ships ("ninja" in INSTALLED_APPS: no CDN, no inline
    # script); no badge from the public validator service (the CSP allows no other origin).
    docs=Swagger(settings={"validatorUrl": None}),
)
api.add_router("/", studio_router)
api.add_router("/", members_router)
api.add_router("/", generation_router)
api.add_router("/", evaluation_router)
api.add_router("/", evaluations_router)
api.add_router("/", compare_router)
api.add_router("/", gate_router)
api.add_router("/", table_router)
api.add_router("/", regenerate_router)


@api.exception_handler(SchemaError)
def schema_error(request: HttpRequest, exc: SchemaError) -> HttpResponse:
    return api.create_response(request, {"detail": str(exc), "messages": exc.messages}, status=422)


@api.exception_handler(EvaluationInvalid)
def evaluation_invalid(request: HttpRequest, exc: EvaluationInvalid) -> HttpResponse:
    return api.create_response(request, {"detail": str(exc), "messages": exc.messages}, status=422)


@api.exception_handler(SeedFileError)
def seed_file_error(request: HttpRequest, exc: SeedFileError) -> HttpResponse:
    return api.create_response(request, {"detail": str(exc)}, status=422)


@api.exception_handler(RunError)
@api.exception_handler(ReviewError)
@api.exception_handler(ExportError)
@api.exception_handler(EvaluationError)
def action_error(request: HttpRequest, exc: Exception) -> HttpResponse:
    return api.create_response(request, {"detail": str(exc)}, status=400)


@api.exception_handler(PermissionDenied)
def permission_denied(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    """A member whose role may not do this (studio/permissions.py): 403 with the reason."""
    return api.create_response(request, {"detail": str(exc)}, status=403)


@api.exception_handler(TooManyAttempts)
def too_many_attempts(request: HttpRequest, exc: TooManyAttempts) -> HttpResponse:
    return api.create_response(request, {"detail": str(exc)}, status=429)


@api.exception_handler(CredentialInvalid)
def credential_invalid(request: HttpRequest, exc: CredentialInvalid) -> HttpResponse:
    # The shape of ninja's own validation errors, so a client reads both the same way.
    detail = [{"loc": ["body", "payload", exc.field], "msg": exc.message, "type": "value_error"}]
    return api.create_response(request, {"detail": detail}, status=422)


@api.exception_handler(FormInvalid)
def form_invalid(request: HttpRequest, exc: FormInvalid) -> HttpResponse:
    """Shaped like ninja's own 422, so a client reads both the same way."""
    detail = [
        {"type": "value_error", "loc": ["body", "payload", field], "msg": message}
        for field, messages in exc.errors.items()
        for message in messages
    ]
    return api.create_response(request, {"detail": detail}, status=422)


@api.exception_handler(MemberError)
def member_error(request: HttpRequest, exc: MemberError) -> HttpResponse:
    """About an input (no such user, already a member): shaped like ninja's own 422. About the
    project (the last owner): 400 with the reason."""
    if exc.field is None:
        return api.create_response(request, {"detail": exc.message}, status=400)
    detail = [{"type": "value_error", "loc": ["body", "payload", exc.field], "msg": exc.message}]
    return api.create_response(request, {"detail": detail}, status=422)
