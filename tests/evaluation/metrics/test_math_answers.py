"""Maths answer equivalence (math-verify), in this process and through the child process the
worker uses, whose deadline stops a comparison that would never end."""

import threading

import pytest

from evaluation.metrics import math_process
from evaluation.metrics.math_answers import compare
from evaluation.metrics.math_process import MAX_REFERENCE_CHARS, math_checker


@pytest.mark.parametrize(
    ("answer", "reference", "equal"),
    [
        ("1/2", "0.5", True),
        ("\\frac{1}{2}", "0.5", True),
        ("$\\frac{1}{2}$", "1/2", True),
        ("The answer is 0.5.", "\\frac12", True),
        ("So the result is $\\boxed{25}$.", "25", True),
        ("x^2+2x+1", "(x+1)^2", True),  # read as LaTeX between $…$
        ("1/3", "0.5", False),
        ("-7", "7", False),
    ],
)
def test_equivalent_answers(answer, reference, equal):
    assert compare(answer, reference).equal is equal


def test_an_answer_with_no_maths_fails_and_a_reference_with_none_is_not_compared():
    assert compare("", "1") == compare("", "1").__class__(
        False, reference="1", problem="no answer found"
    )
    too_long = compare("1", "1" * (MAX_REFERENCE_CHARS + 1))
    assert too_long.equal is None and "too long" in too_long.problem


def _in_a_thread(function):
    """Runs ``function`` in a thread, as a Dramatiq worker does (no signals there)."""
    out = []
    thread = threading.Thread(target=lambda: out.append(function()))
    thread.start()
    thread.join()
    return out[0]


def test_the_child_process_compares_off_the_main_thread_and_stops_a_runaway(monkeypatch):
    monkeypatch.setattr(math_process, "ROW_DEADLINE_SECONDS", 2.0)

    def run():
        with math_checker() as checker:
            return [
                checker.compare("1/2", "0.5"),
                checker.compare("9^9^9^9", "1"),  # sympy would compute this for ever
                checker.compare("\\frac{3}{4}", "0.75"),  # a new child takes over
            ]

    half, runaway, after = _in_a_thread(run)
    assert half.equal is True and (half.answer, half.reference) == ("1/2", "0.5")
    assert runaway.equal is None and runaway.problem == "the comparison took longer than 2 s"
    assert after.equal is True
