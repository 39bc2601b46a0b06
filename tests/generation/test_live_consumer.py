"""The run websocket: current state first, then coalesced pushes; rendered from the database."""

import re

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client
from django.utils import timezone

from generation import live
from generation.models import Row, Run
from studio.asgi import application

pytestmark = pytest.mark.django_db(transaction=True)


def make_run(project, owner, rows=60):
    run = Run.objects.create(
        project=project,
        schema_name="QA",
        spec_snapshot={"columns": [{"name": "topic", "kind": "category", "values": ["space"]}]},
        seed=1,
        num_rows=rows,
        status=Run.Status.RUNNING,
        created_by=owner,
    )
    Row.objects.bulk_create([Row(run=run, index=i) for i in range(rows)])
    return run


def finish(run, indices):
    rows = list(run.rows.filter(index__in=indices))
    for row in rows:
        Row.objects.filter(pk=row.pk).update(
            status=Row.Status.GENERATED,
            values={"topic": f"value-{row.index}"},
            finished_at=timezone.now(),
        )
    return [row.pk for row in rows]


async def connect(user, run):
    client = Client()
    await database_sync_to_async(client.force_login)(user)
    communicator = WebsocketCommunicator(
        application,
        f"/ws/runs/{run.pk}/",
        headers=[
            (b"origin", b"http://127.0.0.1"),
            (b"host", b"127.0.0.1"),
            (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode()),
        ],
    )
    connected, _ = await communicator.connect()
    return communicator, connected


def row_ids_in(html):
    return re.findall(r'id="row-(\d+)"', html)


async def test_late_joiner_gets_current_state_then_coalesced_updates_without_duplicates(
    project, owner
):
    run = await database_sync_to_async(make_run)(project, owner)
    early = await database_sync_to_async(finish)(run, range(5))
    communicator, connected = await connect(owner, run)
    assert connected
    initial = await communicator.receive_from(timeout=5)
    assert 'id="run-counters"' in initial and "5 / 60 rows" in initial
    assert sorted(row_ids_in(initial)) == sorted(str(pk) for pk in early)

    # 50 rows finish in a burst, each announced separately, as workers do.
    later = await database_sync_to_async(finish)(run, range(5, 55))
    for pk in later:
        await live.publish_rows(run.pk, [pk])
    messages = []
    while not await communicator.receive_nothing(timeout=1):
        messages.append(await communicator.receive_from())
    await communicator.disconnect()

    assert 1 <= len(messages) <= 3  # coalesced: not 50 pushes
    pushed = [row for html in messages for row in row_ids_in(html)]
    assert sorted(pushed) == sorted(str(pk) for pk in later)  # every row exactly once
    assert "55 / 60 rows" in messages[-1]
    assert 'hx-swap-oob="afterbegin:#run-rows"' in messages[0]


async def test_a_changed_row_is_swapped_in_place_not_added_again(project, owner):
    run = await database_sync_to_async(make_run)(project, owner, rows=2)
    [pk] = await database_sync_to_async(finish)(run, [0])
    communicator, _ = await connect(owner, run)
    await communicator.receive_from(timeout=5)
    await live.publish_rows(run.pk, [pk])
    update = await communicator.receive_from(timeout=5)
    await communicator.disconnect()
    assert f'id="row-{pk}" hx-swap-oob="true"' in update
    assert "afterbegin" not in update


async def test_row_values_are_escaped_in_pushed_html(project, owner):
    run = await database_sync_to_async(make_run)(project, owner, rows=1)
    await database_sync_to_async(
        lambda: Row.objects.filter(run=run).update(
            status=Row.Status.GENERATED,
            values={"topic": "<script>alert(1)</script>"},
            finished_at=timezone.now(),
        )
    )()
    communicator, _ = await connect(owner, run)
    initial = await communicator.receive_from(timeout=5)
    await communicator.disconnect()
    assert "<script>alert(1)</script>" not in initial
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in initial
