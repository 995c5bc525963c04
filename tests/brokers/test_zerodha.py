"""The Zerodha adapter (kiteconnect SDK) against the loopback Kite fake: wire format, statuses, error mapping."""

import hashlib
from decimal import Decimal

import pytest

from brokers import sessions
from brokers.adapters.base import BrokerError, BrokerTimeout, SessionExpired, adapter_for
from brokers.models import BrokerAccount
from tests.brokers.conftest import KITE, request_for


def placements(fake):
    return [r for r in fake.requests() if r["method"] == "POST" and r["path"].startswith("/orders/")]


def test_market_order_arrives_once_with_symbol_product_tag_algo_id_and_market_protection(
    zerodha_account, instrument, kite_fake
):
    kite_fake.control(ltp={"NIFTY26D0126000PE": 101.5})
    result = adapter_for(zerodha_account).place_order(request_for(instrument))

    assert result.status == "FILLED"
    assert result.filled_quantity == 65
    assert result.average_price == Decimal("101.50")
    assert result.tag == "OPTEST0000000001"
    assert [f.quantity for f in result.fills] == [65] and result.fills[0].fill_id.startswith("KT")
    (sent,) = placements(kite_fake)
    assert sent["path"] == "/orders/regular"
    assert sent["fields"] == {
        "variety": "regular",
        "exchange": "NFO",
        "tradingsymbol": "NIFTY26D0126000PE",
        "transaction_type": "SELL",
        "quantity": "65",
        "product": "NRML",
        "order_type": "MARKET",
        "validity": "DAY",
        "tag": "OPTEST0000000001",
        "market_protection": "-1",
        "algo_id": "ALGO42",
    }


def test_limit_order_rests_open_then_its_later_fill_shows_in_orders_status(zerodha_account, instrument, kite_fake):
    kite_fake.control(ltp={"NIFTY26D0126000PE": 100})
    broker = adapter_for(zerodha_account)
    result = broker.place_order(request_for(instrument, side="BUY", order_type="LIMIT", price="95.00"))
    assert result.status == "OPEN"
    assert result.limit_price == Decimal("95.00")
    assert placements(kite_fake)[0]["fields"]["price"] == "95.00"

    kite_fake.control(ltp={"NIFTY26D0126000PE": 94})  # the market comes to the order
    (status,) = broker.orders_status()
    assert (status.broker_order_id, status.status, status.filled_quantity) == (result.broker_order_id, "FILLED", 65)
    assert status.average_price == Decimal("94.00")
    assert len(status.fills) == 1


def test_margin_rejection_is_rejected_with_kites_message(zerodha_account, instrument, kite_fake):
    kite_fake.control(reject_margin=1)
    result = adapter_for(zerodha_account).place_order(request_for(instrument))
    assert result.status == "REJECTED"
    assert "Insufficient funds" in result.message


def test_freeze_quantity_refusal_is_a_permanent_broker_error(zerodha_account, instrument, kite_fake):
    kite_fake.control(freeze_quantity=1800)
    with pytest.raises(BrokerError) as refused:
        adapter_for(zerodha_account).place_order(request_for(instrument, quantity=1950))
    assert refused.value.permanent and not isinstance(refused.value, BrokerTimeout)
    assert "freeze" in refused.value.message
    assert kite_fake.orders() == []


def test_partial_fill_is_partial_with_the_filled_quantity(zerodha_account, instrument, kite_fake):
    kite_fake.control(partial=1, partial_ratio=0.5, lot=65)
    result = adapter_for(zerodha_account).place_order(request_for(instrument, quantity=260))
    assert (result.status, result.filled_quantity, result.quantity) == ("PARTIAL", 130, 260)


def test_429_is_resent_after_a_slot_frees_and_the_order_arrives_once(zerodha_account, instrument, kite_fake):
    kite_fake.control(http_429=2)
    result = adapter_for(zerodha_account).place_order(request_for(instrument))
    assert result.status == "FILLED"
    assert len(kite_fake.orders()) == 1


def test_expired_session_raises_session_expired_and_clears_the_session(zerodha_account, instrument, kite_fake):
    kite_fake.control(expire_session=True)
    with pytest.raises(SessionExpired):
        adapter_for(zerodha_account).place_order(request_for(instrument))
    account = BrokerAccount.objects.get(pk=zerodha_account.pk)
    assert account.session_token_encrypted == "" and account.last_error.startswith("session:")
    health = adapter_for(account).check_session()
    assert not health.ok and "Connect Zerodha" in health.detail
    assert kite_fake.orders() == []


@pytest.mark.parametrize("fault", [{"delay": 1.6, "delay_count": 1}, {"drop_after_accept": 1}])
def test_no_answer_is_a_timeout_and_the_tag_finds_the_order_exactly_once(zerodha_account, instrument, kite_fake, fault):
    kite_fake.control(**fault)
    broker = adapter_for(zerodha_account)
    with pytest.raises(BrokerTimeout):
        broker.place_order(request_for(instrument))
    import time

    time.sleep(1.0)  # the delayed request is processed after the client gave up
    found = broker.find_order("OPTEST0000000001")
    assert found is not None and found.status == "FILLED"
    assert len(kite_fake.orders()) == 1


def test_a_5xx_answer_is_a_timeout_not_a_refusal(zerodha_account, instrument, kite_fake):
    kite_fake.control(http_500=1)
    with pytest.raises(BrokerTimeout):
        adapter_for(zerodha_account).place_order(request_for(instrument))


def test_cancel_a_resting_order_and_cancel_after_a_fill_reports_the_fill(zerodha_account, instrument, kite_fake):
    kite_fake.control(rest=2)
    broker = adapter_for(zerodha_account)
    first = broker.place_order(request_for(instrument, tag="OPTEST0000000001", order_type="LIMIT", price="90"))
    second = broker.place_order(request_for(instrument, tag="OPTEST0000000002", order_type="LIMIT", price="90"))
    assert broker.cancel_order(first.broker_order_id).status == "CANCELLED"
    kite_fake.fill(second.broker_order_id)
    assert broker.cancel_order(second.broker_order_id).status == "FILLED"


def test_modify_moves_the_limit_then_to_market_with_protection(zerodha_account, instrument, kite_fake):
    kite_fake.control(ltp={"NIFTY26D0126000PE": 100})
    broker = adapter_for(zerodha_account)
    placed = broker.place_order(request_for(instrument, side="BUY", order_type="LIMIT", price="90"))
    moved = broker.modify_order(placed.broker_order_id, limit_price=Decimal("92.50"))
    assert (moved.status, moved.limit_price) == ("OPEN", Decimal("92.50"))
    done = broker.modify_order(placed.broker_order_id, order_type="MARKET")
    assert done.status == "FILLED"
    modify = [r for r in kite_fake.requests() if r["method"] == "PUT"][-1]
    assert modify["fields"]["order_type"] == "MARKET" and modify["fields"]["market_protection"] == "-1"


def test_place_orders_answers_each_in_order_and_positions_map_to_instruments(zerodha_account, instrument, kite_fake):
    kite_fake.control(reject_freeze=0, freeze_quantity=1800)
    broker = adapter_for(zerodha_account)
    answers = broker.place_orders(
        [
            request_for(instrument, tag="OPTEST0000000001", side="SELL", quantity=130),
            request_for(instrument, tag="OPTEST0000000002", side="SELL", quantity=2000),
            request_for(instrument, tag="OPTEST0000000003", side="BUY", quantity=65),
        ]
    )
    assert answers[0].status == "FILLED" and answers[2].status == "FILLED"
    assert isinstance(answers[1], BrokerError) and answers[1].permanent
    kite_fake.control(ltp={})
    assert broker.open_positions() == {instrument.pk: -65}
    assert broker.available_funds() == Decimal("1000000.00")


def test_connect_trades_the_request_token_for_an_access_token_stored_encrypted(db, kite_fake, ticking):
    from brokers.adapters.zerodha import ZerodhaBroker
    from tests.factories import BrokerAccountFactory

    account = BrokerAccountFactory(broker="ZERODHA", client_id="ZERODHA9")
    account.credentials = KITE
    account.save()
    assert not adapter_for(account).check_session().ok
    ZerodhaBroker(account).connect("req-token-1")
    account.refresh_from_db()
    token = sessions.session_tokens(account)["access_token"]
    assert token and token not in account.session_token_encrypted
    assert account.session_expires_at.isoformat() == "2026-11-24T00:30:00+00:00"  # 06:00 IST next morning
    assert adapter_for(account).check_session().ok
    sent = [r for r in kite_fake.requests() if r["path"] == "/session/token"][0]["fields"]
    expected = hashlib.sha256(b"fake_api_key" + b"req-token-1" + b"fake_api_secret").hexdigest()
    assert sent["checksum"] == expected
