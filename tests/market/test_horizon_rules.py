"""The horizon rules as plain functions: parsing a published holiday list, what it confirms, readiness."""

import datetime as dt

import pytest

from market import horizon

EXCHANGES = ("NSE", "BSE")


def test_a_published_list_parses_with_or_without_a_header_and_in_both_date_styles():
    rows = horizon.parse_holiday_file(
        "date,exchange,description\n2027-01-26,NSE,Republic Day\n26-Jan-2027,bse,Republic Day\n\n# comment\n",
        EXCHANGES,
    )
    assert [(r.date, r.exchange, r.description) for r in rows] == [
        (dt.date(2027, 1, 26), "NSE", "Republic Day"),
        (dt.date(2027, 1, 26), "BSE", "Republic Day"),
    ]
    assert [r.line for r in rows] == [2, 3]
    assert horizon.parse_holiday_file("2027-03-10,NSE,Holi, festival of colours", EXCHANGES)[0].description == (
        "Holi, festival of colours"
    )


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("2027-02-30,NSE,Nope", "line 1: date"),
        ("2027-01-26,MCX,Republic Day", "line 1: exchange"),
        ("2027-01-26", "line 1: expected date, exchange, description"),
        ("date,exchange\n", "no holidays"),
        ("", "no holidays"),
        ("2027-01-26,NSE,a\n2027-01-26,NSE,b", "line 2: date"),
        ("2027-01-26,NSE," + "x" * 121, "line 1: description"),
    ],
)
def test_a_bad_list_is_refused_naming_the_line_and_field(text, names):
    with pytest.raises(horizon.HolidayFileError, match=names):
        horizon.parse_holiday_file(text, EXCHANGES)


def test_a_list_confirms_each_named_exchange_to_the_end_of_its_last_year():
    rows = horizon.parse_holiday_file("2027-01-26,NSE,R\n2028-01-26,NSE,R\n2027-03-04,BSE,M", EXCHANGES)
    assert horizon.covered_until(rows) == {"NSE": dt.date(2028, 12, 31), "BSE": dt.date(2027, 12, 31)}


@pytest.mark.parametrize(
    ("today", "state", "days_left"),
    [
        (dt.date(2026, 11, 30), "OK", 31),
        (dt.date(2026, 12, 1), "DUE", 30),
        (dt.date(2026, 12, 31), "DUE", 0),
        (dt.date(2027, 1, 1), "PASSED", -1),
    ],
)
def test_readiness_starts_thirty_days_before_the_horizon(today, state, days_left):
    status = horizon.horizon_status("NSE", dt.date(2026, 12, 31), today)
    assert (status.state, status.days_left, status.needs_attention) == (state, days_left, state != "OK")


def test_the_readiness_message_names_the_exact_command_and_every_exchange_due():
    statuses = [
        horizon.horizon_status("NSE", dt.date(2026, 12, 31), dt.date(2026, 12, 2)),
        horizon.horizon_status("BSE", dt.date(2027, 12, 31), dt.date(2026, 12, 2)),
        horizon.horizon_status("MCX", None, dt.date(2026, 12, 2)),
    ]
    message = horizon.readiness_message(statuses, example_path="holidays-2027.csv")
    assert "NSE holidays are confirmed until 31 Dec 2026 (29 days left)" in message
    assert "BSE" not in message
    assert "MCX has no confirmed holiday calendar" in message
    assert "python manage.py seed_calendar --file holidays-2027.csv" in message
    assert horizon.readiness_message(statuses[1:2], example_path="x.csv") == ""


def test_days_past_the_horizon_are_unconfirmed():
    assert horizon.is_confirmed(dt.date(2026, 12, 31), dt.date(2026, 12, 31))
    assert not horizon.is_confirmed(dt.date(2027, 1, 26), dt.date(2026, 12, 31))
    assert not horizon.is_confirmed(dt.date(2026, 1, 1), None)
