"""Embedding similarity: the cosine, −1 to 1, between the embeddings of a column and of its
reference (another column or a fixed text). The embeddings come from a credential of the run's
project (OpenAI or an OpenAI-compatible server) through the generation call path
(generation/worker/embedding_calls.py: ledger, limiter, retries, budget, the run's spend), a
chunk's distinct texts a few dozen per request. The offline simulator's embeddings are hashed
character trigrams, labelled "simulated embeddings, not semantic" wherever a score is shown."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar

from pydantic import Field, field_validator, model_validator

from evaluation.metrics.embedding import NotComparable, cosine
from generation.engine import CallLlm, LlmFailure
from generation.models import Run
from generation.worker.embedding_calls import EmbeddedTexts, embed_texts
from generation.worker.llm_calls import CallContext
from generation.worker.online_call import BudgetReached
from studio.models import ProviderCredential

from .base import (
    COLUMN,
    REFERENCE_COLUMN,
    REFERENCE_VALUE,
    THRESHOLD,
    EvaluationKind,
    RowInput,
    ScoreResult,
    as_text,
    reference_to_settings,
)
from .judging import CREDENTIAL, MODEL, MSG_BUDGET, MSG_NOT_PROJECT_CREDENTIAL
from .threshold import ThresholdSettings

# A request's texts: OpenAI takes up to 2048 inputs and 300 000 tokens; smaller requests keep
# a failure (and a retry) small. A text longer than a model takes (8192 tokens) is cut.
MAX_BATCH_TEXTS = 64
MAX_BATCH_CHARS = 200_000
MAX_TEXT_CHARS = 24_000
LEDGER_COLUMN = "embedding_similarity"
SIMULATED_NOTE = "simulated embeddings, not semantic"
PROVIDERS = ("openai", "openai_compatible", "simulator")
MSG_NO_EMBEDDINGS = (
    "credential_id: {name} is an Anthropic credential, and Anthropic has no embeddings "
    "endpoint: choose an OpenAI or OpenAI-compatible credential (or the offline simulator)"
)
MSG_NO_CREDENTIAL = (
    "credential_id: choose the credential whose embeddings endpoint is asked (OpenAI, "
    "OpenAI-compatible, or the offline simulator)"
)
MSG_MODEL = "model: name the embeddings model, e.g. text-embedding-3-small"
MSG_EMPTY = "Nothing to compare: the {which} is empty"
MSG_FAILED = "No embeddings: {error}"


class EmbeddingSettings(ThresholdSettings):
    SCALE: ClassVar[tuple[float, float]] = (-1.0, 1.0)

    # Optional here only so that its absence is said in our words (a model validator).
    credential_id: int | None = None
    model: str = Field(max_length=200)

    @field_validator("model")
    @classmethod
    def _model_given(cls, model: str) -> str:
        if not model.strip():
            raise ValueError(MSG_MODEL.removeprefix("model: "))
        return model.strip()

    @model_validator(mode="after")
    def _credential_given(self) -> EmbeddingSettings:
        if self.credential_id is None:
            raise ValueError(MSG_NO_CREDENTIAL)
        return self

    @property
    def credential_pk(self) -> int:
        assert self.credential_id is not None  # the validator above
        return self.credential_id

    def run_problems(self, run: Run) -> list[str]:
        credential = run.project.credentials.filter(pk=self.credential_pk).first()
        if credential is None:
            return [MSG_NOT_PROJECT_CREDENTIAL.replace("{id}", str(self.credential_id))]
        if credential.provider not in PROVIDERS:
            return [MSG_NO_EMBEDDINGS.format(name=f"'{credential.name}'")]
        return []


def _texts(settings: EmbeddingSettings, row: RowInput) -> tuple[str, str]:
    return (
        as_text(row.values.get(settings.column))[:MAX_TEXT_CHARS],
        settings.reference(row.values)[:MAX_TEXT_CHARS],
    )


def batches(texts: Iterable[str]) -> list[list[str]]:
    """The distinct texts, in order, cut into requests of at most ``MAX_BATCH_TEXTS`` texts
    and ``MAX_BATCH_CHARS`` characters. The same rows give the same requests, so a re-run's
    requests are the ledger's."""
    result: list[list[str]] = []
    size = 0
    for text in dict.fromkeys(texts):
        if not result or len(result[-1]) >= MAX_BATCH_TEXTS or size + len(text) > MAX_BATCH_CHARS:
            result.append([])
            size = 0
        result[-1].append(text)
        size += len(text)
    return result


async def _embed_all(
    settings: EmbeddingSettings, context: CallContext, texts: list[str], first_row: int
) -> tuple[dict[str, list[float]], dict[str, str]]:
    """Every text's vector, or why it has none. An unexpected error is raised only once every
    request has ended, so each paid answer is in the ledger when the chunk is scored again."""
    groups = batches(texts)
    answers = await asyncio.gather(
        *(
            embed_texts(
                context,
                credential_id=settings.credential_pk,
                model=settings.model,
                texts=group,
                column=LEDGER_COLUMN,
                row_index=first_row,
            )
            for group in groups
        ),
        return_exceptions=True,
    )
    vectors: dict[str, list[float]] = {}
    failures: dict[str, str] = {}
    for group, answer in zip(groups, answers, strict=True):
        if isinstance(answer, EmbeddedTexts):
            vectors.update(zip(group, answer.vectors, strict=True))
        elif isinstance(answer, LlmFailure):
            failures.update(dict.fromkeys(group, MSG_FAILED.format(error=answer)))
        elif isinstance(answer, BudgetReached):
            failures.update(dict.fromkeys(group, MSG_BUDGET))
        else:
            raise answer
    return vectors, failures


def _row_score(
    pair: tuple[str, str],
    vectors: Mapping[str, list[float]],
    failures: Mapping[str, str],
    settings: EmbeddingSettings,
    detail: dict[str, Any],
) -> ScoreResult:
    for text, which in zip(pair, ("column", "reference"), strict=True):
        if not text.strip():
            return ScoreResult(None, error=MSG_EMPTY.format(which=which))
        if text in failures:
            return ScoreResult(None, error=failures[text])
    try:
        value = cosine(vectors[pair[0]], vectors[pair[1]])
    except NotComparable as exc:
        return ScoreResult(None, error=str(exc))
    return ScoreResult(value, settings.passed(value), detail=detail)


async def score_with_calls(
    settings: EmbeddingSettings, rows: Sequence[RowInput], call_llm: CallLlm
) -> list[ScoreResult]:
    if not isinstance(call_llm, CallContext):
        raise TypeError("embeddings are asked through the generation engine's CallContext")
    pairs = [_texts(settings, row) for row in rows]
    texts = [text for pair in pairs for text in pair if text.strip()]
    vectors, failures = (
        await _embed_all(settings, call_llm, texts, rows[0].index) if texts else ({}, {})
    )
    credential = call_llm.credentials.get(settings.credential_pk)
    simulated = credential is not None and credential.provider == "simulator"
    detail = {"note": SIMULATED_NOTE} if simulated else {}
    return [_row_score(pair, vectors, failures, settings, detail) for pair in pairs]


def extra_summary(settings: EmbeddingSettings, details: Iterable[Mapping[str, Any]]) -> dict:
    """The model the embeddings came from, and the simulator's warning."""
    provider = (
        ProviderCredential.objects.filter(pk=settings.credential_pk)
        .values_list("provider", flat=True)
        .first()
    )
    embeddings = "simulated, not semantic" if provider == "simulator" else settings.model
    return {"figures": {"Embeddings": embeddings}}


def to_settings(data: Mapping[str, Any]) -> dict[str, Any]:
    credential = data.get("credential_id")
    return {
        **reference_to_settings(data),
        "credential_id": credential.pk
        if isinstance(credential, ProviderCredential)
        else credential,
        "model": data.get("model") or "",
        "threshold": data.get("threshold"),
    }


KIND = EvaluationKind(
    name="embedding_similarity",
    label="Embedding similarity",
    group="Reference metrics",
    description="How close in meaning the column is to the reference: the cosine (−1 to 1) of "
    "their embeddings from an OpenAI or OpenAI-compatible credential (paid per input token, "
    "counted in the run's spend; a re-run pays nothing again). The offline simulator gives "
    "simulated embeddings, not semantic: they compare letters, not meaning.",
    settings_model=EmbeddingSettings,
    fields=(COLUMN, REFERENCE_COLUMN, REFERENCE_VALUE, CREDENTIAL, MODEL, THRESHOLD),
    to_settings=to_settings,
    score_with_calls=score_with_calls,
    scale=(-1.0, 1.0),
    chunk_rows=500,
    extra_summary=extra_summary,
)
