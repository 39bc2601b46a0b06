"""The review table's filter module: each filter, combinations, every sort and its keyset
cursors (paging forwards and backwards gives the rows once each, in order)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from evaluation.table_filter import (
    Cursor,
    CursorError,
    ScoreFilter,
    Sort,
    TableFilter,
    cursor_text,
    parse_cursor,
)
from evaluation.table_forms import parse_sort
from evaluation.table_selectors import table_context, table_page, table_rows
from generation.models import Row


def _indexes(world, table: TableFilter, user_id=None) -> list[int]:
    run = world[0]
    rows = table_rows(run=run, table=table, context=table_context(run=run), user_id=user_id)
    return list(rows.values_list("index", flat=True))


def test_sort_params_read_back():
    for text in ("index", "-index", "time", "-time", "score:4", "-length:question"):
        assert parse_sort(text).param() == text


@pytest.mark.parametrize(
    "sort, value, index",
    [
        (Sort("index"), 7, 7),
        (Sort("time"), datetime(2026, 1, 1, 0, 3, tzinfo=UTC), 3),
        (Sort("score", "4"), 0.30000000000000004, 3),
        (Sort("score", "4", descending=True), None, 9),
        (Sort("length", "question"), 12, 2),
    ],
)
def test_cursors_read_back(sort, value, index):
    cursor = parse_cursor(sort, cursor_text(sort, value, index))
    expected = float(value) if isinstance(value, int) and sort.by != "index" else value
    assert cursor == Cursor(None if sort.by == "index" else expected, index)


@pytest.mark.parametrize("text", ["", "x", "-1", "nan~3", "inf~2", "1~", "2026-13-01~1", "9" * 20])
def test_broken_cursors_are_refused(text):
    with pytest.raises(CursorError):
        parse_cursor(Sort("score", "1") if "~" in text else Sort("time"), text or "~")
    if text in ("", "x", "-1"):
        with pytest.raises(CursorError):
            parse_cursor(Sort("index"), text)


@pytest.mark.django_db
def test_no_filter_shows_every_row_in_index_order(world):
    assert _indexes(world, TableFilter()) == list(range(12))


@pytest.mark.django_db
def test_status_and_review_filters(world, owner, collaborator):
    run = world[0]
    run.rows.filter(index=0).update(status=Row.Status.FAILED)
    run.rows.filter(index__in=[1, 2]).update(review_status="accepted", reviewed_by=owner)
    run.rows.filter(index=3).update(review_status="rejected", reviewed_by=collaborator)
    assert _indexes(world, TableFilter(status="failed")) == [0]
    assert _indexes(world, TableFilter(review="accepted")) == [1, 2]
    assert _indexes(world, TableFilter(review="rejected")) == [3]
    assert _indexes(world, TableFilter(review="unreviewed", status="generated")) == list(
        range(4, 12)
    )
    assert _indexes(world, TableFilter(review="mine"), owner.pk) == [1, 2]
    assert _indexes(world, TableFilter(review="mine"), collaborator.pk) == [3]


@pytest.mark.django_db
def test_score_range_and_pass_fail(world):
    judge = world[1].pk
    assert _indexes(world, TableFilter(scores=(ScoreFilter(judge, low=0.3, high=0.6),))) == [
        3,
        4,
        5,
        6,
    ]
    assert _indexes(world, TableFilter(scores=(ScoreFilter(judge, passed=False),))) == list(
        range(5)
    )
    both = (ScoreFilter(judge, high=0.6), ScoreFilter(world[2].pk, passed=False))
    assert _indexes(world, TableFilter(scores=both)) == [3]


@pytest.mark.django_db
def test_duplicates_flag(world):
    assert _indexes(world, TableFilter(duplicates=True)) == [2, 3]
    assert len(_indexes(world, TableFilter(duplicates=False))) == 10


@pytest.mark.django_db
def test_text_search_looks_at_the_values_and_the_edit(world):
    run = world[0]
    row = run.rows.get(index=5)
    row.edited_values = dict(row.values, question="A whale of a question")
    row.save()
    assert _indexes(world, TableFilter(search="WHALE")) == [5]
    assert _indexes(world, TableFilter(search="answer 1")) == [1, 10, 11]
    assert _indexes(world, TableFilter(search="Question 5")) == []  # the edit replaced it
    assert _indexes(world, TableFilter(search="x" * 500)) == []


@pytest.mark.django_db
def test_category_value_and_edited(world):
    assert _indexes(world, TableFilter(column="topic", value="oceans")) == [1, 3, 5, 7, 9, 11]
    run = world[0]
    run.rows.filter(index__in=[3, 4]).update(edited_values={"topic": "space"})
    assert _indexes(world, TableFilter(edited=True)) == [3, 4]
    assert _indexes(world, TableFilter(edited=False, column="topic", value="oceans")) == [
        1,
        5,
        7,
        9,
        11,
    ]


@pytest.mark.django_db
def test_filters_combine(world):
    table = TableFilter(
        column="topic",
        value="space",
        scores=(ScoreFilter(world[1].pk, low=0.2),),
        search="?",
        duplicates=False,
    )
    assert _indexes(world, table) == [4, 6, 8, 10]


@pytest.mark.django_db
def test_sorts(world):
    judge = world[1].pk
    world[0].rows.filter(index=6).update(finished_at=None)
    assert _indexes(world, TableFilter(sort=Sort("index", descending=True)))[:3] == [11, 10, 9]
    assert _indexes(world, TableFilter(sort=Sort("time", descending=True)))[:3] == [11, 10, 9]
    assert _indexes(world, TableFilter(sort=Sort("time")))[-1] == 6  # no time: last
    assert _indexes(world, TableFilter(sort=Sort("score", str(judge), True)))[:2] == [11, 10]
    assert _indexes(world, TableFilter(sort=Sort("length", "question", True)))[0] == 11


@pytest.mark.django_db
@pytest.mark.parametrize(
    "sort",
    ["index", "-index", "time", "-time", "score:{judge}", "-score:{judge}", "length:question"],
)
def test_keyset_pages_walk_every_row_once_both_ways(world, sort):
    run, judge, _ = world
    run.rows.filter(index__in=[4, 7]).update(finished_at=None)
    run.rows.get(index=8).scores.filter(evaluation=judge).delete()
    run.rows.filter(index=9).update(values={"question": "Question 1?"})  # a tie with row 1
    table = TableFilter(sort=parse_sort(sort.format(judge=judge.pk)), page_size=5)
    rows = table_rows(run=run, table=table, context=table_context(run=run), user_id=None)
    expected = list(rows.values_list("index", flat=True))
    pages, after = [], ""
    while True:
        page = table_page(rows=rows, table=table, after=after)
        assert page.count == 12
        pages.append([row.index for row in page.rows])
        if not page.next_cursor:
            break
        after = page.next_cursor
    assert [index for chunk in pages for index in chunk] == expected
    assert len(pages) == 3
    back = table_page(rows=rows, table=table, before=page.previous_cursor)
    assert [row.index for row in back.rows] == pages[1]
    assert back.next_cursor and back.previous_cursor
