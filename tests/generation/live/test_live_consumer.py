"""The run websocket: access first, then the current state, then coalesced pushes rendered from
the database; the page it drives stays bounded and shows every row once.

What a test of timing measures is the consumer's own timeline: its clock is virtual
(``LiveTime``), so a loaded machine cannot make it flake, and seconds of streaming pass at once."""

import asyncio
import re
from datetime import timedelta
from html.parser import HTMLParser

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.test import Client
from django.utils import timezone

from config.asgi import application
from generation import live, selectors, services
from generation.live import consumers, fragments
from generation.live.consumers import RunConsumer
from generation.models import Row, Run
from tests.fakes.clock import VirtualClock

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


def finish(run, indices, *, status=Row.Status.GENERATED, errors=None):
    rows = list(run.rows.filter(index__in=indices).order_by("index"))
    for row in rows:
        Row.objects.filter(pk=row.pk).update(
            status=status,
            values={"topic": f"value-{row.index}"},
            errors=errors or {},
            finished_at=timezone.now(),
        )
    return [row.pk for row in rows]


async def connect(user, run, query=""):
    client = Client()
    await database_sync_to_async(client.force_login)(user)
    communicator = WebsocketCommunicator(
        application,
        f"/ws/runs/{run.pk}/" + (f"?{query}" if query else ""),
        headers=[
            (b"origin", b"http://127.0.0.1"),
            (b"host", b"127.0.0.1"),
            (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode()),
        ],
    )
    connected, code = await communicator.connect(timeout=5)
    return communicator, connected if connected else code


class LiveTime:
    """Virtual time for the run sockets of a test (the consumer reads ``live.clock`` and sleeps
    through ``live.sleep``). It moves only when the test advances it, and only once every socket
    has handled each message published since it joined (``live.publish_rows``, by the test or a
    service) and is asleep or idle; each sleeper due on the way wakes at its time. A render of
    a push costs ``RENDER_SECONDS`` of it, as it takes time on a real machine. What a socket
    sends is collected once the work of each wake-up is done, with the time then: the time it
    was sent (``take``)."""

    RENDER_SECONDS = 0.005

    def __init__(self, monkeypatch):
        self.clock = VirtualClock()
        self.published = 0
        # Each open socket's consumer → [messages published before it joined, messages handled].
        self.sockets: dict[RunConsumer, list[int]] = {}
        self.received: dict[WebsocketCommunicator, list[tuple[float, str]]] = {}
        monkeypatch.setattr(live, "clock", self.clock)
        monkeypatch.setattr(live, "sleep", self.clock.sleep)
        self._spy(monkeypatch)

    def _spy(self, monkeypatch):
        original_connect, original_disconnect = RunConsumer.connect, RunConsumer.disconnect
        original_run_rows, original_render = RunConsumer.run_rows, consumers.render_update
        original_publish = live.publish_rows

        async def publish_rows(run_id, row_ids):
            self.published += 1
            await original_publish(run_id, row_ids)

        async def connect(consumer):
            await original_connect(consumer)
            if hasattr(consumer, "page"):  # accepted
                self.sockets[consumer] = [self.published, 0]

        async def disconnect(consumer, code):
            self.sockets.pop(consumer, None)
            await original_disconnect(consumer, code)

        async def run_rows(consumer, event):
            self.sockets[consumer][1] += 1
            await original_run_rows(consumer, event)

        def render_update(**kwargs):
            self.clock.spend(self.RENDER_SECONDS)
            return original_render(**kwargs)

        monkeypatch.setattr(RunConsumer, "connect", connect)
        monkeypatch.setattr(RunConsumer, "disconnect", disconnect)
        monkeypatch.setattr(RunConsumer, "run_rows", run_rows)
        monkeypatch.setattr(consumers, "render_update", render_update)
        monkeypatch.setattr(live, "publish_rows", publish_rows)

    async def connect(self, user, run):
        """An open socket and the state it was sent first."""
        communicator, connected = await connect(user, run)
        assert connected is True
        self.received[communicator] = []
        return communicator, await communicator.receive_from(timeout=5)

    async def advance(self, seconds):
        await self.settle()
        until = self.clock() + seconds
        while self.clock.wake_next(until):
            await self.settle()
        self.clock.now = max(self.clock(), until)

    def take(self, communicator):
        """What the socket was sent since the last take, with the (virtual) time of each."""
        received, self.received[communicator] = self.received[communicator], []
        return received

    async def settle(self):
        """Until every socket is idle or asleep (in real time; bounded, for a consumer that hangs),
        then collect what they sent."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 30
        while not all(self._idle(consumer) for consumer in list(self.sockets)):
            assert loop.time() < deadline, "a socket neither slept nor went idle"
            await asyncio.sleep(0.001)
        for communicator, received in self.received.items():
            while not communicator.output_queue.empty():
                received.append((self.clock(), await communicator.receive_from()))

    def _idle(self, consumer):
        joined_at, handled = self.sockets[consumer]
        if handled < self.published - joined_at:
            return False
        task = consumer.flush_task
        if task is not None and task.done() and not task.cancelled() and task.exception():
            raise task.exception()
        return task is None or task.done() or self.clock.asleep(task)


@pytest.fixture
def live_time(monkeypatch):
    return LiveTime(monkeypatch)


def row_ids_in(html):
    return re.findall(r'<article[^>]* id="row-(\d+)"', html)


class PageModel(HTMLParser):
    """The row list of a page as htmx would leave it after each pushed message: top-level
    elements are swapped out of band by id (replace, prepend into #run-rows); the rows named
    by #run-rows-trim are taken out (static/js/studio.js)."""

    def __init__(self):
        super().__init__()
        self.rows: list[str] = []
        self.appearances: dict[str, int] = {}
        self.fragments: set[str] = set()

    def apply(self, html):
        self._depth = 0
        self._top = None
        self._ids = []
        self._ops = []
        self.feed(html)
        self.close()
        for oob, top_id, ids, removed in self._ops:
            if top_id == "run-rows":
                self.rows = ids
            elif top_id == "run-rows-trim":
                for row_id in removed:
                    assert row_id in self.rows, f"delete of a row the page does not show: {row_id}"
                    self.rows.remove(row_id)
            elif oob == "afterbegin:#run-rows":
                assert not set(ids) & set(self.rows), "a prepended row is already shown"
                self.rows = ids + self.rows
            elif top_id and top_id.startswith("row-"):
                assert top_id in self.rows, f"in-place swap of a row the page lacks: {top_id}"
            else:
                self.fragments.add(top_id)
            if top_id == "run-rows" or oob == "afterbegin:#run-rows":
                for row_id in ids:
                    self.appearances[row_id] = self.appearances.get(row_id, 0) + 1
        assert len(self.rows) == len(set(self.rows)), "a row is shown twice"

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if self._depth == 0:
            removed = (attrs.get("data-remove") or "").split()
            self._top = [attrs.get("hx-swap-oob"), attrs.get("id"), [], removed]
            self._ops.append(self._top)
        elif tag == "article" and "row-card" in (attrs.get("class") or ""):
            self._top[2].append(attrs["id"])
        self._depth += 1

    def handle_endtag(self, tag):
        self._depth -= 1

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        self._depth -= 1


def newest_row_ids(run, limit=live.LIVE_ROWS_SHOWN):
    rows = run.rows.exclude(status=Row.Status.PENDING).order_by("-finished_at", "-index")
    return [f"row-{pk}" for pk in rows.values_list("pk", flat=True)[:limit]]


# ---- access -------------------------------------------------------------------------------------


async def test_a_collaborator_watches_the_run(project, owner, collaborator):
    run = await database_sync_to_async(make_run)(project, owner, rows=3)
    communicator, connected = await connect(collaborator, run)
    assert connected is True
    assert 'id="run-counters"' in await communicator.receive_from(timeout=5)
    await communicator.disconnect()


async def test_a_strangers_socket_is_closed_before_it_joins_the_group(
    project, owner, stranger, monkeypatch
):
    run = await database_sync_to_async(make_run)(project, owner, rows=3)
    layer = get_channel_layer()
    joined = []
    original = layer.group_add

    async def spy(group, channel):
        joined.append(group)
        await original(group, channel)

    monkeypatch.setattr(layer, "group_add", spy)
    communicator, result = await connect(stranger, run)
    assert result == 4404
    assert joined == []
    await communicator.disconnect()


async def test_an_anonymous_socket_is_closed(project, owner):
    run = await database_sync_to_async(make_run)(project, owner, rows=3)
    communicator = WebsocketCommunicator(
        application,
        f"/ws/runs/{run.pk}/",
        headers=[(b"origin", b"http://127.0.0.1"), (b"host", b"127.0.0.1")],
    )
    connected, code = await communicator.connect(timeout=5)
    assert connected is False and code == 4404
    await communicator.disconnect()


# ---- late join, coalescing ------------------------------------------------------------------------


async def test_late_joiner_gets_current_state_then_coalesced_updates_without_duplicates(
    project, owner, live_time
):
    run = await database_sync_to_async(make_run)(project, owner)
    early = await database_sync_to_async(finish)(run, range(5))
    communicator, initial = await live_time.connect(owner, run)
    assert 'id="run-counters"' in initial and "5 / 60 rows" in initial
    assert sorted(row_ids_in(initial)) == sorted(str(pk) for pk in early)

    # 50 rows finish in a burst, each announced separately, as workers do.
    later = await database_sync_to_async(finish)(run, range(5, 55))
    for pk in later:
        await live.publish_rows(run.pk, [pk])
    await live_time.advance(1.0)
    messages = [html for _, html in live_time.take(communicator)]
    await communicator.disconnect()

    # Coalesced: a burst within one interval is one push, not 50.
    assert len(messages) == 1
    [push] = messages
    assert sorted(row_ids_in(push)) == sorted(str(pk) for pk in later)  # every row exactly once
    assert 'id="run-counters"' in push and "55 / 60 rows" in push
    assert 'hx-swap-oob="afterbegin:#run-rows"' in push


def rows_counted(html, total):
    """The "N / total rows" of each counters fragment in ``html``."""
    return [int(n) for n in re.findall(rf"(\d+) / {total} rows", html)]


async def test_counters_of_a_big_run_are_recomputed_sparingly_and_the_page_ends_exact(
    project, owner, monkeypatch, live_time
):
    """Counters that cost 60 ms (a run of a few hundred thousand rows) are recomputed at most
    once per 10 × 60 ms while rows stream in; a push that reused them is followed by one that
    shows the truth, with no new row needed; what the page counts never goes backwards."""
    cost = 0.06
    calls = []

    def slow_counters(*, run):
        calls.append(live_time.clock())
        live_time.clock.spend(cost)
        return selectors.run_counters(run=run)

    monkeypatch.setattr(fragments, "run_counters", slow_counters)
    run = await database_sync_to_async(make_run)(project, owner, rows=100)
    # The counters are computed now, and kept for 0.6 s.
    communicator, initial = await live_time.connect(owner, run)

    # Three rows finish at once: their push comes within 0.6 s, with the counters kept...
    for pk in await database_sync_to_async(finish)(run, range(3)):
        await live.publish_rows(run.pk, [pk])
    await live_time.advance(1.5)
    first = [html for _, html in live_time.take(communicator)]
    assert len(row_ids_in(first[0])) == 3
    # ...and a later push, with no new row, shows them counted.
    assert rows_counted("".join(first), 100)[-1:] == [3]

    calls.clear()
    for start in range(3, 43, 2):  # 40 more rows over 2 s
        for pk in await database_sync_to_async(finish)(run, range(start, start + 2)):
            await live.publish_rows(run.pk, [pk])
        await live_time.advance(0.1)
    await live_time.advance(1.5)
    pushes = [html for _, html in live_time.take(communicator)]
    await communicator.disconnect()

    assert len(pushes) >= 6  # the rows stream: every push brings its rows
    assert len([pk for html in pushes for pk in row_ids_in(html)]) == 40
    gaps = [later - earlier for earlier, later in zip(calls, calls[1:], strict=False)]
    assert min(gaps) >= fragments.COUNTERS_COST_FACTOR * cost - 1e-9, gaps  # 10 × their cost
    assert len(calls) < len(pushes)
    shown = rows_counted("".join([initial, *first, *pushes]), 100)
    assert shown == sorted(shown), shown  # never backwards
    assert shown[-1] == 43


async def test_a_steady_stream_is_pushed_at_most_five_times_a_second(project, owner, live_time):
    run = await database_sync_to_async(make_run)(project, owner, rows=300)
    communicator, _ = await live_time.connect(owner, run)
    page = PageModel()

    # About 200 rows a second for 1.5 s, one announcement per row.
    for start in range(0, 300, 10):
        for pk in await database_sync_to_async(finish)(run, range(start, start + 10)):
            await live.publish_rows(run.pk, [pk])
        await live_time.advance(0.05)
    await live_time.advance(1.0)
    received = live_time.take(communicator)
    await communicator.disconnect()

    times = [at for at, _ in received]
    gaps = [later - earlier for earlier, later in zip(times, times[1:], strict=False)]
    # Pushes begin an interval apart (and their renders cost the same): never two closer...
    assert min(gaps) >= live.PUSH_INTERVAL_SECONDS - 1e-9, gaps
    most_in_a_second = max(sum(1 for t in times if start <= t < start + 1.0) for start in times)
    assert most_in_a_second <= 1 / live.PUSH_INTERVAL_SECONDS, gaps
    # ...yet a push every interval while rows come: a steady stream, not a wait for quiet.
    assert max(gaps) < 2 * live.PUSH_INTERVAL_SECONDS, gaps
    assert len(received) >= 1.5 / live.PUSH_INTERVAL_SECONDS
    for _, html in received:
        page.apply(html)
    assert len(page.rows) == live.LIVE_ROWS_SHOWN  # bounded
    assert page.rows == await database_sync_to_async(newest_row_ids)(run)
    assert all(count == 1 for count in page.appearances.values())


async def test_the_page_keeps_only_the_newest_rows_and_deletes_the_rest(project, owner, live_time):
    run = await database_sync_to_async(make_run)(project, owner, rows=130)
    await database_sync_to_async(finish)(run, range(30))
    communicator, initial = await live_time.connect(owner, run)
    page = PageModel()
    page.apply(initial)
    assert len(page.rows) == 30
    for start in (30, 70, 110):
        pks = await database_sync_to_async(finish)(run, range(start, start + 20))
        await live.publish_rows(run.pk, pks)
        await live_time.advance(0.5)
        for _, html in live_time.take(communicator):
            page.apply(html)
        assert len(page.rows) == min(live.LIVE_ROWS_SHOWN, start + 20)
    await communicator.disconnect()
    assert page.rows == await database_sync_to_async(newest_row_ids)(run)


async def test_a_reconnecting_page_gets_the_whole_state_again_and_replaces_its_rows(
    project, owner, live_time
):
    run = await database_sync_to_async(make_run)(project, owner, rows=40)
    page = PageModel()
    first, state = await live_time.connect(owner, run)
    page.apply(state)
    pks = await database_sync_to_async(finish)(run, range(10))
    await live.publish_rows(run.pk, pks)
    await live_time.advance(0.5)
    for _, html in live_time.take(first):
        page.apply(html)
    await first.disconnect()  # the socket drops; rows go on finishing meanwhile

    await database_sync_to_async(finish)(run, range(10, 25))
    second, state = await live_time.connect(owner, run)
    assert re.search(r'<div id="run-rows" class="rows" hx-swap-oob="true">', state)
    page.apply(state)
    pks = await database_sync_to_async(finish)(run, range(25, 30))
    await live.publish_rows(run.pk, pks)
    await live_time.advance(0.5)
    for _, html in live_time.take(second):
        page.apply(html)
    await second.disconnect()

    assert page.rows == await database_sync_to_async(newest_row_ids)(run)
    assert len(page.rows) == 30  # no gap
    assert len(set(page.rows)) == 30  # no duplicate


# ---- what a push carries ------------------------------------------------------------------------


async def test_a_changed_row_is_swapped_in_place_not_added_again(project, owner, live_time):
    run = await database_sync_to_async(make_run)(project, owner, rows=2)
    [pk] = await database_sync_to_async(finish)(run, [0])
    communicator, _ = await live_time.connect(owner, run)
    await database_sync_to_async(
        lambda: Row.objects.filter(pk=pk).update(review_status=Row.Review.ACCEPTED)
    )()
    await live.publish_rows(run.pk, [pk])
    await live_time.advance(1.0)
    [(_, update)] = live_time.take(communicator)
    await communicator.disconnect()
    assert f'id="row-{pk}" hx-swap-oob="true"' in update
    assert "afterbegin" not in update
    # Only what changed travels: the counters (accepted 1), not the untouched controls.
    assert 'id="run-counters"' in update
    assert 'id="run-controls"' not in update and 'id="run-errors"' not in update


async def test_nothing_is_sent_when_nothing_changed(project, owner, live_time):
    run = await database_sync_to_async(make_run)(project, owner, rows=2)
    communicator, _ = await live_time.connect(owner, run)
    await live.publish_rows(run.pk, [])
    await live_time.advance(1.0)
    assert live_time.take(communicator) == []
    await communicator.disconnect()


async def test_a_retried_row_that_finishes_again_moves_to_the_top(project, owner):
    run = await database_sync_to_async(make_run)(project, owner, rows=3)
    [failed] = await database_sync_to_async(finish)(
        run, [0], status=Row.Status.FAILED, errors={"topic": "Boom"}
    )
    await database_sync_to_async(finish)(run, [1])
    communicator, _ = await connect(owner, run)
    page = PageModel()
    page.apply(await communicator.receive_from(timeout=5))
    assert page.rows[-1] == f"row-{failed}"

    def retry_and_finish():
        Row.objects.filter(pk=failed).update(
            status=Row.Status.GENERATED, errors={}, finished_at=timezone.now() + timedelta(0, 1)
        )

    await database_sync_to_async(retry_and_finish)()
    await live.publish_rows(run.pk, [failed])
    update = await communicator.receive_from(timeout=5)
    await communicator.disconnect()
    assert re.search(rf'id="run-rows-trim"[^>]* data-remove="row-{failed}"', update)
    page.apply(update)
    assert page.rows[0] == f"row-{failed}"
    assert len(page.rows) == 2


async def test_pause_from_one_page_reaches_every_open_page(project, owner, collaborator, live_time):
    run = await database_sync_to_async(make_run)(project, owner, rows=3)
    first, state = await live_time.connect(owner, run)
    assert 'id="run-pause"' in state
    second, state = await live_time.connect(collaborator, run)
    assert 'id="run-pause"' in state
    await database_sync_to_async(services.run_pause)(run=run)  # publishes once committed
    await live_time.advance(1.0)
    for communicator in (first, second):
        [(_, update)] = live_time.take(communicator)
        assert 'id="run-status">Paused<' in update
        assert 'id="run-resume"' in update and 'id="run-pause"' not in update
        await communicator.disconnect()


async def test_errors_are_grouped_by_message_with_a_retry_for_each(project, owner):
    run = await database_sync_to_async(make_run)(project, owner, rows=6)
    await database_sync_to_async(finish)(
        run, range(3), status=Row.Status.FAILED, errors={"q": "Rate limited"}
    )
    await database_sync_to_async(finish)(
        run, [3], status=Row.Status.FAILED, errors={"q": "Bad <key>"}
    )
    await database_sync_to_async(lambda: Run.objects.filter(pk=run.pk).update(status="failed"))()
    communicator, _ = await connect(owner, run)
    initial = await communicator.receive_from(timeout=5)
    await communicator.disconnect()
    errors = re.search(r'<section id="run-errors".*?</section>', initial, re.S).group(0)
    assert re.search(r"3×</span>\s*<span class=\"message\">Rate limited<", errors)
    assert "Bad &lt;key&gt;" in errors and "Bad <key>" not in errors
    assert errors.count("Retry these") == 2


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


async def test_a_page_waiting_for_cached_counters_renders_once_per_interval_not_in_a_loop(
    project, owner, monkeypatch, live_time
):
    """Counters that cost 0.5 s are kept up to 5 s; a push that reused them asks for another
    render. Renders that send nothing are spaced like pushes, so a watching page costs the
    database one render per interval meanwhile, not a render loop."""

    def slow_counters(*, run):
        live_time.clock.spend(0.5)
        return selectors.run_counters(run=run)

    monkeypatch.setattr(fragments, "run_counters", slow_counters)
    renders = []
    counted_render = consumers.render_update

    def render_update(**kwargs):
        renders.append(live_time.clock())
        return counted_render(**kwargs)

    monkeypatch.setattr(consumers, "render_update", render_update)
    run = await database_sync_to_async(make_run)(project, owner, rows=10)
    communicator, _ = await live_time.connect(owner, run)
    for pk in await database_sync_to_async(finish)(run, range(2)):
        await live.publish_rows(run.pk, [pk])
    await live_time.advance(6.0)
    pushes = [html for _, html in live_time.take(communicator)]
    await communicator.disconnect()
    assert rows_counted("".join(pushes), 10)[-1:] == [2]  # the page still ends exact
    assert len(renders) <= 6.0 / live.PUSH_INTERVAL_SECONDS + 2, len(renders)


async def test_a_page_showing_one_panel_gets_that_panel_and_no_rows_or_counters(
    project, owner, live_time
):
    # An evaluation's page shows the run's evaluations panel only: the run page's other
    # fragments would be out-of-band swaps without a target there (errors in the console).
    run = await database_sync_to_async(make_run)(project, owner, rows=3)
    communicator, connected = await connect(owner, run, "panel=run-evaluations")
    assert connected is True
    first = await communicator.receive_from(timeout=5)
    assert 'id="run-evaluations"' in first
    assert 'id="run-counters"' not in first and "row-card" not in first
    row_ids = await database_sync_to_async(finish)(run, [0, 1])
    await live.publish_rows(run.pk, row_ids)
    await live_time.advance(1.0)
    assert await communicator.receive_nothing(timeout=0.2)
    await communicator.disconnect()


async def test_a_panel_nobody_registered_is_refused(project, owner):
    run = await database_sync_to_async(make_run)(project, owner, rows=1)
    communicator, result = await connect(owner, run, "panel=run-secrets")
    assert result == 4404
    await communicator.disconnect()
