"""Request bodies past their limit are refused before they are read: a 413 that names the
limit, under WSGI (middleware, upload handler) and ASGI (before Django spools the body), and
nothing of the upload is stored."""

from __future__ import annotations

import asyncio
import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from config.asgi import application
from studio.models import SeedFile, SeedRow
from studio.services import api_token_create


@pytest.fixture
def small_limits(settings):
    settings.STUDIO_MAX_UPLOAD_BYTES = 20_000
    settings.STUDIO_MAX_REQUEST_BYTES = 65_536
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 65_536
    return settings


@pytest.fixture
def api_client(owner) -> Client:
    _, token = api_token_create(user=owner, name="tests")
    return Client(HTTP_AUTHORIZATION=f"Bearer {token}")


def csv_of(size: int) -> bytes:
    return b"text\n" + b"x" * 99 + b"\n" + (b"y" * 99 + b"\n") * (size // 100)


@pytest.mark.django_db
def test_a_page_upload_past_the_body_limit_is_refused_naming_the_limit(
    owner_client, project, small_limits
):
    response = owner_client.post(
        f"/projects/{project.pk}/seed-files/",
        {"file": SimpleUploadedFile("big.csv", csv_of(200_000))},
    )
    assert response.status_code == 413
    assert "The upload is 0.2 MB; the limit for a file is 20,000 bytes" in response.content.decode()
    assert not SeedFile.objects.exists() and not SeedRow.objects.exists()


@pytest.mark.django_db
def test_a_file_past_the_upload_limit_is_stopped_while_it_streams(
    owner_client, project, small_limits
):
    # Within the body limit (65 KB) but past the file limit (20 KB): the upload handler stops it.
    response = owner_client.post(
        f"/projects/{project.pk}/seed-files/",
        {"file": SimpleUploadedFile("big.csv", csv_of(40_000))},
    )
    assert response.status_code == 413
    assert "big.csv is larger than the limit of 20,000 bytes" in response.content.decode()
    assert not SeedFile.objects.exists()


@pytest.mark.django_db
def test_an_api_upload_past_the_limit_gets_a_json_413(api_client, project, small_limits):
    url = f"/api/projects/{project.pk}/seed-files"
    too_long = api_client.post(url, {"file": SimpleUploadedFile("big.csv", csv_of(200_000))})
    past_file = api_client.post(url, {"file": SimpleUploadedFile("big.csv", csv_of(40_000))})
    assert too_long.status_code == past_file.status_code == 413
    assert "the limit for a file is 20,000 bytes" in too_long.json()["detail"]
    assert "limit of 20,000 bytes" in past_file.json()["detail"]
    assert not SeedFile.objects.exists()
    fine = api_client.post(url, {"file": SimpleUploadedFile("ok.csv", csv_of(5_000))})
    assert fine.status_code == 201, fine.content


@pytest.mark.django_db
def test_a_json_body_past_the_request_limit_is_refused(api_client, project, small_limits):
    body = json.dumps({"text": "columns: []\n" + "#" * 100_000})
    response = api_client.post(
        f"/api/projects/{project.pk}/schemas/import", body, content_type="application/json"
    )
    assert response.status_code == 413
    assert "the limit is 65,536 bytes" in response.json()["detail"]


class Unreadable(io.RawIOBase):
    def read(self, *args):
        raise AssertionError("the body was read")


def test_a_declared_length_past_the_limit_is_refused_without_reading_the_body(small_limits):
    from django.test import RequestFactory

    from studio.body_limits import RequestBodyLimitMiddleware

    request = RequestFactory().post("/projects/1/seed-files/", content_type="text/csv")
    request.META["CONTENT_LENGTH"] = str(300 * 1024 * 1024)
    request.META["wsgi.input"] = Unreadable()
    request._stream = Unreadable()

    def view(request):
        raise AssertionError("the view ran")

    response = RequestBodyLimitMiddleware(view)(request)
    assert response.status_code == 413
    assert "The request is 314.6 MB; the limit is" in response.content.decode()


def asgi_post(path: str, headers: list[tuple[bytes, bytes]], chunks):
    """Runs one request through the ASGI application; returns (status, body, chunks read)."""
    sent: list[dict] = []
    read = 0

    async def receive():
        nonlocal read
        chunk = next(chunks, None)
        if chunk is None:
            return {"type": "http.request", "body": b"", "more_body": False}
        read += 1
        return {"type": "http.request", "body": chunk, "more_body": True}

    async def send(message):
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver"), *headers],
        "client": ("127.0.0.1", 1234),
        "server": ("testserver", 80),
    }
    asyncio.run(application(scope, receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], body.decode(), read


def endless(size: int = 64 * 1024):
    while True:
        yield b"x" * size


def test_asgi_refuses_a_declared_length_past_the_limit_before_reading(small_limits):
    status, body, read = asgi_post(
        "/api/projects/1/seed-files",
        [(b"content-type", b"multipart/form-data; boundary=x"), (b"content-length", b"10" * 5)],
        endless(),
    )
    assert status == 413 and read == 0
    assert "the limit for a file is 20,000 bytes" in json.loads(body)["detail"]


def test_asgi_stops_a_body_that_streams_past_the_limit(small_limits):
    # No Content-Length (chunked): Django's handler would spool all of it to disk first.
    status, body, read = asgi_post(
        "/projects/1/seed-files/", [(b"content-type", b"text/csv")], endless()
    )
    assert status == 413
    assert "larger than 65,536 bytes" in body
    assert read == 2  # 64 KB, then the chunk that passes the limit; no more
