"""Every page renders for its owner and answers 404 to another user, exactly like a missing object."""

import uuid

import pytest

from tests.factories import AllocationFactory, BrokerAccountFactory, iron_condor


@pytest.fixture
def alices(user, nifty):
    strategy = iron_condor(owner=user)
    account = BrokerAccountFactory(owner=user, client_id="ZERODHA123")
    AllocationFactory(strategy=strategy, broker_account=account)
    return {"basket": strategy.basket_id, "strategy": strategy.pk, "client_id": account.client_id}


GET_PAGES = [
    "/broker-accounts/{client_id}/edit/",
    "/baskets/{basket}/",
    "/baskets/{basket}/edit/",
    "/baskets/{basket}/delete/",
    "/strategies/{strategy}/",
    "/strategies/{strategy}/payoff/",
    "/strategies/{strategy}/allocations/",
]
POST_PAGES = [
    "/broker-accounts/{client_id}/edit/",
    "/broker-accounts/{client_id}/check/",
    "/broker-accounts/{client_id}/delete/",
    "/baskets/{basket}/edit/",
    "/baskets/{basket}/delete/",
    "/strategies/{strategy}/",
    "/strategies/{strategy}/delete/",
    "/strategies/{strategy}/legs/",
    "/strategies/{strategy}/legs/1/",
    "/strategies/{strategy}/legs/1/delete/",
    "/strategies/{strategy}/allocations/",
    "/strategies/{strategy}/allocations/preview/",
]
LISTS = ["/broker-accounts/", "/broker-accounts/add/", "/baskets/", "/baskets/new/", "/strategies/", "/strategies/new/"]


@pytest.mark.parametrize("url", GET_PAGES)
def test_each_page_renders_for_its_owner(page, alices, url):
    assert page.get(url.format(**alices)).status_code == 200


@pytest.mark.parametrize("url", LISTS)
def test_each_list_and_new_page_renders(page, alices, url):
    assert page.get(url).status_code == 200


@pytest.mark.parametrize("url", GET_PAGES)
def test_another_users_object_is_a_404_page(other_page, alices, url):
    assert other_page.get(url.format(**alices)).status_code == 404


@pytest.mark.parametrize("url", POST_PAGES)
def test_another_user_cannot_post_to_an_object_page(other_page, alices, url):
    assert other_page.post(url.format(**alices), {}).status_code == 404


def test_a_missing_id_is_a_404_like_another_users(page, alices):
    assert page.get(f"/strategies/{uuid.uuid4()}/").status_code == 404
    assert page.get(f"/baskets/{uuid.uuid4()}/").status_code == 404
    assert page.get("/broker-accounts/NOPE/edit/").status_code == 404


def test_other_users_objects_are_not_listed(other_page, alices):
    body = other_page.get("/strategies/").content.decode()
    assert "Weekly Iron Condor" not in body
    assert "ZERODHA123" not in other_page.get("/broker-accounts/").content.decode()


@pytest.mark.parametrize("url", ["/", "/strategies/", "/baskets/", "/broker-accounts/"])
def test_pages_need_a_signed_in_user(client, db, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_the_login_page_renders_and_signs_in(client, user):
    assert client.get("/accounts/login/").status_code == 200
    response = client.post("/accounts/login/", {"username": "alice", "password": "pass-word-123"})
    assert response.status_code == 302
    assert client.get("/strategies/").status_code == 200


def test_home_redirects_to_a_page_that_renders(page):
    response = page.get("/", follow=True)
    assert response.redirect_chain and response.status_code == 200
