"""Embedded default for a laptop: SQLite, file-backed Celery queue, paper broker, DEBUG on."""

import os

# Development-only defaults, never used in production (production.py requires real values).
os.environ.setdefault("SECRET_KEY", "dev-insecure-secret-key-change-me-0123456789abcdef")
os.environ.setdefault("FIELD_ENCRYPTION_KEYS", "ZGV2LW9ubHktZmllbGQtZW5jcnlwdGlvbi1rZXktMDA=")
os.environ.setdefault("DEBUG", "true")

from .base import *  # noqa: E402,F403
