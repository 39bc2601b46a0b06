"""Run actions publish their new state to the run's open pages themselves, once committed: the
services do it (page, API and any other caller alike), a watcher never reads a state that is
not committed yet, and an action rolled back or refused publishes nothing."""

from collections.abc import Callable
from decimal import Decimal

import dramatiq
import pytest
from django.db import transaction

from generation import live, services
from generation.models import Row, Run
from studio.services import schema_create
from tests.fixtures import client_for

pytestmark = pytest.mark.django_db(transaction=True)

SPEC = {"columns": [{"name": "topic", "kind": "category", "values": ["space"]}]}


@pytest.fixture
def published(monkeypatch) -> list[tuple[int, list[int], str]]:
    """What was published: the run, its row ids, and the run's status a watcher then reads."""
    seen: list[tuple[int, list[int], str]] = []

    def record(run_id: int, row_ids: list[int]) -> None:
        seen.append((run_id, row_ids, Run.objects.get(pk=run_id).status))

    monkeypatch.setattr(live, "publish_rows_sync", record)
    yield seen
    dramatiq.get_broker().flush_all()  # the chunks the actions sent; no worker here


def make_run(project, owner, status: str, **fields) -> Run:
    run = Run.objects.create(
        project=project,
        schema_name="s",
        spec_snapshot=SPEC,
        seed=1,
        num_rows=2,
        status=status,
        created_by=owner,
        **fields,
    )
    Row.objects.bulk_create(
        [
            Row(run=run, index=0, status=Row.Status.GENERATED, values={"topic": "space"}),
            Row(run=run, index=1, status=Row.Status.FAILED, errors={"topic": "Rate limited"}),
        ]
    )
    return run


# (name, the run's status before, the action, its status after)
ACTIONS: list[tuple[str, str, Callable[[Run], object], str]] = [
    ("pause", Run.Status.RUNNING, lambda run: services.run_pause(run=run), Run.Status.PAUSED),
    ("resume", Run.Status.PAUSED, lambda run: services.run_resume(run=run), Run.Status.RUNNING),
    ("cancel", Run.Status.RUNNING, lambda run: services.run_cancel(run=run), Run.Status.CANCELLED),
    (
        "retry failed",
        Run.Status.FAILED,
        lambda run: services.run_retry_failed(run=run),
        Run.Status.RUNNING,
    ),
    (
        "retry these",
        Run.Status.FAILED,
        lambda run: services.run_retry_failed_matching(run=run, message="Rate limited"),
        Run.Status.RUNNING,
    ),
    (
        "raise the budget",
        Run.Status.BUDGET_REACHED,
        lambda run: services.run_set_budget(run=run, budget_usd=Decimal(2)),
        Run.Status.RUNNING,
    ),
]


@pytest.mark.parametrize(
    ("name", "before", "action", "after"), ACTIONS, ids=[a[0] for a in ACTIONS]
)
def test_each_action_publishes_its_new_state_after_commit(
    project, owner, published, name, before, action, after
):
    run = make_run(project, owner, before, budget_usd=Decimal(1))
    with transaction.atomic():  # a caller's transaction: nothing is committed inside it
        action(run)
        assert published == []
    assert published == [(run.pk, [], after)]


@pytest.mark.parametrize(
    ("name", "before", "action", "after"), ACTIONS, ids=[a[0] for a in ACTIONS]
)
def test_a_rolled_back_action_publishes_nothing(
    project, owner, published, name, before, action, after
):
    run = make_run(project, owner, before, budget_usd=Decimal(1))
    with pytest.raises(RuntimeError), transaction.atomic():
        action(run)
        raise RuntimeError("the caller's transaction fails after the action")
    assert published == []
    assert Run.objects.get(pk=run.pk).status == before


def test_a_refused_action_publishes_nothing(project, owner, published):
    run = make_run(project, owner, Run.Status.RUNNING)
    with pytest.raises(services.RunError):
        services.run_resume(run=run)  # only a paused run resumes
    assert published == []


def test_starting_a_run_publishes_it_after_commit(project, owner, published):
    schema = schema_create(project=project, user=owner, name="s", data=SPEC)
    with transaction.atomic():
        run = services.run_create(schema=schema, user=owner, num_rows=2)
        assert published == []
    assert published == [(run.pk, [], Run.Status.RUNNING)]


@pytest.mark.parametrize(
    "path",
    ["/runs/{id}/actions/pause/", "/api/runs/{id}/pause"],
    ids=["page", "api"],
)
def test_the_page_and_the_api_publish_once_through_the_service(project, owner, published, path):
    run = make_run(project, owner, Run.Status.RUNNING)
    response = client_for(owner).post(path.replace("{id}", str(run.pk)), HTTP_HX_REQUEST="true")
    assert response.status_code in (200, 204)
    assert published == [(run.pk, [], Run.Status.PAUSED)]
