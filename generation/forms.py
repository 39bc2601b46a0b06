from decimal import Decimal

from django import forms


class RunStartForm(forms.Form):
    num_rows = forms.IntegerField(min_value=1, initial=10, label="Rows")
    budget_usd = forms.DecimalField(
        required=False,
        min_value=Decimal("0.0001"),
        decimal_places=4,
        label="Budget (USD)",
        help_text="Stop before spending more; leave empty for no limit.",
    )
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

    def clean(self) -> dict:
        cleaned = super().clean()
        cleaned["mode"] = "batch" if cleaned.pop("batch", False) else "online"
        return cleaned


class BudgetForm(forms.Form):
    budget_usd = forms.DecimalField(
        required=False, min_value=Decimal("0.0001"), decimal_places=4, label="Budget (USD)"
    )


class PreviewForm(forms.Form):
    count = forms.IntegerField(min_value=1, max_value=10, initial=3, required=False)


class RetryMatchingForm(forms.Form):
    """The "retry these" button of one message in a run's errors panel."""

    message = forms.CharField(max_length=10_000, strip=False)
