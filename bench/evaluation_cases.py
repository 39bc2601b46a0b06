"""The evaluation benchmark's data and cases: texts made from a seeded generator, and for each
kind its settings and the bare library loop it is compared with (bench/evaluation.py)."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

WORDS = (
    "the of and to in is was for on that with as by at from his her they this which an are "
    "be or had not but have it were all their one there been has when who will more would "
    "about into than them only other some time could these two may first then do any like "
    "new people after used well made over such city between years through during where many "
    "most later under being both known well called part water world river house school "
    "model answer data question value result number small large early system government "
    "history second three area power north south family music named since film century war"
).split()
TOPICS = ("history", "science", "art")
REFUSAL = "I'm sorry, but I can't help with that. "
PERSON_SCHEMA = {
    "type": "object",
    "required": ["name", "age", "email", "tags"],
    "properties": {
        "name": {"type": "string", "minLength": 1},
        "age": {"type": "integer", "minimum": 0, "maximum": 150},
        "email": {"type": "string", "pattern": "^[^@ ]+@[^@ ]+$"},
        "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 10},
        "bio": {"type": "string"},
    },
}


def _sentence(rng: random.Random, chars: int) -> str:
    words: list[str] = []
    length = -1
    while length < chars:
        word = rng.choice(WORDS)
        words.append(word)
        length += len(word) + 1
    text = " ".join(words)
    return text[0].upper() + text[1:chars] + "."


def _prose(rng: random.Random) -> dict[str, str]:
    """An answer of about 200 characters and its reference: the same words with about one in
    five replaced; one answer in twenty is a refusal."""
    answer = _sentence(rng, 199)
    gold = " ".join(w if rng.random() > 0.2 else rng.choice(WORDS) for w in answer.split())
    if rng.random() < 0.05:
        answer = REFUSAL + answer[len(REFUSAL) :]
    return {"answer": answer, "gold": gold}


def _json(rng: random.Random) -> dict[str, str]:
    """A JSON answer of about 200 characters; one in ten breaks the schema or is no JSON."""
    person = {
        "name": rng.choice(WORDS).title() + " " + rng.choice(WORDS).title(),
        "age": rng.randrange(0, 100),
        "email": f"{rng.choice(WORDS)}@example.org",
        "tags": [rng.choice(WORDS) for _ in range(4)],
        "bio": _sentence(rng, 80),
    }
    roll = rng.random()
    if roll < 0.04:
        person["age"] = -1
    elif roll < 0.07:
        del person["email"]
    text = json.dumps(person)
    if 0.07 <= roll < 0.1:
        text = text[:-5]
    return {"answer": text, "gold": ""}


def _maths(rng: random.Random) -> dict[str, str]:
    """A worked answer of about 200 characters ending in a fraction, and its reference as a
    decimal or a fraction (equal four times in five)."""
    p, q = rng.randrange(1, 50), rng.choice([2, 4, 5, 8, 10, 20, 25])
    if rng.random() < 0.2:
        q_gold, p_gold = q, p + 1
    else:
        q_gold, p_gold = q, p
    working = _sentence(rng, 150)
    answer = f"{working} So the result is $\\boxed{{\\frac{{{p}}}{{{q}}}}}$."
    gold = f"{p_gold / q_gold:g}" if rng.random() < 0.5 else f"{p_gold}/{q_gold}"
    return {"answer": answer, "gold": gold}


DATASETS: dict[str, Callable[[random.Random], dict[str, str]]] = {
    "prose": _prose,
    "json": _json,
    "maths": _maths,
}


# --- what is measured -----------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    kind: str
    settings: dict[str, Any]
    dataset: str
    # The bare loop's scoring of one (answer, reference) pair, made in the measuring process.
    bare: Callable[[], Callable[[str, str], object]]


REFERENCE = {"column": "answer", "reference_column": "gold"}


def _bare_exact() -> Callable[[str, str], object]:
    from evaluation.metrics.matching import Normalisation, exact_match

    normalisation = Normalisation()
    return lambda a, g: exact_match(a, g, normalisation)


def _bare_edit() -> Callable[[str, str], object]:
    from rapidfuzz.distance import Levenshtein
    from rapidfuzz.utils import default_process

    return lambda a, g: Levenshtein.normalized_similarity(a, g, processor=default_process)


def _bare_token_set() -> Callable[[str, str], object]:
    from rapidfuzz import fuzz
    from rapidfuzz.utils import default_process

    return lambda a, g: fuzz.token_set_ratio(a, g, processor=default_process)


def _bare_bleu() -> Callable[[str, str], object]:
    from sacrebleu.metrics import BLEU

    bleu = BLEU(effective_order=True)
    return lambda a, g: bleu.sentence_score(a, [g]).score


def _bare_chrf() -> Callable[[str, str], object]:
    from sacrebleu.metrics import CHRF

    chrf = CHRF()
    return lambda a, g: chrf.sentence_score(a, [g]).score


def _bare_rouge() -> Callable[[str, str], object]:
    from rouge_score.rouge_scorer import RougeScorer

    scorer = RougeScorer(["rougeL"])
    return lambda a, g: scorer.score(g, a)["rougeL"].fmeasure


def _bare_maths() -> Callable[[str, str], object]:
    import logging

    from math_verify import parse, verify

    logging.getLogger("math_verify").setLevel(logging.ERROR)  # "timeouts are off": on purpose

    def compare(a: str, g: str) -> bool:
        gold = parse(g, parsing_timeout=None)
        return bool(verify(gold, parse(a, parsing_timeout=None), timeout_seconds=None))

    return compare


def _bare_tokens() -> Callable[[str, str], object]:
    from generation.token_estimate import text_tokens

    return lambda a, g: text_tokens(a)


def _bare_regex() -> Callable[[str, str], object]:
    import re2

    program = re2.compile(r"\b(river|house|school)\b")
    return lambda a, g: program.search(a)


def _bare_json() -> Callable[[str, str], object]:
    from jsonschema.exceptions import best_match

    from studio.schema.json_schema_limits import SafeValidator

    validator = SafeValidator(PERSON_SCHEMA)

    def check(a: str, g: str) -> object:
        try:
            return best_match(validator.iter_errors(json.loads(a)))
        except ValueError:
            return None

    return check


def _bare_refusal() -> Callable[[str, str], object]:
    from evaluation.metrics.refusal import find_refusal

    return lambda a, g: find_refusal(a)


def _bare_nothing() -> Callable[[str, str], object]:
    return lambda a, g: None


CASES: dict[str, Case] = {
    "pipeline": Case("bench_pipeline", {"column": "answer"}, "prose", _bare_nothing),
    "exact_match": Case("exact_match", REFERENCE, "prose", _bare_exact),
    "similarity": Case("similarity", {**REFERENCE, "threshold": 0.8}, "prose", _bare_edit),
    "similarity_token_set": Case(
        "similarity", {**REFERENCE, "method": "token_set"}, "prose", _bare_token_set
    ),
    "bleu": Case("bleu", {**REFERENCE, "threshold": 30}, "prose", _bare_bleu),
    "chrf": Case("chrf", REFERENCE, "prose", _bare_chrf),
    "rouge": Case("rouge", {**REFERENCE, "variant": "rougeL"}, "prose", _bare_rouge),
    "math_equivalence": Case("math_equivalence", REFERENCE, "maths", _bare_maths),
    "length": Case(
        "length",
        {"column": "answer", "unit": "tokens", "max_length": 60},
        "prose",
        _bare_tokens,
    ),
    "regex_check": Case(
        "regex_check",
        {"column": "answer", "pattern": r"\b(river|house|school)\b"},
        "prose",
        _bare_regex,
    ),
    "json_schema": Case(
        "json_schema",
        {"column": "answer", "json_schema": PERSON_SCHEMA},
        "json",
        _bare_json,
    ),
    "refusal": Case("refusal", {"column": "answer"}, "prose", _bare_refusal),
}


# --- the runs ---------------------------------------------------------------------------------

DISTINCT_ROWS = 100_000


def prepare(rows: int, datasets: list[str]) -> dict[str, int]:
    """Migrate, then one finished run per dataset with ``rows`` generated rows (Django set up).
    Past ``DISTINCT_ROWS`` the rows repeat the first ones (copied by the database), so a run of
    a million rows is made in a minute, not in most of an hour."""
    from django.contrib.auth.models import User
    from django.core.management import call_command

    from generation.models import Row, Run
    from studio.services import project_create

    call_command("migrate", verbosity=0)
    user, _ = User.objects.get_or_create(username="bench")
    project = project_create(user=user, name=f"Evaluation bench {time.time():.0f}")
    spec = {
        "columns": [
            {"name": "topic", "kind": "category", "values": list(TOPICS)},
            {"name": "answer", "kind": "expression", "template": "{{ topic }}"},
            {"name": "gold", "kind": "expression", "template": "{{ topic }}"},
        ]
    }
    runs = {}
    for dataset in datasets:
        run = Run.objects.create(
            project=project,
            schema_name=f"bench {dataset}",
            spec_snapshot=spec,
            seed=1,
            num_rows=rows,
            status=Run.Status.FINISHED,
        )
        rng = random.Random(f"{dataset}:{rows}")
        make = DATASETS[dataset]
        for start in range(0, min(rows, DISTINCT_ROWS), 5000):
            Row.objects.bulk_create(
                Row(
                    run=run,
                    index=i,
                    status=Row.Status.GENERATED,
                    values={"topic": TOPICS[i % len(TOPICS)], **make(rng)},
                )
                for i in range(start, min(rows, DISTINCT_ROWS, start + 5000))
            )
        _repeat_rows(run, rows)
        runs[dataset] = run.pk
    return runs


def _repeat_rows(run: Any, rows: int) -> None:
    """Rows DISTINCT_ROWS.. of ``run`` as copies of rows 0.. (the same values, next indexes)."""
    from django.db import connection

    from generation.models import Row

    if rows <= DISTINCT_ROWS:
        return
    if connection.vendor != "postgresql":
        raise SystemExit(f"more than {DISTINCT_ROWS:,} rows a run need PostgreSQL")
    quote = connection.ops.quote_name
    columns = [f.column for f in Row._meta.concrete_fields if f.column not in ("id", "index")]
    names = ", ".join(quote(c) for c in columns)
    index = quote("index")
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {quote(Row._meta.db_table)} ({names}, {index}) "
            f"SELECT {names}, {index} + k * %s FROM {quote(Row._meta.db_table)}, "
            f"generate_series(1, %s) AS k "
            f"WHERE run_id = %s AND {index} < %s AND {index} + k * %s < %s",
            [DISTINCT_ROWS, rows // DISTINCT_ROWS, run.pk, DISTINCT_ROWS, DISTINCT_ROWS, rows],
        )
