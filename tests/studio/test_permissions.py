"""The role matrix's pure rules (the full per-route matrix is in tests/test_access.py)."""

from __future__ import annotations

import pytest

from studio.permissions import Action, Role, refusal_message, role_may
from studio.templatetags.roles import may


@pytest.mark.parametrize("action", list(Action))
def test_no_role_and_an_unknown_role_may_do_nothing(action: Action) -> None:
    assert role_may(None, action) is False
    assert role_may("admin", action) is False
    assert role_may("", action) is False


@pytest.mark.parametrize("action", list(Action))
def test_the_owner_may_do_everything(action: Action) -> None:
    assert role_may(Role.OWNER, action) is True
    assert role_may("owner", action) is True


def test_a_refusal_names_the_role_what_it_may_not_do_and_who_may() -> None:
    assert refusal_message("editor", Action.MANAGE_CREDENTIALS) == (
        "Your role in this project (editor) may not manage provider credentials; allowed: owner."
    )
    assert refusal_message("viewer", Action.REVIEW_ROWS) == (
        "Your role in this project (viewer) may not review rows; allowed: owner, editor, reviewer."
    )


class _Project:
    """Stands in for a project the access check went through (or not)."""

    def __init__(self, role: str | None = None) -> None:
        if role is not None:
            self.member_role = role


def test_the_template_filter_asks_the_same_matrix_and_hides_when_no_check_was_made() -> None:
    assert may(_Project("editor"), "design") is True
    assert may(_Project("editor"), "push_to_hub") is False
    assert may(_Project(), "view") is False  # fail closed: a project no check went through
    with pytest.raises(ValueError):
        may(_Project("owner"), "push_to_hubb")  # a typo in a template is an error, not a hide
