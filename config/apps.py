from django.apps import AppConfig


class PlatformConfig(AppConfig):
    """Project-wide wiring that belongs to no single app: system checks and the admin's safe form fields."""

    name = "config"
    label = "platform"

    def ready(self):
        from . import admin_fields, checks  # noqa: F401  (registers the checks; sets the admin's field defaults)

        admin_fields.install()
