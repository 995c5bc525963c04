"""BROKER_SANDBOX: the fakes get the platform's contracts, load back through the SDKs, and two live accounts
for the demo trader work against them (Connect Zerodha through the fake's login page, Angel One by itself)."""

import time
from urllib.parse import parse_qs, urlparse

import pytest
import requests

from brokers import sandbox, services
from brokers.adapters.base import adapter_for
from brokers.adapters.live import broker_symbol
from brokers.fakes.process import free_port
from brokers.models import BrokerAccount
from market.models import Instrument
from tests.execution.conftest import make_chain
from tests.factories import UserFactory


@pytest.fixture
def sandbox_fakes(db, live_settings, ticking):
    live_settings.SANDBOX_KITE_PORT, live_settings.SANDBOX_ANGEL_PORT = free_port(), free_port()
    live_settings.KITE_API_ROOT = f"http://127.0.0.1:{live_settings.SANDBOX_KITE_PORT}"
    live_settings.KITE_LOGIN_URL = f"{live_settings.KITE_API_ROOT}/connect/login"
    live_settings.SMARTAPI_ROOT = f"http://127.0.0.1:{live_settings.SANDBOX_ANGEL_PORT}"
    live_settings.SMARTAPI_SCRIP_MASTER_URL = (
        f"{live_settings.SMARTAPI_ROOT}/OpenAPI_File/files/OpenAPIScripMaster.json"
    )
    UserFactory(username="demo")
    make_chain()
    fakes = sandbox.sandbox_start(platform_url="http://testserver", out=lambda line: None)
    yield fakes
    for fake in fakes:
        fake.stop()


def test_the_sandbox_gives_both_accounts_a_working_live_path(sandbox_fakes):
    kite, angel = sandbox_fakes
    option = Instrument.objects.filter(kind="OPTION").first()
    assert broker_symbol(option, "ZERODHA")[0] == option.tradingsymbol
    assert broker_symbol(option, "ANGELONE")[1]

    zerodha = BrokerAccount.objects.get(client_id="KITE-SANDBOX")
    login = services.zerodha_login_url(account=zerodha, state="s1")
    back = urlparse(requests.get(login, allow_redirects=False, timeout=5).headers["Location"])
    assert back.path == "/brokers/zerodha/callback/" and parse_qs(back.query)["state"] == ["s1"]
    services.zerodha_connect(account=zerodha, request_token=parse_qs(back.query)["request_token"][0])
    assert adapter_for(BrokerAccount.objects.get(pk=zerodha.pk)).check_session().ok

    angel_account = BrokerAccount.objects.get(client_id="ANGEL-SANDBOX")
    requests.post(f"{angel.url}/_control", json={"clock": time.time()}, timeout=5)
    assert adapter_for(angel_account).check_session().ok
