from django.contrib.auth import get_user_model
from django.db.models.signals import post_save
from django.dispatch import receiver

from .services import user_tokens_revoke


@receiver(post_save, sender=get_user_model())
def password_change_revokes_tokens(sender, instance, created, **kwargs):
    # set_password() keeps the raw password in _password until save() has run: that is a password change.
    # Browser sessions are already ended by Django's session hash; the tokens are ended here.
    if not created and getattr(instance, "_password", None) is not None:
        user_tokens_revoke(user=instance, reason="password changed", keep_session_key=None)
