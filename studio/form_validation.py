"""One validation for a page and its API twin: an API endpoint runs the page's own form on its
body, so both refuse the same input (NUL bytes, values beyond a column's digits, absurd limits)
with the same words, naming the field. A rule added to a form holds for the API at once."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django import forms


class FormInvalid(Exception):
    """Input a form refused. ``errors`` maps each field to its messages; ``messages`` are
    sentences that start with the field's label, for a page's flash messages."""

    def __init__(self, errors: dict[str, list[str]], messages: list[str]) -> None:
        super().__init__("; ".join(messages))
        self.errors = errors
        self.messages = messages


def form_messages(form: forms.BaseForm) -> list[str]:
    """Each error of a bound, invalid form as "<label>: <message>" (form-wide errors bare)."""
    messages = []
    for name, errors in form.errors.items():
        field = form.fields.get(name)
        label = (field.label or name.replace("_", " ").capitalize()) if field else None
        for error in errors:
            messages.append(f"{label}: {error}" if label else str(error))
    return messages


def form_validated(
    form_class: type[forms.BaseForm], data: Mapping[str, Any], **kwargs: Any
) -> dict[str, Any]:
    """The form's cleaned data for ``data`` (an API body as a dict), or FormInvalid."""
    form = form_class(data={k: v for k, v in data.items() if v is not None}, **kwargs)
    if not form.is_valid():
        raise FormInvalid(
            {name: [str(e) for e in errors] for name, errors in form.errors.items()},
            form_messages(form),
        )
    return form.cleaned_data
