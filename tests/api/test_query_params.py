"""Invalid query parameters and non-object JSON bodies are a 400 naming what is wrong, never silently ignored."""

import pytest

pytestmark = pytest.mark.usefixtures("pinned_clock")


@pytest.mark.parametrize("page_size", ["0", "201", "-1", "abc", "1.5", "10000", "²"])
def test_page_size_out_of_range_or_not_an_integer_is_400_naming_it(api, basket_id, page_size):
    response = api.get("/api/v1/options/baskets/", {"page_size": page_size})
    assert response.status_code == 400
    assert "page_size" in response.json()


def test_page_size_in_range_is_honoured(api, basket_id):
    response = api.get("/api/v1/options/baskets/", {"page_size": "200"})
    assert response.status_code == 200
    assert len(response.json()["results"]) == 1


@pytest.mark.parametrize("page", ["0", "abc", "-2"])
def test_page_that_is_not_a_positive_integer_is_400_naming_it(api, basket_id, page):
    response = api.get("/api/v1/options/baskets/", {"page": page})
    assert response.status_code == 400
    assert "page" in response.json()


@pytest.mark.parametrize("value", ["yes", "1", "0", "maybe", "TRUEX"])
def test_unacknowledged_that_is_not_true_or_false_is_400_naming_it(api, value):
    response = api.get("/api/v1/alerts/", {"unacknowledged": value})
    assert response.status_code == 400
    assert "unacknowledged" in response.json()


@pytest.mark.parametrize("value", ["true", "false", "True"])
def test_unacknowledged_true_or_false_is_accepted(api, value):
    assert api.get("/api/v1/alerts/", {"unacknowledged": value}).status_code == 200


@pytest.mark.parametrize("body", ["[]", '["x"]', "null", "3", '"text"', "true"])
def test_non_object_json_body_is_400(api, body):
    response = api.post("/api/v1/options/baskets/", body, content_type="application/json")
    assert response.status_code == 400
    assert "JSON object" in response.json()["detail"]


def test_swagger_ui_is_served_from_this_site_not_a_cdn(client):
    page = client.get("/api/v1/docs/").content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in page
    assert "cdn" not in page.lower() and "unpkg" not in page.lower()
