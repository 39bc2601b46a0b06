"""Every API operation, fuzzed from its own OpenAPI schema by schemathesis: no input gives a
5xx, and every answer matches the schema it documents.

The requests carry a real token of a user who owns a project with data (a credential, a schema
with two versions, a run with rows, a seed table, a Hub push), and their path ids name those
objects, so generated bodies reach the services rather than stopping at a 404. Bounded: a fixed
seed, a few examples per operation (the suite's time, not the fuzzer's, is the budget)."""

from __future__ import annotations

import re
from typing import Any

import hypothesis
import pytest
import schemathesis
from django.contrib.auth import get_user_model
from django.core.wsgi import get_wsgi_application
from schemathesis.checks import not_a_server_error
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import response_schema_conformance

from evaluation.models import HubExport
from evaluation.scoring.services import evaluation_create
from generation.models import Row
from generation.services import run_create
from studio.models import ProviderCredential
from studio.services import (
    api_token_create,
    credential_create,
    project_member_add,
    schema_create,
    schema_update,
    seed_file_upload,
)

# Per operation and pass; about a minute for the whole API on two cores.
EXAMPLES = 8
EXAMPLES_ANY_IDS = 3


def _owned_objects(project: Any, owner: Any) -> dict[str, int]:
    credential = credential_create(
        project=project, name="sim", provider=ProviderCredential.Provider.SIMULATOR
    )
    seed = seed_file_upload(
        project=project, user=owner, filename="cities.csv", data=b"city,country\nOslo,NO\n"
    )
    spec = {
        "columns": [
            {"name": "topic", "kind": "category", "values": ["space", "oceans"]},
            {
                "name": "question",
                "kind": "llm_text",
                "credential_id": credential.pk,
                "model": "simulated",
                "prompt": "Ask about {{ topic }}",
            },
        ]
    }
    schema = schema_create(project=project, user=owner, name="QA", data=spec)
    schema_update(schema=schema, data=spec, user=owner)
    run = run_create(schema=schema, user=owner, num_rows=3, budget_usd=None)
    Row.objects.filter(run=run).update(
        status=Row.Status.GENERATED, values={"topic": "space", "question": "Why?"}
    )
    export = HubExport.objects.create(run=run, repo_id="owner/data", created_by=owner)
    spare_token, _ = api_token_create(user=owner, name="spare")
    evaluation = evaluation_create(
        run=run, user=owner, name="length", kind="length", settings={"column": "question"}
    )
    member = get_user_model().objects.create_user("member", email="member@example.org")
    project_member_add(project=project, user=member, role="viewer")
    return {
        "project_id": project.pk,
        "credential_id": credential.pk,
        "schema_id": schema.pk,
        "version": 1,
        "run_id": run.pk,
        "row_id": run.rows.first().pk,
        "seed_file_id": seed.pk,
        "export_id": export.pk,
        "token_id": spare_token.pk,
        "evaluation_id": evaluation.pk,
        "user_id": member.pk,
        "other_run_id": run.pk,  # a run compared with itself
    }


@pytest.fixture
def owned(transactional_db, owner, project) -> dict[str, Any]:
    _, token = api_token_create(user=owner, name="schemathesis")
    return {"token": token, "ids": _owned_objects(project, owner)}


def _fuzz(
    operation: Any, mode: GenerationMode, owned: dict[str, Any], *, own_ids: bool, examples: int
) -> None:
    # Hypothesis directly, not schemathesis.pytest's lazy loader (it reads a pytest node
    # attribute pytest 9 no longer has); the same strategies and checks.
    names = re.findall(r"{(\w+)}", operation.path)

    @hypothesis.settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(hypothesis.HealthCheck),
        phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
    )
    @hypothesis.given(
        case=operation.as_strategy(
            mode,
            path_parameters={name: owned["ids"][name] for name in names} if own_ids else None,
            headers={"Authorization": f"Bearer {owned['token']}"},
        )
    )
    def fuzz(case: Any) -> None:
        case.call_and_validate(checks=[not_a_server_error, response_schema_conformance])

    fuzz()


def test_no_input_gives_a_server_error_and_answers_match_their_schema(owned) -> None:
    api_schema = schemathesis.openapi.from_wsgi("/api/openapi.json", get_wsgi_application())
    failures = []
    # Deletions last: revoking tokens with generated ids may revoke the one the requests carry.
    operations = sorted(
        (result.ok() for result in api_schema.get_all_operations()),
        key=lambda operation: operation.method.upper() == "DELETE",
    )
    assert len(operations) > 25  # the whole API, not a schema that failed to load
    for operation in operations:
        passes = [("valid input, own objects", GenerationMode.POSITIVE, True, EXAMPLES)]
        if operation.body or operation.query:  # else there is nothing to make invalid
            passes.append(("invalid input, own objects", GenerationMode.NEGATIVE, True, EXAMPLES))
        if "{" in operation.path:  # ids of nothing, or of someone else's objects
            passes.append(("any ids", GenerationMode.POSITIVE, False, EXAMPLES_ANY_IDS))
        for label, mode, own_ids, examples in passes:
            try:
                _fuzz(operation, mode, owned, own_ids=own_ids, examples=examples)
            # Schemathesis raises its findings as an exception group.
            except (Exception, BaseExceptionGroup) as exc:
                failures.append(f"{operation.label} ({label}): {exc}")
    assert not failures, "\n\n".join(failures)
