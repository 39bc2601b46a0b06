"""The rubric as typed lines (the judge column's and the judge evaluation's form): scales,
pass/fail criteria, a clear message for a line it cannot read, and the way back to text."""

import pytest

from studio.kinds.llm_judge import criteria_text, parse_criteria


def test_each_line_is_a_criterion_with_its_scale():
    assert parse_criteria(
        "accuracy (1-10): the answer is correct\n"
        "\n"
        "cites_source (Pass / Fail): it names a source\n"
        "tone: polite"
    ) == [
        {
            "name": "accuracy",
            "description": "the answer is correct",
            "min_score": 1,
            "max_score": 10,
        },
        {
            "name": "cites_source",
            "description": "it names a source",
            "min_score": 0,
            "max_score": 1,
        },
        {"name": "tone", "description": "polite", "min_score": 1, "max_score": 5},
    ]


@pytest.mark.parametrize("line", ["accuracy matters", "(1-5): no name", "accuracy (yes/no): x"])
def test_a_line_it_cannot_read_names_its_number_and_the_notation(line):
    with pytest.raises(ValueError) as caught:
        parse_criteria("tone: polite\n" + line)
    assert str(caught.value).startswith("Line 2: write 'name (1-5): what a good answer does'.")
    assert "(pass/fail)" in str(caught.value)


def test_the_text_shown_reads_back_as_the_same_rubric():
    rubric = parse_criteria("accuracy (1-5): correct\ncites (pass/fail): names a source")
    assert criteria_text(rubric) == "accuracy (1-5): correct\ncites (pass/fail): names a source"
    assert parse_criteria(criteria_text(rubric)) == rubric
