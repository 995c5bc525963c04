"""Test settings: PostgreSQL when DATABASE_URL points at it (CI), fast hashing, no lockouts leaking."""

import os

os.environ.setdefault("SECRET_KEY", "test-secret-key-0123456789abcdef0123456789")
os.environ.setdefault(
    "FIELD_ENCRYPTION_KEYS",
    "dGVzdC1vbmx5LWZpZWxkLWVuY3J5cHQta2V5LTAwMDA=,dGVzdC1vbmx5LWZpZWxkLWVuY3J5cHQta2V5LTExMTE=",
)

# Tests never write to a real queue unless they say so (the embedded default is a file-backed queue).
os.environ.setdefault("CELERY_BROKER_URL", "memory://")

from .base import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CELERY_TASK_ALWAYS_EAGER = False
ALLOWED_HOSTS = ["*"]
