"""Fixtures shared by the whole suite, and the rule for tests that need outside services.

Tests marked `postgres`, `redis` or `browser` need PostgreSQL (DATABASE_URL),
Redis (CELERY_BROKER_URL) or Debian's chromium. Without them, and with CI
unset, they are left out and one line says how many and how to provide them.
With CI set they always run, and a missing service fails them.

Tests marked `database_free` (the workflow's guards on plain data) must not
ask for the database; one that does is refused at collection.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.conf import settings

from squads.models import Membership
from tests.factories import PASSWORD, MembershipFactory, ProjectFactory, SquadFactory, UserFactory

NEEDS = {
    "postgres": (
        lambda: settings.DATABASES["default"]["ENGINE"].endswith("postgresql"),
        "DATABASE_URL=postgres://postgres@127.0.0.1:5432/squad_planner",
    ),
    "redis": (
        lambda: settings.CELERY_BROKER_URL.startswith(("redis://", "rediss://")),
        "CELERY_BROKER_URL=redis://127.0.0.1:6379/0",
    ),
    "browser": (
        lambda: shutil.which("chromium") is not None,
        "Debian's chromium on PATH (apt-get install chromium)",
    ),
}
_left_out: list[pytest.Item] = []
_missing: set[str] = set()


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() not in ("", "0", "false")


DATABASE_FIXTURES = {"db", "transactional_db", "django_db_setup", "live_server"}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "database_free: runs on plain data; asking for the database is an error"
    )


def _refuse_database_in_database_free_tests(items: list[pytest.Item]) -> None:
    wrong = [
        item.nodeid
        for item in items
        if item.get_closest_marker("database_free")
        and (
            item.get_closest_marker("django_db")
            or DATABASE_FIXTURES.intersection(getattr(item, "fixturenames", ()))
        )
    ]
    if wrong:
        raise pytest.UsageError(
            "These tests are marked database_free but ask for the database: " + ", ".join(wrong)
        )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    _refuse_database_in_database_free_tests(items)
    available = {name: check() for name, (check, _) in NEEDS.items()}
    if in_ci():
        missing = [name for name, ok in available.items() if not ok]
        if missing:
            hints = "; ".join(NEEDS[name][1] for name in missing)
            raise pytest.UsageError(f"CI is set but these are missing: {hints}")
        return
    kept = []
    for item in items:
        needs = [m.name for m in item.iter_markers() if m.name in NEEDS]
        lacking = [name for name in needs if not available[name]]
        if lacking:
            _left_out.append(item)
            _missing.update(lacking)
        else:
            kept.append(item)
    if _left_out:
        config.hook.pytest_deselected(items=_left_out)
        items[:] = kept


def pytest_terminal_summary(terminalreporter) -> None:
    # How many requests each fuzz test sent, and in how long (tests/fuzz.py keeps the tally).
    fuzz = sys.modules.get("tests.fuzz")
    for line in getattr(fuzz, "TALLIES", []):
        terminalreporter.write_line(f"fuzz: {line}")
    if _left_out:
        hints = "; ".join(NEEDS[name][1] for name in sorted(_missing))
        terminalreporter.write_line(
            f"{len(_left_out)} test{'s' if len(_left_out) != 1 else ''} left out: "
            f"they need {', '.join(sorted(_missing))}. "
            f"Provide them with: {hints}.",
            yellow=True,
            bold=True,
        )


@pytest.fixture(autouse=True)
def _empty_cache() -> Iterator[None]:
    """Each test starts with empty caches: rows of an earlier test may have had the same ids."""
    from django.core.cache import caches

    for each in caches.all():
        each.clear()
    yield


@pytest.fixture(autouse=True)
def resolver(monkeypatch) -> dict[str, list[str]]:
    """Host names as the webhook code resolves them, from this table: no test asks a DNS server.

    `resolver["hook.example.net"] = ["10.0.0.5"]` makes a name answer with an
    address. The webhook code connects only to loopback in tests: any other
    address fails the test before a packet leaves.
    """
    import ipaddress
    import socket

    from notifications import egress

    table: dict[str, list[str]] = {
        "localhost": ["127.0.0.1"],
        # A public address; no test posts to it (the connection guard below would fail it).
        "hooks.example.com": ["93.184.215.14"],
    }

    def getaddrinfo(host, port, *args, **kwargs):
        try:
            addresses = [str(ipaddress.ip_address(host))]
        except ValueError:
            addresses = table.get(host.lower().rstrip("."), [])
        if not addresses:
            raise socket.gaierror(socket.EAI_NONAME, f"{host} is not in the test resolver")
        return [
            (
                socket.AF_INET6 if ":" in address else socket.AF_INET,
                socket.SOCK_STREAM,
                socket.IPPROTO_TCP,
                "",
                (address, port),
            )
            for address in addresses
        ]

    real_create_connection = egress.create_connection

    def create_connection(address, *args, **kwargs):
        if not ipaddress.ip_address(address[0]).is_loopback:
            pytest.fail(f"A webhook tried to connect to {address[0]}, outside this machine.")
        return real_create_connection(address, *args, **kwargs)

    monkeypatch.setattr(egress, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(egress, "create_connection", create_connection)
    return table


# Personas -----------------------------------------------------------------


@pytest.fixture
def squad(db):
    return SquadFactory(name="Payments", slug="payments")


def _member(squad, username: str, role: str):
    user = UserFactory(username=username)
    MembershipFactory(squad=squad, user=user, role=role)
    return user


@pytest.fixture
def tech_lead(squad):
    return _member(squad, "tess", Membership.Role.TECH_LEAD)


@pytest.fixture
def engineer(squad):
    return _member(squad, "eli", Membership.Role.ENGINEER)


@pytest.fixture
def product(squad):
    return _member(squad, "pia", Membership.Role.PRODUCT)


@pytest.fixture
def principal(db):
    """Principal engineer of `project`: not a squad member."""
    return UserFactory(username="paul")


@pytest.fixture
def guest(db):
    """Someone outside the squad, invited to design reviews in later features."""
    return UserFactory(username="gia")


@pytest.fixture
def outsider(db):
    """A member of another squad, with no business in ours."""
    other = SquadFactory(name="Elsewhere", slug="elsewhere")
    return _member(other, "otto", Membership.Role.TECH_LEAD)


@pytest.fixture
def project(squad, tech_lead, principal):
    return ProjectFactory(
        squad=squad,
        name="Card Vault",
        slug="card-vault",
        tech_lead=tech_lead,
        principal_engineer=principal,
    )


@pytest.fixture
def password() -> str:
    return PASSWORD


@pytest.fixture
def client_for(client):
    """Log the test client in as the given user: `client_for(engineer).get(...)`."""

    def login(user):
        client.force_login(user)
        return client

    return login


# Browser --------------------------------------------------------------------


@contextmanager
def _static_files_for_any_origin() -> Iterator[None]:
    """Static files as WhiteNoise serves them in development and production: to any origin.

    live_server answers for static files itself, without the
    Access-Control-Allow-Origin header WhiteNoise sends. The diagram frame is
    sandboxed (an opaque origin), and module scripts it imports are fetched
    with CORS, so without the header Mermaid would not load in the tests.
    """
    from django.contrib.staticfiles.handlers import StaticFilesHandler

    serve = StaticFilesHandler.serve

    def serve_to_any_origin(self, request):
        response = serve(self, request)
        response["Access-Control-Allow-Origin"] = "*"
        return response

    StaticFilesHandler.serve = serve_to_any_origin  # type: ignore[method-assign]
    try:
        yield
    finally:
        StaticFilesHandler.serve = serve  # type: ignore[method-assign]


@pytest.fixture(scope="session")
def browser() -> Iterator:
    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium")
    if executable is None:
        pytest.fail("Browser tests need Debian's chromium: apt-get install chromium")
    # Playwright's sync API runs an event loop in this thread; Django's ORM calls
    # from the test body are still plain synchronous calls.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with _static_files_for_any_origin(), sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield browser
        browser.close()


@pytest.fixture
def new_page(browser, live_server):
    """Open pages in fresh browser contexts; `new_page(user)` opens one logged in as `user`."""
    contexts = []

    def open_page(user=None):
        context = browser.new_context(
            base_url=live_server.url, viewport={"width": 1280, "height": 900}
        )
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        if user is not None:
            page.goto("/accounts/login/")
            page.fill("input[name=username]", user.username)
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url(live_server.url + "/")
        return page

    yield open_page
    for context in contexts:
        context.close()
