"""Broker credentials are encrypted at rest with their own key set, and the keys can be rotated."""

from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command

from brokers import crypto
from brokers.models import BrokerAccount
from tests.factories import BrokerAccountFactory

pytestmark = pytest.mark.django_db
SECRET = {"api_key": "kite-key", "api_secret": "s3cr3t-value-1234"}
SESSION = {"access_token": "sess-tok-5678"}


def new_key() -> str:
    return Fernet.generate_key().decode()


def account_with_secrets(**kwargs) -> BrokerAccount:
    account = BrokerAccountFactory(broker="ZERODHA", **kwargs)
    account.credentials = SECRET
    account.session_token_encrypted = crypto.encrypt_json(SESSION)
    account.save()
    return account


def rotate(*args) -> str:
    out = StringIO()
    call_command("rotate_credentials", *args, stdout=out)
    return out.getvalue()


def test_credentials_read_back_equal_after_save_and_reload():
    account = BrokerAccountFactory(broker="ZERODHA")
    account.credentials = SECRET
    account.save()
    assert BrokerAccount.objects.get(pk=account.pk).credentials == SECRET


def test_the_stored_credentials_do_not_contain_the_plaintext_secret():
    account = BrokerAccountFactory(broker="ZERODHA")
    account.credentials = SECRET
    account.save()
    stored = BrokerAccount.objects.values_list("credentials_encrypted", flat=True).get(pk=account.pk)
    assert stored
    assert "s3cr3t-value-1234" not in stored
    assert "kite-key" not in stored


def test_a_token_made_with_an_old_key_still_decrypts_while_that_key_is_listed_second(settings):
    old, new = new_key(), new_key()
    settings.FIELD_ENCRYPTION_KEYS = [old]
    token = crypto.encrypt_json(SECRET)
    settings.FIELD_ENCRYPTION_KEYS = [new, old]
    assert crypto.decrypt_json(token) == SECRET


def test_before_rotation_the_new_key_alone_cannot_read_old_credentials(settings):
    old, new = new_key(), new_key()
    settings.FIELD_ENCRYPTION_KEYS = [old]
    account = account_with_secrets()
    settings.FIELD_ENCRYPTION_KEYS = [new]
    stored = BrokerAccount.objects.get(pk=account.pk)
    with pytest.raises(ImproperlyConfigured):
        _ = stored.credentials


def test_after_rotation_credentials_and_session_token_decrypt_with_only_the_new_key(settings):
    old, new = new_key(), new_key()
    settings.FIELD_ENCRYPTION_KEYS = [old]
    account = account_with_secrets()
    settings.FIELD_ENCRYPTION_KEYS = [new, old]
    rotate()
    settings.FIELD_ENCRYPTION_KEYS = [new]
    stored = BrokerAccount.objects.get(pk=account.pk)
    assert stored.credentials == SECRET
    assert crypto.decrypt_json(stored.session_token_encrypted) == SESSION


def test_rotating_twice_leaves_the_credentials_readable(settings):
    old, new = new_key(), new_key()
    settings.FIELD_ENCRYPTION_KEYS = [old]
    account = account_with_secrets()
    settings.FIELD_ENCRYPTION_KEYS = [new, old]
    rotate()
    rotate()
    settings.FIELD_ENCRYPTION_KEYS = [new]
    assert BrokerAccount.objects.get(pk=account.pk).credentials == SECRET


def test_rotation_reports_how_many_accounts_it_rotated_across_batches(settings):
    old, new = new_key(), new_key()
    settings.FIELD_ENCRYPTION_KEYS = [old]
    accounts = [account_with_secrets() for _ in range(3)]
    BrokerAccountFactory()  # no credentials, no session: nothing to rotate
    settings.FIELD_ENCRYPTION_KEYS = [new, old]
    assert "rotated the credentials of 3 broker account(s)" in rotate("--batch-size", "2")
    settings.FIELD_ENCRYPTION_KEYS = [new]
    assert [BrokerAccount.objects.get(pk=a.pk).credentials for a in accounts] == [SECRET] * 3


def test_rotation_leaves_an_account_without_credentials_empty(settings):
    account = BrokerAccountFactory()
    rotate()
    stored = BrokerAccount.objects.get(pk=account.pk)
    assert (stored.credentials_encrypted, stored.session_token_encrypted) == ("", "")


def test_rotation_without_the_old_key_fails_and_names_the_account(settings):
    settings.FIELD_ENCRYPTION_KEYS = [new_key()]
    account_with_secrets(client_id="ZERODHA123")
    settings.FIELD_ENCRYPTION_KEYS = [new_key()]
    with pytest.raises(CommandError, match="ZERODHA123"):
        rotate()


def test_an_unrelated_key_cannot_decrypt(settings):
    token = crypto.encrypt_json(SECRET)
    settings.FIELD_ENCRYPTION_KEYS = [new_key()]
    with pytest.raises(ImproperlyConfigured):
        crypto.decrypt_json(token)


def test_changing_secret_key_does_not_affect_decryption(settings):
    token = crypto.encrypt_json(SECRET)
    settings.SECRET_KEY = "a-completely-different-secret-key-0123456789"
    assert crypto.decrypt_json(token) == SECRET


def test_a_key_that_is_not_a_fernet_key_is_a_configuration_error(settings):
    settings.FIELD_ENCRYPTION_KEYS = ["not-a-key"]
    with pytest.raises(ImproperlyConfigured):
        crypto.encrypt_json(SECRET)
