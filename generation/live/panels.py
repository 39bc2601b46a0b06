"""Panels other apps add to the run page and the row panel: the evaluations of a run, a row's
scores. Registered when their app is ready (evaluation/apps.py), so generation knows nothing of
the apps that use it; the run's socket keeps a run panel live like the run's own fragments
(live/fragments.py: rendered from the database, pushed only when changed)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from generation.models import Row, Run

# (run, out of band?) → the HTML of one element whose id is the panel's fragment id.
RunPanel = Callable[["Run", bool], str]
# row → HTML shown in the row's detail panel ("" for nothing).
RowPanel = Callable[["Row"], str]

_RUN_PANELS: dict[str, RunPanel] = {}
_ROW_PANELS: dict[str, RowPanel] = {}


def register_run_panel(fragment_id: str, render: RunPanel) -> None:
    _RUN_PANELS[fragment_id] = render


def register_row_panel(name: str, render: RowPanel) -> None:
    _ROW_PANELS[name] = render


def run_panels(run: Run, *, oob: bool = False) -> dict[str, str]:
    """Fragment id → HTML, in registration order."""
    return {fragment_id: render(run, oob) for fragment_id, render in _RUN_PANELS.items()}


def row_panels(row: Row) -> list[str]:
    return [html for render in _ROW_PANELS.values() if (html := render(row))]
