"""Schema text that used to give a 500 (RecursionError, ValueError, a database error) or
hold the server (YAML merge bombs, unbounded paste) is refused with a message saying what."""

from __future__ import annotations

import pytest

from studio.models import DatasetSchema
from studio.schema import SchemaError
from studio.schema.serialization import MAX_SCHEMA_TEXT_CHARS, document_from_text
from studio.services import api_token_create


def refusal(text: str) -> str:
    with pytest.raises(SchemaError) as info:
        document_from_text(text)
    return str(info.value)


DEEP_JSON = '{"columns": ' + "[" * 100_000 + "]" * 100_000 + "}"
DEEP_YAML = "columns: " + "[" * 5_000 + "]" * 5_000 + "\n"
LONG_INT_JSON = '{"columns": [{"name": "n", "kind": "integer", "low": ' + "9" * 5000 + "}]}"
LONG_INT_YAML = "columns:\n  - name: n\n    kind: integer\n    low: " + "9" * 5000 + "\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (DEEP_JSON, "more than 64 levels deep"),
        (DEEP_YAML, "more than 64 levels deep"),
        ('{"columns": ' + "[" * 70 + "]" * 70 + "}", "more than 64 levels deep"),
        (LONG_INT_JSON, "an integer of 5,000 digits"),
        (LONG_INT_YAML, "cannot be read"),
        (
            '{"columns": [{"name": "a\\u0000", "kind": "uuid"}]}',
            "columns.0.name: text cannot contain NUL",
        ),
        ('columns:\n  - name: "a\\0"\n    kind: uuid\n', "columns.0.name: text cannot contain NUL"),
        (
            '{"columns": [{"name": "\\ud800", "kind": "uuid"}]}',
            "columns.0.name: text contains an unpaired surrogate",
        ),
        ("x" * (MAX_SCHEMA_TEXT_CHARS + 1), "the limit is 1,000,000"),
    ],
)
def test_bad_schema_text_is_refused_with_its_reason(text: str, message: str) -> None:
    assert message in refusal(text)


def test_yaml_merge_keys_cannot_multiply_a_document() -> None:
    # Each level merges the previous one twice: 2**40 keys were it built.
    lines = ["l0: &l0 {a: 1}"]
    lines += [f"l{i}: &l{i} {{<<: [*l{i - 1}, *l{i - 1}]}}" for i in range(1, 41)]
    assert refusal("\n".join(lines) + "\ncolumns: []\n") == (
        "YAML aliases (*name) are not allowed in a schema file (line 2)"
    )


@pytest.mark.django_db
def test_the_page_paste_has_the_apis_limit(owner_client, project):
    response = owner_client.post(
        f"/projects/{project.pk}/schemas/import/",
        {"text": "#" * (MAX_SCHEMA_TEXT_CHARS + 1)},
        follow=True,
    )
    assert response.status_code == 200
    assert "at most 1000000 characters" in response.content.decode()
    assert not DatasetSchema.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("text", [DEEP_JSON, DEEP_YAML, LONG_INT_JSON, LONG_INT_YAML])
def test_page_and_api_refuse_bad_imports_without_a_500(owner_client, owner, project, text):
    page = owner_client.post(f"/projects/{project.pk}/schemas/import/", {"text": text}, follow=True)
    assert page.status_code == 200 and 'class="error"' in page.content.decode()
    _, token = api_token_create(user=owner, name="t")
    api = owner_client.post(
        f"/api/projects/{project.pk}/schemas/import",
        {"text": text},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert api.status_code == 422 and api.json()["messages"]
    assert not DatasetSchema.objects.exists()


def test_deep_yaml_flow_nesting_is_refused_before_parsing() -> None:
    # PyYAML takes quadratic time over this: a minute for 100 000 levels, hours for 500 000.
    text = "columns:\n  - " + "[" * 400_000 + "]" * 400_000 + "\n"
    assert refusal(text) == "The schema nests lists or mappings more than 64 levels deep (line 2)"
