"""Wrong passwords are throttled per account and per client address, on the page and the API.

The client address is the peer's unless the deployment says how many proxies
of its own stand in front (TRUSTED_PROXIES): a forged X-Forwarded-For changes nothing.
"""

from __future__ import annotations

import pytest
from axes.models import AccessAttempt
from django.test import RequestFactory, override_settings
from django.urls import reverse

from config.client_ip import client_ip
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"
TOKEN = "/api/v1/auth/token/"


@pytest.fixture
def someone(password):
    return UserFactory(username="sam")


def wrong_login(client, username="sam", **headers):
    return client.post(LOGIN, {"username": username, "password": "not-it"}, **headers)


def test_twenty_wrong_passwords_on_the_login_page_are_throttled(client, someone, password):
    answers = [wrong_login(client).status_code for _ in range(20)]

    assert answers[:10] == [200] * 10
    assert set(answers[10:]) == {429}
    locked = client.post(LOGIN, {"username": "sam", "password": password})
    assert locked.status_code == 429
    assert "Too many failed attempts to log in" in locked.content.decode()
    assert int(locked["Retry-After"]) == 15 * 60
    assert "_auth_user_id" not in client.session


def test_a_forged_forwarded_for_header_does_not_escape_the_throttle(client, someone):
    answers = [
        wrong_login(client, username=f"guess{n}", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}").status_code
        for n in range(20)
    ]

    # Different names and different claimed addresses: the peer address is the same.
    assert set(answers[10:]) == {429}
    assert AccessAttempt.objects.values("ip_address").distinct().count() == 1


def test_one_account_is_throttled_whatever_address_the_attempts_come_from(
    client, someone, password
):
    for n in range(12):
        wrong_login(client, REMOTE_ADDR=f"198.51.100.{n}")

    answer = client.post(
        LOGIN, {"username": "sam", "password": password}, REMOTE_ADDR="198.51.100.200"
    )

    assert answer.status_code == 429


def test_a_right_password_before_the_limit_logs_in_and_starts_the_count_over(
    client, someone, password
):
    for _ in range(5):
        wrong_login(client)

    answer = client.post(LOGIN, {"username": "sam", "password": password})

    assert answer.status_code == 302
    assert client.session["_auth_user_id"] == str(someone.pk)
    assert not AccessAttempt.objects.filter(username="sam", failures_since_start__gt=0).exists()


def test_twenty_wrong_passwords_at_the_token_endpoint_are_throttled_in_the_apis_shape(
    client, someone, password
):
    answers = [
        client.post(
            TOKEN,
            {"username": "sam", "password": "not-it"},
            content_type="application/json",
            HTTP_X_FORWARDED_FOR=f"192.0.2.{n}",
        )
        for n in range(20)
    ]

    assert [a.status_code for a in answers[:10]] == [400] * 10
    assert {a.status_code for a in answers[10:]} == {429}
    assert set(answers[-1].json()) == {"detail"}
    right = client.post(
        TOKEN, {"username": "sam", "password": password}, content_type="application/json"
    )
    assert right.status_code == 429
    assert "token" not in right.json()


def request_from(peer: str, forwarded: str | None = None):
    headers = {"REMOTE_ADDR": peer}
    if forwarded is not None:
        headers["HTTP_X_FORWARDED_FOR"] = forwarded
    request = RequestFactory().get("/")
    request.META.update(headers)
    return request


def test_without_trusted_proxies_the_client_is_the_peer():
    assert client_ip(request_from("10.1.2.3", "203.0.113.9")) == "10.1.2.3"


@override_settings(TRUSTED_PROXIES=1)
def test_behind_one_proxy_the_client_is_the_address_that_proxy_saw():
    # The client may prepend anything; our proxy appends the address it saw last.
    assert client_ip(request_from("10.0.0.2", "6.6.6.6, 203.0.113.9")) == "203.0.113.9"


@override_settings(TRUSTED_PROXIES=2)
def test_behind_two_proxies_the_client_is_the_second_entry_from_the_right():
    forwarded = "6.6.6.6, 203.0.113.9, 10.0.0.5"

    assert client_ip(request_from("10.0.0.2", forwarded)) == "203.0.113.9"


@override_settings(TRUSTED_PROXIES=2)
def test_a_request_that_skipped_a_proxy_or_carries_garbage_falls_back_to_the_peer():
    assert client_ip(request_from("10.0.0.2", "203.0.113.9")) == "10.0.0.2"
    assert client_ip(request_from("10.0.0.2", "not-an-address, 10.0.0.5")) == "10.0.0.2"


def test_the_login_page_still_names_the_reset_route_for_a_locked_account(client, someone):
    for _ in range(11):
        wrong_login(client)

    page = client.get(LOGIN)

    assert page.status_code == 200  # viewing the page is not refused, only logging in
    assert reverse("accounts:login") in page.content.decode()
