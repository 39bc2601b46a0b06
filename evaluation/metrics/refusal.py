"""Empty answers and refusals ("As an AI language model…", "I can't help with that").

The phrases are matched as words, case-insensitively, with curly apostrophes read as straight
ones and runs of whitespace as one space, all at once by one RE2 program: a long answer is read
once, whatever the number of phrases."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import re2

from .patterns import MAX_PROGRAM_BYTES

# Phrases models use to decline; "can't"/"cannot"/"can not" and "I'm"/"I am" are spelled out
# by _variants.
REFUSAL_PHRASES: tuple[str, ...] = (
    "as an ai",
    "as a language model",
    "as an artificial intelligence",
    "i'm sorry, but i can't",
    "i'm sorry, but i won't",
    "i apologize, but i can't",
    "i can't help with that",
    "i can't help with this",
    "i can't assist with",
    "i can't provide",
    "i can't comply",
    "i can't fulfill",
    "i can't do that",
    "i'm unable to",
    "i'm not able to help",
    "i'm not able to provide",
    "i won't be able to help",
    "i must decline",
    "i have to decline",
    "against my guidelines",
    "against my programming",
    "not able to comply",
)
MAX_EXTRA_PHRASES = 50
MAX_PHRASE_CHARS = 200
EMPTY = "empty"


@dataclass(frozen=True)
class Finding:
    """Why an answer is not fine: ``reason`` "empty" or "refusal", ``phrase`` the one matched."""

    reason: str
    phrase: str = ""


def _normalise(text: str) -> str:
    return " ".join(text.replace("’", "'").replace("‘", "'").casefold().split())


def _variants(phrase: str) -> set[str]:
    variants = {phrase}
    for short, longs in (("can't", ("cannot", "can not")), ("i'm", ("i am",))):
        for variant in list(variants):
            if short in variant:
                variants.update(variant.replace(short, long) for long in longs)
    return variants


@functools.lru_cache(maxsize=64)
def _program(extra: tuple[str, ...]) -> tuple[object, dict[str, str]]:
    """One RE2 alternation of every phrase (and its spellings), and each spelling's phrase."""
    spelled: dict[str, str] = {}
    for phrase in (*REFUSAL_PHRASES, *extra):
        shown = _normalise(phrase)
        for variant in _variants(shown):
            spelled.setdefault(variant, shown)
    # Longest first: "i'm sorry, but i can't" is named rather than a shorter phrase inside it.
    ordered = sorted(spelled, key=len, reverse=True)
    alternation = "|".join(re2.escape(variant) for variant in ordered)
    # Whole words: "as an airline" is no refusal; (?:^|\W) rather than \b, which does not
    # apply next to a phrase's own punctuation.
    options = re2.Options()
    options.max_mem = MAX_PROGRAM_BYTES * 4  # every phrase escaped: its size is bounded above
    return re2.compile(rf"(?:^|\W)({alternation})(?:$|\W)", options=options), spelled


def find_refusal(text: str, extra_phrases: tuple[str, ...] = ()) -> Finding | None:
    """None when the answer is fine; else why not (the first phrase found, or "empty")."""
    normalised = _normalise(text)
    if not normalised:
        return Finding(EMPTY)
    program, spelled = _program(tuple(extra_phrases))
    match = program.search(normalised)  # type: ignore[attr-defined]
    if match is None:
        return None
    return Finding("refusal", spelled[match.group(1)])


def phrase_problems(phrases: list[str]) -> list[str]:
    """Why a list of extra phrases cannot be used (empty when it can)."""
    problems = []
    if len(phrases) > MAX_EXTRA_PHRASES:
        problems.append(f"at most {MAX_EXTRA_PHRASES} phrases ({len(phrases)} given)")
    for phrase in phrases:
        if not _normalise(phrase):
            problems.append("a phrase is empty")
        elif len(phrase) > MAX_PHRASE_CHARS:
            problems.append(
                f"the phrase {phrase[:40]!r}… is too long (at most {MAX_PHRASE_CHARS} characters)"
            )
    return problems
