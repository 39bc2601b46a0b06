"""Pytest fixtures for the fake LLM and Hub servers.

Register with ``pytest_plugins = ["tests.fakes.pytest_plugin"]`` in ``tests/conftest.py``.
Each server is started once per session; the function-scoped fixtures reset it before every test.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

# Guard: the fake Hub has no Xet endpoint. huggingface_hub reads this at import time.
os.environ["HF_HUB_DISABLE_XET"] = "1"

from .hub_server import FakeHubServer
from .llm_server import FakeLLMServer


@pytest.fixture(scope="session")
def llm_server_session() -> Iterator[FakeLLMServer]:
    """The session-wide fake OpenAI/Anthropic server (not reset between tests)."""
    with FakeLLMServer() as server:
        yield server


@pytest.fixture
def llm_server(llm_server_session: FakeLLMServer) -> FakeLLMServer:
    """The fake OpenAI/Anthropic server, reset to defaults for this test."""
    llm_server_session.reset()
    return llm_server_session


@pytest.fixture(scope="session")
def hub_server_session() -> Iterator[FakeHubServer]:
    """The session-wide fake Hugging Face Hub (not reset between tests)."""
    with FakeHubServer() as server:
        yield server


@pytest.fixture
def hub_server(hub_server_session: FakeHubServer) -> FakeHubServer:
    """The fake Hugging Face Hub, emptied and with default tokens for this test."""
    hub_server_session.reset()
    return hub_server_session
