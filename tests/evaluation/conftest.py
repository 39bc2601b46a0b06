"""A finished run whose rows carry an answer and its gold answer (a seed table), for the
evaluation tests: every row's expected score is known from the table."""

import pytest

from generation.services import run_create
from studio.services import project_member_add, schema_create, seed_file_upload
from tests.evaluation.table_world import table_run
from tests.fixtures import PASSWORD, drain

# answer vs gold: rows 0, 2, 4 match exactly; row 1 only after ignoring case and punctuation;
# row 3 differs; row 5 contains the gold answer in a longer sentence.
GOLD_CSV = (
    b"question,answer,gold,level\n"
    b"Capital of France?,Paris,Paris,easy\n"
    b"Capital of Japan?,tokyo!,Tokyo,easy\n"
    b"2+2?,4,4,easy\n"
    b"Largest planet?,Saturn,Jupiter,hard\n"
    b"Author of Hamlet?,Shakespeare,Shakespeare,hard\n"
    b"Capital of Peru?,It is Lima,Lima,hard\n"
)
ROWS = 6


def seed_table_run(worker, project, owner, *, data: bytes, name: str = "gold"):
    """A finished run whose rows are the table's rows, in order (and a category column)."""
    fields = data.split(b"\n", 1)[0].decode().split(",")
    rows = len([line for line in data.splitlines()[1:] if line.strip()])
    seed = seed_file_upload(project=project, user=owner, filename=f"{name}.csv", data=data)
    spec = {
        "columns": [
            {"name": "style", "kind": "category", "values": ["short"]},
            {
                "name": "qa",
                "kind": "seed_data",
                "seed_file_id": seed.pk,
                "fields": fields,
                "sampling": "ordered",
            },
        ]
    }
    schema = schema_create(project=project, user=owner, name=name, data=spec)
    run = run_create(schema=schema, user=owner, num_rows=rows)
    drain(worker)
    assert run.rows.filter(status="generated").count() == rows
    return run


@pytest.fixture
def gold_run(worker, project, owner):
    return seed_table_run(worker, project, owner, data=GOLD_CSV)


@pytest.fixture
def gate_schema(project, owner, openai_credential):
    """A schema whose rows a test scripts one by one (tests/evaluation/gate_fixtures.py)."""
    from tests.evaluation.gate_fixtures import make_gate_schema

    return make_gate_schema(project, owner, openai_credential)


@pytest.fixture
def world(project, openai_credential):
    """The review table's run (tests/evaluation/table_world.py)."""
    return table_run(project, openai_credential.pk)


@pytest.fixture
def reviewer(project, django_user_model):
    user = django_user_model.objects.create_user("reviewer", password=PASSWORD)
    project_member_add(project=project, user=user, role="reviewer")
    return user


@pytest.fixture
def viewer(project, django_user_model):
    user = django_user_model.objects.create_user("viewer", password=PASSWORD)
    project_member_add(project=project, user=user, role="viewer")
    return user
