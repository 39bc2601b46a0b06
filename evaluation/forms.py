"""Forms of the evaluation pages: creating an evaluation, reviewing a row, pushing to the Hub."""

from __future__ import annotations

import copy
from typing import Any

from django import forms

from evaluation.kinds import KINDS, kind_choices
from evaluation.kinds.base import FormContext
from generation.models import Row
from studio.kinds.base import KindField, merged_fields


class ReviewForm(forms.Form):
    decision = forms.ChoiceField(choices=Row.Review.choices)


class HubPushForm(forms.Form):
    repo_id = forms.CharField(
        max_length=200, label="Repository id", help_text="your-name/dataset-name"
    )
    token = forms.CharField(
        label="Hugging Face token",
        help_text="A write token; it is used for this push only and then forgotten.",
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
    )
    private = forms.BooleanField(required=False, initial=True, label="Private repository")


def kind_fields() -> list[tuple[KindField, tuple[str, ...]]]:
    """Every kind's fields, each once (kinds share a field by sharing its object), with the
    kinds that show it, each kind's own order kept."""
    return merged_fields((kind.name, kind.fields) for kind in KINDS.values())


class EvaluationForm(forms.Form):
    name = forms.CharField(max_length=120)
    kind = forms.ChoiceField(choices=kind_choices)
    review = forms.MultipleChoiceField(
        required=False,
        choices=Row.Review.choices,
        widget=forms.CheckboxSelectMultiple,
        label="Only rows reviewed as",
        help_text="Leave empty for every generated row",
    )

    def __init__(
        self, *args: Any, columns: list[str], credentials: Any = None, **kwargs: Any
    ) -> None:
        """``columns``: the run's output columns; ``credentials``: its project's (a queryset),
        for the judges' credential choice."""
        super().__init__(*args, **kwargs)
        context = FormContext(columns=columns, credentials=credentials)
        self.layout: list[tuple[str, str, bool]] = []
        for item, kinds in kind_fields():
            field = copy.deepcopy(item.field)  # bind sets this form's choices
            if item.bind is not None:
                item.bind(field, context)
            # Required only for the kinds that show it (clean checks the chosen kind's).
            field.required = False
            self.fields[item.name] = field
            self.layout.append((item.name, " ".join(kinds), item.full))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        kind = KINDS.get(data.get("kind") or "")
        for item in kind.fields if kind else ():
            if item.field.required and data.get(item.name) in (None, "", []):
                self.add_error(item.name, "This field is required.")
        return data

    def kind_field_rows(self) -> list[tuple[forms.BoundField, str, bool, bool]]:
        """(field, the kinds showing it, shown now, across the whole grid)."""
        chosen = self.data.get("kind") if self.is_bound else self.initial.get("kind")
        chosen = chosen or next(iter(KINDS))
        return [
            (self[name], kinds, chosen in kinds.split(), full) for name, kinds, full in self.layout
        ]

    def settings(self) -> dict[str, Any]:
        return KINDS[self.cleaned_data["kind"]].to_settings(self.cleaned_data)

    def target(self) -> dict[str, Any]:
        review = self.cleaned_data.get("review") or []
        return {"review": review} if review else {}
