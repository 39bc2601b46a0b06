"""A budget beyond its column, saved on SQLite before forms and API refused one, made every
page of its project fail; the migration clears it (no limit) and the pages answer again."""

import importlib
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model

from generation.models import Run
from studio.models import Project
from tests.fixtures import SqlEditor

migration = importlib.import_module("generation.migrations.0009_clear_budgets_beyond_their_column")


@pytest.mark.django_db(databases=["default", "embedded"])
def test_the_migration_clears_budgets_the_column_cannot_hold_and_keeps_the_others():
    owner = get_user_model().objects.db_manager("embedded").create_user("owner")
    project = Project.objects.using("embedded").create(name="p", owner=owner)
    runs = {
        budget: Run.objects.using("embedded").create(
            project=project, schema_name="s", spec_snapshot={}, seed=1, num_rows=1
        )
        for budget in ("2.5", "99999999.9999", "123456789012345", "1e20")
    }
    for budget, run in runs.items():  # as the old code let SQLite store them
        Run.objects.using("embedded").filter(pk=run.pk).update(budget_usd=Decimal(budget))
    with pytest.raises(ArithmeticError):  # decimal.InvalidOperation: what every page hit
        list(Run.objects.using("embedded").values_list("budget_usd", flat=True))

    migration.clear_budgets_beyond_their_column(None, SqlEditor("embedded"))

    kept = dict(Run.objects.using("embedded").values_list("pk", "budget_usd"))
    assert kept == {
        runs["2.5"].pk: Decimal("2.5"),
        runs["99999999.9999"].pk: Decimal("99999999.9999"),
        runs["123456789012345"].pk: None,
        runs["1e20"].pk: None,
    }
