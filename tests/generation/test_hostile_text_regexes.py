"""Issue 15 item 5, the rest of the class: every regex that reads text from a model, a provider
or a user runs in linear time (RE2). Each input below held Python's backtracking re for minutes
(measured before the fix: 4 000 spaces in a criterion line took 22 s, 2 000 spaces after a fence
12 s, 20 000 digits in a reset header 10 s; the time grows with the square or cube of the length)."""

import pytest

from generation.ratelimit.core import parse_duration
from generation.structured import parse_json
from studio.forms import ColumnForm

SPACES = " " * 200_000


def test_a_models_unclosed_fence_followed_by_spaces_is_just_not_json():
    value, problem = parse_json("```json" + SPACES + "x")
    assert value is None and problem.startswith("not JSON")
    assert parse_json('Sure:\n```json\n{"a": 1}\n```')[0] == {"a": 1}


def test_a_providers_absurd_reset_header_is_ignored():
    assert parse_duration("1" * 200_000 + "x") is None
    assert parse_duration("6m0.5s") == 360.5


@pytest.mark.django_db
def test_a_criterion_line_of_spaces_is_a_clear_form_error(project):
    data = {"kind": "llm_judge", "criteria": "a" + SPACES + "b"}
    form = ColumnForm(data, project=project)
    assert not form.is_valid()
    [error] = form.errors["criteria"]
    assert error.startswith("Line 1: write 'name (1-5): what a good answer does'.")
    good = ColumnForm({"kind": "llm_judge", "criteria": "accuracy (1-5): correct"}, project=project)
    assert good.is_valid(), good.errors
    assert good.cleaned_data["criteria"][0]["max_score"] == 5
