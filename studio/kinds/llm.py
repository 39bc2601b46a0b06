"""What the language-model kinds share (credential, model, prompts, sampling settings), and the
plain text kind. The structured and judge kinds add their fields in their own modules."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django import forms

from studio.models import ProviderCredential
from studio.schema import LlmTextColumn

from .base import ColumnKind, KindField
from .expression import TEMPLATE


def _bind_credentials(field: forms.Field, project: Any) -> None:
    field.queryset = project.credentials.order_by("name")  # type: ignore[attr-defined]


CREDENTIAL = KindField(
    "credential",
    forms.ModelChoiceField(queryset=ProviderCredential.objects.none(), required=False),
    bind=_bind_credentials,
)
MODEL = KindField("model", forms.CharField(required=False, max_length=200))
SYSTEM_PROMPT = KindField(
    "system_prompt",
    forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2})),
    full=True,
)
TEMPERATURE = KindField(
    "temperature", forms.FloatField(required=False, min_value=0, max_value=2), new_value="0.7"
)
MAX_TOKENS = KindField(
    "max_tokens",
    forms.IntegerField(required=False, initial=512, min_value=1, max_value=32768),
    new_value="512",
)
MAX_REASKS = KindField(
    "max_reasks",
    forms.IntegerField(
        required=False, initial=2, min_value=0, max_value=5, label="Re-asks when invalid"
    ),
    new_value="2",
)
# Before and after a kind's own fields.
HEAD = (CREDENTIAL, MODEL, TEMPLATE, SYSTEM_PROMPT)
TAIL = (TEMPERATURE, MAX_TOKENS)


def llm_spec(data: Mapping[str, Any], default_temperature: float) -> dict[str, Any]:
    credential = data.get("credential")
    temperature = data.get("temperature")
    return {
        "credential_id": credential.pk if credential else 0,
        "model": data.get("model") or "",
        "system_prompt": data.get("system_prompt") or "",
        "prompt": data.get("template") or "",
        "temperature": temperature if temperature is not None else default_temperature,
        "max_tokens": data.get("max_tokens") or 512,
    }


def max_reasks(data: Mapping[str, Any]) -> int:
    return data["max_reasks"] if data.get("max_reasks") is not None else 2


def llm_initial(column: Mapping[str, Any]) -> dict[str, Any]:
    return {"template": column.get("prompt", ""), "credential": column.get("credential_id")}


KIND = ColumnKind(
    name="llm_text",
    label="LLM text",
    group="Language model",
    spec_model=LlmTextColumn,
    fields=(*HEAD, *TAIL),
    to_spec=lambda data: llm_spec(data, 0.7),
    to_initial=llm_initial,
)
