"""Requests through an SDK client's own pipeline (base URL, auth and version headers,
timeout, error classes), with plain JSON in and out: how the providers build a request and read
an answer."""

from __future__ import annotations

import functools
import re
from typing import TYPE_CHECKING, Any

from generation.providers.base import ProviderError
from generation.providers.sdk_errors import response_host

if TYPE_CHECKING:
    import ssl

# OpenAI and Anthropic both require tool / schema names of this shape.
_NAME_RE = re.compile(r"[^a-zA-Z0-9_-]")
_MEDIA_TYPE = re.compile(r"[A-Za-z0-9.+-]+/[A-Za-z0-9.+-]+")


def safe_schema_name(name: str) -> str:
    return _NAME_RE.sub("_", name)[:64] or "answer"


def not_json(response: Any) -> str:
    """What an answer that does not parse as JSON was, without its body: "expected a JSON
    answer, got text/html", or "the JSON answer is cut or malformed"."""
    header = str(response.headers.get("content-type", ""))
    found = _MEDIA_TYPE.match(header.strip())
    media_type = found.group(0).lower() if found else "no content type"
    if media_type.endswith("json"):
        return "the JSON answer is cut or malformed"
    return f"expected a JSON answer, got {media_type}"


async def list_model_ids(client: Any, path: str, params: dict[str, Any] | None = None) -> list[str]:
    """The model ids a server lists (OpenAI and Anthropic share ``{"data": [{"id": ...}]}``),
    through the SDK's request pipeline but read here: the SDKs' typed ``models.list`` crashed
    on a 200 that was not JSON (an HTML page at the base URL), and the check must say what it
    got instead ("expected a JSON answer, got text/html")."""
    import httpx2

    options = {"params": params} if params else {}
    response = await client.get(path, cast_to=httpx2.Response, options=options)
    host = response_host(response)
    try:
        data = response.json()
    except ValueError:
        got = not_json(response) + (f" from {host}" if host else "")
        raise ProviderError(got, status=response.status_code) from None
    items = data.get("data") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise ProviderError(
            "expected a list of models (JSON with 'data'), got something else"
            + (f" from {host}" if host else ""),
            status=response.status_code,
        )
    return [str(item["id"]) for item in items if isinstance(item, dict) and "id" in item]


@functools.cache
def shared_ssl_context() -> ssl.SSLContext:
    """The TLS context every provider client of this process uses. Building one loads the CA
    bundle (~20 ms of CPU) and a client is built per chunk, so a context per client cost about
    1 ms a row (see docs/performance.md). Same defaults as the SDKs' own (SSL_CERT_FILE too)."""
    import httpx2

    return httpx2.create_ssl_context()


async def post_json(client: Any, path: str, body: dict[str, Any]) -> tuple[dict[str, Any], Any]:
    """POST ``body`` through an SDK client's own request pipeline (base URL, auth and version
    headers, timeout, error classes; the SDKs document ``client.post`` for requests they have
    no typed method for) and return the JSON answer with the response headers.

    Why not the typed ``create``: for the hot path of a run it costs twice the CPU of the
    request itself. It rebuilds the parameters through the SDK's TypedDict transform (a
    recursive walk over every message) and parses the answer into pydantic models, while we
    build plain JSON and read four fields (docs/performance.md: about 0.3 ms of the 1.3 ms a
    call costs). The wire format is the same; the tests run it against the protocol fakes."""
    import httpx2

    response = await client.post(path, body=body, cast_to=httpx2.Response)
    try:
        data = response.json()  # a ValueError (not JSON) is an invalid answer, as the SDK's own
    except ValueError:
        raise ValueError(not_json(response)) from None
    if not isinstance(data, dict):
        raise ValueError(f"expected a JSON object, got {type(data).__name__}")
    return data, response.headers


def field_path(data: Any, *path: str | int) -> Any:
    """``data[path[0]][path[1]]...``; a ValueError (an invalid answer) when the shape differs."""
    for step in path:
        try:
            data = data[step]
        except (KeyError, IndexError, TypeError) as exc:
            raise ValueError(f"the answer has no {'.'.join(map(str, path))}") from exc
    return data
