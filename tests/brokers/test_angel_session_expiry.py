"""Angel One sessions end when the JWT says (its exp claim: 24-28 hours after login, SmartAPI forum topic 4137),
not at a fixed hour: the platform stores that instant, renews the JWT shortly before it, and the morning login
renews a session that would end during the trading day."""

import datetime as dt
import time

from brokers import sessions
from brokers.adapters.base import adapter_for
from brokers.models import BrokerAccount
from brokers.services import broker_sessions_login
from tests.brokers.conftest import MONDAY_1000, request_for


def calls(fake):
    return [r["path"].rsplit("/", 1)[-1] for r in fake.requests()]


def fresh(account):
    return BrokerAccount.objects.get(pk=account.pk)


def move(ticking, fake, to):
    ticking.move_to(to)
    fake.control(clock=time.time())  # the fake's clock follows the test's


def test_the_session_lasts_until_the_jwts_exp_claim_whatever_its_length(angel_account, angel_fake):
    angel_fake.control(jwt_hours=25.5)
    assert adapter_for(angel_account).check_session().ok
    expires = fresh(angel_account).session_expires_at
    assert expires == MONDAY_1000 + dt.timedelta(hours=25, minutes=30)  # 11:30 IST Tuesday, past midnight and 06:00


def test_a_token_without_a_readable_exp_is_taken_to_last_24_hours():
    assert sessions.jwt_expiry("aaccess00000112345") is None
    assert sessions.jwt_expiry("a.b.c") is None
    assert sessions.angel_session_expiry("opaque", at=MONDAY_1000) == MONDAY_1000 + dt.timedelta(hours=24)


def test_after_midnight_the_same_session_still_trades_without_a_new_login(
    angel_account, instrument, angel_fake, ticking
):
    broker = adapter_for(angel_account)
    assert broker.check_session().ok
    move(ticking, angel_fake, MONDAY_1000 + dt.timedelta(hours=15))  # 01:00 IST Tuesday
    assert adapter_for(fresh(angel_account)).place_order(request_for(instrument)).status == "FILLED"
    assert calls(angel_fake).count("loginByPassword") == 1 and "generateTokens" not in calls(angel_fake)


def test_shortly_before_exp_the_jwt_is_renewed_before_the_order_goes(angel_account, instrument, angel_fake, ticking):
    angel_fake.control(jwt_hours=2)
    assert adapter_for(angel_account).check_session().ok
    first = fresh(angel_account).session_expires_at
    move(ticking, angel_fake, first - dt.timedelta(minutes=5))
    result = adapter_for(fresh(angel_account)).place_order(request_for(instrument))

    assert result.status == "FILLED"
    seen = calls(angel_fake)
    assert seen.index("generateTokens") < seen.index("placeOrder")  # renewed first
    assert seen.count("placeOrder") == 1 and seen.count("loginByPassword") == 1  # never refused, no new login
    renewed = fresh(angel_account).session_expires_at
    assert renewed == sessions.jwt_expiry(sessions.session_tokens(fresh(angel_account))["jwt"])
    assert renewed > first + dt.timedelta(hours=1)


def test_past_exp_the_platform_logs_in_again_before_sending(angel_account, instrument, angel_fake, ticking):
    angel_fake.control(jwt_hours=2)
    assert adapter_for(angel_account).check_session().ok
    move(ticking, angel_fake, fresh(angel_account).session_expires_at + dt.timedelta(minutes=1))
    assert adapter_for(fresh(angel_account)).place_order(request_for(instrument)).status == "FILLED"
    seen = calls(angel_fake)
    assert seen.count("loginByPassword") == 2 and seen.count("placeOrder") == 1


def test_the_morning_login_renews_a_session_that_would_end_during_trading(angel_account, angel_fake, ticking):
    angel_fake.control(jwt_hours=24.5)
    move(ticking, angel_fake, MONDAY_1000 - dt.timedelta(hours=1, minutes=30))  # 08:30 IST Monday
    broker_sessions_login(accounts=[angel_account])
    assert calls(angel_fake).count("loginByPassword") == 1
    move(ticking, angel_fake, MONDAY_1000 + dt.timedelta(hours=22, minutes=30))  # 08:30 IST Tuesday
    assert sessions.session_tokens(fresh(angel_account))  # still valid now, but only until 09:00

    angel_fake.control(jwt_hours=27)
    broker_sessions_login(accounts=[fresh(angel_account)])
    assert calls(angel_fake).count("loginByPassword") == 2
    assert sessions.session_lasts_today(fresh(angel_account), now=MONDAY_1000 + dt.timedelta(hours=23))
    broker_sessions_login(accounts=[fresh(angel_account)])  # a session lasting the day is left alone
    assert calls(angel_fake).count("loginByPassword") == 2
