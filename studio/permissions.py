"""Who may do what in a project: the one role matrix.

Pure (no Django): the selectors (studio/generation/evaluation ``*_get_for_user``) look up the
member's role and ask ``role_may``; templates ask the same table through the ``may`` filter
(studio/templatetags/roles.py). There is no second definition anywhere, so a page never shows a
button its API refuses, nor the other way round. docs/architecture.md has the same table.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """A member's role; the same values as ``studio.models.Membership.Role``."""

    OWNER = "owner"
    EDITOR = "editor"
    REVIEWER = "reviewer"
    VIEWER = "viewer"


class Action(StrEnum):
    """What a request does to a project. Every route that fetches a project object names one."""

    # See the project, its schemas, runs, rows, costs and live page; download exports.
    VIEW = "view"
    # Accept, reject or edit rows.
    REVIEW_ROWS = "review_rows"
    # Create, edit, save, restore and import schemas; preview; upload seed files.
    DESIGN = "design"
    # Start (with a budget too), pause, resume, cancel, retry failed rows.
    OPERATE_RUNS = "operate_runs"
    # Create, re-run and cancel evaluations of a run (a judge's calls are paid for).
    EVALUATE = "evaluate"
    # Change a run's budget after it started: it spends the owner's money.
    CHANGE_BUDGET = "change_budget"
    # Create, edit, delete and test provider credentials (keys go where their base URL says).
    MANAGE_CREDENTIALS = "manage_credentials"
    DELETE_SEED_FILES = "delete_seed_files"
    PUSH_TO_HUB = "push_to_hub"
    # Rename, delete, add and remove members.
    MANAGE_PROJECT = "manage_project"


_ALL = frozenset(Role)
_WRITERS = frozenset({Role.OWNER, Role.EDITOR})
_OWNER = frozenset({Role.OWNER})

ALLOWED: dict[Action, frozenset[Role]] = {
    Action.VIEW: _ALL,
    Action.REVIEW_ROWS: frozenset({Role.OWNER, Role.EDITOR, Role.REVIEWER}),
    Action.DESIGN: _WRITERS,
    Action.OPERATE_RUNS: _WRITERS,
    Action.EVALUATE: _WRITERS,
    Action.CHANGE_BUDGET: _OWNER,
    Action.MANAGE_CREDENTIALS: _OWNER,
    Action.DELETE_SEED_FILES: _OWNER,
    Action.PUSH_TO_HUB: _OWNER,
    Action.MANAGE_PROJECT: _OWNER,
}

# What a refused member reads (a 403 page, or the API's {"detail": ...}).
_REFUSALS: dict[Action, str] = {
    Action.VIEW: "view this project",
    Action.REVIEW_ROWS: "review rows",
    Action.DESIGN: "change schemas, preview them or upload seed files",
    Action.OPERATE_RUNS: "start or control runs",
    Action.EVALUATE: "create, re-run or cancel evaluations",
    Action.CHANGE_BUDGET: "change a run's budget",
    Action.MANAGE_CREDENTIALS: "manage provider credentials",
    Action.DELETE_SEED_FILES: "delete seed files",
    Action.PUSH_TO_HUB: "push to the Hugging Face Hub",
    Action.MANAGE_PROJECT: "manage this project",
}


def role_may(role: str | None, action: Action) -> bool:
    """Whether a member with ``role`` may do ``action``; no role (not a member) may do nothing.
    An unknown role (a value from a newer version, a typo in the admin) may do nothing either."""
    if role is None or role not in Role.__members__.values():
        return False
    return Role(role) in ALLOWED[action]


def member_removal_action(*, removing_self: bool) -> Action:
    """Leaving a project needs only to be in it; removing someone else is managing it."""
    return Action.VIEW if removing_self else Action.MANAGE_PROJECT


def allowed_roles(action: Action) -> list[Role]:
    """The roles that may do ``action``, strongest first (for messages and docs)."""
    return [role for role in Role if role in ALLOWED[action]]


def refusal_message(role: str, action: Action) -> str:
    allowed = ", ".join(allowed_roles(action))
    return f"Your role in this project ({role}) may not {_REFUSALS[action]}; allowed: {allowed}."
