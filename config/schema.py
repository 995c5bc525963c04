"""OpenAPI postprocessing: every operation documents the error answers it can give, with the body the API
actually returns (config/exceptions.py and DRF): {"detail": "..."} or a field-keyed body such as
{"leg_overrides": {"3": {"lots": ["Must be at least 1."]}}}."""

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema

ERROR_COMPONENT = "ErrorResponse"
ERROR_SCHEMA = {
    "type": "object",
    "description": 'Either {"detail": "..."} or field-keyed messages: {"field": ["message", ...]}, nested for '
    'nested input ({"legs": {"0": {"lots": [...]}}}).',
    "properties": {
        "detail": {"type": "string"},
        "code": {"type": "string"},
    },
    "additionalProperties": True,
}
DESCRIPTIONS = {
    "400": "Bad input: a field-keyed body naming every field (or query parameter) at fault, or "
    '{"detail": "..."} for a malformed or non-object JSON body.',
    "401": "No credentials, or an expired or revoked token.",
    "403": "Authenticated but not allowed (for a session: a missing CSRF token).",
    "404": "No such object, or another user's (the two are indistinguishable).",
    "409": 'The request is valid but the current state forbids it; the user can fix the state. {"detail": "..."}',
    "429": "Too many attempts; retry after the Retry-After header's seconds.",
}
WRITES = {"post", "put", "patch", "delete"}


def _error_response(code):
    return {
        "description": DESCRIPTIONS[code],
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ERROR_COMPONENT}"}}},
    }


def error_codes(path, method, operation):
    public = operation.get("security") == [] or path.endswith(("/auth/token/", "/auth/token/refresh/"))
    codes = {"400", "401"}
    if public:
        codes.add("429")
    else:
        codes.add("403")
    parameters = operation.get("parameters", [])
    has_path_parameter = any(p.get("in") == "path" for p in parameters)
    paginated = any(p.get("in") == "query" and p.get("name") == "page" for p in parameters)
    # A page past the last one is DRF's 404 {"detail": "Invalid page."}.
    if has_path_parameter or paginated or "{" in path:
        codes.add("404")
    if method in WRITES and not public:
        codes.update({"404", "409"})
    return codes


# 09:15-15:30 (market.calendar.REGULAR_OPEN/REGULAR_CLOSE), the session strategy times must fall inside.
SESSION_TIME_PATTERN = "^(09:(1[5-9]|[2-5][0-9])|1[0-4]:[0-5][0-9]|15:([0-2][0-9]|30))$"
# is_intra_day is derived from product: MIS and true, or any other product (the default) and false; either may
# be absent. Creating or replacing a strategy that is not MIS needs exit_days (MIS defaults them to entry_days).
INTRADAY_RULE = [
    {"required": ["product"], "properties": {"product": {"enum": ["MIS"]}, "is_intra_day": {"enum": [True]}}},
    {"properties": {"product": {"not": {"enum": ["MIS"]}}, "is_intra_day": {"enum": [False]}}},
]
INTRADAY_RULE_WHOLE = [
    INTRADAY_RULE[0],
    {**INTRADAY_RULE[1], "required": ["exit_days"]},
]


def state_strategy_rules(result):
    """The strategy rules a schema can state: session times, and is_intra_day agreeing with product. (An
    intraday strategy exiting after it enters, on the days it enters, compares two fields: prose only.)"""
    for name, component in result.get("components", {}).get("schemas", {}).items():
        properties = component.get("properties", {})
        for field in ("entry_time", "exit_time"):
            if field in properties and "pattern" in properties[field]:
                properties[field]["pattern"] = SESSION_TIME_PATTERN
        for field in ("entry_days", "exit_days"):
            if properties.get(field, {}).get("type") == "array":
                properties[field]["uniqueItems"] = True  # "Each day may appear once."
        if name.endswith("Request"):
            for field in properties.values():
                # Text fields trim their whitespace, so a required text is refused when only spaces.
                if field.get("type") == "string" and field.get("minLength", 0) >= 1 and not {"pattern", "format",
                                                                                              "enum"} & set(field):  # fmt: skip
                    field["pattern"] = r"\S"
            if name in ("StrategyRequest", "PatchedStrategyRequest") and "status" in properties:
                # "ACTIVE or PAUSED when writing; DELETE archives (ARCHIVED)."
                status = {key: value for key, value in properties["status"].items() if key != "allOf"}
                properties["status"] = {**status, "enum": ["ACTIVE", "PAUSED"]}
        if name.endswith("Request") and {"product", "is_intra_day"} <= set(properties):
            component["anyOf"] = INTRADAY_RULE if name.startswith("Patched") else INTRADAY_RULE_WHOLE


def add_error_responses(result, generator, request, public):
    """drf-spectacular postprocessing hook (SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"])."""
    result.setdefault("components", {}).setdefault("schemas", {})[ERROR_COMPONENT] = ERROR_SCHEMA
    state_strategy_rules(result)
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            for code in sorted(error_codes(path, method, operation)):
                responses.setdefault(code, _error_response(code))
            for code, response in responses.items():
                # An error a view documents by description only still answers with the error body.
                if code.startswith("4") and code in DESCRIPTIONS and "content" not in response:
                    response["content"] = _error_response(code)["content"]
    return result


class AutoSchema(SpectacularAutoSchema):
    """A request body whose serializer refuses unknown fields (config.api.RejectUnknownFieldsMixin) says so:
    `additionalProperties: false`, so a client (and schemathesis) knows an extra key is a 400."""

    def _map_basic_serializer(self, serializer, direction):
        from .api import RejectUnknownFieldsMixin

        result = super()._map_basic_serializer(serializer, direction)
        if direction == "request" and isinstance(serializer, RejectUnknownFieldsMixin):
            result["additionalProperties"] = False
        return result

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        from decimal import Decimal

        from rest_framework import serializers

        result = super()._map_serializer_field(field, direction, bypass_extensions)
        # A number with more decimals than the field keeps is a 400 (DRF does not round): say so.
        if (
            direction == "request"
            and isinstance(field, serializers.DecimalField)
            and field.decimal_places is not None
            and result.get("type") == "number"
        ):
            result["multipleOf"] = float(Decimal(1).scaleb(-field.decimal_places))
        return result
