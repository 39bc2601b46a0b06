"""The review table's filter as it travels in the URL, parsed into a ``TableFilter``. The same
parameters work on the table page, in focus mode and in the API, so a link can be shared."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import forms

from evaluation.models import Evaluation
from evaluation.table_filter import (
    DEFAULT_PAGE_SIZE,
    MAX_SEARCH,
    PAGE_SIZES,
    STATUSES,
    ScoreFilter,
    Sort,
    TableFilter,
)
from generation.models import Run

ANY = [("", "any")]
YES_NO = [("", "any"), ("yes", "yes"), ("no", "no")]
PASS_FAIL = [("", "any"), ("pass", "passed"), ("fail", "failed")]
REVIEW_CHOICES = [
    ("", "any"),
    ("unreviewed", "unreviewed"),
    ("accepted", "accepted"),
    ("rejected", "rejected"),
    ("mine", "decided by me"),
]
# Everything but these is the filter itself (kept when paging, passed on to focus mode).
CURSOR_PARAMS = ("after", "before")


@dataclass(frozen=True)
class TableContext:
    """What the run offers to filter and sort by."""

    evaluations: list[Evaluation]
    category_columns: list[str]
    text_columns: list[str]

    @classmethod
    def of(cls, run: Run, evaluations: list[Evaluation]) -> TableContext:
        spec = run.spec
        categories = [c.name for c in spec.columns if c.kind in ("category", "subcategory")]
        shown = set(spec.output_columns())
        return cls(evaluations, [name for name in categories if name in shown], list(shown))

    @property
    def duplicate_ids(self) -> list[int]:
        return [e.pk for e in self.evaluations if e.kind == "duplicates"]

    @property
    def scored(self) -> list[Evaluation]:
        """The evaluations a row has its own score in (not the duplicates flag)."""
        return [e for e in self.evaluations if e.kind != "duplicates"]


def _yes_no(value: str) -> bool | None:
    return {"yes": True, "no": False, "pass": True, "fail": False}.get(value)


class TableFilterForm(forms.Form):
    status = forms.ChoiceField(required=False, choices=ANY + [(s, s) for s in STATUSES])
    review = forms.ChoiceField(required=False, choices=REVIEW_CHOICES)
    q = forms.CharField(required=False, max_length=MAX_SEARCH, label="Text contains")
    column = forms.ChoiceField(required=False, label="Column")
    value = forms.CharField(required=False, max_length=200, label="is")
    duplicates = forms.ChoiceField(required=False, choices=YES_NO, label="In a duplicate cluster")
    edited = forms.ChoiceField(required=False, choices=YES_NO)
    sort = forms.ChoiceField(required=False)
    size = forms.TypedChoiceField(
        required=False,
        coerce=int,
        empty_value=None,
        choices=[(str(n), str(n)) for n in PAGE_SIZES],
        label="Rows per page",
    )
    after = forms.CharField(required=False, max_length=80, widget=forms.HiddenInput)
    before = forms.CharField(required=False, max_length=80, widget=forms.HiddenInput)

    def __init__(self, data: Any, *, table: TableContext) -> None:
        super().__init__(data)
        self.table = table
        column: Any = self.fields["column"]
        column.choices = ANY + [(c, c) for c in table.category_columns]
        sort: Any = self.fields["sort"]
        sort.choices = sort_choices(table)
        for evaluation in table.scored:
            prefix = f"s{evaluation.pk}"
            name = evaluation.name
            self.fields[f"{prefix}_min"] = forms.FloatField(required=False, label=f"{name} ≥")
            self.fields[f"{prefix}_max"] = forms.FloatField(required=False, label=f"{name} ≤")
            self.fields[f"{prefix}_pass"] = forms.ChoiceField(
                required=False, choices=PASS_FAIL, label=f"{name}: pass/fail"
            )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for evaluation in self.table.scored:
            low = data.get(f"s{evaluation.pk}_min")
            high = data.get(f"s{evaluation.pk}_max")
            for number in (low, high):
                if number is not None and abs(number) == float("inf"):
                    raise forms.ValidationError(f"{evaluation.name}: give a finite number")
            if low is not None and high is not None and low > high:
                raise forms.ValidationError(
                    f"{evaluation.name}: the lowest score ({low:g}) is above the highest ({high:g})"
                )
        if data.get("value") and not data.get("column"):
            self.add_error("column", "Pick the column the value is of")
        if data.get("after") and data.get("before"):
            raise forms.ValidationError("A page link has either 'after' or 'before', not both")
        return data

    def table_filter(self) -> TableFilter:
        data = self.cleaned_data
        scores = tuple(
            ScoreFilter(
                evaluation.pk,
                data.get(f"s{evaluation.pk}_min"),
                data.get(f"s{evaluation.pk}_max"),
                _yes_no(data.get(f"s{evaluation.pk}_pass") or ""),
            )
            for evaluation in self.table.scored
        )
        return TableFilter(
            status=data.get("status") or "",
            review=data.get("review") or "",
            scores=tuple(score for score in scores if score.active),
            duplicates=_yes_no(data.get("duplicates") or ""),
            search=(data.get("q") or "").strip(),
            column=data.get("column") or "",
            value=data.get("value") or "",
            edited=_yes_no(data.get("edited") or ""),
            sort=parse_sort(data.get("sort") or "index"),
            page_size=data.get("size") or DEFAULT_PAGE_SIZE,
        )

    def error_text(self) -> str:
        return "; ".join(
            f"{self.fields[name].label or name}: {' '.join(str(e) for e in errors)}"
            if name != "__all__"
            else " ".join(str(e) for e in errors)
            for name, errors in self.errors.items()
        )


def sort_choices(table: TableContext) -> list[tuple[str, str]]:
    choices = [("index", "index"), ("-index", "index, last first")]
    choices += [("time", "finished, oldest first"), ("-time", "finished, newest first")]
    for evaluation in table.scored:
        choices += [
            (f"score:{evaluation.pk}", f"{evaluation.name}, lowest first"),
            (f"-score:{evaluation.pk}", f"{evaluation.name}, highest first"),
        ]
    for column in table.text_columns:
        choices += [
            (f"length:{column}", f"length of {column}, shortest first"),
            (f"-length:{column}", f"length of {column}, longest first"),
        ]
    return choices


def parse_sort(text: str) -> Sort:
    """A sort as ``Sort.param`` writes it (the form's choices are the only ones accepted)."""
    descending = text.startswith("-")
    by, _, target = text.lstrip("-").partition(":")
    return Sort(by=by, target=target, descending=descending)


def filter_params(form: forms.Form) -> dict[str, str]:
    """The filter's own parameters as given (no page cursor, nothing empty), to build links."""
    found = {name: form.data.get(name) for name in form.fields if name not in CURSOR_PARAMS}
    return {name: str(value) for name, value in found.items() if value not in ("", None)}
