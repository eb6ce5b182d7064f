"""The API's front door: tokens, authentication, errors, the schema and its docs."""

import pytest
from django.core.cache import cache
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from squads.models import Squad
from tests.factories import PASSWORD
from tests.helpers import assert_api_error, unchanged
from tests.test_api_matrix import (
    as_user,
    fill,
    operations,
    world,  # noqa: F401 (the fixture: one object of each kind)
)

pytestmark = pytest.mark.django_db

TOKEN_URL = "/api/v1/auth/token/"


@pytest.fixture(autouse=True)
def fresh_throttle():
    cache.clear()
    yield
    cache.clear()


def test_the_right_password_gives_a_token_that_authenticates(tech_lead):
    client = APIClient()
    answer = client.post(TOKEN_URL, {"username": tech_lead.username, "password": PASSWORD})
    assert answer.status_code == 200
    token = answer.json()["token"]

    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get("/api/v1/squads/").status_code == 200
    # The same token on a second request for it.
    again = APIClient().post(TOKEN_URL, {"username": tech_lead.username, "password": PASSWORD})
    assert again.json()["token"] == token


@pytest.mark.parametrize(
    "body",
    [
        {"username": "tess", "password": "wrong"},
        {"username": "nobody", "password": PASSWORD},
        {"username": "tess"},
        {},
        {"username": ["a"], "password": {"x": 1}},
    ],
)
def test_wrong_or_malformed_credentials_answer_400(tech_lead, body):
    answer = APIClient().post(TOKEN_URL, body, format="json")
    assert answer.status_code == 400
    assert isinstance(answer.json(), dict)
    assert "token" not in answer.json()
    assert_api_error(answer, 400)
    assert not Token.objects.exists()


def test_repeated_failures_are_throttled_with_429(tech_lead, settings):
    client = APIClient()
    statuses = [
        client.post(TOKEN_URL, {"username": "tess", "password": "wrong"}).status_code
        for _ in range(12)
    ]
    assert statuses[:10] == [400] * 10
    assert statuses[-1] == 429
    assert "detail" in client.post(TOKEN_URL, {}).json()


@pytest.mark.parametrize("header", [None, "Token not-a-real-token", "Bearer abc", "Token"])
def test_no_or_bad_credentials_answer_401_with_detail(header):
    client = APIClient()
    if header:
        client.credentials(HTTP_AUTHORIZATION=header)
    answer = client.get("/api/v1/squads/")
    assert answer.status_code == 401
    assert set(answer.json()) == {"detail"}
    assert answer["WWW-Authenticate"].startswith("Token")


def test_a_browser_session_works_and_needs_csrf_to_write(tech_lead):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(tech_lead)
    assert client.get("/api/v1/squads/").status_code == 200
    with unchanged(Squad):
        refused = client.post(
            "/api/v1/squads/", {"name": "No token", "slug": "no-token"}, format="json"
        )
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["detail"]


def test_the_openapi_schema_is_served(client):
    answer = client.get("/api/schema/?format=json")
    assert answer.status_code == 200
    schema = answer.json()
    assert schema["openapi"].startswith("3.")
    assert "/api/v1/auth/token/" in schema["paths"]


def test_the_docs_page_uses_only_our_own_static_files(client):
    answer = client.get("/api/docs/")
    assert answer.status_code == 200
    page = answer.content.decode()
    assert "swagger-ui" in page
    assert "cdn" not in page.lower() and "unpkg" not in page.lower()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in page


def test_options_describes_every_route_without_failing(client, world):  # noqa: F811
    member = as_user(world["people"]["engineer"])
    for path in sorted({path for _, path in operations(client)}):
        answer = member.options(fill(path, world))
        assert answer.status_code == 200, path
        assert answer.json()["parses"] == ["application/json"], path
