"""Re-encrypt every broker account's credentials and session token with the first FIELD_ENCRYPTION_KEYS key.

Rotation: put the new key first, keep the old ones after it, run this, then drop the old keys."""

from django.core.management.base import BaseCommand
from django.db import transaction

from brokers import crypto
from brokers.models import BrokerAccount


class Command(BaseCommand):
    help = "Re-encrypt broker credentials with the first key of FIELD_ENCRYPTION_KEYS (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args, batch_size, **options):
        rotated = 0
        queryset = BrokerAccount.objects.exclude(credentials_encrypted="", session_token_encrypted="").order_by("pk")
        with transaction.atomic():
            batch = []
            for account in queryset.only("pk", "credentials_encrypted", "session_token_encrypted").iterator():
                account.credentials_encrypted = crypto.rotate(account.credentials_encrypted)
                account.session_token_encrypted = crypto.rotate(account.session_token_encrypted)
                batch.append(account)
                if len(batch) >= batch_size:
                    BrokerAccount.objects.bulk_update(batch, ["credentials_encrypted", "session_token_encrypted"])
                    rotated += len(batch)
                    batch = []
            BrokerAccount.objects.bulk_update(batch, ["credentials_encrypted", "session_token_encrypted"])
            rotated += len(batch)
        self.stdout.write(f"rotated the credentials of {rotated} broker account(s)")
