"""Run forms. The API validates its bodies with these same forms (studio.form_validation), so a
page and an endpoint refuse the same input in the same words."""

from decimal import Decimal
from typing import Any, cast

from django import forms
from django.conf import settings
from django.core.validators import MaxValueValidator

from generation.models import Run
from generation.run_gates import gate_kind_choices

_BUDGET_COLUMN = Run._meta.get_field("budget_usd")
# The largest budget its column holds (99 999 999.9999 USD): a larger one would fail to save,
# or on SQLite be saved and then break every page that reads it.
MAX_BUDGET_USD = Decimal(
    "9" * (_BUDGET_COLUMN.max_digits - _BUDGET_COLUMN.decimal_places)
    + "."
    + "9" * _BUDGET_COLUMN.decimal_places
)
MIN_BUDGET_USD = Decimal("0.0001")
# Seeds are stored in a signed 64-bit column; negative ones are refused to keep them plain.
MAX_SEED = 2**63 - 1


def budget_field(**kwargs: Any) -> forms.DecimalField:
    return forms.DecimalField(
        required=False,
        min_value=MIN_BUDGET_USD,
        max_value=MAX_BUDGET_USD,
        max_digits=_BUDGET_COLUMN.max_digits,
        decimal_places=_BUDGET_COLUMN.decimal_places,
        label="Budget (USD)",
        **kwargs,
    )


MSG_GATE_SETTINGS = (
    'give the gate\'s settings as a JSON object, e.g. {"column": "answer", "min_length": 20}'
)


class RunStartForm(forms.Form):
    num_rows = forms.IntegerField(min_value=1, initial=10, label="Rows")
    seed = forms.IntegerField(
        required=False,
        min_value=0,
        max_value=MAX_SEED,
        help_text="Equal seeds give equal samples; leave empty for a random one.",
    )
    budget_usd = budget_field(help_text="Stop before spending more; leave empty for no limit.")
    fresh_samples = forms.BooleanField(
        required=False,
        help_text="Ask every call again instead of reusing answers of earlier runs with this seed.",
    )
    # --- batch mode: becomes run_create(mode=...) in clean() ---
    batch = forms.BooleanField(
        required=False,
        label="Batch API (about half price, slower)",
        help_text=(
            "Send the calls through OpenAI's Batch API or Anthropic's Message Batches: about "
            "half the price, answers within hours. Simulated credentials answer online."
        ),
    )

    # The API names the mode; the page ticks "batch".
    mode = forms.ChoiceField(required=False, choices=Run.Mode.choices)
    # --- a quality gate for when the run ends (evaluation/gate/from_run.py); becomes ``gate`` ---
    gate_kind = forms.ChoiceField(required=False, label="Quality gate")
    gate_settings = forms.JSONField(
        required=False,
        label="Gate settings",
        help_text='The evaluation\'s settings with its threshold, e.g. {"column": "answer", '
        '"min_length": 20}',
    )
    gate_max_attempts = forms.IntegerField(
        required=False, min_value=1, max_value=5, initial=2, label="Regenerate at most"
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Read per form: tests (and a settings change) may move the limit.
        limit = settings.STUDIO_MAX_ROWS_PER_RUN
        num_rows = cast(forms.IntegerField, self.fields["num_rows"])
        num_rows.max_value = limit
        num_rows.validators.append(MaxValueValidator(limit))
        gate_kind = cast(forms.ChoiceField, self.fields["gate_kind"])
        gate_kind.choices = [("", "No gate"), *gate_kind_choices()]

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        batch = cleaned.pop("batch", False)
        cleaned["mode"] = Run.Mode.BATCH if batch else (cleaned.get("mode") or Run.Mode.ONLINE)
        kind = cleaned.pop("gate_kind", "")
        gate_settings = cleaned.pop("gate_settings", None)
        attempts = cleaned.pop("gate_max_attempts", None)
        cleaned["gate"] = None
        if kind:
            if not isinstance(gate_settings, dict):
                self.add_error("gate_settings", MSG_GATE_SETTINGS)
            cleaned["gate"] = {
                "kind": kind,
                "settings": gate_settings if isinstance(gate_settings, dict) else {},
                "max_attempts": attempts or 2,
            }
        return cleaned


class BudgetForm(forms.Form):
    budget_usd = budget_field()


class PreviewForm(forms.Form):
    count = forms.IntegerField(min_value=1, max_value=10, initial=3, required=False)


class RetryMatchingForm(forms.Form):
    """The "retry these" button of one message in a run's errors panel."""

    message = forms.CharField(max_length=10_000, strip=False)
