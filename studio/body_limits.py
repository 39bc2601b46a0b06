"""Refuse request bodies past their limit before they are read, under WSGI and ASGI alike.

A size check after ``upload.read()`` comes too late: the whole body is already in memory (or,
under ASGI, spooled to disk by Django before any view runs). So the limits apply in three
places, each as early as it can know:

- ``BodyLimitASGI`` wraps the ASGI app: a declared ``Content-Length`` past the limit gets a
  413 without a byte of the body read; a body that streams past it is cut off there.
- ``RequestBodyLimitMiddleware`` does the same for WSGI (and anything the ASGI wrapper let
  through), and parses a multipart body early so a file past the limit gets a 413 naming it.
- ``FileSizeLimitHandler`` stops a file past ``STUDIO_MAX_UPLOAD_BYTES`` while it streams.

Every body but a multipart upload is at most ``STUDIO_MAX_REQUEST_BYTES``; a multipart
upload may carry ``STUDIO_MAX_UPLOAD_BYTES`` more.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler
from django.http import HttpRequest, HttpResponse
from django.http.multipartparser import MultiPartParserError

__all__ = [
    "MSG_BODY_TOO_LARGE",
    "MSG_FILE_TOO_LARGE",
    "MSG_UPLOAD_TOO_LARGE",
    "BodyLimitASGI",
    "FileSizeLimitHandler",
    "RequestBodyLimitMiddleware",
    "UploadTooLarge",
    "body_limit",
]

MSG_BODY_TOO_LARGE = "The request is {size}; the limit is {limit}"
MSG_UPLOAD_TOO_LARGE = "The upload is {size}; the limit for a file is {limit}"
MSG_FILE_TOO_LARGE = "The file {name} is larger than the limit of {limit}"

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def _megabytes(size: int) -> str:
    return f"{size / 1e6:.1f} MB" if size >= 100_000 else f"{size:,} bytes"


def _is_multipart(content_type: str) -> bool:
    return content_type.split(";", 1)[0].strip().lower() == "multipart/form-data"


def body_limit(content_type: str) -> int:
    """The largest body accepted with this content type (multipart carries a file)."""
    limit = settings.STUDIO_MAX_REQUEST_BYTES
    if _is_multipart(content_type):
        limit += settings.STUDIO_MAX_UPLOAD_BYTES
    return limit


def _too_large_response(path: str, message: str) -> HttpResponse:
    if path.startswith("/api/"):
        body = json.dumps({"detail": message})
        return HttpResponse(body, status=413, content_type="application/json")
    return HttpResponse(message, status=413, content_type="text/plain; charset=utf-8")


def _body_message(size: int | None, content_type: str) -> str:
    """Names the limit a user can act on: the file's for an upload, else the request's."""
    limit = body_limit(content_type)
    shown = _megabytes(size) if size is not None else f"larger than {_megabytes(limit)}"
    if _is_multipart(content_type):
        template, limit = MSG_UPLOAD_TOO_LARGE, settings.STUDIO_MAX_UPLOAD_BYTES
    else:
        template = MSG_BODY_TOO_LARGE
    return template.replace("{size}", shown).replace("{limit}", _megabytes(limit))


class UploadTooLarge(MultiPartParserError):
    """A file grew past ``STUDIO_MAX_UPLOAD_BYTES`` while it streamed in.

    A MultiPartParserError, so Django marks the request's form data unreadable (nothing of it
    is used) and, should the middleware not be installed, answers 400 rather than 500.
    """


class FileSizeLimitHandler(FileUploadHandler):
    """First upload handler: passes chunks on, and stops a file once it passes the limit."""

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        super().new_file(*args, **kwargs)
        self.received = 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        self.received += len(raw_data)
        limit = settings.STUDIO_MAX_UPLOAD_BYTES
        if self.received > limit:
            raise UploadTooLarge(
                MSG_FILE_TOO_LARGE.replace("{name}", str(self.file_name)).replace(
                    "{limit}", _megabytes(limit)
                )
            )
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None  # the next handler (memory or temporary file) builds the file


class RequestBodyLimitMiddleware:
    """413 for a body past its limit, decided from Content-Length before anything reads it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        content_type = request.META.get("CONTENT_TYPE", "")
        limit = body_limit(content_type)
        try:
            size = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            size = 0  # Django reads no body then
        if size > limit:
            return _too_large_response(request.path, _body_message(size, content_type))
        if request.method == "POST" and request.content_type == "multipart/form-data":
            try:
                # Parsed here (the CSRF check would parse it next anyway) so that a file past
                # the limit gets its own answer, not a form saying the file is missing.
                request.FILES  # noqa: B018
            except UploadTooLarge as exc:
                return _too_large_response(request.path, str(exc))
        return self.get_response(request)


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return value.decode("latin-1")
    return ""


class BodyLimitASGI:
    """Wraps the ASGI HTTP app: Django's handler would spool any body, however large, to a
    temporary file before a view or middleware could look at it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        content_type = _header(scope, b"content-type")
        limit = body_limit(content_type)
        declared = _header(scope, b"content-length")
        if declared.isdigit() and int(declared) > limit:
            await self._refuse(scope, send, _body_message(int(declared), content_type))
            return
        received = 0
        refused = False

        async def limited_receive() -> Message:
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    refused = True
                    await self._refuse(scope, send, _body_message(None, content_type))
                    # Django stops reading and answers nothing after a disconnect.
                    return {"type": "http.disconnect"}
            return message

        await self.app(scope, limited_receive, send)

    @staticmethod
    async def _refuse(scope: Scope, send: Send, message: str) -> None:
        response = _too_large_response(scope.get("path", ""), message)
        headers = [(b"content-type", response["Content-Type"].encode("latin-1"))]
        headers.append((b"connection", b"close"))
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": response.content})
