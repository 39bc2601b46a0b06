"""Forms for the core pages. The schema editor is a formset of columns; the forms only shape
input: validation of the schema as a whole (names, references, cycles) is the schema core's."""

from __future__ import annotations

import json
import re
from typing import Any

from django import forms
from django.contrib.auth.forms import UserCreationForm

from studio.models import Project, ProviderCredential, SeedFile
from studio.schema import SchemaError
from studio.schema.sampler_kinds import PERSON_FIELDS
from studio.schema.serialization import MAX_SCHEMA_TEXT_CHARS


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
    tokens_per_minute = forms.IntegerField(min_value=1, initial=200_000, required=False)
    input_price_per_million = forms.DecimalField(
        required=False,
        min_value=0,
        decimal_places=4,
        label="Input price (USD per million tokens)",
        help_text="For self-hosted or unlisted models; empty uses the maintained price table.",
    )
    output_price_per_million = forms.DecimalField(
        required=False, min_value=0, decimal_places=4, label="Output price (USD per million tokens)"
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        data["tokens_per_minute"] = data.get("tokens_per_minute") or 200_000
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
    (
        "Samplers",
        [
            ("category", "Category"),
            ("subcategory", "Subcategory (depends on a category)"),
            ("integer", "Integer"),
            ("float", "Float"),
            ("boolean", "Boolean"),
            ("datetime", "Date and time"),
            ("person", "Person / place (Faker)"),
            ("uuid", "UUID"),
        ],
    ),
    (
        "Seed data",
        [
            ("seed_data", "Rows of an uploaded table"),
            ("document", "Chunks of an uploaded document"),
        ],
    ),
    ("Computed", [("expression", "Expression (template)")]),
    (
        "Language model",
        [
            ("llm_text", "LLM text"),
            ("llm_structured", "LLM structured (JSON schema)"),
            ("llm_judge", "LLM judge (rubric)"),
        ],
    ),
]
LLM_KINDS = ("llm_text", "llm_structured", "llm_judge")
SAMPLING_CHOICES = [
    ("shuffle", "Shuffled, each row once per pass"),
    ("random", "Random, with replacement"),
    ("ordered", "In file order"),
]
PERSON_FIELD_CHOICES = [(f, f.replace("_", " ")) for f in PERSON_FIELDS]
JSON_TYPES = ("string", "integer", "number", "boolean", "array", "object")


def _split_list(raw: str) -> list[str]:
    return [part.strip() for part in raw.replace("\n", ",").split(",") if part.strip()]


def _lines(raw: str) -> list[str]:
    return [line.strip() for line in raw.splitlines() if line.strip()]


class ColumnForm(forms.Form):
    """One column of any kind: the page shows only the fields of the chosen kind."""

    name = forms.CharField(required=False, max_length=64)
    kind = forms.ChoiceField(choices=COLUMN_KINDS)
    drop = forms.BooleanField(required=False, label="Helper column (left out of the output)")
    # category
    values = forms.CharField(required=False, help_text="Comma-separated values")
    weights = forms.CharField(required=False, help_text="Optional, comma-separated numbers")
    # subcategory
    parent = forms.CharField(required=False, max_length=64, help_text="A category column")
    sub_values = forms.CharField(
        required=False,
        label="Values per parent value",
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One line per parent value: 'science: physics, biology'",
    )
    # integer and float
    low = forms.FloatField(required=False, initial=0, label="From")
    high = forms.FloatField(required=False, initial=100, label="To")
    distribution = forms.ChoiceField(
        choices=[("uniform", "uniform"), ("gaussian", "gaussian (clipped)")], required=False
    )
    mean = forms.FloatField(required=False)
    stddev = forms.FloatField(required=False, label="Std. deviation")
    decimals = forms.IntegerField(required=False, min_value=0, max_value=15)
    # boolean
    probability = forms.FloatField(required=False, initial=0.5, min_value=0, max_value=1)
    # datetime
    start = forms.CharField(required=False, help_text="e.g. 2024-01-01")
    end = forms.CharField(required=False, help_text="e.g. 2024-12-31T23:59")
    date_format = forms.CharField(
        required=False, label="Format", help_text="strftime, e.g. %Y-%m-%d"
    )
    # person
    person_field = forms.ChoiceField(choices=PERSON_FIELD_CHOICES, required=False, label="Field")
    locale = forms.CharField(required=False, initial="en_US", max_length=20)
    # seed data and documents
    seed_file = forms.ModelChoiceField(
        queryset=SeedFile.objects.none(), required=False, label="Table"
    )
    document_file = forms.ModelChoiceField(
        queryset=SeedFile.objects.none(), required=False, label="Document"
    )
    sampling = forms.ChoiceField(choices=SAMPLING_CHOICES, required=False)
    chunk_size = forms.IntegerField(required=False, initial=1500, min_value=100, max_value=20000)
    chunk_overlap = forms.IntegerField(required=False, initial=150, min_value=0)
    # expression and LLM prompts
    template = forms.CharField(
        required=False,
        label="Prompt / template",
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Refer to other columns as {{ name }}",
    )
    system_prompt = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    credential = forms.ModelChoiceField(queryset=ProviderCredential.objects.none(), required=False)
    model = forms.CharField(required=False, max_length=200)
    temperature = forms.FloatField(required=False, min_value=0, max_value=2)
    max_tokens = forms.IntegerField(required=False, initial=512, min_value=1, max_value=32768)
    # structured
    schema_fields = forms.CharField(
        required=False,
        label="Answer fields",
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One per line: 'reasoning: string — why'. Types: " + ", ".join(JSON_TYPES),
    )
    json_schema = forms.CharField(
        required=False,
        label="…or a JSON schema",
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false"}),
        help_text="Takes precedence over the fields when given",
    )
    max_reasks = forms.IntegerField(
        required=False, initial=2, min_value=0, max_value=5, label="Re-asks when invalid"
    )
    # judge
    criteria = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One per line: 'accuracy (1-5): the answer is correct'",
    )
    pass_threshold = forms.FloatField(required=False, initial=3.5, label="Pass at mean score")

    def __init__(self, *args: Any, project: Project, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["credential"].queryset = project.credentials.order_by("name")
        seeds = project.seed_files.defer("text").order_by("name")
        self.fields["seed_file"].queryset = seeds.filter(kind=SeedFile.Kind.TABLE)
        self.fields["document_file"].queryset = seeds.filter(kind=SeedFile.Kind.DOCUMENT)
        # The table's fields are the variables the column provides: say which they are.
        self.fields["seed_file"].label_from_instance = lambda seed: (
            f"{seed.name} — {', '.join(seed.columns)}" if seed.columns else seed.name
        )

    def clean_weights(self) -> list[float] | None:
        raw = self.cleaned_data.get("weights") or ""
        if not raw.strip():
            return None
        try:
            return [float(part) for part in _split_list(raw)]
        except ValueError as exc:
            raise forms.ValidationError("Weights must be numbers separated by commas.") from exc

    def clean_sub_values(self) -> dict[str, list[str]]:
        mapping: dict[str, list[str]] = {}
        for number, line in enumerate(_lines(self.cleaned_data.get("sub_values") or ""), 1):
            parent, colon, rest = line.partition(":")
            if not colon or not parent.strip():
                raise forms.ValidationError(f"Line {number}: write 'parent value: a, b, c'.")
            mapping[parent.strip()] = _split_list(rest)
        return mapping

    def clean_json_schema(self) -> dict[str, Any] | None:
        raw = (self.cleaned_data.get("json_schema") or "").strip()
        if not raw:
            return None
        try:
            value = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(
                f"Not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})."
            ) from exc
        if not isinstance(value, dict):
            raise forms.ValidationError("A JSON schema is an object: {…}.")
        return value

    def clean_schema_fields(self) -> dict[str, Any] | None:
        lines = _lines(self.cleaned_data.get("schema_fields") or "")
        if not lines:
            return None
        properties: dict[str, Any] = {}
        for number, line in enumerate(lines, 1):
            field, colon, rest = line.partition(":")
            kind, _, description = rest.replace("—", "-").partition("-")
            kind = kind.strip() or "string"
            if not colon or not field.strip():
                raise forms.ValidationError(f"Line {number}: write 'name: type - description'.")
            if kind not in JSON_TYPES:
                raise forms.ValidationError(
                    f"Line {number}: '{kind}' is not one of {', '.join(JSON_TYPES)}."
                )
            spec: dict[str, Any] = {"type": kind}
            if description.strip():
                spec["description"] = description.strip()
            properties[field.strip()] = spec
        return {"type": "object", "properties": properties, "required": list(properties)}

    def clean_criteria(self) -> list[dict[str, Any]]:
        criteria = []
        pattern = re.compile(r"^([^(:]+?)\s*(?:\((\d+)\s*-\s*(\d+)\))?\s*:\s*(.+)$")
        for number, line in enumerate(_lines(self.cleaned_data.get("criteria") or ""), 1):
            match = pattern.match(line)
            if match is None:
                raise forms.ValidationError(
                    f"Line {number}: write 'name (1-5): what a good answer does'."
                )
            name, low, high, description = match.groups()
            criteria.append(
                {
                    "name": name.strip(),
                    "description": description.strip(),
                    "min_score": int(low) if low else 1,
                    "max_score": int(high) if high else 5,
                }
            )
        return criteria

    def to_column(self) -> dict[str, Any] | None:
        """The column as the schema core expects it, or None for a blank form."""
        data = self.cleaned_data
        if not data.get("name"):
            return None
        kind = data["kind"]
        column: dict[str, Any] = {"name": data["name"].strip(), "kind": kind}
        if data.get("drop"):
            column["drop"] = True
        build = getattr(self, f"_build_{kind}", None)
        if build is not None:
            build(column, data)
        return column

    def _build_category(self, column: dict, data: dict) -> None:
        column["values"] = _split_list(data.get("values") or "")
        if data.get("weights") is not None:
            column["weights"] = data["weights"]

    def _build_subcategory(self, column: dict, data: dict) -> None:
        column.update(parent=(data.get("parent") or "").strip(), values=data["sub_values"])

    def _build_numbers(self, column: dict, data: dict, convert: Any) -> None:
        low, high = data.get("low"), data.get("high")
        column["low"] = convert(low if low is not None else 0)
        column["high"] = convert(high if high is not None else 100)
        column["distribution"] = data.get("distribution") or "uniform"
        if column["distribution"] == "gaussian":
            column.update(mean=data.get("mean"), stddev=data.get("stddev"))

    def _build_integer(self, column: dict, data: dict) -> None:
        self._build_numbers(column, data, lambda v: int(round(v)))

    def _build_float(self, column: dict, data: dict) -> None:
        self._build_numbers(column, data, float)
        if data.get("decimals") is not None:
            column["decimals"] = data["decimals"]

    def _build_boolean(self, column: dict, data: dict) -> None:
        probability = data.get("probability")
        column["probability"] = probability if probability is not None else 0.5

    def _build_datetime(self, column: dict, data: dict) -> None:
        column.update(start=data.get("start") or "", end=data.get("end") or "")
        if data.get("date_format"):
            column["format"] = data["date_format"]

    def _build_person(self, column: dict, data: dict) -> None:
        column.update(
            field=data.get("person_field") or "name", locale=data.get("locale") or "en_US"
        )

    def _build_seed_data(self, column: dict, data: dict) -> None:
        seed = data.get("seed_file")
        column.update(
            seed_file_id=seed.pk if seed else 0,
            fields=list(seed.columns) if seed else [],
            sampling=data.get("sampling") or "shuffle",
        )

    def _build_document(self, column: dict, data: dict) -> None:
        document = data.get("document_file")
        column.update(
            seed_file_id=document.pk if document else 0,
            chunk_size=data.get("chunk_size") or 1500,
            chunk_overlap=data["chunk_overlap"] if data.get("chunk_overlap") is not None else 150,
            sampling=data.get("sampling") or "shuffle",
        )

    def _build_expression(self, column: dict, data: dict) -> None:
        column["template"] = data.get("template") or ""

    def _build_llm(self, column: dict, data: dict, default_temperature: float) -> None:
        credential = data.get("credential")
        temperature = data.get("temperature")
        column.update(
            credential_id=credential.pk if credential else 0,
            model=data.get("model") or "",
            system_prompt=data.get("system_prompt") or "",
            prompt=data.get("template") or "",
            temperature=temperature if temperature is not None else default_temperature,
            max_tokens=data.get("max_tokens") or 512,
        )

    def _build_llm_text(self, column: dict, data: dict) -> None:
        self._build_llm(column, data, 0.7)

    def _build_llm_structured(self, column: dict, data: dict) -> None:
        self._build_llm(column, data, 0.7)
        column["json_schema"] = data.get("json_schema") or data.get("schema_fields") or {}
        column["max_reasks"] = data["max_reasks"] if data.get("max_reasks") is not None else 2

    def _build_llm_judge(self, column: dict, data: dict) -> None:
        self._build_llm(column, data, 0.0)
        column["criteria"] = data["criteria"]
        threshold = data.get("pass_threshold")
        column["pass_threshold"] = threshold if threshold is not None else 3.5
        column["max_reasks"] = data["max_reasks"] if data.get("max_reasks") is not None else 2


_FIELD_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _fields_from_schema(schema: dict[str, Any]) -> str | None:
    """The "Answer fields" text that ``clean_schema_fields`` turns into exactly this schema, or
    None when the schema says more than answer fields can (nesting, enums, optional fields...)."""
    properties = schema.get("properties")
    if set(schema) != {"type", "properties", "required"} or schema["type"] != "object":
        return None
    if not isinstance(properties, dict) or not properties:
        return None
    if schema["required"] != list(properties):
        return None
    lines = []
    for name, spec in properties.items():
        if not isinstance(spec, dict) or not _FIELD_NAME.fullmatch(name):
            return None
        if not set(spec) <= {"type", "description"} or spec.get("type") not in JSON_TYPES:
            return None
        description = spec.get("description")
        if description is None:
            lines.append(f"{name}: {spec['type']}")
            continue
        if (
            not isinstance(description, str)
            or description != description.strip()
            or not description
            or "\n" in description
            or "—" in description
        ):
            return None
        lines.append(f"{name}: {spec['type']} — {description}")
    return "\n".join(lines)


def column_initial(column: dict[str, Any]) -> dict[str, Any]:
    """A saved column as initial data for its form (the inverse of ``to_column``)."""
    initial = dict(column)
    kind = column["kind"]
    if kind == "category":
        initial["values"] = ", ".join(column.get("values", []))
        weights = column.get("weights")
        initial["weights"] = ", ".join(f"{w:g}" for w in weights) if weights else ""
    elif kind == "subcategory":
        initial["sub_values"] = "\n".join(
            f"{parent}: {', '.join(values)}" for parent, values in column.get("values", {}).items()
        )
    elif kind == "datetime":
        initial["date_format"] = column.get("format") or ""
    elif kind == "person":
        initial["person_field"] = column.get("field")
    elif kind == "seed_data":
        initial["seed_file"] = column.get("seed_file_id")
    elif kind == "document":
        initial["document_file"] = column.get("seed_file_id")
    if kind in LLM_KINDS:
        initial["template"] = column.get("prompt", "")
        initial["credential"] = column.get("credential_id")
    if kind == "llm_structured":
        # Shown as it was typed: answer fields when they can say it exactly, else the JSON.
        fields = _fields_from_schema(column.get("json_schema") or {})
        if fields is None:
            initial["json_schema"] = json.dumps(column.get("json_schema", {}), indent=2)
        else:
            initial.update(schema_fields=fields, json_schema="")
    if kind == "llm_judge":
        initial["criteria"] = "\n".join(
            f"{c['name']} ({c.get('min_score', 1)}-{c.get('max_score', 5)}): {c['description']}"
            for c in column.get("criteria", [])
        )
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
        data = super().clean()
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
