"""Shared pieces of the trader pages: HTML form values in, the API's serializers' messages out.

The pages validate with the same DRF serializers as the API, so a page shows the API's message next to the
field. HTML forms send strings; the API's strict fields want JSON types. `form_int` converts what is plainly an
integer and leaves anything else as typed, so the serializer refuses it with the API's own message.
"""

import re

from django.http import HttpResponse

from config.exceptions import DomainError

_INTEGER = re.compile(r"^[+-]?\d+$")
# 5,00,000 (Indian: the last three digits, then pairs) or 500,000 (groups of three), with optional decimals.
_GROUPED = re.compile(r"^[+-]?(\d{1,2}(,\d{2})*,\d{3}|\d{1,3}(,\d{3})+)(\.\d+)?$")


def form_int(value: str | None):
    """ "3" -> 3; "" or None -> None (the caller leaves the key out); anything else stays a string."""
    if value is None:
        return None
    value = value.strip()
    if value == "":
        return None
    return int(value) if _INTEGER.match(value) else value


def form_text(value: str | None) -> str | None:
    """A stripped string, or None when blank (the caller leaves the key out, so "required" reads as such)."""
    if value is None:
        return None
    value = value.strip()
    return value or None


def form_amount(value: str | None) -> str | None:
    """An amount as typed: "5,00,000" or "500,000" -> "500000" (the grouping commas dropped), "₹ 1,500.50" ->
    "1500.50"; blank -> None. Commas anywhere else ("5,0,0") are left for the validator to refuse."""
    value = form_text(value)
    if value is None:
        return None
    value = value.removeprefix("₹").strip()
    return value.replace(",", "") if _GROUPED.match(value) else value


def without_none(data: dict) -> dict:
    return {key: value for key, value in data.items() if value is not None}


def flatten_errors(errors, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested error body as {"field": [...], "parent__child": [...]} of plain strings."""
    flat: dict[str, list[str]] = {}
    if isinstance(errors, dict):
        for key, value in errors.items():
            name = f"{prefix}__{key}" if prefix else str(key)
            for inner_key, messages in flatten_errors(value, name).items():
                flat.setdefault(inner_key, []).extend(messages)
    elif isinstance(errors, list | tuple):
        for item in errors:
            if isinstance(item, dict | list | tuple):
                for inner_key, messages in flatten_errors(item, prefix).items():
                    flat.setdefault(inner_key, []).extend(messages)
            else:
                flat.setdefault(prefix or "non_field_errors", []).append(str(item))
    else:
        flat.setdefault(prefix or "non_field_errors", []).append(str(errors))
    return flat


def domain_errors(exc: DomainError) -> dict[str, list[str]]:
    """A service refusal as flat field errors; a message without a field lands in non_field_errors."""
    body = exc.as_body()
    if "detail" in body and len(body) == 1:
        body = {"non_field_errors": [body["detail"]]}
    return flatten_errors(body)


def split_errors(errors: dict[str, list[str]], fields, aliases: dict[str, str] | None = None):
    """(errors keyed by the form's fields, every other message as "field: message") so that nothing is
    dropped: a message about a field the form does not show is listed at the top of the form."""
    aliases = aliases or {}
    by_field: dict[str, list[str]] = {}
    others: list[str] = []
    for key, messages in errors.items():
        name = aliases.get(key, key)
        if name in fields:
            by_field.setdefault(name, []).extend(messages)
        elif name in ("non_field_errors", "detail"):
            others.extend(messages)
        else:
            others.extend(f"{key.replace('__', '.')}: {message}" for message in messages)
    return by_field, others


def hx_trigger(response: HttpResponse, event: str) -> HttpResponse:
    response["HX-Trigger"] = event
    return response


def indian_grouping(value, places: int = 0) -> str:
    """1234567.5 -> "12,34,567" (lakh and crore grouping, as Indian traders read amounts); None -> "—"."""
    if value is None:
        return "—"
    text = f"{abs(value):.{places}f}"
    whole, _, fraction = text.partition(".")
    if len(whole) > 3:
        head, tail = whole[:-3], whole[-3:]
        groups = []
        while len(head) > 2:
            groups.insert(0, head[-2:])
            head = head[:-2]
        if head:
            groups.insert(0, head)
        whole = ",".join([*groups, tail])
    sign = "-" if value < 0 else ""
    return f"{sign}{whole}.{fraction}" if fraction else f"{sign}{whole}"
