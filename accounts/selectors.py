def token_version_of(user) -> int:
    """The user's current token version (0 without a row); uses a select_related("token_version") if loaded."""
    from .models import TokenVersion

    try:
        return user.token_version.version
    except TokenVersion.DoesNotExist:
        return 0
