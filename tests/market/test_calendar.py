import datetime as dt

import pytest

from market.calendar import (
    CalendarError,
    due_instant,
    is_trading_day,
    monthly_expiry_dates,
    next_trading_days,
    previous_trading_day,
    session_for,
    weekly_expiry_dates,
)

D = dt.date
REPUBLIC_DAY_2026 = D(2026, 1, 26)  # a Monday
NO_HOLIDAYS: set[dt.date] = set()


def test_saturday_and_sunday_are_not_trading_days():
    assert not is_trading_day(D(2026, 1, 24), NO_HOLIDAYS)
    assert not is_trading_day(D(2026, 1, 25), NO_HOLIDAYS)


def test_an_ordinary_weekday_is_a_trading_day():
    assert is_trading_day(D(2026, 1, 27), NO_HOLIDAYS)


def test_a_weekday_holiday_is_not_a_trading_day():
    assert not is_trading_day(REPUBLIC_DAY_2026, {REPUBLIC_DAY_2026})


def test_a_weekend_with_a_dated_session_is_a_trading_day():
    budget_saturday = D(2025, 2, 1)
    assert is_trading_day(budget_saturday, NO_HOLIDAYS, {budget_saturday: (dt.time(9, 15), dt.time(15, 30))})


def test_a_weekday_without_a_dated_session_has_the_regular_hours():
    assert session_for(D(2026, 1, 27), NO_HOLIDAYS, {}) == (dt.time(9, 15), dt.time(15, 30))


def test_a_dated_session_replaces_the_regular_hours():
    short_day = D(2026, 1, 27)
    assert session_for(short_day, NO_HOLIDAYS, {short_day: (dt.time(9, 15), dt.time(13, 0))}) == (
        dt.time(9, 15),
        dt.time(13, 0),
    )


def test_a_holiday_has_no_session_even_when_a_session_row_exists():
    sessions = {REPUBLIC_DAY_2026: (dt.time(9, 15), dt.time(15, 30))}
    assert session_for(REPUBLIC_DAY_2026, {REPUBLIC_DAY_2026}, sessions) is None


def test_a_weekend_without_a_dated_session_has_no_session():
    assert session_for(D(2026, 1, 24), NO_HOLIDAYS, {}) is None


def test_previous_trading_day_skips_the_weekend_and_a_holiday():
    assert previous_trading_day(D(2026, 1, 27), {REPUBLIC_DAY_2026}) == D(2026, 1, 23)


def test_next_trading_days_start_with_the_start_day_and_skip_closures():
    assert next_trading_days(D(2026, 1, 23), 3, {REPUBLIC_DAY_2026}) == [D(2026, 1, 23), D(2026, 1, 27), D(2026, 1, 28)]


def test_weekly_expiries_fall_on_the_given_weekday():
    assert weekly_expiry_dates(D(2026, 11, 30), "TUESDAY", 3, NO_HOLIDAYS) == [
        D(2026, 12, 1),
        D(2026, 12, 8),
        D(2026, 12, 15),
    ]


def test_weekly_expiries_include_the_start_day_when_it_is_an_expiry():
    assert weekly_expiry_dates(D(2026, 12, 1), "TUESDAY", 1, NO_HOLIDAYS) == [D(2026, 12, 1)]


def test_a_weekly_expiry_on_a_holiday_moves_to_the_previous_trading_day():
    expiries = weekly_expiry_dates(D(2026, 11, 30), "TUESDAY", 3, {D(2026, 12, 8)})
    assert expiries == [D(2026, 12, 1), D(2026, 12, 7), D(2026, 12, 15)]


def test_an_expiry_moved_before_the_start_day_is_no_longer_listed():
    # Tuesday 8 Dec is a holiday, so that week's contract expired on Monday 7 Dec.
    assert weekly_expiry_dates(D(2026, 12, 8), "TUESDAY", 1, {D(2026, 12, 8)}) == [D(2026, 12, 15)]


def test_a_holiday_on_monday_and_tuesday_moves_the_expiry_to_friday():
    assert weekly_expiry_dates(D(2026, 12, 2), 1, 1, {D(2026, 12, 7), D(2026, 12, 8)}) == [D(2026, 12, 4)]


def test_monthly_expiry_is_the_last_such_weekday_of_the_month():
    assert monthly_expiry_dates(D(2026, 11, 1), "TUESDAY", 3, NO_HOLIDAYS) == [
        D(2026, 11, 24),
        D(2026, 12, 29),
        D(2027, 1, 26),
    ]


def test_a_monthly_expiry_on_a_holiday_moves_to_the_previous_trading_day():
    republic_day_2027 = D(2027, 1, 26)  # the last Tuesday of January 2027
    assert monthly_expiry_dates(D(2027, 1, 1), "TUESDAY", 1, {republic_day_2027}) == [D(2027, 1, 25)]


def test_monthly_expiries_start_next_month_once_this_months_has_passed():
    assert monthly_expiry_dates(D(2026, 12, 30), "THURSDAY", 1, NO_HOLIDAYS) == [D(2026, 12, 31)]
    assert monthly_expiry_dates(D(2027, 1, 1), "THURSDAY", 1, NO_HOLIDAYS) == [D(2027, 1, 28)]


def test_due_instant_converts_0930_ist_to_0400_utc():
    instant = due_instant(D(2026, 12, 1), dt.time(9, 30))
    assert instant == dt.datetime(2026, 12, 1, 4, 0, tzinfo=dt.UTC)
    assert instant.utcoffset() == dt.timedelta(0)


def test_due_instant_before_0530_ist_falls_on_the_previous_utc_day():
    assert due_instant(D(2026, 12, 1), dt.time(5, 0)) == dt.datetime(2026, 11, 30, 23, 30, tzinfo=dt.UTC)


def test_an_unknown_weekday_is_refused():
    with pytest.raises(CalendarError):
        weekly_expiry_dates(D(2026, 12, 1), "FUNDAY", 1, NO_HOLIDAYS)
