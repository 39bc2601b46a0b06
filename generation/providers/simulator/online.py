"""The offline demo provider. It is NOT a model: it answers instantly-ish with text built from
the prompt, so a new install can watch a run stream in without an API key. Every answer says it
is simulated, and the UI labels credentials of this kind as simulated."""

from __future__ import annotations

import asyncio
import hashlib
import json
import math

from generation.providers.base import (
    Completion,
    CompletionRequest,
    EmbeddingRequest,
    Embeddings,
    ProviderConfig,
    ProviderError,
)
from generation.providers.simulator.schema_sample import SampleTooLarge, sample_from_schema

SIMULATED_PREFIX = "[simulated]"
CONNECTION_MESSAGE = "Simulated provider: no network call"
EMBEDDING_DIMS = 256
NGRAM = 3
_OPENERS = (
    "Here is a short take on",
    "A quick thought about",
    "One way to look at",
    "Briefly, regarding",
    "An example answer for",
)


def simulated_embedding(text: str, dims: int = EMBEDDING_DIMS) -> list[float]:
    """A deterministic pseudo-embedding, NOT a semantic one: the text's character trigrams
    (lower-cased, whitespace collapsed, padded) hashed into ``dims`` buckets with a hashed
    sign, as a unit vector. Texts sharing many trigrams point the same way, so the demo's
    cosines vary sensibly (equal texts 1, spelling variants high, unrelated texts near 0), but
    synonyms are as far apart as any other words. The zero vector for an empty text."""
    normalised = " " + " ".join(text.lower().split()) + " "
    values = [0.0] * dims
    for start in range(max(len(normalised) - NGRAM + 1, 0)):
        digest = hashlib.blake2b(normalised[start : start + NGRAM].encode(), digest_size=8)
        number = int.from_bytes(digest.digest(), "big")
        values[number % dims] += 1.0 if (number >> 32) & 1 else -1.0
    norm = math.sqrt(sum(v * v for v in values))
    return [v / norm for v in values] if norm else values


class SimulatedProvider:
    def __init__(self, config: ProviderConfig, *, latency: float = 0.15) -> None:
        self._latency = latency

    async def complete(self, request: CompletionRequest) -> Completion:
        conversation = "\n".join(m.content for m in request.conversation)
        digest = hashlib.sha256(f"{request.system}|{conversation}".encode()).digest()
        await asyncio.sleep(self._latency * (0.5 + digest[0] / 255))
        if request.json_schema is not None:
            try:
                value = sample_from_schema(request.json_schema, label=SIMULATED_PREFIX)
            except SampleTooLarge as exc:
                raise ProviderError(f"Simulated provider: {exc}") from None
            text = json.dumps(value, ensure_ascii=False)
        else:
            opener = _OPENERS[digest[1] % len(_OPENERS)]
            subject = " ".join(request.prompt.split()[:24])
            text = f"{SIMULATED_PREFIX} {opener}: {subject}"
        return Completion(
            text=text,
            input_tokens=len(conversation.split()) + len(request.system.split()),
            output_tokens=len(text.split()),
            latency_ms=int(self._latency * 1000),
        )

    async def embed(self, request: EmbeddingRequest) -> Embeddings:
        return Embeddings(
            vectors=[simulated_embedding(text) for text in request.texts],
            input_tokens=sum(len(text.split()) for text in request.texts),
            latency_ms=0,
        )

    async def check_connection(self, model: str | None = None) -> str:
        return CONNECTION_MESSAGE

    async def aclose(self) -> None:
        return None
