"""Property: any JSON body sent to a writing endpoint, shaped like its schema or not, gets an
answer below 500 and leaves the owner's pages working. schemathesis generates from the OpenAPI
schema (tests/test_api_schemathesis.py); this one sends what a schema would never suggest:
known field names with absurd values, NUL characters, huge numbers, wrong types."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from generation.services import run_create
from studio.services import api_token_create, schema_create

FIELDS = [
    "name",
    "description",
    "spec",
    "num_rows",
    "seed",
    "budget_usd",
    "fresh_samples",
    "mode",
    "count",
    "text",
    "decision",
    "repo_id",
    "token",
    "private",
    "provider",
    "api_key",
    "base_url",
    "requests_per_minute",
    "tokens_per_minute",
    "input_price_per_million",
    "output_price_per_million",
]
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(["1e20", "-0", "NaN", "Infinity", "0.00001", "99999999.99995", "batch", ""]),
    st.text(max_size=12),
)
values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(st.text(max_size=6), children, max_size=3)
    ),
    max_leaves=10,
)
bodies = st.dictionaries(st.sampled_from(FIELDS), values, max_size=6)

SPEC = {"columns": [{"name": "n", "kind": "integer", "low": 1, "high": 9}]}


@pytest.fixture
def setting(owner, project) -> dict[str, Any]:  # noqa: ANN001
    schema = schema_create(project=project, user=owner, name="Numbers", data=SPEC)
    run = run_create(schema=schema, user=owner, num_rows=2)
    client = Client(
        HTTP_AUTHORIZATION=f"Bearer {api_token_create(user=owner, name='t')[1]}",
        raise_request_exception=False,
    )
    page = Client(raise_request_exception=False)
    page.force_login(owner)
    urls = [
        ("post", "/api/projects"),
        ("post", f"/api/projects/{project.pk}/schemas"),
        ("put", f"/api/schemas/{schema.pk}"),
        ("post", f"/api/projects/{project.pk}/schemas/validate"),
        ("post", f"/api/projects/{project.pk}/schemas/import"),
        ("post", f"/api/projects/{project.pk}/preview"),
        ("post", f"/api/projects/{project.pk}/credentials"),
        ("post", f"/api/schemas/{schema.pk}/runs"),
        ("put", f"/api/runs/{run.pk}/budget"),
        ("post", f"/api/rows/{run.rows.first().pk}/review"),
    ]
    pages = [f"/projects/{project.pk}/", f"/schemas/{schema.pk}/", f"/runs/{run.pk}/"]
    return {"client": client, "page": page, "urls": urls, "pages": pages}


@pytest.mark.django_db
def test_no_body_gives_a_server_error(setting: dict[str, Any]) -> None:
    @settings(
        max_examples=300,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(target=st.sampled_from(setting["urls"]), body=bodies)
    def send(target: tuple[str, str], body: dict[str, Any]) -> None:
        method, url = target
        response = getattr(setting["client"], method)(
            url, data=json.dumps(body), content_type="application/json"
        )
        assert response.status_code < 500, (url, body, response.content[:300])

    send()
    for url in setting["pages"]:
        assert setting["page"].get(url).status_code == 200, url
