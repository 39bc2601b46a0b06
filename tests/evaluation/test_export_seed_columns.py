"""A run whose schema reads a seed table exports the table's fields, read from the run's schema
(``run.spec.output_columns()``), not the seed column's own name: in JSONL, on the Hub, and on
the row card a review re-renders."""

import io
import json

import pandas as pd
import pytest

from evaluation import services
from evaluation.hub_push import DATA_PATH
from evaluation.models import HubExport
from generation.services import run_create
from studio.services import schema_create, seed_file_upload
from tests.fixtures import client_for, drain

pytestmark = pytest.mark.django_db(transaction=True)

CSV = b"Country,Capital\nFrance,Paris\nJapan,Tokyo\nPeru,Lima\n"


@pytest.fixture
def seeded_run(worker, project, owner):
    seed = seed_file_upload(project=project, user=owner, filename="capitals.csv", data=CSV)
    spec = {
        "columns": [
            {"name": "style", "kind": "category", "values": ["quiz"]},
            {
                "name": "places",
                "kind": "seed_data",
                "seed_file_id": seed.pk,
                "fields": ["country", "capital"],
                "sampling": "ordered",
            },
        ]
    }
    schema = schema_create(project=project, user=owner, name="capitals", data=spec)
    run = run_create(schema=schema, user=owner, num_rows=3)
    drain(worker)
    return run


def _accept_all(run, owner) -> None:
    for row in run.rows.order_by("index"):
        services.row_review(row=row, user=owner, decision="accepted")


EXPECTED = [
    {"style": "quiz", "country": "France", "capital": "Paris"},
    {"style": "quiz", "country": "Japan", "capital": "Tokyo"},
    {"style": "quiz", "country": "Peru", "capital": "Lima"},
]


@pytest.mark.parametrize("prefix", ["", "/api"])
def test_jsonl_export_holds_the_seed_tables_fields(seeded_run, owner, owner_client, prefix):
    _accept_all(seeded_run, owner)
    response = owner_client.get(f"{prefix}/runs/{seeded_run.pk}/export.jsonl")
    assert response.status_code == 200
    lines = b"".join(response.streaming_content).decode().splitlines()
    assert [json.loads(line) for line in lines] == EXPECTED


def test_hub_push_holds_the_seed_tables_fields(seeded_run, owner, hub_server, settings, worker):
    settings.HF_ENDPOINT = hub_server.url
    _accept_all(seeded_run, owner)
    export = services.hub_export_create(
        run=seeded_run, user=owner, repo_id="alice/capitals", token="hf_test_token"
    )
    drain(worker)
    export.refresh_from_db()
    assert export.status == HubExport.Status.DONE, export.error
    repo = hub_server.repos["alice/capitals"]
    frame = pd.read_parquet(io.BytesIO(repo.files[DATA_PATH]))
    assert frame.to_dict(orient="records") == EXPECTED
    card = repo.files["README.md"].decode()
    assert "| `country` |" in card and "| `capital` |" in card  # the card lists what is pushed
    assert "| `places` |" not in card


def test_the_row_card_a_review_renders_shows_the_seed_fields(seeded_run, owner_client):
    row = seeded_run.rows.get(index=1)
    response = owner_client.post(
        f"/rows/{row.pk}/review/", {"decision": "accepted"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "<dt>country</dt><dd>Japan</dd>" in html
    assert "<dt>capital</dt><dd>Tokyo</dd>" in html
    assert "<dt>places</dt>" not in html


def test_the_admin_shows_review_state_without_writing_it(seeded_run, django_user_model):
    """Review decisions and edits are written by evaluation.services only."""
    staff = django_user_model.objects.create_superuser("staff", "staff@example.com", "pw-12345")
    row = seeded_run.rows.get(index=0)
    html = client_for(staff).get(f"/admin/generation/row/{row.pk}/change/").content.decode()
    assert "Review status" in html
    for field in ("review_status", "reviewed_by", "reviewed_at", "edited_values"):
        assert f'name="{field}"' not in html
