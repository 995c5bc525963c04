"""`make run` boots the embedded default: web, worker and beat answer, a manual entry is traded by the
worker through the file-backed queue, and one SIGINT stops every process.

BOOT_SECONDS is three times what `make run` took to answer from a cold venv on a 2-core CI machine (see
the README), so a busy machine still fits; on failure the test prints the last 40 lines of the platform log."""

import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow
BOOT_SECONDS = int(os.environ.get("BOOT_TEST_SECONDS", "300"))


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def log_tail(log: Path, lines: int = 40) -> str:
    text = log.read_text(errors="replace").splitlines()[-lines:]
    return f"--- last {lines} lines of {log} ---\n" + "\n".join(text)


def wait_for(url, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return response.status
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"{url} did not answer within {timeout} s")


def api(base, path, *, token=None, body=None):
    request = urllib.request.Request(
        base + path,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})},
        method="POST" if body is not None else "GET",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, json.loads(response.read() or b"null")


@pytest.fixture
def platform(tmp_path):
    port = free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DJANGO_SETTINGS_MODULE", "CELERY_BROKER_URL", "DATABASE_URL", "SECRET_KEY"}
    }
    env.update(
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        CELERY_QUEUE_DIR=str(tmp_path / "queue"),
        PORT=str(port),
        PYTHONUNBUFFERED="1",
    )
    log = open(tmp_path / "platform.log", "w")  # noqa: SIM115
    process = subprocess.Popen(
        ["make", "--no-print-directory", "run"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    try:
        yield f"http://127.0.0.1:{port}", process, tmp_path / "platform.log"
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        log.close()


def test_make_run_serves_the_login_page_the_admin_and_trades_through_the_worker(platform):
    base, process, log = platform
    try:
        boots_and_trades(base, log)
    except (AssertionError, OSError) as error:
        raise AssertionError(f"{error}\n{log_tail(log)}") from error
    finally:
        os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
        process.wait(timeout=30)
    assert "Platform stopped." in log.read_text(), log_tail(log)
    with pytest.raises(OSError):
        urllib.request.urlopen(f"{base}/accounts/login/", timeout=2)


def boots_and_trades(base, log):
    """The login page and the admin answer, the demo login is printed, and a manual entry trades 18 lots."""
    assert wait_for(f"{base}/accounts/login/", timeout=BOOT_SECONDS) == 200
    jar = CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    assert opener.open(f"{base}/admin/login/", timeout=10).status == 200
    output = log.read_text()
    assert f"{base}/" in output and "demo / demo-trader-2026" in output

    _, tokens = api(base, "/api/v1/auth/token/", body={"username": "demo", "password": "demo-trader-2026"})
    token = tokens["access"]
    _, strategies = api(base, "/api/v1/options/strategies/", token=token)
    strategy_id = strategies["results"][0]["strategy_id"]
    status, execution = api(
        base,
        "/api/v1/options/executions/manual/",
        token=token,
        body={"strategy_id": strategy_id, "execution_type": "entry", "force": True},
    )
    assert status == 202
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        _, detail = api(base, f"/api/v1/options/executions/{execution['execution_id']}/", token=token)
        if detail["status"] not in ("SCHEDULED", "IN_PROGRESS"):
            break
        time.sleep(0.5)
    assert detail["status"] == "COMPLETED", detail
    assert detail["total_lots"] == 18
