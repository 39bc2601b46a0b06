"""Issue 15 item 4: the schema editor's endpoints trust no count from the request. A form that
claims millions of columns is refused at once with a message, never built one dict at a time."""

import pytest
from django.http import QueryDict

from studio.designer import DesignerError, apply_operation, columns_from_data, form_index
from studio.schema import MAX_COLUMNS, SchemaError, parse_spec
from studio.schema.sampler_kinds import MAX_CATEGORY_VALUES
from tests.studio.test_pages import column_post

HUGE = 5_000_000  # the 60-byte POST that took 47 s and +500 MB before the fix


def claimed(total):
    data = QueryDict(mutable=True)
    data["columns-TOTAL_FORMS"] = str(total)
    return data


@pytest.mark.parametrize("total", [MAX_COLUMNS + 1, HUGE, "9" * 5000, "-1", "²"])
def test_a_form_count_beyond_the_schema_limit_is_refused_before_anything_is_built(total):
    with pytest.raises(DesignerError, match=f"at most {MAX_COLUMNS} columns"):
        columns_from_data(claimed(total))


def test_a_form_at_the_limit_is_read_and_a_column_more_cannot_be_added_or_duplicated():
    columns = columns_from_data(claimed(MAX_COLUMNS))
    assert len(columns) == MAX_COLUMNS
    for operation in ("add", "duplicate"):
        with pytest.raises(DesignerError, match=f"at most {MAX_COLUMNS} columns"):
            apply_operation(columns, operation, 0, new_kind="llm_text")


def test_field_keys_and_indices_with_absurd_numbers_are_ignored_not_crashed_on():
    data = claimed(1)
    data["columns-0-name"] = "topic"
    data["columns-" + "9" * 5000 + "-name"] = "x"
    assert columns_from_data(data) == [{"name": ["topic"]}]
    assert form_index("9" * 5000) is None
    assert form_index("²") is None
    assert form_index("3") == 3


@pytest.mark.django_db
def test_designer_endpoint_answers_a_huge_form_count_with_a_clear_400(owner_client, project):
    url = f"/projects/{project.pk}/schemas/designer/"
    response = owner_client.post(url, {"columns-TOTAL_FORMS": str(HUGE), "op": "add"})
    assert response.status_code == 400
    assert f"at most {MAX_COLUMNS} columns" in response.content.decode()
    absurd_index = {"columns-TOTAL_FORMS": "1", "op": "delete", "index": "9" * 5000}
    response = owner_client.post(url, absurd_index)
    assert response.status_code == 400
    assert "no longer there" in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("endpoint", ["check", "preview", "new"])
def test_check_preview_and_save_say_the_column_limit_when_the_form_claims_more(
    owner_client, project, endpoint
):
    columns = [{"name": f"c{i}", "kind": "uuid"} for i in range(MAX_COLUMNS + 1)]
    data = column_post(columns)
    data["columns-TOTAL_FORMS"] = str(HUGE)  # Django's own cap (absolute_max) was 2000 forms
    response = owner_client.post(f"/projects/{project.pk}/schemas/{endpoint}/", data)
    assert response.status_code in (200, 400)
    assert f"at most {MAX_COLUMNS}" in response.content.decode()


@pytest.mark.parametrize(
    "column",
    [
        {"name": "t", "kind": "category", "values": ["a"] * (MAX_CATEGORY_VALUES + 1)},
        {"name": "t", "kind": "category", "values": ["a"], "weights": [1.0] * 20_000},
        {"name": "t", "kind": "subcategory", "parent": "p", "values": {"x": ["a"] * 20_000}},
    ],
)
def test_value_lists_are_capped_at_the_schemas_limit_naming_the_column(column):
    parent = {"name": "p", "kind": "category", "values": ["x"]}
    with pytest.raises(SchemaError) as caught:
        parse_spec({"columns": [parent, column]})
    assert caught.value.messages[0].startswith("Column 't': ")
    assert f"at most {MAX_CATEGORY_VALUES}" in " ".join(caught.value.messages)
