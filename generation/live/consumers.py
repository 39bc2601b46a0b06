"""The run page's websocket. It checks access, joins the run's group and sends coalesced HTML
fragments: at most one push begun per PUSH_INTERVAL_SECONDS, rendered from the database.

Order on connect: access check (a stranger is closed before joining; the member's role decides
which controls the fragments show), join the group, then
render the current state. Group messages wait until ``connect`` returns, so a row committed
after the state was read is announced after it, and a row in both is swapped in place (the
page's ``LiveWindow`` knows it): no gap, no duplicate."""

from __future__ import annotations

import asyncio
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.core.exceptions import PermissionDenied
from django.http import Http404

from generation import live
from generation.live.fragments import LivePage, render_initial_state, render_update
from generation.live.panels import has_run_panel
from generation.selectors import run_get_for_user
from studio.permissions import Action


class RunConsumer(AsyncWebsocketConsumer):
    async def connect(self) -> None:
        self.run_id: int = self.scope["url_route"]["kwargs"]["run_id"]
        try:
            run = await database_sync_to_async(run_get_for_user)(
                user=self.scope["user"], run_id=self.run_id, action=Action.VIEW
            )
        except Http404:
            await self.close(code=4404)
            return
        except PermissionDenied:
            await self.close(code=4403)
            return
        # ?panel=<id>: the page shows only that run panel (an evaluation's page); an id no app
        # registered is refused like a run the user cannot see.
        only_panel = _query_panel(self.scope)
        if only_panel is not None and not has_run_panel(only_panel):
            await self.close(code=4404)
            return
        self.group = live.run_group(self.run_id)
        self.pending_row_ids: set[int] = set()
        self.dirty = False
        self.flush_task: asyncio.Task[None] | None = None
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        # The current state first, then the stream: rows finished before we joined are in it.
        self.page: LivePage
        html, self.page = await database_sync_to_async(render_initial_state)(
            run_id=self.run_id, role=run.project.member_role, only_panel=only_panel
        )
        self.last_push = live.clock()
        await self.send(text_data=html)

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)
        flush_task = getattr(self, "flush_task", None)
        if flush_task is not None:
            flush_task.cancel()

    async def run_rows(self, event: dict) -> None:
        # An empty list still means "the run changed" (status, budget): counters are re-read.
        self.pending_row_ids.update(event["row_ids"])
        self.dirty = True
        if self.flush_task is None or self.flush_task.done():
            self.flush_task = asyncio.create_task(self._flush_later())

    async def _flush_later(self) -> None:
        delay = self.last_push + live.PUSH_INTERVAL_SECONDS - live.clock()
        if delay > 0:
            await live.sleep(delay)
        # Pushes are spaced from the start of the previous render, not from its send: spacing
        # from the send adds the render time to every interval (fewer pushes, longer waits).
        # A send may then follow the previous one a little early when its render was quicker;
        # over any second there are still at most 1 / PUSH_INTERVAL_SECONDS renders (+1).
        started = live.clock()
        row_ids, self.pending_row_ids = self.pending_row_ids, set()
        self.dirty = False
        html = await database_sync_to_async(render_update)(page=self.page, row_ids=sorted(row_ids))
        # Renders are spaced even when one sends nothing: a render that only found the counters
        # still cached would otherwise be followed at once by the next, until they expire.
        self.last_push = started
        if html:
            await self.send(text_data=html)
        if self.page.counters_stale:
            self.dirty = True  # push again once the counters are recomputed (live.fragments)
        if self.dirty:
            self.flush_task = asyncio.create_task(self._flush_later())


def _query_panel(scope: dict) -> str | None:
    values = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("panel")
    return values[0][:64] if values else None
