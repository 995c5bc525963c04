"""Re-encrypt every broker account's credentials and session token with the first FIELD_ENCRYPTION_KEYS key.

Rotation: put the new key first, keep the old ones after it, run this, then drop the old keys.
"""

from cryptography.fernet import InvalidToken
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from brokers import crypto
from brokers.models import BrokerAccount

FIELDS = ["credentials_encrypted", "session_token_encrypted"]


class Command(BaseCommand):
    help = "Re-encrypt broker credentials with the first key of FIELD_ENCRYPTION_KEYS (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args, batch_size, **options):
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1")
        # Keyset pages, one short transaction each: a re-run after a failure is safe (rotation only re-encrypts),
        # and the row lock stops a concurrent login's fresh session token being overwritten by a rotated old one.
        accounts = BrokerAccount.objects.exclude(credentials_encrypted="", session_token_encrypted="").order_by("pk")
        rotated, last_pk = 0, None
        while True:
            with transaction.atomic():
                page = accounts if last_pk is None else accounts.filter(pk__gt=last_pk)
                batch = list(page.select_for_update().only("pk", "client_id", *FIELDS)[:batch_size])
                if not batch:
                    break
                for account in batch:
                    try:
                        account.credentials_encrypted = crypto.rotate(account.credentials_encrypted)
                        account.session_token_encrypted = crypto.rotate(account.session_token_encrypted)
                    except InvalidToken as exc:
                        raise CommandError(
                            f"broker account {account.client_id} cannot be decrypted with any key in "
                            "FIELD_ENCRYPTION_KEYS; keep the old key in the list until rotation has finished"
                        ) from exc
                BrokerAccount.objects.bulk_update(batch, FIELDS)
            rotated += len(batch)
            last_pk = batch[-1].pk
        self.stdout.write(f"rotated the credentials of {rotated} broker account(s)")
