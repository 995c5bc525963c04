"""List endpoints run a constant number of queries whatever the page holds."""

from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import BasketFactory, BrokerAccountFactory, iron_condor


def count_queries(api, url):
    with CaptureQueriesContext(connection) as ctx:
        response = api.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries), response.json()


def make(user, n):
    basket = BasketFactory(owner=user)
    for _ in range(n):
        iron_condor(owner=user, basket=basket)
        BrokerAccountFactory(owner=user)


def test_strategy_list_with_legs_runs_the_same_queries_for_1_and_50_strategies(
    api, user, django_assert_max_num_queries
):
    make(user, 1)
    one, body = count_queries(api, "/api/v1/options/strategies/")
    assert body["count"] == 1 and len(body["results"][0]["legs"]) == 4
    make(user, 49)
    with django_assert_max_num_queries(one):
        response = api.get("/api/v1/options/strategies/")
    assert response.json()["count"] == 50
    assert all(len(s["legs"]) == 4 for s in response.json()["results"])


def test_basket_and_account_lists_run_constant_queries(api, user, django_assert_max_num_queries):
    make(user, 1)
    baskets, _ = count_queries(api, "/api/v1/options/baskets/")
    accounts, _ = count_queries(api, "/api/v1/broker-accounts/")
    for _ in range(20):
        make(user, 2)
    with django_assert_max_num_queries(baskets):
        assert api.get("/api/v1/options/baskets/").json()["count"] == 21
    with django_assert_max_num_queries(accounts):
        assert api.get("/api/v1/broker-accounts/").json()["count"] == 41


def test_list_pages_are_capped(api, user):
    make(user, 3)
    body = api.get("/api/v1/options/strategies/?page_size=2").json()
    assert body["count"] == 3 and len(body["results"]) == 2 and body["next"]
