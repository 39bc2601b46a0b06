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


class BudgetForm(forms.Form):
    budget_usd = forms.DecimalField(
        required=False, min_value=Decimal("0.0001"), decimal_places=4, label="Budget (USD)"
    )


class PreviewForm(forms.Form):
    count = forms.IntegerField(min_value=1, max_value=10, initial=3, required=False)
