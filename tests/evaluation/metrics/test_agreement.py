"""Judge–human agreement: accuracy and Cohen's kappa against textbook values."""

import pytest

from evaluation.metrics.agreement import agreement


def test_kappa_of_a_textbook_table():
    # 20 both yes, 5 judge yes / human no, 10 judge no / human yes, 15 both no (n = 50):
    # p_o = 0.7, p_yes = 0.5 * 0.6 = 0.3, p_no = 0.5 * 0.4 = 0.2, p_e = 0.5, kappa = 0.4.
    pairs = [(True, True)] * 20 + [(True, False)] * 5 + [(False, True)] * 10 + [(False, False)] * 15
    found = agreement(pairs)
    assert found.total == 50
    assert found.accuracy == pytest.approx(0.7)
    assert found.kappa == pytest.approx(0.4)


def test_agreement_no_better_than_chance_is_zero_and_perfect_is_one():
    chance = agreement([(True, True), (True, False), (False, True), (False, False)])
    assert chance.kappa == pytest.approx(0.0)
    perfect = agreement([(True, True), (False, False)])
    assert perfect.kappa == pytest.approx(1.0)
    assert agreement([]).kappa is None
