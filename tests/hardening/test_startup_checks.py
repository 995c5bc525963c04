"""A deployment without valid FIELD_ENCRYPTION_KEYS does not start (system check errors)."""

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings


@pytest.mark.parametrize("keys", [[], [""], ["not-a-key"], [Fernet.generate_key().decode(), "short"]])
def test_check_fails_without_valid_fernet_keys(keys):
    with override_settings(FIELD_ENCRYPTION_KEYS=keys), pytest.raises(SystemCheckError, match="FIELD_ENCRYPTION_KEYS"):
        call_command("check")


def test_check_passes_with_valid_fernet_keys():
    keys = [Fernet.generate_key().decode(), Fernet.generate_key().decode()]
    with override_settings(FIELD_ENCRYPTION_KEYS=keys):
        call_command("check")
