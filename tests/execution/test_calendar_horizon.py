"""The calendar knows its horizon: seed_calendar and holiday-list imports set each exchange's "confirmed until",
days past it trade as ordinary weekdays marked unconfirmed, and from 30 days before it a daily readiness
alert names the command to run. Every test pins its clock."""

import datetime as dt
from io import StringIO

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from execution.models import Alert, Execution
from execution.services import readiness, schedule
from market.models import CalendarHorizon, Holiday
from tests.factories import UserFactory, iron_condor

from .conftest import allocate_seed_001

IST = dt.timezone(dt.timedelta(hours=5, minutes=30))
DEC_02 = dt.datetime(2026, 12, 2, 9, 45, tzinfo=IST)  # 29 days before the bundled data ends
LIST_2027 = (
    "date,exchange,description\n"
    "2027-01-26,NSE,Republic Day\n"
    "2027-01-26,BSE,Republic Day\n"
    "2027-03-22,NSE,Holi\n"
    "2027-03-22,BSE,Holi\n"
)


@pytest.fixture
def clock():
    with time_machine.travel(DEC_02, tick=False) as traveller:
        yield traveller


@pytest.fixture
def holiday_file(tmp_path):
    path = tmp_path / "holidays-2027.csv"
    path.write_text(LIST_2027)
    return path


def seed(*args):
    out, err = StringIO(), StringIO()
    call_command("seed_calendar", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def horizon(exchange="NSE"):
    return CalendarHorizon.objects.get(exchange=exchange).confirmed_until


def condor_every_day(owner):
    strategy = iron_condor(owner=owner)
    strategy.entry_days = ["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY"]
    strategy.save()
    allocate_seed_001(strategy, owner)
    return strategy


# --- seeding and imports -----------------------------------------------------------------------------------


def test_the_bundled_calendar_confirms_each_exchange_to_the_end_of_its_data(db, clock):
    out, err = seed("--from-year", "2026", "--to-year", "2027")
    assert horizon("NSE") == horizon("BSE") == dt.date(2026, 12, 31)
    assert "NSE: holidays confirmed until 31 Dec 2026" in out
    # 29 days left: the command itself says what to do next.
    assert "python manage.py seed_calendar --file holidays-2027.csv" in err


def test_a_published_list_adds_its_holidays_and_moves_the_horizon_to_the_end_of_its_year(db, clock, holiday_file):
    seed("--from-year", "2026", "--to-year", "2026")
    out, err = seed("--file", str(holiday_file))
    assert set(Holiday.objects.filter(date__year=2027).values_list("exchange", "date")) == {
        ("NSE", dt.date(2027, 1, 26)),
        ("BSE", dt.date(2027, 1, 26)),
        ("NSE", dt.date(2027, 3, 22)),
        ("BSE", dt.date(2027, 3, 22)),
    }
    assert horizon("NSE") == horizon("BSE") == dt.date(2027, 12, 31)
    assert "added 4 holidays, kept 0" in out
    assert err == ""  # 394 days left: nothing to do


def test_loading_the_same_list_twice_adds_nothing_and_keeps_ops_edits(db, clock, holiday_file):
    seed("--file", str(holiday_file))
    Holiday.objects.filter(exchange="NSE", date=dt.date(2027, 3, 22)).update(description="Holi (edited by ops)")
    out, _ = seed("--file", str(holiday_file))
    assert "added 0 holidays, kept 4" in out
    assert Holiday.objects.filter(date__year=2027).count() == 4
    assert Holiday.objects.get(exchange="NSE", date=dt.date(2027, 3, 22)).description == "Holi (edited by ops)"


def test_an_older_source_never_takes_the_horizon_back(db, clock, holiday_file):
    seed("--file", str(holiday_file))
    seed("--from-year", "2026", "--to-year", "2026")
    assert horizon("NSE") == dt.date(2027, 12, 31)


def test_a_bad_list_loads_nothing_and_names_the_line(db, clock, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("2027-01-26,NSE,Republic Day\n2027-13-01,NSE,Typo\n")
    with pytest.raises(CommandError, match="line 2: date"):
        seed("--file", str(path))
    assert not Holiday.objects.exists() and not CalendarHorizon.objects.exists()
    with pytest.raises(CommandError, match="No such file"):
        seed("--file", str(tmp_path / "missing.csv"))


def test_the_admin_imports_the_same_list_and_shows_the_horizon(admin_client, clock):
    seed("--from-year", "2026", "--to-year", "2026")
    changelist = admin_client.get(reverse("admin:market_calendarhorizon_changelist"))
    assert changelist.status_code == 200
    assert b"seed_calendar --file holidays-2027.csv" in changelist.content  # readiness banner, 29 days left
    assert b"Import holiday list" in changelist.content

    upload = SimpleUploadedFile("nse-2027.csv", LIST_2027.encode(), content_type="text/csv")
    response = admin_client.post(reverse("admin:market_calendarhorizon_import"), {"file": upload}, follow=True)
    assert response.status_code == 200
    assert b"Added 4 holidays, kept 0" in response.content
    assert horizon("NSE") == dt.date(2027, 12, 31)

    bad = SimpleUploadedFile("bad.csv", b"2027-01-26,MCX,Republic Day\n", content_type="text/csv")
    response = admin_client.post(reverse("admin:market_calendarhorizon_import"), {"file": bad})
    assert response.status_code == 200 and b"line 1: exchange" in response.content


def test_a_view_only_staff_user_cannot_import(db, client, clock):
    from django.contrib.auth.models import Permission

    staff = UserFactory(username="viewer", is_staff=True)
    staff.user_permissions.add(*Permission.objects.filter(codename__in=["view_calendarhorizon", "view_holiday"]))
    client.force_login(staff)
    upload = SimpleUploadedFile("nse-2027.csv", LIST_2027.encode(), content_type="text/csv")
    response = client.post(reverse("admin:market_calendarhorizon_import"), {"file": upload})
    assert response.status_code == 403
    assert not Holiday.objects.exists()


# --- the readiness alert -----------------------------------------------------------------------------------


def test_from_thirty_days_before_the_horizon_each_trader_gets_one_alert_a_day(db, clock):
    CalendarHorizon.objects.create(exchange="NSE", confirmed_until=dt.date(2026, 12, 31))
    CalendarHorizon.objects.create(exchange="BSE", confirmed_until=dt.date(2026, 12, 31))
    trader, idle = UserFactory(username="trader"), UserFactory(username="idle")
    condor_every_day(trader)

    assert readiness.calendar_readiness_alert(now=DEC_02) == 1
    assert readiness.calendar_readiness_alert(now=DEC_02 + dt.timedelta(hours=6)) == 0  # once a day
    alert = Alert.objects.get(kind="CALENDAR")
    assert alert.owner == trader and alert.severity == "WARNING"
    assert "NSE holidays are confirmed until 31 Dec 2026 (29 days left)" in alert.message
    assert "python manage.py seed_calendar --file holidays-2027.csv" in alert.message
    assert not Alert.objects.filter(owner=idle).exists()

    clock.move_to(DEC_02 + dt.timedelta(days=1))
    assert readiness.calendar_readiness_alert(now=DEC_02 + dt.timedelta(days=1)) == 1
    # Past the horizon it is critical.
    clock.move_to(dt.datetime(2027, 1, 4, 8, 0, tzinfo=IST))
    assert readiness.calendar_readiness_alert(now=dt.datetime(2027, 1, 4, 8, 0, tzinfo=IST)) == 1
    assert Alert.objects.filter(kind="CALENDAR").latest("created_at").severity == "CRITICAL"


def test_no_alert_while_the_horizon_is_more_than_thirty_days_away(db):
    CalendarHorizon.objects.create(exchange="NSE", confirmed_until=dt.date(2026, 12, 31))
    CalendarHorizon.objects.create(exchange="BSE", confirmed_until=dt.date(2026, 12, 31))
    condor_every_day(UserFactory(username="trader"))
    with time_machine.travel(dt.datetime(2026, 11, 30, 8, 0, tzinfo=IST), tick=False):
        assert readiness.calendar_readiness_alert(now=dt.datetime(2026, 11, 30, 8, 0, tzinfo=IST)) == 0


def test_the_dashboard_and_the_admin_index_show_the_readiness_message(client, admin_client, clock):
    seed("--from-year", "2026", "--to-year", "2026")
    trader = UserFactory(username="trader")
    client.force_login(trader)
    page = client.get(reverse("execution:dashboard"))
    assert b'data-testid="calendar-readiness"' in page.content
    assert b"seed_calendar --file holidays-2027.csv" in page.content
    assert b"seed_calendar --file holidays-2027.csv" in admin_client.get(reverse("admin:index")).content


def test_the_market_status_api_carries_each_exchanges_horizon(clock, api):
    CalendarHorizon.objects.create(exchange="NSE", confirmed_until=dt.date(2026, 12, 31))
    body = api.get("/api/v1/market/status/").json()
    assert body["calendar"] == [
        {"exchange": "NSE", "confirmed_until": "2026-12-31", "days_left": 29, "state": "DUE"},
        {"exchange": "BSE", "confirmed_until": None, "days_left": None, "state": "UNKNOWN"},
    ]
    assert "BSE has no confirmed holiday calendar" in body["readiness"]
    assert body["feeds"] == []


# --- the schedule across the horizon ----------------------------------------------------------------------


def test_days_past_the_horizon_trade_as_weekdays_marked_unconfirmed_until_the_list_is_loaded(
    clock, client, api, user, holiday_file
):
    seed("--from-year", "2026", "--to-year", "2026")
    condor_every_day(user)
    client.force_login(user)

    # Republic Day 2027 is past the horizon: an ordinary, unconfirmed weekday with its entry planned.
    day = api.get("/api/v1/options/executions/schedule/", {"date": "2027-01-26"}).json()
    assert day["is_trading_day"]["NSE"] is True and day["is_confirmed"] == {"NSE": False, "BSE": False}
    assert [e["execution_type"] for e in day["executions"]] == ["ENTRY"]
    december = api.get("/api/v1/options/executions/schedule/", {"date": "2026-12-31"}).json()
    assert december["is_confirmed"] == {"NSE": True, "BSE": True}

    page = client.get(reverse("execution:schedule"), {"from": "2026-12-28"}).content.decode()
    week = page.split('<section class="card">')[1:]
    marked = ['data-testid="unconfirmed"' in section for section in week]
    assert marked == [False, False, False, False, True, False, False]  # Mon 28 … Thu 31 confirmed, Fri 1 Jan not
    assert "Holidays confirmed until: NSE 31 Dec 2026, BSE 31 Dec 2026" in page

    seed("--file", str(holiday_file))
    day = api.get("/api/v1/options/executions/schedule/", {"date": "2027-01-26"}).json()
    assert day["is_trading_day"]["NSE"] is False and day["holidays"] == ["NSE", "BSE"]
    assert day["is_confirmed"] == {"NSE": True, "BSE": True} and day["executions"] == []
    page = client.get(reverse("execution:schedule"), {"from": "2027-01-25"}).content.decode()
    assert 'data-testid="unconfirmed"' not in page and 'data-testid="holiday"' in page


def test_the_engine_materializes_no_entry_on_a_loaded_holiday_past_the_old_horizon(db, holiday_file):
    trader = UserFactory(username="trader")
    condor_every_day(trader)
    with time_machine.travel(dt.datetime(2026, 12, 2, 9, 45, tzinfo=IST), tick=False):
        seed("--from-year", "2026", "--to-year", "2026")
        seed("--file", str(holiday_file))
    republic_day = dt.datetime(2027, 1, 26, 9, 28, tzinfo=IST)  # the entry is due at 09:30
    with time_machine.travel(republic_day, tick=False):
        schedule.executions_materialize(now=republic_day)
    assert not Execution.objects.filter(execution_date=dt.date(2027, 1, 26)).exists()
    # And the next day, an ordinary trading day, does get its entry.
    next_day = dt.datetime(2027, 1, 27, 9, 28, tzinfo=IST)
    with time_machine.travel(next_day, tick=False):
        schedule.executions_materialize(now=next_day)
    assert Execution.objects.filter(execution_date=dt.date(2027, 1, 27), execution_type="ENTRY").exists()
