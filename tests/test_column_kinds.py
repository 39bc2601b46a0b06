"""Column kinds as plug-ins: every kind of the schema is registered whole (spec model, form
mapping, partial, generator), and its form maps a column to the page and back unchanged."""

from dataclasses import replace
from typing import get_args

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.template.loader import get_template

from generation.kinds import FILLERS, filler_for
from studio.forms import FIELD_LAYOUT, ColumnForm, column_initial
from studio.kinds import KINDS as FORM_KINDS
from studio.kinds import new_column, register
from studio.models import SeedFile
from studio.schema import KINDS as SPEC_KINDS
from studio.schema import Column, parse_spec

SPEC_MODELS = {model.model_fields["kind"].default: model for model in get_args(get_args(Column)[0])}


def test_every_spec_kind_has_one_form_mapping_one_partial_and_one_generator():
    assert sorted(SPEC_MODELS) == sorted(SPEC_KINDS)
    assert set(FORM_KINDS) == set(SPEC_KINDS)
    assert set(FILLERS) == set(SPEC_KINDS)
    for name, kind in FORM_KINDS.items():
        assert kind.spec_model is SPEC_MODELS[name]
        for item in kind.fields:
            get_template(item.partial)  # raises when a kind names a partial that is not there


def test_two_kinds_of_one_name_are_refused():
    with pytest.raises(ImproperlyConfigured, match="Two column kinds are named 'uuid'"):
        register(FORM_KINDS["uuid"], replace(FORM_KINDS["uuid"], label="Another"))


def test_a_kind_the_engine_cannot_fill_is_refused_by_name():
    class Novel:
        kind = "hologram"
        name = "h"

    with pytest.raises(TypeError, match="Novel has no generator"):
        filler_for(Novel())


def test_the_page_shows_each_kind_its_own_fields_in_its_own_order():
    order = [item.name for item, _ in FIELD_LAYOUT]
    assert len(order) == len(set(order))  # a field shared by kinds is rendered once
    for kind in FORM_KINDS.values():
        own = [item.name for item in kind.fields]
        assert [name for name in order if name in own] == own
        shown = [item.name for item, kinds in FIELD_LAYOUT if kind.name in kinds]
        assert shown == own


def _every_kind(credential_id: int, table: SeedFile, document: SeedFile) -> list[dict]:
    llm = {"credential_id": credential_id, "model": "gpt-4o-mini", "system_prompt": "Be brief"}
    return [
        {"name": "topic", "kind": "category", "values": ["a", "b"], "weights": [1.0, 2.5]},
        {"name": "sub", "kind": "subcategory", "parent": "topic", "values": {"a": ["x"], "b": ["y"]}},
        {"name": "n", "kind": "integer", "low": 1, "high": 9, "distribution": "gaussian",
         "mean": 4.0, "stddev": 2.0},
        {"name": "f", "kind": "float", "low": 0.0, "high": 1.0, "distribution": "uniform",
         "decimals": 2},
        {"name": "ok", "kind": "boolean", "probability": 0.25, "drop": True},
        {"name": "when", "kind": "datetime", "start": "2024-01-01", "end": "2024-02-01",
         "format": "%d/%m"},
        {"name": "who", "kind": "person", "field": "city", "locale": "fr_FR"},
        {"name": "id", "kind": "uuid"},
        {"name": "rows", "kind": "seed_data", "seed_file_id": table.pk, "fields": ["q", "a"],
         "sampling": "ordered"},
        {"name": "passage", "kind": "document", "seed_file_id": document.pk, "chunk_size": 800,
         "chunk_overlap": 0, "sampling": "random"},
        {"name": "label", "kind": "expression", "template": "{{ topic }}/{{ sub }}"},
        {"name": "text", "kind": "llm_text", **llm, "prompt": "On {{ topic }}",
         "temperature": 0.0, "max_tokens": 100},
        {"name": "answer", "kind": "llm_structured", **llm, "prompt": "Q: {{ q }}",
         "temperature": 0.3, "max_tokens": 200, "max_reasks": 0,
         "json_schema": {"type": "object", "properties": {"why": {"type": "string"}},
                         "required": ["why"]}},
        {"name": "judge", "kind": "llm_judge", **llm, "prompt": "{{ text }}",
         "temperature": 0.0, "max_tokens": 300, "max_reasks": 1, "pass_threshold": 2.0,
         "criteria": [{"name": "clarity", "description": "It is clear", "min_score": 1,
                       "max_score": 3}]},
    ]  # fmt: skip


@pytest.mark.django_db
def test_every_kind_goes_from_the_page_to_the_spec_and_back_unchanged(project, openai_credential):
    table = SeedFile.objects.create(
        project=project, name="t.csv", kind="table", size_bytes=1, columns=["q", "a"]
    )
    document = SeedFile.objects.create(project=project, name="d.txt", kind="document", size_bytes=1)
    columns = _every_kind(openai_credential.pk, table, document)
    assert {c["kind"] for c in columns} == set(SPEC_KINDS)
    parse_spec({"columns": columns})  # the columns are a valid schema
    for column in columns:
        shown = ColumnForm(initial=column_initial(column), project=project)
        typed = {name: shown[name].value() for name in shown.fields}
        # What a browser sends: nothing for an empty choice or an unticked box.
        typed = {name: v for name, v in typed.items() if v is not None and v is not False}
        form = ColumnForm(typed, project=project)
        assert form.is_valid(), (column["kind"], form.errors)
        assert form.to_column() == column


@pytest.mark.django_db
def test_a_column_shows_only_its_kinds_fields_before_any_script_runs(project):
    form = ColumnForm(initial={"name": "n", "kind": "integer"}, project=project)
    html = get_template("studio/partials/schema_columns.html").render(
        {"formset": [form], "project": project}
    )
    label_of = {name: html.split(f'name="{name}"')[0].rsplit("<label", 1)[1] for name in form.fields
                if name not in ("name", "kind", "drop")}  # fmt: skip
    assert "hidden" not in label_of["low"] and "hidden" not in label_of["stddev"]
    assert "hidden" in label_of["decimals"] and "hidden" in label_of["template"]


def test_an_added_column_starts_with_the_defaults_of_every_kind_and_its_own():
    assert new_column("llm_judge") == {
        "low": "0",
        "high": "100",
        "distribution": "uniform",
        "probability": "0.5",
        "locale": "en_US",
        "sampling": "shuffle",
        "chunk_size": "1500",
        "chunk_overlap": "150",
        "temperature": "0",  # a judge's own: as repeatable as the model allows
        "max_tokens": "512",
        "max_reasks": "2",
        "pass_threshold": "3.5",
    }
    assert new_column("llm_text")["temperature"] == "0.7"
    assert new_column("no-such-kind")["temperature"] == "0.7"


@pytest.mark.django_db
def test_the_add_button_gives_a_new_judge_its_defaults(owner_client, project):
    data = {
        "columns-TOTAL_FORMS": "0",
        "columns-INITIAL_FORMS": "0",
        "op": "add",
        "new_kind": "llm_judge",
    }
    body = owner_client.post(f"/projects/{project.pk}/schemas/designer/", data).content.decode()
    temperature = body.split('name="columns-0-temperature"')[1].split(">")[0]
    assert 'value="0"' in temperature
    threshold = body.split('name="columns-0-pass_threshold"')[1].split(">")[0]
    assert 'value="3.5"' in threshold
