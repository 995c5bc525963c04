"""Start-up checks: configuration a money-moving deployment must not run without."""

from cryptography.fernet import Fernet
from django.conf import settings
from django.core.checks import Error, register


@register()
def field_encryption_keys_check(app_configs=None, **kwargs):
    """Broker credentials are encrypted with FIELD_ENCRYPTION_KEYS: without valid keys nothing can be stored or
    read, so the process refuses to start (manage.py check, migrate, runserver, run_platform)."""
    keys = [key for key in getattr(settings, "FIELD_ENCRYPTION_KEYS", []) or [] if str(key).strip()]
    if not keys:
        return [
            Error(
                "FIELD_ENCRYPTION_KEYS is empty.",
                hint="Set it to one or more comma-separated Fernet keys: "
                "python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'",
                id="platform.E001",
            )
        ]
    errors = []
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(str(key).strip().encode())
        except (ValueError, TypeError):
            errors.append(
                Error(
                    f"FIELD_ENCRYPTION_KEYS key #{position} is not a valid Fernet key (32 url-safe base64 bytes).",
                    id="platform.E002",
                )
            )
    return errors
