"""JSON that keeps money exact: a Decimal is written as the JSON number it spells, digit for digit, never
through a float (Decimal("100.05") is stored as 100.05, not as 100.0499999…; a rupee amount past 2**53 paise
keeps its last digits). PostgreSQL's jsonb keeps such a number exactly. Reading is unchanged: a JSONField
without a decoder gives the number back as a Python float, as before.

Use it on every JSONField that holds money: `models.JSONField(encoder=DecimalJSONEncoder, ...)`.
"""

import json
from decimal import Decimal

import simplejson


class DecimalJSONEncoder(json.JSONEncoder):
    """A json.JSONEncoder (what JSONField takes) that writes Decimals as exact JSON numbers (via simplejson's
    use_decimal); every other value is written as the standard encoder writes it."""

    def encode(self, o):
        return simplejson.dumps(
            o,
            use_decimal=True,
            namedtuple_as_object=False,
            tuple_as_array=True,
            ensure_ascii=self.ensure_ascii,
            allow_nan=self.allow_nan,
            sort_keys=self.sort_keys,
            indent=self.indent,
            separators=(self.item_separator, self.key_separator),
            default=self.default,
        )

    def iterencode(self, o, _one_shot=False):
        yield self.encode(o)


def exact(value) -> Decimal | None:
    """A money value for a JSON document: the Decimal itself (an int or a str becomes one); None stays None."""
    if value is None or isinstance(value, Decimal):
        return value
    return Decimal(str(value))
