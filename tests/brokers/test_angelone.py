"""The Angel One adapter (smartapi-python, wrapped) against the loopback SmartAPI fake."""

import json
import subprocess
import sys
from decimal import Decimal

import pytest

from brokers import sessions
from brokers.adapters.base import BrokerError, BrokerTimeout, SessionExpired, adapter_for
from brokers.fakes.process import ROOT
from brokers.models import BrokerAccount
from tests.brokers.conftest import request_for


def placements(fake):
    return [r for r in fake.requests() if r["path"].endswith("/placeOrder")]


def test_the_first_call_logs_in_from_the_totp_secret_and_stores_the_session_encrypted(angel_account, angel_fake):
    assert adapter_for(angel_account).check_session().ok
    account = BrokerAccount.objects.get(pk=angel_account.pk)
    tokens = sessions.session_tokens(account)
    assert tokens["jwt"] and tokens["refresh"] and tokens["jwt"] not in account.session_token_encrypted
    # Until the JWT's own exp (the fake's tokens last 27 h, as Angel One's 24-28 h do), not midnight IST
    assert account.session_expires_at == sessions.jwt_expiry(tokens["jwt"])
    assert account.session_expires_at.isoformat() == "2026-11-24T07:30:00+00:00"
    (login,) = [r for r in angel_fake.requests() if r["path"].endswith("/loginByPassword")]
    assert login["fields"] == {"clientcode": "A123456"}  # the fake never records the PIN or the TOTP


def test_a_wrong_totp_secret_is_a_session_error_recorded_on_the_account(angel_account, angel_fake):
    angel_account.credentials = {**angel_account.credentials, "totp_secret": "KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLU"}
    angel_account.save()
    health = adapter_for(angel_account).check_session()
    assert not health.ok and "Invalid totp" in health.detail
    assert BrokerAccount.objects.get(pk=angel_account.pk).last_error.startswith("session: Angel One login failed")


def test_market_order_arrives_once_with_symbol_token_product_and_ordertag(angel_account, instrument, angel_fake):
    angel_fake.control(ltp={"NIFTY01DEC2626000PE": 88.25})
    result = adapter_for(angel_account).place_order(request_for(instrument))
    assert (result.status, result.filled_quantity, result.average_price) == ("FILLED", 65, Decimal("88.25"))
    assert result.tag == "OPTEST0000000001" and result.fills[0].fill_id.startswith("AT")
    (sent,) = placements(angel_fake)
    assert sent["fields"] == {
        "variety": "NORMAL",
        "tradingsymbol": "NIFTY01DEC2626000PE",
        "symboltoken": "43651",
        "transactiontype": "SELL",
        "exchange": "NFO",
        "ordertype": "MARKET",
        "producttype": "CARRYFORWARD",
        "duration": "DAY",
        "price": "0",
        "squareoff": "0",
        "stoploss": "0",
        "quantity": "65",
        "ordertag": "OPTEST0000000001",
    }


def test_lower_case_statuses_map_open_partial_cancelled(angel_account, instrument, angel_fake):
    angel_fake.control(rest=1, partial=1, partial_ratio=0.5, lot=65)
    broker = adapter_for(angel_account)
    resting = broker.place_order(request_for(instrument, tag="OPTEST0000000001", order_type="LIMIT", price="120"))
    partial = broker.place_order(request_for(instrument, tag="OPTEST0000000002", quantity=260))
    assert resting.status == "OPEN" and partial.status == "PARTIAL" and partial.filled_quantity == 130
    assert broker.cancel_order(resting.broker_order_id).status == "CANCELLED"
    statuses = {r.tag: r.status for r in broker.orders_status()}
    assert statuses == {"OPTEST0000000001": "CANCELLED", "OPTEST0000000002": "PARTIAL"}


def test_margin_rejection_is_rejected_with_the_brokers_text(angel_account, instrument, angel_fake):
    angel_fake.control(reject_margin=1)
    result = adapter_for(angel_account).place_order(request_for(instrument))
    assert result.status == "REJECTED" and "Insufficient funds" in result.message


def test_status_false_errorcode_is_a_permanent_refusal(angel_account, instrument, angel_fake):
    angel_fake.control(reject_freeze=1)
    with pytest.raises(BrokerError) as refused:
        adapter_for(angel_account).place_order(request_for(instrument))
    assert refused.value.permanent and "AB4008" in refused.value.message


def test_an_expired_jwt_is_refreshed_and_the_call_repeated_once(angel_account, instrument, angel_fake):
    broker = adapter_for(angel_account)
    assert broker.check_session().ok
    angel_fake.control(expire_session=True)  # AB1010 on the next call; the refresh token is gone too
    result = broker.place_order(request_for(instrument))
    assert result.status == "FILLED"
    assert len(angel_fake.orders()) == 1
    paths = [r["path"].rsplit("/", 1)[-1] for r in angel_fake.requests()]
    assert paths.count("loginByPassword") == 2 and paths.count("placeOrder") == 2


def test_429_is_resent_and_no_answer_is_a_timeout_found_by_tag(angel_account, instrument, angel_fake):
    broker = adapter_for(angel_account)
    angel_fake.control(http_429=1)
    assert broker.place_order(request_for(instrument, tag="OPTEST0000000001")).status == "FILLED"
    angel_fake.control(drop_after_accept=1)
    with pytest.raises(BrokerTimeout):
        broker.place_order(request_for(instrument, tag="OPTEST0000000002"))
    assert broker.find_order("OPTEST0000000002").status == "FILLED"
    angel_fake.control(http_500=1)
    with pytest.raises(BrokerTimeout):
        broker.place_order(request_for(instrument, tag="OPTEST0000000003"))
    assert [o["tag"] for o in angel_fake.orders()] == ["OPTEST0000000001", "OPTEST0000000002"]


def test_modify_restates_the_order_and_positions_and_funds_read_back(angel_account, instrument, angel_fake):
    angel_fake.control(ltp={"NIFTY01DEC2626000PE": 100})
    broker = adapter_for(angel_account)
    placed = broker.place_order(request_for(instrument, side="BUY", order_type="LIMIT", price="90"))
    moved = broker.modify_order(placed.broker_order_id, limit_price=Decimal("95"))
    assert (moved.status, moved.limit_price) == ("OPEN", Decimal("95.00"))
    assert broker.modify_order(placed.broker_order_id, order_type="MARKET").status == "FILLED"
    assert broker.open_positions() == {instrument.pk: 65}
    assert broker.available_funds() == Decimal("1000000.00")


def test_the_sdk_makes_no_ip_lookup_on_import_and_writes_no_logs_folder(tmp_path):
    probe = (
        "import socket, json, os\n"
        "looked = []\n"
        "real = socket.getaddrinfo\n"
        "def spy(host, *a, **k):\n"
        "    looked.append(host)\n"
        "    return real(host, *a, **k)\n"
        "socket.getaddrinfo = spy\n"
        "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'config.settings.test')\n"
        "import django; django.setup()\n"
        "from brokers.adapters.angelone import SmartClient\n"
        "SmartClient('key')\n"
        "print(json.dumps(looked))\n"
    )
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []
    assert not (tmp_path / "logs").exists()


def test_a_refused_login_leaves_the_account_skipped_with_session_expired(angel_account, instrument, angel_fake):
    angel_account.credentials = {**angel_account.credentials, "pin": "0000"}
    angel_account.save()
    with pytest.raises(SessionExpired):
        adapter_for(angel_account).place_order(request_for(instrument))
    assert angel_fake.orders() == []


def test_a_secret_pyotp_cannot_use_is_a_session_error_naming_the_secret(angel_account, angel_fake):
    angel_account.credentials = {**angel_account.credentials, "totp_secret": "short"}
    angel_account.save()
    health = adapter_for(angel_account).check_session()
    assert not health.ok and "TOTP secret" in health.detail


def test_the_sdks_logger_stays_silent_after_logging_is_configured_again(angel_account, instrument, angel_fake):
    """A Celery worker or Django configuring logging after the adapter was imported does not wake the SDK's
    logger, which would print Angel One's answers and request headers (the bearer token)."""
    import logging
    import logging.config

    import logzero

    import brokers.adapters.angelone  # noqa: F401  (imported, so silenced, before logging is configured again)

    class Collect(logging.Handler):
        records: list = []

        def emit(self, record):
            self.records.append(record.getMessage())

    handler = Collect()
    logzero.logger.addHandler(handler)  # wherever the SDK's logger would write, this sees it too
    try:
        logging.config.dictConfig({"version": 1, "disable_existing_loggers": False})
        broker = adapter_for(angel_account)
        assert broker.check_session().ok
        angel_fake.control(expire_session=True)  # placeOrder meets AB1010: the SDK logs "API request failed"
        assert broker.place_order(request_for(instrument)).status == "FILLED"  # after a new login
    finally:
        logzero.logger.removeHandler(handler)
    assert handler.records == []
