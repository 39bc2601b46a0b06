"""String similarity (rapidfuzz) and n-gram overlap (sacrebleu, rouge-score) on hand-computed
examples, and on the libraries' own entry points where computing by hand is impractical."""

import pytest
import sacrebleu

from evaluation.metrics.overlap import bleu, chrf, rouge
from evaluation.metrics.similarity import similarity


def test_edit_similarity_is_one_minus_levenshtein_over_the_longer_length():
    # kitten → sitting: 2 substitutions and an insertion, 7 characters.
    assert similarity("kitten", "sitting", method="edit", normalise=False) == pytest.approx(4 / 7)
    assert similarity("Paris", "Paris", method="edit", normalise=False) == 1.0
    assert similarity("abc", "xyz", method="edit", normalise=False) == 0.0


def test_normalising_ignores_case_and_punctuation():
    assert similarity("Tokyo!", "tokyo", method="edit", normalise=False) == pytest.approx(4 / 6)
    assert similarity("Tokyo!", "tokyo", method="edit", normalise=True) == 1.0


def test_token_set_ignores_word_order_and_words_only_one_side_has():
    assert similarity("sat the cat", "the cat sat", method="token_set", normalise=True) == 1.0
    # One text's words are all in the other.
    assert similarity("the cat", "the cat sat", method="token_set", normalise=True) == 1.0
    # Shared "a b": best of ratio("a b", "a b c") = 6/8 and ratio("a b c", "a b d") = 8/10.
    assert similarity("a b c", "a b d", method="token_set", normalise=True) == pytest.approx(0.8)
    assert similarity("", "anything", method="token_set", normalise=True) == 0.0


def test_bleu_of_a_prefix_is_its_brevity_penalty():
    assert bleu("the cat sat on the mat", "the cat sat on the mat") == pytest.approx(100)
    # 1-, 2- and 3-gram precisions are all 1 (effective order: no 4-gram to count); the
    # brevity penalty is exp(1 − 6/3).
    assert bleu("the cat sat", "the cat sat on the mat") == pytest.approx(36.788, abs=1e-3)
    assert bleu("", "the cat") == 0.0


def test_bleu_matches_sacrebleus_sentence_bleu():
    answer, reference = (
        "The quick brown fox jumped over the dog.",
        "A quick brown fox jumps over the lazy dog.",
    )
    assert bleu(answer, reference) == pytest.approx(
        sacrebleu.sentence_bleu(answer, [reference]).score
    )
    assert bleu(answer.upper(), reference, lowercase=True) == pytest.approx(
        sacrebleu.sentence_bleu(answer, [reference], lowercase=True).score
    )
    assert bleu(answer.upper(), reference) < bleu(answer.upper(), reference, lowercase=True)


def test_chrf_matches_sacrebleus_sentence_chrf():
    answer, reference = (
        "The quick brown fox jumped over the dog.",
        "A quick brown fox jumps over the lazy dog.",
    )
    assert chrf(reference, reference) == pytest.approx(100)
    assert chrf("xyz", "abc") == 0.0
    assert chrf(answer, reference) == pytest.approx(
        sacrebleu.sentence_chrf(answer, [reference]).score
    )
    plus = chrf(answer, reference, word_order=2)
    assert plus == pytest.approx(sacrebleu.sentence_chrf(answer, [reference], word_order=2).score)
    assert plus != chrf(answer, reference)


def test_rouge_f_measures_by_hand():
    answer, reference = "the cat sat", "the cat sat on the mat"
    # 3 of the answer's 3 words in the reference's 6: P = 1, R = 1/2, F = 2/3.
    assert rouge(answer, reference, variant="rouge1") == pytest.approx(2 / 3)
    # 2 of 2 bigrams against 5: P = 1, R = 2/5, F = 4/7.
    assert rouge(answer, reference, variant="rouge2") == pytest.approx(4 / 7)
    # Longest common subsequence 3: as ROUGE-1 here.
    assert rouge(answer, reference, variant="rougeL") == pytest.approx(2 / 3)
    # Order matters to ROUGE-L only: LCS of "c b a" and "a b c" is 1.
    assert rouge("c b a", "a b c", variant="rouge1") == 1.0
    assert rouge("c b a", "a b c", variant="rougeL") == pytest.approx(1 / 3)


def test_rouge_stemming_matches_inflected_words():
    assert rouge("cats running", "cat run", variant="rouge1") == 0.0
    assert rouge("cats running", "cat run", variant="rouge1", stemming=True) == 1.0
