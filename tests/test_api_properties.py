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
    "identifier",
    "role",
]
# Numbers at the edges of the columns they go to (int32, int64, 12 and 10 digits of decimals).
EDGES = [0, -1, 10**8, 10**10, 2**31, 2**63, 10**20, 10**40, "1e20", "99999999.99995", "1E+400"]
scalars = st.one_of(
    st.sampled_from(EDGES),
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(["-0", "NaN", "Infinity", "0.00001", "batch", "", "a\x00b"]),
    st.text(max_size=12),
)
values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(st.text(max_size=6), children, max_size=3)
    ),
    max_leaves=6,
)

SPEC = {"columns": [{"name": "n", "kind": "integer", "low": 1, "high": 9}]}


@pytest.fixture
def setting(owner, collaborator, project) -> dict[str, Any]:
    schema = schema_create(project=project, user=owner, name="Numbers", data=SPEC)
    run = run_create(schema=schema, user=owner, num_rows=2)
    client = Client(
        HTTP_AUTHORIZATION=f"Bearer {api_token_create(user=owner, name='t')[1]}",
        raise_request_exception=False,
    )
    page = Client(raise_request_exception=False)
    page.force_login(owner)
    # Each endpoint with a body it accepts; the property changes a few of its fields.
    urls = [
        ("post", "/api/projects", {"name": "P", "description": ""}),
        ("post", f"/api/projects/{project.pk}/schemas", {"name": "S2", "spec": SPEC}),
        ("put", f"/api/schemas/{schema.pk}", {"name": "Numbers", "spec": SPEC}),
        ("post", f"/api/projects/{project.pk}/schemas/validate", {"spec": SPEC}),
        ("post", f"/api/projects/{project.pk}/schemas/import", {"text": json.dumps(SPEC)}),
        ("post", f"/api/projects/{project.pk}/preview", {"spec": SPEC, "count": 1}),
        (
            "post",
            f"/api/projects/{project.pk}/credentials",
            {"name": "c", "provider": "simulator", "requests_per_minute": 10},
        ),
        ("post", f"/api/schemas/{schema.pk}/runs", {"num_rows": 1, "budget_usd": "1"}),
        ("put", f"/api/runs/{run.pk}/budget", {"budget_usd": "2"}),
        ("post", f"/api/rows/{run.rows.first().pk}/review", {"decision": "accepted"}),
        ("post", f"/api/projects/{project.pk}/members", {"identifier": "owner", "role": "owner"}),
        ("patch", f"/api/projects/{project.pk}/members/{collaborator.pk}", {"role": "viewer"}),
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
    @given(target=st.sampled_from(setting["urls"]), data=st.data())
    def send(target: tuple[str, str, dict[str, Any]], data: st.DataObject) -> None:
        method, url, valid = target
        # Mostly the endpoint's own fields, sometimes another's.
        keys = st.one_of(st.sampled_from(sorted(valid)), st.sampled_from(FIELDS))
        body = {**valid, **data.draw(st.dictionaries(keys, values, max_size=3))}
        response = getattr(setting["client"], method)(
            url, data=json.dumps(body), content_type="application/json"
        )
        assert response.status_code < 500, (url, body, response.content[:300])

    send()
    for url in setting["pages"]:
        assert setting["page"].get(url).status_code == 200, url
