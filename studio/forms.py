"""Forms for the core pages. The schema editor is a formset of columns; the forms only shape
input: validation of the schema as a whole (names, references, cycles) is the schema core's."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.forms import UserCreationForm, UsernameField
from django.contrib.auth.models import User
from pydantic import BaseModel, ValidationError

from studio.credential_rules import (
    MAX_BASE_URL_LENGTH,
    MAX_NAME_LENGTH,
    MAX_REQUESTS_PER_MINUTE,
    MAX_TOKENS_PER_MINUTE,
    PRICE_DECIMAL_PLACES,
    PRICE_DIGITS,
    CredentialChange,
    CredentialFields,
    field_errors,
)
from studio.kinds import KINDS, field_layout, form_fields, kind_choices
from studio.models import Membership, Project, ProviderCredential
from studio.schema import MAX_COLUMNS, SchemaError
from studio.schema.serialization import MAX_SCHEMA_TEXT_CHARS


class SignupForm(UserCreationForm):
    class Meta:
        model = User
        fields = ("username", "email")
        field_classes = {"username": UsernameField}
        help_texts = {"email": "Optional: lets a project's owner add you by your e-mail."}


class MemberAddForm(forms.Form):
    identifier = forms.CharField(
        label="Username or e-mail",
        max_length=254,
        widget=forms.TextInput(attrs={"autocomplete": "off", "placeholder": "ada@example.com"}),
    )
    role = forms.ChoiceField(choices=Membership.Role.choices, initial=Membership.Role.VIEWER)


class MemberRoleForm(forms.Form):
    role = forms.ChoiceField(choices=Membership.Role.choices)


class ProjectForm(forms.ModelForm):
    class Meta:
        model = Project
        fields = ["name", "description"]
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}


def _apply_credential_rules(
    form: forms.Form, model: type[BaseModel], data: dict[str, Any]
) -> dict[str, Any] | None:
    """Run the credential rules (studio.credential_rules, the API's too) on what the form's own
    fields parsed; each broken rule becomes an error on its field. The rules' values, or None."""
    try:
        return model(**data).model_dump()
    except ValidationError as exc:
        for field, messages in field_errors(exc).items():
            if field in form.errors:  # the form's own parsing already said what is wrong
                continue
            for message in messages:
                form.add_error(field if field in form.fields else None, message)
        return None


class CredentialForm(forms.Form):
    # The fields parse, with the rules' limits for the browser to show; the rules themselves
    # (the API's too) run in clean().
    name = forms.CharField(max_length=MAX_NAME_LENGTH)
    provider = forms.ChoiceField(choices=ProviderCredential.Provider.choices)
    base_url = forms.CharField(
        required=False,
        max_length=MAX_BASE_URL_LENGTH,
        label="Base URL",
        help_text="For OpenAI-compatible servers, e.g. http://localhost:8001/v1. "
        "Leave empty for api.openai.com or api.anthropic.com.",
    )
    api_key = forms.CharField(
        required=False,
        label="API key",
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )
    requests_per_minute = forms.IntegerField(
        min_value=1, max_value=MAX_REQUESTS_PER_MINUTE, initial=500
    )
    tokens_per_minute = forms.IntegerField(
        min_value=1, max_value=MAX_TOKENS_PER_MINUTE, initial=200_000, required=False
    )
    input_price_per_million = forms.DecimalField(
        required=False,
        min_value=0,
        max_digits=PRICE_DIGITS,
        decimal_places=PRICE_DECIMAL_PLACES,
        label="Input price (USD per million tokens)",
        help_text="For self-hosted or unlisted models; empty uses the maintained price table.",
    )
    output_price_per_million = forms.DecimalField(
        required=False,
        min_value=0,
        max_digits=PRICE_DIGITS,
        decimal_places=PRICE_DECIMAL_PLACES,
        label="Output price (USD per million tokens)",
    )

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        data["tokens_per_minute"] = data.get("tokens_per_minute") or 200_000
        parsed = {name: value for name, value in data.items() if name not in self.errors}
        checked = _apply_credential_rules(self, CredentialFields, parsed)
        if checked is not None:
            data.update(checked, provider=str(checked["provider"].value))
        return data


class CredentialKeyForm(forms.Form):
    api_key = forms.CharField(
        required=False,
        label="New API key",
        help_text="Needed again to change the base URL.",
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )
    base_url = forms.CharField(required=False, max_length=MAX_BASE_URL_LENGTH, label="Base URL")

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        parsed = {name: value for name, value in data.items() if name not in self.errors}
        checked = _apply_credential_rules(self, CredentialChange, parsed)
        if checked is not None:
            data.update(checked)
        return data


class SchemaMetaForm(forms.Form):
    name = forms.CharField(max_length=120)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))


COLUMN_KINDS = kind_choices()
# Each kind's fields, once each, with the kinds that show them (studio.kinds).
FIELD_LAYOUT = field_layout()


class ColumnForm(forms.Form):
    """One column of any kind: its name, kind and ``drop``, then every kind's fields (from the
    registry, ``studio.kinds``); the page shows only the fields of the chosen kind."""

    name = forms.CharField(required=False, max_length=64)
    kind = forms.ChoiceField(choices=COLUMN_KINDS)
    drop = forms.BooleanField(required=False, label="Helper column (left out of the output)")

    def __init__(self, *args: Any, project: Project, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for item, _ in FIELD_LAYOUT:
            if item.bind is not None:
                item.bind(self.fields[item.name], project)

    def kind_fields(self) -> list[dict[str, Any]]:
        """The kinds' fields as the page lays them out; hidden unless the column's kind uses it."""
        current = self["kind"].value() or "category"
        return [
            {
                "field": self[item.name],
                "kinds": " ".join(kinds),
                "full": item.full,
                "partial": item.partial,
                "shown": current in kinds,
            }
            for item, kinds in FIELD_LAYOUT
        ]

    def to_column(self) -> dict[str, Any] | None:
        """The column as the schema core expects it, or None for a blank form."""
        data = self.cleaned_data
        if not data.get("name"):
            return None
        column: dict[str, Any] = {"name": data["name"].strip(), "kind": data["kind"]}
        if data.get("drop"):
            column["drop"] = True
        column.update(KINDS[data["kind"]].to_spec(data))
        return column


# Declared here rather than in the class body: the registry says which fields there are.
ColumnForm.base_fields.update(form_fields())
ColumnForm.declared_fields.update(form_fields())


def column_initial(column: dict[str, Any]) -> dict[str, Any]:
    """A saved column as initial data for its form (the inverse of ``to_column``)."""
    kind = KINDS.get(column["kind"])
    return {**column, **(kind.to_initial(column) if kind else {})}


# The request says how many forms it holds: Django builds at most ``absolute_max`` of them, and
# ``validate_max`` makes more than a schema may have an error rather than a silent cut.
ColumnFormSet = forms.formset_factory(
    ColumnForm,
    extra=0,
    can_delete=True,
    max_num=MAX_COLUMNS,
    absolute_max=MAX_COLUMNS,
    validate_max=True,
)


def build_column_formset(
    *, project: Project, data: Any = None, initial: list[dict[str, Any]] | None = None
) -> forms.BaseFormSet:
    return ColumnFormSet(
        data=data, initial=initial, prefix="columns", form_kwargs={"project": project}
    )


def spec_from_formset(formset: forms.BaseFormSet) -> dict[str, Any]:
    columns = []
    for form in formset.forms:
        if formset.can_delete and form.cleaned_data.get("DELETE"):
            continue
        column = form.to_column()
        if column is not None:
            columns.append(column)
    return {"columns": columns}


class ApiTokenForm(forms.Form):
    name = forms.CharField(max_length=80, help_text="What the token is for, e.g. 'CI pipeline'")


class SeedUploadForm(forms.Form):
    # Empty files reach the parser, whose message names the file.
    file = forms.FileField(
        allow_empty_file=True,
        help_text="A table (CSV, TSV, JSONL, JSON, Parquet) whose rows become variables, or a "
        "document (.txt, .md, .pdf) to split into chunks.",
    )


# The text limit (shared with the API) is in characters; UTF-8 takes up to 4 bytes for one.
MAX_SCHEMA_FILE_BYTES = 4 * MAX_SCHEMA_TEXT_CHARS


class SchemaImportForm(forms.Form):
    file = forms.FileField(required=False, label="Schema file (.yaml, .yml, .json)")
    text = forms.CharField(
        required=False,
        label="…or paste it",
        max_length=MAX_SCHEMA_TEXT_CHARS,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    name = forms.CharField(
        required=False, max_length=120, help_text="Optional: overrides the name in the file"
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Shown on the new-schema page beside the schema's own form: distinct ids.
        kwargs.setdefault("auto_id", "id_import_%s")
        super().__init__(*args, **kwargs)

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        upload = data.get("file")
        if upload is not None and upload.size > MAX_SCHEMA_FILE_BYTES:
            raise forms.ValidationError(
                f"A schema file is at most {MAX_SCHEMA_TEXT_CHARS:,} characters."
            )
        if upload is None and not (data.get("text") or "").strip():
            raise forms.ValidationError("Choose a file or paste a schema.")
        return data

    def cleaned_text(self) -> str:
        upload = self.cleaned_data.get("file")
        if upload is None:
            return self.cleaned_data["text"]
        try:
            return upload.read().decode("utf-8")
        except UnicodeDecodeError as exc:
            raise SchemaError([f"{upload.name} is not UTF-8 text"]) from exc
