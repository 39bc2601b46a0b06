"""The run page's websocket. It checks access, joins the run's group and sends coalesced HTML
fragments: at most one push per PUSH_INTERVAL_SECONDS, rendered from the database."""

from __future__ import annotations

import asyncio
import time

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.http import Http404

from generation import live
from generation.live_fragments import render_initial_state, render_update
from generation.selectors import run_get_for_user


class RunConsumer(AsyncWebsocketConsumer):
    async def connect(self) -> None:
        self.run_id: int = self.scope["url_route"]["kwargs"]["run_id"]
        try:
            await database_sync_to_async(run_get_for_user)(
                user=self.scope["user"], run_id=self.run_id
            )
        except Http404:
            await self.close(code=4404)
            return
        self.group = live.run_group(self.run_id)
        self.sent_row_ids: set[int] = set()
        self.pending_row_ids: set[int] = set()
        self.flush_task: asyncio.Task[None] | None = None
        self.last_push = 0.0
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        # The current state first, then the stream: rows finished before we joined are in it.
        html, shown = await database_sync_to_async(render_initial_state)(run_id=self.run_id)
        self.sent_row_ids.update(shown)
        self.last_push = time.monotonic()
        await self.send(text_data=html)

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)
        if getattr(self, "flush_task", None) is not None:
            self.flush_task.cancel()

    async def run_rows(self, event: dict) -> None:
        self.pending_row_ids.update(event["row_ids"])
        if self.flush_task is None or self.flush_task.done():
            self.flush_task = asyncio.create_task(self._flush_later())

    async def _flush_later(self) -> None:
        delay = self.last_push + live.PUSH_INTERVAL_SECONDS - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        row_ids, self.pending_row_ids = self.pending_row_ids, set()
        html = await database_sync_to_async(render_update)(
            run_id=self.run_id, row_ids=sorted(row_ids), already_sent=set(self.sent_row_ids)
        )
        self.sent_row_ids.update(row_ids)
        self.last_push = time.monotonic()
        await self.send(text_data=html)
        if self.pending_row_ids:
            self.flush_task = asyncio.create_task(self._flush_later())
