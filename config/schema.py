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


def add_error_responses(result, generator, request, public):
    """drf-spectacular postprocessing hook (SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"])."""
    result.setdefault("components", {}).setdefault("schemas", {})[ERROR_COMPONENT] = ERROR_SCHEMA
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
