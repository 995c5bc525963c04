"""A trader's Cancel and Go-to-market on a working order, from the execution page and the API, on PostgreSQL
with the paper broker: what the broker ends up with, what the book says, and who may act."""

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from brokers.adapters.base import adapter_for
from brokers.models import PaperOrder
from execution.models import Execution, Order, OrderEvent, Position
from execution.services.placement import execution_run
from execution.services.sync import orders_sync
from market.contracts import instrument_name
from tests.factories import UserFactory

from .conftest import make_chain, new_execution

pytestmark = pytest.mark.django_db(transaction=True)
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def resting(frozen, condor):
    """An entry whose LIMIT hedges rest at the paper broker (no chase for 10 minutes); its shorts wait."""
    make_chain()
    condor.legs.update(order_type="LIMIT", chase_after_seconds=600)
    execution = execution_run(execution_id=new_execution(condor).pk)
    assert execution.status == Execution.Status.WORKING
    return execution


def hedge(execution, leg_no=2, client_id="ZERODHA123"):
    order = Order.objects.select_related("broker_account", "instrument").get(
        execution=execution, leg_no=leg_no, broker_account__client_id=client_id, unwind=False
    )
    assert order.status == "OPEN" and order.side == "BUY"
    return order


@pytest.fixture
def page(trader):
    client = Client()
    client.force_login(trader)
    return client


def api_for(user):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
    return client


def test_the_detail_page_lists_working_orders_with_their_actions(resting, page):
    body = page.get(reverse("execution:detail", args=[resting.pk])).content.decode()

    assert body.count('data-testid="working-order"') == 8  # 4 resting hedges, 4 shorts waiting for them
    assert body.count('data-testid="cancel-order"') == 8
    assert body.count('data-testid="order-to-market"') == 4  # a PENDING short cannot go ahead of its hedge


def test_cancel_from_the_page_ends_cancelled_at_the_broker_and_in_the_book(resting, page):
    order = hedge(resting)

    response = page.post(reverse("execution:order-cancel", args=[order.pk]), **HTMX)

    assert response.status_code == 200
    assert f"Cancel sent for BUY {instrument_name(order.instrument)}: now CANCELLED." in response.content.decode()
    assert "NIFTY 24 Nov 2" in instrument_name(order.instrument)  # readable, not the broker's tradingsymbol
    assert PaperOrder.objects.get(tag=order.tag).status == "CANCELLED"
    order.refresh_from_db()
    assert order.status == "CANCELLED"
    event = OrderEvent.objects.filter(order=order).latest("at", "id")
    assert (event.from_status, event.to_status, event.source) == ("OPEN", "CANCELLED", "user")
    assert "cancelled by the trader" in event.detail
    # The normal sync agrees with what was recorded: nothing left to change.
    assert orders_sync(account=order.broker_account).changed == 0
    assert not Position.objects.filter(instrument=order.instrument).exclude(net_quantity=0).exists()


def test_go_to_market_fills_the_order_and_the_book_equals_the_broker(resting, page):
    order = hedge(resting)

    response = page.post(reverse("execution:order-to-market", args=[order.pk]), **HTMX)

    assert response.status_code == 200, response.content
    order.refresh_from_db()
    assert (order.status, order.order_type, order.filled_quantity) == ("FILLED", "MARKET", order.quantity)
    assert PaperOrder.objects.get(tag=order.tag).status == "FILLED"
    event = OrderEvent.objects.filter(order=order).latest("at", "id")
    assert event.source == "user" and "sent to market by the trader: at market, protected at" in event.detail
    orders_sync(account=order.broker_account)
    position = Position.objects.get(strategy=resting.strategy, broker_account=order.broker_account,
                                    instrument=order.instrument)  # fmt: skip
    broker = adapter_for(order.broker_account).open_positions()
    assert position.net_quantity == broker[order.instrument_id] == order.quantity


def test_a_plain_form_post_redirects_back_with_the_message(resting, page):
    order = hedge(resting)

    response = page.post(reverse("execution:order-cancel", args=[order.pk]), follow=True)

    assert response.redirect_chain[-1][0] == reverse("execution:detail", args=[resting.pk])
    assert "now CANCELLED" in response.content.decode()


def test_a_finished_order_is_a_clear_409_not_a_500(resting, page):
    order = hedge(resting)
    assert page.post(reverse("execution:order-cancel", args=[order.pk]), **HTMX).status_code == 200

    again = page.post(reverse("execution:order-cancel", args=[order.pk]), **HTMX)
    market = page.post(reverse("execution:order-to-market", args=[order.pk]), **HTMX)

    assert again.status_code == market.status_code == 409
    assert "is already cancelled: nothing to cancel" in again.content.decode()
    assert "is already cancelled: nothing to send to market" in market.content.decode()


def test_a_waiting_short_cannot_go_to_market_but_can_be_cancelled(resting, page):
    short = Order.objects.get(execution=resting, leg_no=1, broker_account__client_id="ZERODHA123", unwind=False)
    assert short.status == "PENDING"

    refused = page.post(reverse("execution:order-to-market", args=[short.pk]), **HTMX)
    cancelled = page.post(reverse("execution:order-cancel", args=[short.pk]), **HTMX)

    assert refused.status_code == 409 and "waits for its hedge" in refused.content.decode()
    assert cancelled.status_code == 200
    short.refresh_from_db()
    assert short.status == "CANCELLED"
    assert not PaperOrder.objects.filter(tag=short.tag).exists()  # never sent
    assert OrderEvent.objects.filter(order=short, to_status="CANCELLED").get().source == "user"


def test_another_users_order_is_404_on_the_page_and_the_api(resting):
    order = hedge(resting)
    mallory = UserFactory(username="mallory")
    client = Client()
    client.force_login(mallory)

    assert client.post(reverse("execution:order-cancel", args=[order.pk]), **HTMX).status_code == 404
    assert client.post(reverse("execution:order-to-market", args=[order.pk])).status_code == 404
    api = api_for(mallory)
    assert api.post(f"/api/v1/options/orders/{order.pk}/cancel/").status_code == 404
    assert api.post(f"/api/v1/options/orders/{order.pk}/to-market/").status_code == 404
    assert PaperOrder.objects.get(tag=order.tag).status == "OPEN"


def test_the_page_action_needs_a_csrf_token(resting, trader):
    client = Client(enforce_csrf_checks=True)
    client.force_login(trader)
    order = hedge(resting)

    assert client.post(reverse("execution:order-cancel", args=[order.pk])).status_code == 403
    assert client.get(reverse("execution:order-cancel", args=[order.pk])).status_code == 405
    assert PaperOrder.objects.get(tag=order.tag).status == "OPEN"


def test_the_api_cancels_and_sends_to_market(resting, trader):
    api = api_for(trader)
    first, second = hedge(resting, leg_no=2), hedge(resting, leg_no=4)

    cancelled = api.post(f"/api/v1/options/orders/{first.pk}/cancel/")
    marketed = api.post(f"/api/v1/options/orders/{second.pk}/to-market/")
    again = api.post(f"/api/v1/options/orders/{first.pk}/cancel/")

    assert cancelled.status_code == 200 and cancelled.json()["status"] == "CANCELLED"
    assert marketed.status_code == 200, marketed.json()
    assert (marketed.json()["status"], marketed.json()["order_type"]) == ("FILLED", "MARKET")
    assert again.status_code == 409 and "already cancelled" in again.json()["detail"]
    assert PaperOrder.objects.get(tag=first.tag).status == "CANCELLED"


@pytest.mark.parametrize(
    ("body", "content_type", "field"),
    [
        ("[1, 2]", "application/json", "detail"),
        ('"x"', "application/json", "detail"),
        ("{bad json", "application/json", "detail"),
        ('{"quantity": 65}', "application/json", "quantity"),
    ],
)
def test_an_order_action_with_a_body_it_does_not_take_is_a_400_and_does_nothing(
    resting, trader, body, content_type, field
):
    api = api_for(trader)
    order = hedge(resting, leg_no=2)
    for action in ("cancel", "to-market"):
        answer = api.post(f"/api/v1/options/orders/{order.pk}/{action}/", data=body, content_type=content_type)
        assert answer.status_code == 400 and field in answer.json(), answer.content
    order.refresh_from_db()
    assert order.status == "OPEN" and PaperOrder.objects.get(tag=order.tag).status == "OPEN"


def test_two_simultaneous_go_to_market_calls_send_once_and_the_second_is_a_409(resting, trader, monkeypatch):
    """A double click (or two tabs): the second request arrives while the first is still at the broker. The
    broker is asked once; the second caller is refused with a 409-style error naming why."""
    import threading

    from brokers.adapters.paper import PaperBroker
    from execution.services.order_actions import OrderActionError, order_to_market

    order = hedge(resting, leg_no=2)
    inside, release, calls = threading.Event(), threading.Event(), []
    real = PaperBroker.modify_order

    def slow_modify(self, *args, **kwargs):
        calls.append(args)
        inside.set()
        release.wait(10)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(PaperBroker, "modify_order", slow_modify)
    outcomes = {}

    def act(name):
        from django.db import connection

        try:
            outcomes[name] = order_to_market(order, user=trader).status
        except OrderActionError as exc:
            outcomes[name] = f"refused: {exc.message}"
        finally:
            connection.close()

    first = threading.Thread(target=act, args=("first",))
    first.start()
    assert inside.wait(10)
    second = threading.Thread(target=act, args=("second",))
    second.start()
    second.join(1.0)  # the second waits for the first to finish at the broker
    assert second.is_alive()
    release.set()
    first.join(15)
    second.join(15)

    assert len(calls) == 1
    assert outcomes["first"] == "FILLED"
    assert outcomes["second"].startswith("refused:") and "already" in outcomes["second"], outcomes
    assert PaperOrder.objects.get(tag=order.tag).status == "FILLED"


def test_the_dashboards_working_orders_have_cancel_and_go_to_market_and_come_back_to_the_dashboard(resting, page):
    panel = page.get(reverse("execution:dashboard-panel", args=["working"])).content.decode()
    assert panel.count('data-testid="dash-cancel-order"') == 4  # the 4 resting hedges (waiting shorts: detail page)
    assert panel.count('data-testid="dash-order-to-market"') == 4
    first, second = hedge(resting, leg_no=2), hedge(resting, leg_no=4)

    cancelled = page.post(reverse("execution:order-cancel", args=[first.pk]), {"next": "/dashboard/"}, follow=True)
    marketed = page.post(reverse("execution:order-to-market", args=[second.pk]), {"next": "/dashboard/"})
    elsewhere = page.post(reverse("execution:order-cancel", args=[second.pk]), {"next": "https://evil.example/"})

    assert cancelled.redirect_chain[-1][0] == "/dashboard/" and "now CANCELLED" in cancelled.content.decode()
    assert marketed.url == "/dashboard/"
    assert PaperOrder.objects.get(tag=second.tag).status == "FILLED"
    assert elsewhere.url == reverse("execution:detail", args=[resting.pk])  # never off the site
