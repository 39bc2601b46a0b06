"""The one NinjaAPI: mounts each app's router and translates each app's errors once.

This module is part of the project wiring (like urls.py), so it may import every app."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI

from evaluation.api import router as evaluation_router
from evaluation.services import ExportError, ReviewError
from generation.api import router as generation_router
from generation.services import RunError
from studio.api import router as studio_router
from studio.api_auth import api_auth
from studio.form_validation import FormInvalid
from studio.schema import SchemaError
from studio.seeds import SeedFileError

api = NinjaAPI(
    title="Dataset Studio API",
    version="1",
    description="Everything the pages do: projects, credentials, schemas, runs, rows, review "
    "and export. Authenticate with a personal token: `Authorization: Bearer dst_…`.",
    auth=api_auth,
    docs_url="/docs",
)
api.add_router("/", studio_router)
api.add_router("/", generation_router)
api.add_router("/", evaluation_router)


@api.exception_handler(SchemaError)
def schema_error(request: HttpRequest, exc: SchemaError) -> HttpResponse:
    return api.create_response(request, {"detail": str(exc), "messages": exc.messages}, status=422)


@api.exception_handler(SeedFileError)
def seed_file_error(request: HttpRequest, exc: SeedFileError) -> HttpResponse:
    return api.create_response(request, {"detail": str(exc)}, status=422)


@api.exception_handler(RunError)
@api.exception_handler(ReviewError)
@api.exception_handler(ExportError)
def action_error(request: HttpRequest, exc: Exception) -> HttpResponse:
    return api.create_response(request, {"detail": str(exc)}, status=400)


@api.exception_handler(FormInvalid)
def form_invalid(request: HttpRequest, exc: FormInvalid) -> HttpResponse:
    """Shaped like ninja's own 422, so a client reads both the same way."""
    detail = [
        {"type": "value_error", "loc": ["body", "payload", field], "msg": message}
        for field, messages in exc.errors.items()
        for message in messages
    ]
    return api.create_response(request, {"detail": detail}, status=422)
