"""Each broker's instrument master onto the platform's one contract: Kite's CSV and Angel One's ScripMaster."""

import datetime as dt
from decimal import Decimal

import pytest

from brokers.adapters.live import broker_symbol
from brokers.fakes.dumps import angel_scrip_master, angel_symbol, kite_csv
from brokers.instruments import (
    InstrumentDumpError,
    load_angelone_instruments,
    load_zerodha_instruments,
    parse_angel_scrip_master,
    parse_kite_instruments,
)
from market.models import Instrument
from tests.factories import OptionInstrumentFactory

AS_OF = dt.date(2026, 11, 23)
WEEKLY, MONTHLY = dt.date(2026, 12, 1), dt.date(2026, 12, 29)


def contract(expiry, strike, option_type, symbol):
    return {"underlying": "NIFTY", "expiry": expiry, "strike": strike, "option_type": option_type,
            "exchange": "NFO", "lot_size": 65, "tradingsymbol": symbol}  # fmt: skip


CONTRACTS = [
    contract(WEEKLY, 26000, "PE", "NIFTY26D0126000PE"),
    contract(WEEKLY, 26000, "CE", "NIFTY26D0126000CE"),
    contract(MONTHLY, 26500, "CE", "NIFTY26DEC26500CE"),
    contract(dt.date(2026, 11, 17), 26000, "CE", "NIFTY26N1726000CE"),  # expired
]
INDICES = [{"exchange": "NSE", "tradingsymbol": "NIFTY 50"}]


def test_kite_csv_parses_to_contracts_with_symbol_and_token():
    rows = parse_kite_instruments(kite_csv(CONTRACTS, INDICES))
    options = [r for r in rows if r.is_option]
    assert [(r.symbol, r.expiry, r.strike, r.option_type, r.lot_size) for r in options][0] == (
        "NIFTY26D0126000PE",
        WEEKLY,
        Decimal("26000"),
        "PE",
        65,
    )
    assert [r.symbol for r in rows if not r.is_option] == ["NIFTY 50"]


def test_angel_scrip_master_strikes_are_in_paise_and_expiries_ddmonyyyy():
    rows = parse_angel_scrip_master(angel_scrip_master(CONTRACTS, INDICES))
    first = next(r for r in rows if r.is_option)
    assert (first.symbol, first.expiry, first.strike, first.tick_size) == (
        "NIFTY01DEC2626000PE",
        WEEKLY,
        Decimal("26000.00"),
        Decimal("0.05"),
    )
    assert [r.symbol for r in rows if not r.is_option] == ["Nifty 50"]


def test_a_broken_dump_is_refused_naming_what_is_wrong():
    with pytest.raises(InstrumentDumpError, match="lacks the columns"):
        parse_kite_instruments("a,b\n1,2\n")
    with pytest.raises(InstrumentDumpError, match="not JSON"):
        parse_angel_scrip_master("{oops")


def test_both_brokers_map_onto_the_same_contract_and_add_the_missing_ones(db, tmp_path):
    listed = OptionInstrumentFactory(tradingsymbol="NIFTY26D0126000PE", expiry=WEEKLY, strike=26000, option_type="PE")
    index = Instrument.objects.create(exchange="NSE", tradingsymbol="NIFTY 50", kind="INDEX", underlying="NIFTY")
    kite_file, angel_file = tmp_path / "kite.csv", tmp_path / "angel.json"
    kite_file.write_text(kite_csv(CONTRACTS, INDICES))
    angel_file.write_text(angel_scrip_master(CONTRACTS, INDICES))

    lines = []
    load_zerodha_instruments(as_of=AS_OF, path=kite_file, out=lines.append)
    load_angelone_instruments(as_of=AS_OF, path=angel_file, out=lines.append)
    assert lines[0] == "ZERODHA: 3 option contracts read, 2 added, 2 given ZERODHA symbols and tokens"

    listed.refresh_from_db()
    assert broker_symbol(listed, "ZERODHA")[0] == "NIFTY26D0126000PE"
    assert broker_symbol(listed, "ANGELONE")[0] == "NIFTY01DEC2626000PE"
    assert Instrument.objects.filter(kind="OPTION").count() == 3  # one contract each, whoever lists it
    monthly = Instrument.objects.get(expiry=MONTHLY)
    assert monthly.tradingsymbol == "NIFTY26DEC26500CE" and monthly.freeze_quantity == listed.freeze_quantity
    assert broker_symbol(monthly, "ANGELONE")[0] == angel_symbol("NIFTY", MONTHLY, Decimal(26500), "CE")
    index.refresh_from_db()
    assert set(index.broker_tokens) == {"ZERODHA", "ANGELONE"}
    assert not Instrument.objects.filter(expiry=dt.date(2026, 11, 17)).exists()


def test_the_kite_dump_is_fetched_through_the_sdk_from_kites_root(db, live_settings, tmp_path):
    from brokers.fakes.process import FakeProcess

    csv_file = tmp_path / "nfo.csv"
    csv_file.write_text(kite_csv(CONTRACTS[:2]))
    fake = FakeProcess("kite", "--instruments", f"NFO={csv_file}")
    try:
        live_settings.KITE_API_ROOT = fake.url
        summary = load_zerodha_instruments(as_of=AS_OF, out=lambda line: None)
    finally:
        fake.stop()
    assert summary.startswith("ZERODHA: 2 option contracts read, 2 added")


def test_load_instruments_runs_each_brokers_source_from_a_saved_dump(db, tmp_path):
    from io import StringIO

    from django.core.management import CommandError, call_command

    kite_file, angel_file = tmp_path / "kite.csv", tmp_path / "angel.json"
    kite_file.write_text(kite_csv(CONTRACTS, INDICES))
    angel_file.write_text(angel_scrip_master(CONTRACTS, INDICES))
    out = StringIO()
    call_command("load_instruments", "--broker", "zerodha", "--file", str(kite_file), "--date", str(AS_OF), stdout=out)
    call_command(
        "load_instruments", "--broker", "angelone", "--file", str(angel_file), "--date", str(AS_OF), stdout=out
    )
    assert "ZERODHA: 3 option contracts read, 3 added" in out.getvalue()
    assert Instrument.objects.filter(kind="OPTION").count() == 3
    assert all(set(i.broker_tokens) == {"ZERODHA", "ANGELONE"} for i in Instrument.objects.filter(kind="OPTION"))

    with pytest.raises(CommandError, match="reads no file"):
        call_command("load_instruments", "--file", str(kite_file), "--date", str(AS_OF), stdout=StringIO())
    with pytest.raises(CommandError, match="missing.csv"):
        call_command(
            "load_instruments", "--broker", "zerodha", "--file", str(tmp_path / "missing.csv"), stdout=StringIO()
        )
