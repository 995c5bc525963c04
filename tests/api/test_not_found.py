"""A path under /api/v1/ that no route takes answers a JSON 404, never Django's HTML page."""

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/options/orders/not-a-uuid/cancel/",
        "/api/v1/options/baskets/12345/",
        "/api/v1/no-such-thing/",
    ],
)
def test_an_unknown_api_path_is_a_json_404(client, path):
    for method in (client.get, client.post):
        answer = method(path)
        assert answer.status_code == 404
        assert answer["Content-Type"] == "application/json" and answer.json() == {"detail": "Not found."}


def test_a_missing_trailing_slash_is_named(client):
    answer = client.post("/api/v1/options/baskets")
    assert answer.status_code == 404
    assert answer.json()["detail"] == "Not found. The address ends with a slash: /api/v1/options/baskets/"
