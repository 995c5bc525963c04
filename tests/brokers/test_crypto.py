"""Broker credentials are encrypted at rest with their own key set, and the keys can be rotated."""

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command

from brokers import crypto
from brokers.models import BrokerAccount
from tests.factories import BrokerAccountFactory

pytestmark = pytest.mark.django_db
SECRET = {"api_key": "kite-key", "api_secret": "s3cr3t-value-1234"}


def test_credentials_round_trip_and_are_not_stored_in_plain_text():
    account = BrokerAccountFactory(broker="ZERODHA")
    account.credentials = SECRET
    account.save()
    stored = BrokerAccount.objects.get(pk=account.pk)
    assert stored.credentials == SECRET
    assert "s3cr3t" not in stored.credentials_encrypted and "kite-key" not in stored.credentials_encrypted


def test_a_token_made_with_an_old_key_still_decrypts_while_that_key_is_listed(settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [old]
    token = crypto.encrypt_json(SECRET)
    settings.FIELD_ENCRYPTION_KEYS = [new, old]
    assert crypto.decrypt_json(token) == SECRET


def test_rotation_re_encrypts_so_the_old_key_can_be_dropped(settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [old]
    account = BrokerAccountFactory(broker="ZERODHA")
    account.credentials = SECRET
    account.session_token_encrypted = crypto.encrypt_json({"access_token": "tok"})
    account.save()
    settings.FIELD_ENCRYPTION_KEYS = [new, old]
    call_command("rotate_credentials")
    call_command("rotate_credentials")  # idempotent
    settings.FIELD_ENCRYPTION_KEYS = [new]
    stored = BrokerAccount.objects.get(pk=account.pk)
    assert stored.credentials == SECRET
    assert crypto.decrypt_json(stored.session_token_encrypted) == {"access_token": "tok"}


def test_an_unrelated_key_cannot_decrypt(settings):
    token = crypto.encrypt_json(SECRET)
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(ImproperlyConfigured):
        crypto.decrypt_json(token)


def test_the_key_set_is_independent_of_secret_key(settings):
    token = crypto.encrypt_json(SECRET)
    settings.SECRET_KEY = "a-completely-different-secret-key-0123456789"
    assert crypto.decrypt_json(token) == SECRET


def test_a_key_that_is_not_a_fernet_key_is_a_configuration_error(settings):
    settings.FIELD_ENCRYPTION_KEYS = ["not-a-key"]
    with pytest.raises(ImproperlyConfigured):
        crypto.encrypt_json(SECRET)
