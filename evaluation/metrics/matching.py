"""Exact match, containment and a regular expression matching the whole answer, after
normalisation (SQuAD-style: case, whitespace, punctuation, English articles), each
normalisation a choice of the user."""

from __future__ import annotations

import re
import string
import unicodedata
from dataclasses import dataclass, replace

from .patterns import compile_pattern

_ARTICLES = re.compile(r"\b(a|an|the)\b", re.IGNORECASE)
_PUNCTUATION = str.maketrans("", "", string.punctuation)


@dataclass(frozen=True)
class Normalisation:
    case: bool = True
    whitespace: bool = True
    punctuation: bool = False
    articles: bool = False

    def apply(self, text: str) -> str:
        text = unicodedata.normalize("NFC", text)
        if self.case:
            text = text.casefold()
        if self.punctuation:
            text = "".join(
                " " if unicodedata.category(ch).startswith("P") else ch
                for ch in text.translate(_PUNCTUATION)
            )
        if self.articles:
            text = _ARTICLES.sub(" ", text)
        if self.whitespace:
            text = " ".join(text.split())
        return text


def exact_match(answer: str, reference: str, normalisation: Normalisation) -> bool:
    return normalisation.apply(answer) == normalisation.apply(reference)


def contains(answer: str, reference: str, normalisation: Normalisation) -> bool:
    """Whether the reference appears in the answer (an empty reference never does)."""
    needle = normalisation.apply(reference)
    return bool(needle) and needle in normalisation.apply(answer)


def regex_match(answer: str, pattern: str, normalisation: Normalisation) -> bool:
    """Whether the whole (normalised) answer matches ``pattern``, compiled with RE2 and
    case-insensitive when the normalisation ignores case (the pattern itself is not
    normalised: ``[A-Z]+`` keeps its meaning). PatternError for a pattern RE2 cannot run."""
    program = compile_pattern(pattern, ignore_case=normalisation.case)
    return program.fullmatch(replace(normalisation, case=False).apply(answer)) is not None
