"""A custom price beyond its column, saved on SQLite before it was refused, broke every read of
its credential; the migration clears it (the price table applies again)."""

import importlib
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model

from studio.models import Project, ProviderCredential
from tests.fixtures import SqlEditor

migration = importlib.import_module("studio.migrations.0005_clear_prices_beyond_their_column")


@pytest.mark.django_db(databases=["default", "embedded"])
def test_the_migration_clears_prices_the_column_cannot_hold_and_keeps_the_others():
    owner = get_user_model().objects.db_manager("embedded").create_user("owner")
    project = Project.objects.using("embedded").create(name="p", owner=owner)
    credentials = ProviderCredential.objects.using("embedded")
    fair = credentials.create(project=project, name="fair", provider="simulator")
    absurd = credentials.create(project=project, name="absurd", provider="simulator")
    credentials.filter(pk=fair.pk).update(
        input_price_per_million=Decimal("999999.9999"), output_price_per_million=Decimal("2")
    )
    credentials.filter(pk=absurd.pk).update(  # as the old API let SQLite store it
        input_price_per_million=Decimal("1e20"), output_price_per_million=Decimal("3")
    )
    with pytest.raises(ArithmeticError):  # decimal.InvalidOperation: what every read hit
        list(credentials.values_list("input_price_per_million", flat=True))

    migration.clear_prices_beyond_their_column(None, SqlEditor("embedded"))

    prices = {
        c.name: (c.input_price_per_million, c.output_price_per_million) for c in credentials.all()
    }
    assert prices == {
        "fair": (Decimal("999999.9999"), Decimal("2")),
        "absurd": (None, Decimal("3")),
    }
