import datetime as dt
import json
from io import StringIO
from pathlib import Path

import pytest
import time_machine
from django.core.management import call_command

from market.models import Holiday, Instrument, TradingSession

D = dt.date
REPUBLIC_DAY_2026 = D(2026, 1, 26)
AS_OF = "2026-11-30"  # a Monday; NIFTY's next weekly expiries are Tuesdays 1, 8, 15 and 22 December
DATA_FILE = Path(__file__).resolve().parents[2] / "market" / "data" / "underlyings.json"


def seed_2026():
    out = StringIO()
    call_command("seed_calendar", "--from-year", "2026", "--to-year", "2026", stdout=out)
    return out.getvalue()


def load(*args):
    out, err = StringIO(), StringIO()
    call_command("load_instruments", "--date", AS_OF, *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def data_file_spec(underlying):
    specs = json.loads(DATA_FILE.read_text())["underlyings"]
    return next(spec for spec in specs if spec["underlying"] == underlying)


def nifty_options():
    return Instrument.objects.filter(underlying="NIFTY", kind=Instrument.Kind.OPTION)


# seed_calendar


@pytest.mark.django_db
def test_seed_calendar_adds_republic_day_2026_as_a_holiday_on_nse_and_bse():
    seed_2026()
    assert set(Holiday.objects.filter(date=REPUBLIC_DAY_2026).values_list("exchange", flat=True)) == {"NSE", "BSE"}


@pytest.mark.django_db
def test_seed_calendar_adds_a_regular_session_for_a_trading_day():
    seed_2026()
    session = TradingSession.objects.get(exchange="NSE", date=D(2026, 1, 27))
    assert (session.open_time, session.close_time) == (dt.time(9, 15), dt.time(15, 30))


@pytest.mark.django_db
def test_seed_calendar_adds_no_session_on_a_holiday_or_a_weekend():
    seed_2026()
    assert not TradingSession.objects.filter(date__in=[REPUBLIC_DAY_2026, D(2026, 1, 24), D(2026, 1, 25)]).exists()


@pytest.mark.django_db
def test_seed_calendar_second_run_creates_no_rows():
    seed_2026()
    holidays, sessions = Holiday.objects.count(), TradingSession.objects.count()

    output = seed_2026()

    assert (Holiday.objects.count(), TradingSession.objects.count()) == (holidays, sessions)
    assert "NSE: added 0 holidays, 0 sessions" in output


@pytest.mark.django_db
def test_seed_calendar_keeps_a_holiday_description_edited_in_the_admin():
    seed_2026()
    Holiday.objects.filter(exchange="NSE", date=REPUBLIC_DAY_2026).update(description="Republic Day")

    seed_2026()

    assert Holiday.objects.get(exchange="NSE", date=REPUBLIC_DAY_2026).description == "Republic Day"


@pytest.mark.django_db
def test_seed_calendar_keeps_session_times_edited_in_the_admin():
    seed_2026()
    TradingSession.objects.filter(exchange="NSE", date=D(2026, 1, 27)).update(close_time=dt.time(13, 0))

    seed_2026()

    assert TradingSession.objects.get(exchange="NSE", date=D(2026, 1, 27)).close_time == dt.time(13, 0)


@pytest.mark.django_db
def test_seed_calendar_adds_no_session_on_a_day_ops_closed():
    Holiday.objects.create(exchange="NSE", date=D(2026, 1, 27), description="Unscheduled closure")

    seed_2026()

    assert not TradingSession.objects.filter(exchange="NSE", date=D(2026, 1, 27)).exists()
    assert TradingSession.objects.filter(exchange="BSE", date=D(2026, 1, 27)).exists()


@pytest.mark.django_db
def test_seed_calendar_by_default_seeds_this_year_and_next_as_far_as_the_calendar_goes():
    with time_machine.travel(dt.datetime(2026, 6, 1, 6, 0, tzinfo=dt.UTC), tick=False):
        call_command("seed_calendar", stdout=StringIO())

    dates = Holiday.objects.values_list("date", flat=True)
    assert REPUBLIC_DAY_2026 in dates
    assert {day.year for day in dates} == {2026}


@pytest.mark.django_db
def test_seed_calendar_for_years_the_calendar_does_not_cover_adds_nothing():
    err = StringIO()
    call_command("seed_calendar", "--from-year", "2090", "--to-year", "2091", stdout=StringIO(), stderr=err)

    assert not Holiday.objects.exists()
    assert "does not cover" in err.getvalue()


# load_instruments


@pytest.mark.django_db
def test_load_instruments_creates_one_index_row_per_underlying_in_the_data_file():
    load()
    names = [spec["underlying"] for spec in json.loads(DATA_FILE.read_text())["underlyings"]]

    indices = Instrument.objects.filter(kind=Instrument.Kind.INDEX)

    assert sorted(indices.values_list("underlying", flat=True)) == sorted(names)
    nifty = indices.get(underlying="NIFTY")
    assert (nifty.exchange, nifty.tradingsymbol, nifty.lot_size) == ("NSE", "NIFTY 50", 65)


@pytest.mark.django_db
def test_load_instruments_gives_options_the_lot_size_and_freeze_quantity_of_the_data_file():
    load()

    for underlying in ("NIFTY", "BANKNIFTY", "SENSEX"):
        spec = data_file_spec(underlying)
        options = Instrument.objects.filter(underlying=underlying, kind=Instrument.Kind.OPTION)
        assert options.exists()
        assert set(options.values_list("exchange", "lot_size", "freeze_quantity")) == {
            (spec["options_exchange"], spec["lot_size"], spec["freeze_quantity"])
        }


@pytest.mark.django_db
def test_load_instruments_lists_a_call_and_a_put_at_every_strike():
    load("--underlyings", "NIFTY")

    expiry = D(2026, 12, 1)
    calls = set(nifty_options().filter(expiry=expiry, option_type="CE").values_list("strike", flat=True))
    puts = set(nifty_options().filter(expiry=expiry, option_type="PE").values_list("strike", flat=True))
    assert calls == puts
    assert len(calls) == 2 * data_file_spec("NIFTY")["strikes_each_side"] + 1


@pytest.mark.django_db
def test_nifty_weekly_expiries_are_tuesdays():
    load("--underlyings", "NIFTY")

    expiries = sorted(set(nifty_options().values_list("expiry", flat=True)))

    assert expiries[:4] == [D(2026, 12, 1), D(2026, 12, 8), D(2026, 12, 15), D(2026, 12, 22)]
    assert {expiry.weekday() for expiry in expiries} == {1}


@pytest.mark.django_db
def test_banknifty_without_weekly_options_lists_monthly_expiries_only():
    load("--underlyings", "BANKNIFTY")

    expiries = sorted(
        set(Instrument.objects.filter(underlying="BANKNIFTY", kind="OPTION").values_list("expiry", flat=True))
    )

    assert expiries == [D(2026, 12, 29), D(2027, 1, 26), D(2027, 2, 23)]


@pytest.mark.django_db
def test_monthly_contracts_carry_the_monthly_symbol_and_weekly_ones_the_weekly_symbol():
    load("--underlyings", "NIFTY")

    assert nifty_options().get(tradingsymbol="NIFTY26DEC26000CE").expiry == D(2026, 12, 29)
    weekly = nifty_options().get(tradingsymbol="NIFTY26D0126000PE")
    assert (weekly.expiry, weekly.strike, weekly.option_type) == (D(2026, 12, 1), 26000, "PE")
    assert weekly.broker_tokens == {"PAPER": "NIFTY26D0126000PE"}


@pytest.mark.django_db
def test_an_expiry_on_a_holiday_row_moves_to_the_previous_trading_day():
    Holiday.objects.create(exchange="NSE", date=D(2026, 12, 8), description="Test closure")

    load("--underlyings", "NIFTY")

    assert nifty_options().filter(expiry=D(2026, 12, 7)).exists()
    assert not nifty_options().filter(expiry=D(2026, 12, 8)).exists()


@pytest.mark.django_db
def test_load_instruments_warns_and_uses_weekends_only_when_the_holiday_table_is_empty():
    _, err = load("--underlyings", "NIFTY")

    assert "seed_calendar" in err
    assert nifty_options().filter(expiry=D(2026, 12, 1)).exists()


@pytest.mark.django_db
def test_load_instruments_second_run_creates_and_changes_nothing():
    load()
    count = Instrument.objects.count()

    out, _ = load()

    assert Instrument.objects.count() == count
    assert "0 created, 0 updated" in out


@pytest.mark.django_db
def test_load_instruments_restores_a_lot_size_that_differs_from_the_data_file():
    load("--underlyings", "NIFTY")
    nifty_options().filter(expiry=D(2026, 12, 1)).update(lot_size=75, freeze_quantity=1800 + 1)

    load("--underlyings", "NIFTY")

    assert set(nifty_options().values_list("lot_size", "freeze_quantity")) == {(65, 1800)}


@pytest.mark.django_db
def test_load_instruments_keeps_tokens_other_brokers_recorded():
    load("--underlyings", "NIFTY")
    nifty_options().filter(tradingsymbol="NIFTY26DEC26000CE").update(
        broker_tokens={"PAPER": "NIFTY26DEC26000CE", "ZERODHA": "12345"}
    )

    load("--underlyings", "NIFTY")

    assert nifty_options().get(tradingsymbol="NIFTY26DEC26000CE").broker_tokens == {
        "PAPER": "NIFTY26DEC26000CE",
        "ZERODHA": "12345",
    }


@pytest.mark.django_db
def test_load_instruments_marks_expired_contracts_inactive():
    load("--underlyings", "NIFTY")

    out = StringIO()
    call_command("load_instruments", "--date", "2026-12-09", "--underlyings", "NIFTY", stdout=out, stderr=StringIO())

    assert not nifty_options().filter(expiry__lt=D(2026, 12, 9), active=True).exists()
    assert nifty_options().filter(expiry=D(2026, 12, 1), active=False).exists()
    assert nifty_options().filter(expiry=D(2026, 12, 15), active=True).exists()


@pytest.mark.django_db
def test_load_instruments_for_one_underlying_leaves_the_others_out():
    load("--underlyings", "SENSEX")

    assert set(Instrument.objects.values_list("underlying", flat=True)) == {"SENSEX"}
    assert set(Instrument.objects.filter(kind="OPTION").values_list("exchange", flat=True)) == {"BFO"}
