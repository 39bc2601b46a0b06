"""The offline demo provider. It is NOT a model: it answers instantly-ish with text built from
the prompt, so a new install can watch a run stream in without an API key. Every answer says it
is simulated, and the UI labels credentials of this kind as simulated."""

from __future__ import annotations

import asyncio
import hashlib

from generation.providers.base import Completion, CompletionRequest, ProviderConfig

SIMULATED_PREFIX = "[simulated]"
_OPENERS = (
    "Here is a short take on",
    "A quick thought about",
    "One way to look at",
    "Briefly, regarding",
    "An example answer for",
)


class SimulatedProvider:
    def __init__(self, config: ProviderConfig, *, latency: float = 0.15) -> None:
        self._latency = latency

    async def complete(self, request: CompletionRequest) -> Completion:
        digest = hashlib.sha256(f"{request.system}|{request.prompt}".encode()).digest()
        await asyncio.sleep(self._latency * (0.5 + digest[0] / 255))
        opener = _OPENERS[digest[1] % len(_OPENERS)]
        subject = " ".join(request.prompt.split()[:24])
        text = f"{SIMULATED_PREFIX} {opener}: {subject}"
        return Completion(
            text=text,
            input_tokens=len(request.prompt.split()) + len(request.system.split()),
            output_tokens=len(text.split()),
            latency_ms=int(self._latency * 1000),
        )

    async def aclose(self) -> None:
        return None
