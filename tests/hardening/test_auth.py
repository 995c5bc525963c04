"""Issue #16, authentication: tokens can be revoked, the throttle can't be dodged, production is configured safely."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.conf import settings
from django.core.cache import cache
from rest_framework.test import APIClient

from tests.factories import UserFactory

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def clear_throttles():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def bob(db):
    return UserFactory(username="bob")


def obtain(client, password="pass-word-123", **extra):
    return client.post("/api/v1/auth/token/", {"username": "bob", "password": password}, format="json", **extra)


def bearer(access):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client


def test_logout_blacklists_the_refresh_token(bob):
    tokens = obtain(APIClient()).json()
    response = bearer(tokens["access"]).post("/api/v1/auth/logout/", {"refresh": tokens["refresh"]}, format="json")
    assert response.status_code == 205, response.content
    again = APIClient().post("/api/v1/auth/token/refresh/", {"refresh": tokens["refresh"]}, format="json")
    assert again.status_code == 401


@pytest.mark.parametrize("body", [{"refresh": "not.a.token"}, {}, {"refresh": 3}])
def test_logout_with_a_bad_refresh_token_is_4xx(bob, body):
    tokens = obtain(APIClient()).json()
    response = bearer(tokens["access"]).post("/api/v1/auth/logout/", body, format="json")
    assert response.status_code in (400, 401)


def test_logout_of_another_users_refresh_token_is_refused(bob):
    mine = obtain(APIClient()).json()
    UserFactory(username="carol")
    theirs = (
        APIClient()
        .post("/api/v1/auth/token/", {"username": "carol", "password": "pass-word-123"}, format="json")
        .json()
    )
    response = bearer(mine["access"]).post("/api/v1/auth/logout/", {"refresh": theirs["refresh"]}, format="json")
    assert response.status_code == 400
    assert (
        APIClient().post("/api/v1/auth/token/refresh/", {"refresh": theirs["refresh"]}, format="json").status_code
        == 200
    )


def test_a_password_change_invalidates_every_token_the_user_holds(bob):
    tokens = obtain(APIClient()).json()
    assert bearer(tokens["access"]).get("/api/v1/options/baskets/").status_code == 200
    bob.set_password("another-pass-456")
    bob.save()
    assert bearer(tokens["access"]).get("/api/v1/options/baskets/").status_code == 401
    refreshed = APIClient().post("/api/v1/auth/token/refresh/", {"refresh": tokens["refresh"]}, format="json")
    assert refreshed.status_code == 401
    fresh = obtain(APIClient(), password="another-pass-456").json()
    assert bearer(fresh["access"]).get("/api/v1/options/baskets/").status_code == 200


def test_saving_a_user_without_changing_the_password_keeps_tokens(bob):
    tokens = obtain(APIClient()).json()
    bob.email = "bob@example.org"
    bob.save()
    assert bearer(tokens["access"]).get("/api/v1/options/baskets/").status_code == 200


def test_the_ops_revoke_sessions_action_logs_the_user_out_everywhere(bob, admin_client):
    from django.test import Client

    tokens = obtain(APIClient()).json()
    browser = Client()
    browser.force_login(bob)
    assert browser.get("/baskets/").status_code == 200
    response = admin_client.post(
        "/admin/auth/user/", {"action": "revoke_sessions", "_selected_action": [bob.pk]}, follow=True
    )
    assert response.status_code == 200
    assert bearer(tokens["access"]).get("/api/v1/options/baskets/").status_code == 401
    assert (
        APIClient().post("/api/v1/auth/token/refresh/", {"refresh": tokens["refresh"]}, format="json").status_code
        == 401
    )
    assert browser.get("/baskets/").status_code == 302


def test_staff_without_change_permission_cannot_revoke_sessions(bob, db):
    from django.contrib.auth.models import Permission
    from django.test import Client

    viewer = UserFactory(username="viewer", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_user"))
    client = Client()
    client.force_login(viewer)
    tokens = obtain(APIClient()).json()
    client.post("/admin/auth/user/", {"action": "revoke_sessions", "_selected_action": [bob.pk]})
    assert bearer(tokens["access"]).get("/api/v1/options/baskets/").status_code == 200


def test_access_tokens_are_short_lived():
    """Short, yet long enough for an integration's session around one scheduled entry and exit. Revocation
    does not wait for expiry: a password change or a revoke bumps the user's token version at once."""
    assert settings.SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"].total_seconds() <= 15 * 60


def test_login_throttle_counts_the_client_not_its_x_forwarded_for(bob, settings):
    rate = int(settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["login"].split("/")[0])
    client = APIClient()
    statuses = [
        obtain(client, password="wrong", HTTP_X_FORWARDED_FOR=f"10.0.{n // 250}.{n % 250}").status_code
        for n in range(rate + 1)
    ]
    assert statuses[-1] == 429


def test_the_login_throttle_is_shared_through_redis_across_processes(bob, settings):
    """Two web workers are two processes: the throttle counts in Redis, so a second process sees the first's
    attempts (a subprocess makes the attempts here)."""
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/5")
    caches = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": redis_url}}
    settings.CACHES = caches
    from django.core.cache import cache as redis_cache

    redis_cache.clear()
    rate = int(settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["login"].split("/")[0])
    # The subprocess runs on this process's clock (which --clock may have shifted): throttle history is timed.
    script = (
        "import time_machine;"
        f"time_machine.travel({time.time()!r}, tick=True).start();"
        "import django, os;"
        "os.environ['DJANGO_SETTINGS_MODULE']='config.settings.test';"
        "django.setup();"
        "from django.conf import settings;"
        f"settings.CACHES={caches!r};"
        "from rest_framework.test import APIRequestFactory;"
        "from config.auth import ThrottledTokenObtainPairView as V;"
        "v=V.as_view(); f=APIRequestFactory();"
        f"codes=[v(f.post('/api/v1/auth/token/', {{}}, format='json')).status_code for _ in range({rate})];"
        "print(codes)"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert obtain(APIClient(), password="wrong").status_code == 429
    redis_cache.clear()


def production_env(**extra):
    env = {
        key: value
        for key, value in os.environ.items()
        if key in ("PATH", "HOME", "DATABASE_URL", "LANG", "VIRTUAL_ENV", "PYTHONPATH")
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings.production",
            "SECRET_KEY": "x" * 20 + Fernet.generate_key().decode(),
            "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
            "ALLOWED_HOSTS": "options.example.com",
            "REDIS_URL": "redis://127.0.0.1:6379/5",
            "CELERY_BROKER_URL": "memory://",
        }
    )
    env.update(extra)
    return env


def run_manage(*args, env):
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_production_caches_in_redis_from_redis_url_and_trusts_no_proxy_by_default():
    script = "from django.conf import settings as s; print(s.CACHES['default']['BACKEND'], s.CACHES['default']['LOCATION'], s.REST_FRAMEWORK['NUM_PROXIES'])"
    done = run_manage("shell", "--no-imports", "-c", script, env=production_env())
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.splitlines()[-1].split() == [
        "django.core.cache.backends.redis.RedisCache",
        "redis://127.0.0.1:6379/5",
        "0",
    ]


def test_check_deploy_is_clean_with_the_documented_settings():
    env = production_env(SECURE_HSTS_SECONDS="31536000", SECURE_HSTS_PRELOAD="true", SECURE_SSL_REDIRECT="true")
    done = run_manage("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    assert "no issues" in done.stdout


def test_production_refuses_to_start_without_encryption_keys():
    done = run_manage("check", env=production_env(FIELD_ENCRYPTION_KEYS="not-a-fernet-key"))
    assert done.returncode != 0
    assert "FIELD_ENCRYPTION_KEYS" in done.stderr


def test_pages_carry_a_content_security_policy(bob):
    from django.test import Client

    client = Client()
    client.force_login(bob)
    response = client.get("/baskets/")
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]


def test_swagger_ui_is_served_from_this_site_not_a_cdn(bob):
    tokens = obtain(APIClient()).json()
    html = bearer(tokens["access"]).get("/api/v1/docs/").content.decode()
    assert "cdn" not in html.lower() and "https://" not in html
    assert "swagger-ui-bundle.js" in html


def test_every_page_template_has_no_inline_script_or_handler():
    offenders = []
    for path in (ROOT / "templates").rglob("*.html"):
        text = path.read_text()
        if "<script>" in text or " onsubmit=" in text or " onclick=" in text or " onchange=" in text:
            offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []
