from django import forms

from generation.models import Row


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
