"""Pre-open readiness: from 08:45 IST, a live account whose session will not hold at its first due execution
raises one alert that day, shown on the dashboard; Angel One logs itself in first."""

import datetime as dt
import time

import pytest
import time_machine
from django.test import Client

from brokers import sessions
from brokers.models import BrokerAccount
from execution.models import Alert
from execution.services.session_readiness import sessions_readiness_alert
from tests.brokers.conftest import ANGEL, KITE

IST = dt.timezone(dt.timedelta(hours=5, minutes=30))
MONDAY = dt.date(2026, 11, 23)  # the condor enters at 09:30 IST on Mondays


def at(hour, minute):
    return dt.datetime.combine(MONDAY, dt.time(hour, minute), tzinfo=IST)


@pytest.fixture
def live_accounts(condor, angel_fake, live_settings):
    zerodha = BrokerAccount.objects.get(client_id="ZERODHA123")
    zerodha.broker, zerodha.credentials = "ZERODHA", KITE
    zerodha.save()
    angel = BrokerAccount.objects.get(client_id="ANGELONE456")
    angel.broker, angel.credentials = "ANGELONE", ANGEL
    angel.save()
    return zerodha, angel


def test_before_0845_nothing_is_checked(live_accounts):
    with time_machine.travel(at(8, 40), tick=False):
        assert sessions_readiness_alert(now=at(8, 40)) == 0
    assert not Alert.objects.exists()


def test_an_unconnected_zerodha_account_alerts_once_and_angel_one_logs_itself_in(live_accounts, angel_fake, trader):
    zerodha, angel = live_accounts
    with time_machine.travel(at(8, 46), tick=True):
        angel_fake.control(clock=time.time())
        assert sessions_readiness_alert(now=at(8, 46)) == 1
        assert sessions_readiness_alert(now=at(8, 47)) == 0  # once a day
        (alert,) = Alert.objects.all()
        assert alert.broker_account_id == zerodha.pk and alert.kind == "SESSION" and alert.severity == "CRITICAL"
        assert "09:30 IST" in alert.message and "Connect Zerodha" in alert.message
        assert sessions.session_tokens(BrokerAccount.objects.get(pk=angel.pk))["jwt"]
        client = Client()
        client.force_login(trader)
        assert "no valid session for the entry" in client.get("/dashboard/").content.decode()


def test_a_session_that_holds_past_the_first_execution_raises_nothing(live_accounts, angel_fake):
    zerodha, angel = live_accounts
    with time_machine.travel(at(8, 50), tick=True):
        angel_fake.control(clock=time.time())
        sessions.session_save(account=zerodha, tokens={"access_token": "t"})  # valid until 06:00 tomorrow
        assert sessions_readiness_alert(now=at(8, 50)) == 0


def test_a_refused_angel_login_alerts_with_the_brokers_reason(live_accounts, angel_fake):
    zerodha, angel = live_accounts
    angel.credentials = {**ANGEL, "pin": "9999"}
    angel.save()
    with time_machine.travel(at(9, 0), tick=True):
        sessions.session_save(account=zerodha, tokens={"access_token": "t"})
        assert sessions_readiness_alert(now=at(9, 0)) == 1
    (alert,) = Alert.objects.all()
    assert alert.broker_account_id == angel.pk and "Invalid clientcode or password" in alert.message
