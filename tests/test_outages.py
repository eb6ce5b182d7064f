"""The production processes while a service they use is away: Redis stopped, PostgreSQL restarted.

Each test runs its own instance of the service it stops (the machine's Redis
and PostgreSQL are never touched) and a gunicorn process started as
tests/processes.py starts them.
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import timedelta
from email import message_from_bytes
from pathlib import Path

import pytest
from django.utils import timezone
from rest_framework.authtoken.models import Token

from config.celery import app
from notifications.models import Notification, WebhookDelivery
from planning import services
from planning.models import Comment, Milestone, Unknown, Verdict
from planning.workflow import Phase
from squads.models import Squad
from tests.factories import PASSWORD
from tests.processes import (
    OwnRedis,
    free_port,
    start,
    start_worker,
    stop,
    unique_queue,
    wait_until,
)
from tests.test_webhooks import Receiver

# No request may take longer than this, whatever is away.
SLOW = 2.0


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Client:
    """A browser's requests, one at a time, each timed: cookies, CSRF, no redirects followed."""

    def __init__(self, base: str, log: list[tuple[str, str, int, float]]) -> None:
        self.base = base
        self.log = log
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.cookies), NoRedirect()
        )
        self.headers: dict[str, str] = {}

    def csrf_token(self) -> str:
        return next(c.value or "" for c in self.cookies if c.name == "csrftoken")

    def request(
        self, method: str, path: str, data: bytes | None = None, headers: dict | None = None
    ) -> tuple[int, str]:
        request = urllib.request.Request(
            self.base + path, data=data, method=method, headers={**self.headers, **(headers or {})}
        )
        started = time.monotonic()
        try:
            with self.opener.open(request, timeout=10) as answer:
                status, body = answer.status, answer.read().decode()
        except urllib.error.HTTPError as answer:
            status, body = answer.code, answer.read().decode()
        self.log.append((method, path, status, time.monotonic() - started))
        return status, body

    def get(self, path: str, **headers: str) -> tuple[int, str]:
        return self.request("GET", path, headers=headers)

    def post(self, path: str, fields: dict[str, str]) -> tuple[int, str]:
        body = urllib.parse.urlencode({"csrfmiddlewaretoken": self.csrf_token(), **fields})
        return self.request(
            "POST",
            path,
            body.encode(),
            {"Content-Type": "application/x-www-form-urlencoded", "Referer": self.base + path},
        )

    def log_in(self, username: str) -> None:
        self.get("/accounts/login/")
        status, _ = self.post("/accounts/login/", {"username": username, "password": PASSWORD})
        assert status == 302, f"{username} could not log in"


def wait_for_http(url: str, process: subprocess.Popen, log: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"gunicorn exited early:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    pytest.fail(f"gunicorn did not answer {url} within {timeout}s:\n{log.read_text()}")


def gunicorn(log: Path, workers: int = 2, **env: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    process = start(
        [sys.executable, "-m", "gunicorn", "config.wsgi", "-b", f"127.0.0.1:{port}",
         "-w", str(workers), "--timeout", "60"],
        log,
        CONN_MAX_AGE="60",
        **env,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(f"{base}/health/", process, log)
    except BaseException:
        stop(process)
        raise
    return process, base


# Redis away -------------------------------------------------------------------------------------


@pytest.fixture
def own_redis(tmp_path):
    server = OwnRedis(tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def review_in_progress(settings, squad, project, tech_lead, engineer):
    """An open design review of M1, a webhook on 127.0.0.1, and people who log in with a password."""
    # The processes run the production hasher list, which has no test-speed MD5.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]
    for person in (tech_lead, engineer):
        person.set_password(PASSWORD)
        person.save(update_fields=["password"])
    milestone = services.create_milestone(tech_lead, project, title="Vault")
    Milestone.objects.filter(pk=milestone.pk).update(phase=Phase.DESIGN_REVIEW)
    milestone.refresh_from_db()
    review = services.schedule_review(tech_lead, milestone, scheduled_for=timezone.now())
    services.open_review(tech_lead, review)
    # The invitations of the setup were delivered on commit; clear the slate.
    Notification.objects.all().delete()
    return milestone, review


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_with_redis_stopped_no_request_fails_or_waits_and_what_was_written_is_sent_after(
    own_redis, review_in_progress, squad, tech_lead, engineer, tmp_path
):
    began = time.monotonic()
    milestone, review = review_in_progress
    receiver = Receiver()
    Squad.objects.filter(pk=squad.pk).update(webhook_url=receiver.url)
    queue = unique_queue("outage")
    redis = {
        "CACHE_URL": f"{own_redis.url}/0",
        "CELERY_BROKER_URL": f"{own_redis.url}/1",
        "CELERY_RESULT_BACKEND": f"{own_redis.url}/2",
        "CELERY_TASK_DEFAULT_QUEUE": queue,
        "WEBHOOK_ALLOW_PRIVATE": "true",
    }
    web, base = gunicorn(tmp_path / "gunicorn.log", **redis)
    worker = None
    try:
        log: list[tuple[str, str, int, float]] = []
        lead, eli = Client(base, log), Client(base, log)
        lead.log_in(tech_lead.username)
        eli.log_in(engineer.username)
        token = Token.objects.create(user=tech_lead).key
        milestone_path = milestone.get_absolute_url()
        review_path = review.get_absolute_url()
        unknowns_path = f"{milestone_path}unknowns/"
        # Warm: the cache and the workers' connections to Redis exist before it goes.
        assert eli.get("/")[0] == 200 and lead.get(milestone_path)[0] == 200
        log.clear()

        own_redis.stop()

        pages = ["/", milestone_path, review_path, unknowns_path]
        for path in pages:
            assert eli.get(path)[0] == 200, path
        status, _ = eli.post(
            unknowns_path,
            {"title": "Typed while Redis was away", "priority": "high", "owner": str(engineer.pk)},
        )
        assert status == 302
        lead.get(unknowns_path)
        status, _ = lead.post(
            unknowns_path,
            {"title": "Assigned while Redis was away", "priority": "normal",
             "owner": str(engineer.pk)},
        )  # fmt: skip
        assert status == 302
        assert eli.post(f"{review_path}comments/", {"body": "A comment nobody loses."})[0] == 302
        status, _ = eli.post(
            f"{review_path}verdict/", {"verdict": "changes_requested", "note": "Split the vault."}
        )
        assert status == 302
        since = urllib.parse.quote((timezone.now() - timedelta(minutes=5)).isoformat())
        assert eli.get(f"{review_path}updates/?since={since}", **{"HX-Request": "true"})[0] == 200
        for path in pages:
            assert eli.get(path)[0] == 200, path
        status, _ = lead.post(
            f"{milestone_path}move/", {"to": Phase.DESIGN_SPEC, "note": "Back to the spec."}
        )
        assert status == 302
        api = Client(base, log)
        api.headers = {"Authorization": f"Token {token}", "Accept": "application/json"}
        assert api.get(f"/api/v1/milestones/{milestone.pk}/unknowns/")[0] == 200
        body = json.dumps(
            {
                "title": "Created through the API while Redis was away",
                "priority": "normal",
                "owner": engineer.pk,
            }
        )
        status, answer = api.request(
            "POST",
            f"/api/v1/milestones/{milestone.pk}/unknowns/",
            body.encode(),
            {"Content-Type": "application/json"},
        )
        assert status == 201, answer

        slowest = max(elapsed for *_, elapsed in log)
        server_errors = [entry for entry in log if entry[2] >= 500]
        print(
            f"\nRedis away: {len(log)} requests, {len(server_errors)} 5xx, slowest {slowest:.3f}s"
        )
        assert server_errors == []
        assert slowest < SLOW, sorted(log, key=lambda entry: -entry[3])[:3]
        # Nothing typed is lost, nothing is saved twice.
        assert Unknown.objects.filter(title="Typed while Redis was away").count() == 1
        assert Unknown.objects.filter(title="Assigned while Redis was away").count() == 1
        assert Unknown.objects.filter(title__startswith="Created through the API").count() == 1
        assert Comment.objects.filter(body="A comment nobody loses.").count() == 1
        assert Verdict.objects.get(reviewer=engineer).verdict == "changes_requested"
        # What was written waits in the outbox, unclaimed, for the next sweep.
        waiting = Notification.objects.filter(email=Notification.Email.PENDING)
        assert waiting.count() == 3
        assert not waiting.filter(email_claimed_at__isnull=False).exists()
        [event] = WebhookDelivery.objects.all()
        assert (event.status, event.claimed_at) == (WebhookDelivery.Status.PENDING, None)

        # Redis is back: a worker on it runs the beat's sweep, which sends what waited.
        own_redis.start()
        outbox = tmp_path / "outbox"
        outbox.mkdir()
        worker = start_worker(
            queue,
            tmp_path / "worker.log",
            **{name: value for name, value in redis.items() if name != "CELERY_TASK_DEFAULT_QUEUE"},
            EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend",
            EMAIL_FILE_PATH=str(outbox),
        )
        with app.connection_for_write(url=redis["CELERY_BROKER_URL"]) as connection:
            app.send_task(
                "planning.sweep_reminders",
                queue=queue,
                connection=connection,
                ignore_result=True,
            )
        wait_until(
            lambda: (
                not Notification.objects.filter(email=Notification.Email.PENDING).exists()
                and not WebhookDelivery.objects.filter(
                    status=WebhookDelivery.Status.PENDING
                ).exists()
            ),
            60,
            "what was written while Redis was away was not delivered",
            tmp_path / "worker.log",
        )
        emails = [message_from_bytes(path.read_bytes()) for path in outbox.iterdir()]
        assert sorted(email["To"] for email in emails) == [
            engineer.email,
            engineer.email,
            tech_lead.email,
        ]
        assert len(receiver.requests) == 1
        assert receiver.requests[0][0]["X-Squad-Planner-Event"] == "milestone.phase_changed"
        print(
            f"After recovery: {len(emails)} emails and {len(receiver.requests)} webhook post "
            f"delivered; {time.monotonic() - began:.1f}s in all"
        )
    finally:
        stop(web)
        if worker is not None:
            stop(worker)
        receiver.close()
    assert time.monotonic() - began < 90


# PostgreSQL restarted -----------------------------------------------------------------------------


class OwnPostgres:
    """A throwaway PostgreSQL cluster in a temporary folder, on its own port."""

    def __init__(self) -> None:
        for tool in ("initdb", "pg_ctl"):
            if shutil.which(tool) is None:
                pytest.fail(f"This test needs {tool} on PATH (PostgreSQL's server binaries).")
        self.folder = Path(tempfile.mkdtemp(prefix="squad-planner-pg-"))
        self.data = self.folder / "data"
        self.port = free_port()
        self.as_postgres = os.geteuid() == 0
        if self.as_postgres:
            # initdb refuses to run as root: the cluster belongs to the postgres user.
            shutil.chown(self.folder, "postgres")

    def run(self, *args: str) -> None:
        command = [shutil.which(args[0]) or args[0], *args[1:]]
        if self.as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        result = subprocess.run(
            command, cwd=self.folder, capture_output=True, text=True, timeout=60
        )
        if result.returncode != 0:
            pytest.fail(f"{' '.join(args[:2])} failed:\n{result.stdout}\n{result.stderr}")

    def init(self) -> None:
        self.run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
        self.start()

    def start(self) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        self.run(
            "pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.folder / "log"),
            "-w", "-t", "30", "start",
        )  # fmt: skip

    def restart(self) -> None:
        self.run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")
        self.start()

    def url(self, database: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def destroy(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self.run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.folder, ignore_errors=True)


@pytest.fixture
def own_postgres():
    cluster = OwnPostgres()
    try:
        cluster.init()
        yield cluster
    finally:
        cluster.destroy()


def manage(url: str, log: Path, *args: str, **env: str) -> None:
    process = start([sys.executable, "manage.py", *args], log, DATABASE_URL=url, **env)
    if process.wait(timeout=120) != 0:
        pytest.fail(f"manage.py {' '.join(args)} failed:\n{log.read_text()}")


@pytest.mark.postgres
def test_the_first_request_after_a_postgresql_restart_succeeds(own_postgres, tmp_path):
    import psycopg

    began = time.monotonic()
    with psycopg.connect(own_postgres.url("postgres"), autocommit=True) as connection:
        connection.execute("CREATE DATABASE planner")
    url = own_postgres.url("planner")
    manage(url, tmp_path / "migrate.log", "migrate", "--noinput")
    manage(
        url,
        tmp_path / "user.log",
        "createsuperuser", "--noinput", "--username", "amy", "--email", "amy@example.com",
        DJANGO_SUPERUSER_PASSWORD=PASSWORD,
    )  # fmt: skip
    # One worker, keeping its connection (CONN_MAX_AGE=60, as production does).
    web, base = gunicorn(tmp_path / "gunicorn.log", workers=1, DATABASE_URL=url)
    try:
        log: list[tuple[str, str, int, float]] = []
        amy = Client(base, log)
        amy.log_in("amy")
        assert amy.get("/")[0] == 200

        own_postgres.restart()

        status, _ = amy.get("/")
        assert status == 200, (tmp_path / "gunicorn.log").read_text()[-3000:]
        assert amy.get("/squads/")[0] == 200
    finally:
        stop(web)
    print(f"\nPostgreSQL restart: {len(log)} requests, statuses {[e[2] for e in log]}")
    assert time.monotonic() - began < 90
