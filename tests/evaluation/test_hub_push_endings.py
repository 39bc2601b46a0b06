"""A Hub push always ends, as done or failed with a short reason; its token never outlives it;
a redelivered message never pushes twice; the export page stops polling once it ended."""

from __future__ import annotations

import socket

import pytest

from evaluation import hub_export, services
from evaluation.hub_export import hub_export_push
from evaluation.models import HubExport
from generation.models import Row
from generation.services import run_create
from studio.crypto import encrypt_secret
from tests.fixtures import drain

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def accepted_run(worker, qa_schema, owner, llm_server):
    run = run_create(schema=qa_schema, user=owner, num_rows=3)
    drain(worker)
    for row in run.rows.all():
        services.row_review(row=row, user=owner, decision="accepted")
    return run


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _queue_push(run, owner) -> HubExport:
    """An export as the page records it, without sending its message (the test runs it)."""
    return HubExport.objects.create(
        run=run,
        repo_id="alice/trivia",
        token_encrypted=encrypt_secret("hf_test_token"),
        created_by=owner,
    )


def _assert_failed(export: HubExport, owner_client, run) -> None:
    export.refresh_from_db()
    assert export.status == HubExport.Status.FAILED
    assert export.token_encrypted == ""
    assert export.finished_at is not None
    page = owner_client.get(f"/runs/{run.pk}/export/hub-pushes/").content.decode()
    assert "hx-trigger" not in page  # the page stops polling
    assert "Failed" in page


def test_an_unreachable_hub_fails_the_push_and_forgets_the_token(
    accepted_run, owner, owner_client, settings, worker
):
    settings.HF_ENDPOINT = f"http://127.0.0.1:{_closed_port()}"
    export = services.hub_export_create(
        run=accepted_run, user=owner, repo_id="alice/trivia", token="hf_test_token"
    )
    drain(worker)
    _assert_failed(export, owner_client, accepted_run)
    assert export.error == "Could not reach the Hub (ConnectError)."


def test_rows_pyarrow_cannot_convert_fail_the_push_with_the_reason(
    accepted_run, owner, owner_client, hub_server, settings
):
    settings.HF_ENDPOINT = hub_server.url
    first, second = accepted_run.rows.order_by("index")[:2]
    Row.objects.filter(pk=first.pk).update(edited_values={**first.values, "question": {"a": 1}})
    Row.objects.filter(pk=second.pk).update(edited_values={**second.values, "question": "text"})
    export = _queue_push(accepted_run, owner)
    hub_export_push(export_id=export.pk)
    _assert_failed(export, owner_client, accepted_run)
    assert export.error.startswith("The accepted rows could not be converted to Parquet:")
    assert "\n" not in export.error
    assert "alice/trivia" not in hub_server.repos


def test_an_unexpected_error_fails_the_push_instead_of_leaving_it_queued(
    accepted_run, owner, owner_client, hub_server, settings, monkeypatch
):
    settings.HF_ENDPOINT = hub_server.url

    def broken_card(facts):
        raise KeyError("model")

    monkeypatch.setattr(hub_export, "build_card", broken_card)
    export = _queue_push(accepted_run, owner)
    hub_export_push(export_id=export.pk)
    _assert_failed(export, owner_client, accepted_run)
    assert (
        export.error == "The push failed unexpectedly (KeyError); nothing was recorded as pushed."
    )


def test_a_redelivered_message_does_not_push_twice_and_ends_the_push(
    accepted_run, owner, owner_client, hub_server, settings
):
    settings.HF_ENDPOINT = hub_server.url
    export = _queue_push(accepted_run, owner)
    # A first delivery claimed it, then its worker died: the broker redelivers the message.
    assert hub_export.hub_export_claim(export_id=export.pk) is not None
    hub_export_push(export_id=export.pk)
    assert hub_server.requests == []
    _assert_failed(export, owner_client, accepted_run)
    assert export.error == hub_export.MSG_INTERRUPTED


def test_a_push_runs_once_even_when_its_message_comes_twice(
    accepted_run, owner, hub_server, settings
):
    settings.HF_ENDPOINT = hub_server.url
    export = _queue_push(accepted_run, owner)
    hub_export_push(export_id=export.pk)
    commits = [r for r in hub_server.requests if r[1].endswith("/commit/main")]
    hub_export_push(export_id=export.pk)
    assert [r for r in hub_server.requests if r[1].endswith("/commit/main")] == commits
    assert len(commits) == 1
    export.refresh_from_db()
    assert export.status == HubExport.Status.DONE
    assert export.token_encrypted == ""
