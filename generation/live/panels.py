"""Panels other apps add to the run page and the row panel: the evaluations of a run, a row's
scores. Registered when their app is ready (evaluation/apps.py), so generation knows nothing of
the apps that use it; the run's socket keeps a run panel live like the run's own fragments
(live/fragments.py: rendered from the database, pushed only when changed)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from generation.models import Row, Run

# (run, out of band?) → the HTML of one element whose id is the panel's fragment id.
RunPanel = Callable[["Run", bool], str]
# row → HTML shown in the row's detail panel ("" for nothing).
RowPanel = Callable[["Row"], str]
# rows → row id → small HTML badges for the row's card (one query for a page of rows).
RowBadges = Callable[[Sequence["Row"]], dict[int, list[str]]]

_RUN_PANELS: dict[str, RunPanel] = {}
_ROW_PANELS: dict[str, RowPanel] = {}
_ROW_BADGES: dict[str, RowBadges] = {}


def register_run_panel(fragment_id: str, render: RunPanel) -> None:
    _RUN_PANELS[fragment_id] = render


def register_row_panel(name: str, render: RowPanel) -> None:
    _ROW_PANELS[name] = render


def register_row_badges(name: str, badges: RowBadges) -> None:
    _ROW_BADGES[name] = badges


def with_badges(rows: Sequence[Row]) -> Sequence[Row]:
    """Sets ``row.badges`` (HTML strings) on each row, for the row card; returns the rows."""
    found: dict[int, list[str]] = {}
    if rows:
        for badges in _ROW_BADGES.values():
            for row_id, html in badges(rows).items():
                found.setdefault(row_id, []).extend(html)
    for row in rows:
        row.badges = found.get(row.pk, [])  # type: ignore[attr-defined]
    return rows


def run_panels(run: Run, *, oob: bool = False) -> dict[str, str]:
    """Fragment id → HTML, in registration order."""
    return {fragment_id: render(run, oob) for fragment_id, render in _RUN_PANELS.items()}


def has_run_panel(fragment_id: str) -> bool:
    return fragment_id in _RUN_PANELS


def run_panel(run: Run, fragment_id: str, *, oob: bool = False) -> str:
    return _RUN_PANELS[fragment_id](run, oob)


def row_panels(row: Row) -> list[str]:
    return [html for render in _ROW_PANELS.values() if (html := render(row))]
