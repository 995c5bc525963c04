"""JSON text from users (API bodies, form fields, the admin): a nesting too deep to parse is bad input.

Python's json raises RecursionError (not ValueError) on e.g. 100,000 nested "[", which every caller's
`except json.JSONDecodeError` let through as a 500. Here it becomes a JSONDecodeError like any other."""

import json

TOO_DEEP = "JSON nested too deeply"


class BoundedJSONDecoder(json.JSONDecoder):
    def decode(self, s, *args, **kwargs):
        try:
            return super().decode(s, *args, **kwargs)
        except RecursionError:
            raise json.JSONDecodeError(TOO_DEEP, s, 0) from None


def loads(text: str):
    """json.loads that raises json.JSONDecodeError (a ValueError) for every bad text, deep nesting included."""
    return json.loads(text, cls=BoundedJSONDecoder)
