"""N-gram overlap between an answer and its reference: sentence-level BLEU and chrF
(sacrebleu, 0–100) and ROUGE-1/2/L F-measure (rouge-score, 0–1).

The metric objects are made once per configuration: sacrebleu's keep no state between sentence
scores when the references are passed with each call, rouge-score's none at all. The libraries
are imported then, on first use, not with the kinds' registry: rouge-score brings nltk (together
with sacrebleu about 45 MB and seconds of start-up), which a web process never needs."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from rouge_score.rouge_scorer import RougeScorer
    from sacrebleu.metrics import BLEU, CHRF

RougeVariant = Literal["rouge1", "rouge2", "rougeL"]


@functools.lru_cache(maxsize=8)
def _bleu(lowercase: bool) -> BLEU:
    # effective_order: a short sentence with no 4-gram in common is not scored 0 outright
    # (sacrebleu's advice for sentence-level BLEU; sentence_bleu does the same).
    from sacrebleu.metrics import BLEU  # on first use: see the module's docstring

    return BLEU(lowercase=lowercase, effective_order=True)


@functools.lru_cache(maxsize=8)
def _chrf(word_order: int) -> CHRF:
    from sacrebleu.metrics import CHRF

    return CHRF(word_order=word_order)


@functools.lru_cache(maxsize=8)
def _rouge(variant: RougeVariant, stemming: bool) -> RougeScorer:
    from rouge_score.rouge_scorer import RougeScorer

    return RougeScorer([variant], use_stemmer=stemming)


def bleu(answer: str, reference: str, *, lowercase: bool = False) -> float:
    """Sentence BLEU, 0–100, with sacrebleu's defaults (13a tokenizer, exponential smoothing)."""
    return float(_bleu(lowercase).sentence_score(answer, [reference]).score)


def chrf(answer: str, reference: str, *, word_order: int = 0) -> float:
    """Sentence chrF, 0–100 (``word_order=2``: chrF++, word bigrams counted too)."""
    return float(_chrf(word_order).sentence_score(answer, [reference]).score)


def rouge(answer: str, reference: str, *, variant: RougeVariant, stemming: bool = False) -> float:
    """ROUGE F-measure, 0–1. rouge-score lower-cases and keeps only ASCII letters and digits,
    so text in other scripts has no tokens and scores 0."""
    return float(_rouge(variant, stemming).score(reference, answer)[variant].fmeasure)
