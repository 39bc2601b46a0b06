"""The fixed cast (owner, collaborator, stranger), their project, and a live Dramatiq worker."""

from __future__ import annotations

from collections.abc import Iterator

import dramatiq
import pytest
from django.contrib.auth import get_user_model
from django.db import connections
from django.test import Client

from studio.models import Project, ProviderCredential
from studio.services import credential_create, project_create, project_member_add, schema_create

PASSWORD = "correct-horse-battery-staple"


@pytest.fixture
def owner(db):
    return get_user_model().objects.create_user("owner", password=PASSWORD)


@pytest.fixture
def collaborator(db):
    return get_user_model().objects.create_user("collaborator", password=PASSWORD)


@pytest.fixture
def stranger(db):
    return get_user_model().objects.create_user("stranger", password=PASSWORD)


@pytest.fixture
def project(owner, collaborator) -> Project:
    project = project_create(user=owner, name="Trivia", description="test project")
    project_member_add(project=project, user=collaborator)
    return project


@pytest.fixture
def openai_credential(project, llm_server) -> ProviderCredential:
    llm_server.valid_keys = {"sk-test-good-key"}
    return credential_create(
        project=project,
        name="fake openai",
        provider=ProviderCredential.Provider.OPENAI_COMPATIBLE,
        base_url=llm_server.openai_base_url,
        api_key="sk-test-good-key",
        requests_per_minute=6000,
    )


@pytest.fixture
def anthropic_credential(project, llm_server) -> ProviderCredential:
    return credential_create(
        project=project,
        name="fake anthropic",
        provider=ProviderCredential.Provider.ANTHROPIC,
        base_url=llm_server.base_url,
        api_key="sk-ant-test-key",
        requests_per_minute=6000,
    )


def qa_spec(credential_id: int) -> dict:
    return {
        "columns": [
            {"name": "topic", "kind": "category", "values": ["space", "oceans", "volcanoes"]},
            {
                "name": "question",
                "kind": "llm_text",
                "credential_id": credential_id,
                "model": "gpt-4o-mini",
                "prompt": "Write a question about {{ topic }}",
            },
        ]
    }


@pytest.fixture
def qa_schema(project, owner, openai_credential):
    return schema_create(project=project, user=owner, name="QA", data=qa_spec(openai_credential.pk))


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def owner_client(owner) -> Client:
    return client_for(owner)


@pytest.fixture
def stranger_client(stranger) -> Client:
    return client_for(stranger)


@pytest.fixture
def worker(transactional_db) -> Iterator[dramatiq.Worker]:
    """A Dramatiq worker on the Redis broker, in this process. Use `drain(worker)` to wait."""
    broker = dramatiq.get_broker()
    broker.flush_all()
    worker = dramatiq.Worker(broker, worker_threads=2, worker_timeout=100)
    worker.start()
    yield worker
    worker.stop()
    broker.flush_all()


def drain(worker: dramatiq.Worker, timeout_ms: int = 30_000) -> None:
    """Wait until every queued message has been processed."""
    broker = worker.broker
    for queue in sorted(broker.get_declared_queues()):
        broker.join(queue, timeout=timeout_ms)
    worker.join()


@pytest.fixture(scope="session", autouse=True)
def _warm_urlconf() -> None:
    """Import the URLconf (and with it both provider SDKs, ~3 s) once, up front, so no test's
    timeout pays for the first import."""
    from importlib import import_module

    from django.conf import settings

    import_module(settings.ROOT_URLCONF)


class SqlEditor:
    """What a data migration's function uses of a schema editor, for running it inside a test's
    transaction (SQLite's own editor cannot open there)."""

    def __init__(self, using: str) -> None:
        self.using = using

    def execute(self, sql: str, params: list) -> None:
        with connections[self.using].cursor() as cursor:
            cursor.execute(sql, params)
