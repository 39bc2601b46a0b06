"""The API docs page loads Swagger UI from this server (django-ninja's files), never a CDN, and
holds no inline script: it works offline and under the Content-Security-Policy."""

from __future__ import annotations

import re

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_the_docs_page_uses_only_this_servers_files_and_no_inline_script():
    response = Client().get("/api/docs")
    html = response.content.decode()
    assert response.status_code == 200
    assert "script-src 'self'" in response["Content-Security-Policy"]
    sources = re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', html)
    assert "/static/ninja/swagger-ui-bundle.js" in sources
    assert all(source.startswith("/static/") for source in sources), sources
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S)
    inline = [body for attrs, body in scripts if "src=" not in attrs and "json" not in attrs]
    assert inline == []
    assert Client().get("/static/ninja/swagger-ui-bundle.js").status_code == 200
