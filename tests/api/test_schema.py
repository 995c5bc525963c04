"""The OpenAPI schema is valid and lists every endpoint of API.md implemented so far."""

import pytest
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema

IMPLEMENTED = {
    "/api/v1/auth/token/": {"post"},
    "/api/v1/auth/token/refresh/": {"post"},
    "/api/v1/auth/logout/": {"post"},
    "/api/v1/broker-accounts/": {"get", "post"},
    "/api/v1/broker-accounts/{client_id}/": {"get", "put", "patch", "delete"},
    "/api/v1/broker-accounts/{client_id}/check/": {"post"},
    "/api/v1/options/baskets/": {"get", "post"},
    "/api/v1/options/baskets/{basket_id}/": {"get", "put", "patch", "delete"},
    "/api/v1/options/baskets/{basket_id}/strategies/": {"get", "post"},
    "/api/v1/options/strategies/": {"get", "post"},
    "/api/v1/options/strategies/{strategy_id}/": {"get", "put", "patch", "delete"},
    "/api/v1/options/strategies/{strategy_id}/legs/": {"get", "post"},
    "/api/v1/options/strategies/{strategy_id}/legs/{leg_no}/": {"get", "put", "patch", "delete"},
    "/api/v1/options/strategies/{strategy_id}/allocations/": {"get", "post"},
    "/api/v1/options/strategies/{strategy_id}/allocations/advanced/": {"post"},
    "/api/v1/options/strategies/{strategy_id}/allocations/summary/": {"get"},
    "/api/v1/options/strategies/{strategy_id}/allocations/{client_id}/": {"get", "put", "patch", "delete"},
    "/api/v1/options/executions/schedule/": {"get"},
    "/api/v1/options/executions/history/": {"get"},
    "/api/v1/options/executions/{execution_id}/": {"get"},
    "/api/v1/options/executions/manual/": {"post"},
    "/api/v1/options/positions/": {"get"},
    "/api/v1/options/orders/": {"get"},
    "/api/v1/options/baskets/{basket_id}/pnl/": {"get"},
    "/api/v1/options/orders/{order_id}/cancel/": {"post"},
    "/api/v1/options/orders/{order_id}/to-market/": {"post"},
    "/api/v1/broker-accounts/{client_id}/kill-switch/": {"post", "delete"},
    "/api/v1/broker-accounts/{client_id}/reconciliation/": {"get"},
    "/api/v1/kill-switch/": {"post", "delete"},
    "/api/v1/alerts/": {"get"},
    "/api/v1/alerts/{alert_id}/acknowledge/": {"post"},
    "/api/v1/market/status/": {"get"},
}


@pytest.fixture(scope="module")
def schema():
    return SchemaGenerator().get_schema(request=None, public=True)


def test_generated_schema_is_valid_openapi(schema):
    validate_schema(schema)


def test_schema_lists_every_implemented_endpoint_and_method(schema):
    for path, methods in IMPLEMENTED.items():
        assert path in schema["paths"], path
        assert methods <= set(schema["paths"][path]), (path, set(schema["paths"][path]))


def test_every_write_has_a_typed_request_body_and_every_answer_a_typed_body(schema):
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            if method in ("post", "put", "patch") and not path.endswith(
                ("/check/", "/acknowledge/", "/cancel/", "/to-market/")
            ):  # bodiless actions
                assert "requestBody" in operation, (method, path)
            ok = {code: r for code, r in operation["responses"].items() if code in ("200", "201")}
            for code, response in ok.items():
                assert "content" in response, (method, path, code)


def test_schema_and_swagger_ui_are_served(client):
    assert client.get("/api/v1/schema/").status_code == 200
    docs = client.get("/api/v1/docs/")
    assert docs.status_code == 200 and b"swagger" in docs.content.lower()


def test_every_operation_documents_its_error_answers_with_the_error_body(schema):
    error = {"$ref": "#/components/schemas/ErrorResponse"}
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            assert {"400", "401"} <= set(responses), (method, path)
            if "{" in path or method in ("post", "put", "patch", "delete") and "/auth/" not in path:
                assert "404" in responses, (method, path)
            if method in ("post", "put", "patch", "delete") and "/auth/" not in path:
                assert responses["409"]["content"]["application/json"]["schema"] == error, (method, path)
    assert schema["paths"]["/api/v1/options/baskets/{basket_id}/"]["delete"]["responses"]["409"]


def test_page_size_bounds_are_in_the_schema(schema):
    parameters = schema["paths"]["/api/v1/options/baskets/"]["get"]["parameters"]
    page_size = next(p for p in parameters if p["name"] == "page_size")
    assert page_size["schema"] == {"type": "integer", "minimum": 1, "maximum": 200}


def test_request_bodies_that_refuse_unknown_fields_say_so(schema):
    assert schema["components"]["schemas"]["KillSwitchRequest"]["additionalProperties"] is False
