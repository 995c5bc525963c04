"""Money in JSON documents (execution results, the cause of a monitor's exit) is written exactly, never as a float."""

import datetime as dt
import json
from collections import namedtuple
from decimal import Decimal

import pytest
from django.db import connection

from config.db import bulk_insert
from config.money import DecimalJSONEncoder, exact
from execution.models import Execution
from tests.factories import StrategyFactory, UserFactory

BIG = Decimal("12345678901234567.89")  # a float keeps 17 significant digits: 12345678901234568


def test_a_decimal_is_written_as_the_number_it_spells():
    text = json.dumps({"premium": Decimal("100.05"), "big": BIG, "lots": 3, "none": None}, cls=DecimalJSONEncoder)
    assert text == '{"premium": 100.05, "big": 12345678901234567.89, "lots": 3, "none": null}'
    assert json.dumps({"premium": float(BIG)}) != '{"premium": 12345678901234567.89}'  # what floats did


def test_everything_else_is_written_as_the_standard_encoder_writes_it():
    Pair = namedtuple("Pair", "a b")
    value = {"b": [1, 2.5, "x\u00e9"], "a": Pair(1, 2), "t": (1,)}
    assert json.dumps(value, cls=DecimalJSONEncoder, sort_keys=True) == json.dumps(value, sort_keys=True)
    with pytest.raises(TypeError):
        json.dumps({"when": dt.date(2026, 11, 23)}, cls=DecimalJSONEncoder)


def test_exact_turns_money_into_decimals():
    assert exact(None) is None and exact(Decimal("1.10")) == Decimal("1.10") and exact(2) == Decimal(2)
    assert str(exact("0.1")) == "0.1"


def _stored_text(execution, key):
    with connection.cursor() as cursor:
        cursor.execute("SELECT execution_results ->> %s FROM execution_execution WHERE id = %s", [key, execution.pk])
        return cursor.fetchone()[0]


def _execution(**fields):
    due = dt.datetime(2026, 11, 23, 4, 0, tzinfo=dt.UTC)
    return Execution(
        strategy=StrategyFactory(owner=UserFactory()), execution_type="ENTRY", execution_date=due.date(),
        execution_time=dt.time(9, 30), due_at=due, **fields,
    )  # fmt: skip


@pytest.mark.django_db
def test_execution_results_keep_money_exact_in_the_database():
    execution = _execution(execution_results={"total_premium": BIG, "trigger": {"ltp": Decimal("100.05")}})
    execution.save()
    assert _stored_text(execution, "total_premium") == "12345678901234567.89"
    execution.refresh_from_db()
    assert execution.execution_results["trigger"]["ltp"] == 100.05  # read back as before: a JSON number


@pytest.mark.django_db
def test_the_bulk_insert_keeps_money_exact_too():
    execution = _execution(execution_results={"total_premium": BIG})
    bulk_insert([execution])
    assert _stored_text(execution, "total_premium") == "12345678901234567.89"
