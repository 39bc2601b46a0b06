"""An owner manages a project's members in a real browser: adds a reviewer by e-mail, changes
their role, removes them (confirming); the reviewer sees the list and a "Leave project" button.
Screenshots of the Members section at desktop and phone width go to shots/ (for a person to
look at) besides the failure screenshots of the suite."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.test_walkthrough import PASSWORD, create_project, sign_up

pytestmark = pytest.mark.browser

SHOTS = Path(__file__).resolve().parents[2] / "shots"


def sign_up_with_email(page: Page, base_url: str, username: str, email: str) -> None:
    page.goto(base_url + "/signup/")
    page.fill("#id_username", username)
    page.fill("#id_email", email)
    page.fill("#id_password1", PASSWORD)
    page.fill("#id_password2", PASSWORD)
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_role("button", name=f"Sign out {username}")).to_be_visible()


def snap(page: Page, name: str) -> None:
    """The Members section at desktop width, then at 390 px (a phone), then back."""
    SHOTS.mkdir(exist_ok=True)
    section = page.locator("#members")
    section.screenshot(path=str(SHOTS / f"members-{name}-desktop.png"))
    page.set_viewport_size({"width": 390, "height": 844})
    section.screenshot(path=str(SHOTS / f"members-{name}-390.png"))
    page.set_viewport_size({"width": 1280, "height": 900})


def test_owner_adds_a_reviewer_by_email_changes_the_role_and_removes_them(
    browser, page: Page, studio_server
) -> None:
    base, tag = studio_server.url, uuid.uuid4().hex[:6]
    reviewer_name, email = f"rev-{tag}", f"Rev.{tag}@example.org"
    other = browser.new_context(viewport={"width": 1280, "height": 900})
    reviewer_page = other.new_page()
    sign_up_with_email(reviewer_page, base, reviewer_name, email)

    sign_up(page, base, f"own-{tag}")
    project_url = create_project(page, f"Team {tag}")
    members = page.locator("#members")
    expect(members.get_by_role("heading", name="Members")).to_be_visible()

    # A name nobody has: the error stands beside the field, nothing is added.
    page.fill("#id_identifier", f"nobody-{tag}@example.org")
    members.get_by_role("button", name="Add member").click()
    expect(members.get_by_text("No user with that username or e-mail")).to_be_visible()
    snap(page, "error")

    page.fill("#id_identifier", email.upper())
    page.select_option("#id_role", "reviewer")
    members.get_by_role("button", name="Add member").click()
    expect(members.get_by_role("status")).to_have_text(f"Added {reviewer_name} as reviewer.")
    row = members.locator(f'tr[data-member="{reviewer_name}"]')
    expect(row.get_by_label(f"Role of {reviewer_name}")).to_have_value("reviewer")
    expect(page.locator("#id_identifier")).to_have_value("")  # a fresh form for the next one
    snap(page, "owner")

    # The reviewer sees the list, no controls, and may leave.
    reviewer_page.goto(project_url)
    their = reviewer_page.locator("#members")
    expect(their.get_by_text(f"own-{tag}")).to_be_visible()
    expect(their.get_by_role("button", name="Leave project")).to_be_visible()
    expect(their.get_by_role("button", name="Add member")).to_have_count(0)
    expect(their.locator("select")).to_have_count(0)
    snap(reviewer_page, "reviewer")

    row.get_by_label(f"Role of {reviewer_name}").select_option("editor")
    row.get_by_role("button", name="Change").click()
    expect(members.get_by_role("status")).to_have_text(f"{reviewer_name} is now editor.")

    page.once("dialog", lambda dialog: dialog.accept())
    members.get_by_role("button", name=f"Remove {reviewer_name}").click()
    expect(members.get_by_role("status")).to_have_text(f"Removed {reviewer_name} from the project.")
    expect(members.locator(f'tr[data-member="{reviewer_name}"]')).to_have_count(0)

    # Removed: the project is gone for them at once.
    response = reviewer_page.goto(project_url)
    assert response is not None and response.status == 404
    assert page.js_errors == []  # type: ignore[attr-defined]
    other.close()
