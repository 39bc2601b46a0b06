"""The demo account exists only in the embedded mode, with a random password printed at start
(never the fixed one of earlier versions), unless STUDIO_DEMO_PASSWORD gives one."""

from __future__ import annotations

import io
import re

import pytest
from django.contrib.auth import get_user_model

from config.management.commands.serve import Command
from studio.demo import DEMO_USERNAME, OLD_FIXED_PASSWORD

pytestmark = pytest.mark.django_db


def _start() -> str:
    """What `serve` prints about the demo account."""
    out = io.StringIO()
    Command(stdout=out).demo_account()
    return out.getvalue()


def _printed_password(output: str) -> str:
    match = re.search(r"the demo account: user 'demo', password '([^']+)'", output)
    assert match, output
    return match.group(1)


def _demo():
    return get_user_model().objects.get(username=DEMO_USERNAME)


def test_services_mode_creates_no_demo_account(settings):
    settings.EMBEDDED = False
    assert _start() == ""
    assert not get_user_model().objects.filter(username=DEMO_USERNAME).exists()


def test_embedded_mode_prints_a_random_password_once(settings):
    settings.EMBEDDED = True
    first = _printed_password(_start())
    assert first != OLD_FIXED_PASSWORD and len(first) >= 12
    assert _demo().check_password(first)
    assert not _demo().check_password(OLD_FIXED_PASSWORD)
    again = _start()
    assert "password '" not in again and "changepassword demo" in again
    assert _demo().check_password(first)  # a restart keeps it
    _demo().delete()
    assert _printed_password(_start()) != first  # another install, another password


def test_an_old_demo_account_with_the_fixed_password_gets_a_new_one(settings):
    settings.EMBEDDED = True
    get_user_model().objects.create_user(DEMO_USERNAME, password=OLD_FIXED_PASSWORD)
    password = _printed_password(_start())
    assert password != OLD_FIXED_PASSWORD
    assert _demo().check_password(password)


def test_the_password_can_be_given_by_the_environment(settings):
    settings.EMBEDDED = True
    settings.STUDIO_DEMO_PASSWORD = "chosen-by-the-tests"
    assert _printed_password(_start()) == "chosen-by-the-tests"
    assert _demo().check_password("chosen-by-the-tests")
