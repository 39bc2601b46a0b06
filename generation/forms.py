from django import forms


class RunStartForm(forms.Form):
    num_rows = forms.IntegerField(min_value=1, initial=10, label="Rows")


class PreviewForm(forms.Form):
    count = forms.IntegerField(min_value=1, max_value=10, initial=3, required=False)
