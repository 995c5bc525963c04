"""Form fields the admin uses for every model: bounded to what every database backend stores, safe on any text.

- Decimals: SQLite keeps a DecimalField as REAL, so only 15 significant digits survive a round trip; a
  16-digit value (99999999999999.97) was saved and then failed every page that read it back. One bound for
  both backends: a value valid on one is valid on the other.
- JSON: a deeply nested text is a form error, not a RecursionError."""

from django import forms
from django.contrib.admin import options
from django.db import models

from .jsontext import BoundedJSONDecoder

PORTABLE_MAX_DIGITS = 15


def portable_max_digits(max_digits: int | None) -> int:
    return PORTABLE_MAX_DIGITS if max_digits is None else min(max_digits, PORTABLE_MAX_DIGITS)


class PortableDecimalField(forms.DecimalField):
    def __init__(self, *, max_digits=None, decimal_places=None, **kwargs):
        super().__init__(max_digits=portable_max_digits(max_digits), decimal_places=decimal_places, **kwargs)


class BoundedJSONFormField(forms.JSONField):
    def __init__(self, *, decoder=None, **kwargs):
        super().__init__(decoder=BoundedJSONDecoder, **kwargs)


def install() -> None:
    """Every ModelAdmin and inline copies these defaults when it is built (admin.options merges them)."""
    options.FORMFIELD_FOR_DBFIELD_DEFAULTS.setdefault(models.DecimalField, {})["form_class"] = PortableDecimalField
    options.FORMFIELD_FOR_DBFIELD_DEFAULTS.setdefault(models.JSONField, {})["form_class"] = BoundedJSONFormField
