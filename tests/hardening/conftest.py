import pytest
from django.test import Client


@pytest.fixture
def page(user):
    """A browser session signed in as `user` (alice)."""
    client = Client()
    client.force_login(user)
    return client
