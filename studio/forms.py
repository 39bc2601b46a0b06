"""Forms for the core pages. The schema editor is a formset of columns; the forms only shape
input: validation of the schema as a whole (names, references, cycles) is the schema core's."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.forms import UserCreationForm

from studio.models import Project, ProviderCredential


class SignupForm(UserCreationForm):
    pass


class ProjectForm(forms.ModelForm):
    class Meta:
        model = Project
        fields = ["name", "description"]
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}


class CredentialForm(forms.Form):
    name = forms.CharField(max_length=80)
    provider = forms.ChoiceField(choices=ProviderCredential.Provider.choices)
    base_url = forms.URLField(
        required=False,
        label="Base URL",
        help_text="For OpenAI-compatible servers, e.g. http://localhost:8001/v1. "
        "Leave empty for api.openai.com or api.anthropic.com.",
        assume_scheme="https",
    )
    api_key = forms.CharField(
        required=False,
        label="API key",
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )
    requests_per_minute = forms.IntegerField(min_value=1, initial=500)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        provider = data.get("provider")
        if provider == ProviderCredential.Provider.OPENAI_COMPATIBLE and not data.get("base_url"):
            self.add_error("base_url", "An OpenAI-compatible server needs its base URL.")
        if provider in ("openai", "anthropic") and not data.get("api_key"):
            self.add_error("api_key", "This provider needs an API key.")
        return data


class CredentialKeyForm(forms.Form):
    api_key = forms.CharField(
        required=False,
        label="New API key",
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )
    base_url = forms.URLField(required=False, label="Base URL", assume_scheme="https")


class SchemaMetaForm(forms.Form):
    name = forms.CharField(max_length=120)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))


COLUMN_KINDS = [
    ("category", "Category sampler"),
    ("integer", "Integer sampler"),
    ("uuid", "UUID"),
    ("expression", "Expression (template)"),
    ("llm_text", "LLM text"),
]


def _split_list(raw: str) -> list[str]:
    return [part.strip() for part in raw.replace("\n", ",").split(",") if part.strip()]


class ColumnForm(forms.Form):
    name = forms.CharField(required=False, max_length=64)
    kind = forms.ChoiceField(choices=COLUMN_KINDS)
    values = forms.CharField(
        required=False, help_text="Comma-separated values", widget=forms.TextInput()
    )
    weights = forms.CharField(required=False, help_text="Optional, comma-separated numbers")
    low = forms.IntegerField(required=False, initial=0)
    high = forms.IntegerField(required=False, initial=100)
    template = forms.CharField(
        required=False,
        label="Prompt / template",
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Refer to other columns as {{ name }}",
    )
    system_prompt = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    credential = forms.ModelChoiceField(queryset=ProviderCredential.objects.none(), required=False)
    model = forms.CharField(required=False, max_length=200)
    temperature = forms.FloatField(required=False, initial=0.7, min_value=0, max_value=2)
    max_tokens = forms.IntegerField(required=False, initial=512, min_value=1, max_value=32768)
    drop = forms.BooleanField(required=False, label="Helper column (left out of the output)")

    def __init__(self, *args: Any, project: Project, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["credential"].queryset = project.credentials.order_by("name")

    def clean_weights(self) -> list[float] | None:
        raw = self.cleaned_data.get("weights") or ""
        if not raw.strip():
            return None
        try:
            return [float(part) for part in _split_list(raw)]
        except ValueError as exc:
            raise forms.ValidationError("Weights must be numbers separated by commas.") from exc

    def to_column(self) -> dict[str, Any] | None:
        """The column as the schema core expects it, or None for a blank form."""
        data = self.cleaned_data
        if not data.get("name"):
            return None
        kind = data["kind"]
        column: dict[str, Any] = {"name": data["name"].strip(), "kind": kind}
        if data.get("drop"):
            column["drop"] = True
        if kind == "category":
            column["values"] = _split_list(data.get("values") or "")
            if data.get("weights") is not None:
                column["weights"] = data["weights"]
        elif kind == "integer":
            column["low"] = data["low"] if data.get("low") is not None else 0
            column["high"] = data["high"] if data.get("high") is not None else 100
        elif kind == "expression":
            column["template"] = data.get("template") or ""
        elif kind == "llm_text":
            credential = data.get("credential")
            column.update(
                credential_id=credential.pk if credential else 0,
                model=data.get("model") or "",
                system_prompt=data.get("system_prompt") or "",
                prompt=data.get("template") or "",
                temperature=data["temperature"] if data.get("temperature") is not None else 0.7,
                max_tokens=data.get("max_tokens") or 512,
            )
        return column


def column_initial(column: dict[str, Any]) -> dict[str, Any]:
    """A saved column as initial data for its form."""
    initial = dict(column)
    if column["kind"] == "category":
        initial["values"] = ", ".join(column.get("values", []))
        weights = column.get("weights")
        initial["weights"] = ", ".join(str(w) for w in weights) if weights else ""
    if column["kind"] == "llm_text":
        initial["template"] = column.get("prompt", "")
        initial["credential"] = column.get("credential_id")
    return initial


ColumnFormSet = forms.formset_factory(ColumnForm, extra=0, can_delete=True)


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
        "document (.txt, .md, .pdf) to split into chunks."
    )
