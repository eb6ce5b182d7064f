"""The production processes, for real: gunicorn and a Celery worker on PostgreSQL and Redis."""

from __future__ import annotations

import http.cookiejar
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from config.celery import ping
from squads.models import Membership, Squad
from tests.factories import PASSWORD, UserFactory
from tests.processes import free_port, start, start_worker, stop, unique_queue

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]


def wait_for_http(url: str, process: subprocess.Popen, log: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"gunicorn exited early:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:  # refused, reset or timed out while gunicorn boots
            time.sleep(0.2)
    pytest.fail(f"gunicorn did not answer {url} within {timeout}s:\n{log.read_text()}")


class Browser:
    """Just enough of a browser: cookies, CSRF tokens, form posts, redirects."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies))

    def csrf_token(self) -> str:
        return next(c.value for c in self.cookies if c.name == "csrftoken" and c.value)

    def get(self, path: str) -> tuple[str, str]:
        with self.opener.open(self.base + path, timeout=10) as answer:
            return answer.url, answer.read().decode()

    def post(self, path: str, data: dict[str, str]) -> tuple[str, str]:
        body = urllib.parse.urlencode({"csrfmiddlewaretoken": self.csrf_token(), **data}).encode()
        request = urllib.request.Request(
            self.base + path, data=body, headers={"Referer": self.base + path}
        )
        with self.opener.open(request, timeout=10) as answer:
            return answer.url, answer.read().decode()


@pytest.fixture
def processes(tmp_path):
    port = free_port()
    queue = unique_queue("smoke")
    web_log, worker_log = tmp_path / "gunicorn.log", tmp_path / "worker.log"
    web = start(
        [sys.executable, "-m", "gunicorn", "config.wsgi", "-b", f"127.0.0.1:{port}", "-w", "2"],
        web_log,
    )
    worker = start_worker(queue, worker_log)
    try:
        wait_for_http(f"http://127.0.0.1:{port}/health/", web, web_log)
        yield {"base": f"http://127.0.0.1:{port}", "queue": queue, "worker_log": worker_log}
    finally:
        stop(web)
        stop(worker)


def test_gunicorn_serves_login_and_squad_creation_and_a_task_round_trips_through_redis(
    processes, settings
):
    # The processes run the production hasher list, which has no test-speed MD5.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]
    user = UserFactory(username="smoke", full_name="Sam Smoke")
    browser = Browser(processes["base"])

    url, page = browser.get("/accounts/login/")
    assert "Log in" in page
    url, page = browser.post("/accounts/login/", {"username": "smoke", "password": PASSWORD})
    assert url == processes["base"] + "/"
    assert "My work" in page and "Sam Smoke" in page

    url, page = browser.post(
        "/squads/new/", {"name": "Smoke Squad", "description": "From gunicorn"}
    )
    assert url == processes["base"] + "/squads/smoke-squad/"
    assert "you are its tech lead" in page
    squad = Squad.objects.get(slug="smoke-squad")
    assert Membership.objects.get(squad=squad).user == user

    result = ping.apply_async(queue=processes["queue"])
    try:
        assert result.get(timeout=30) == "pong"
    except Exception:
        pytest.fail(f"no answer from the worker:\n{processes['worker_log'].read_text()}")
    assert result.successful()
