"""The headers on every answer: Content-Security-Policy, Permissions-Policy, and no
caching of what a signed-in user is shown; and the diagram frame's own policy."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from config.middleware import PRIVATE
from planning import services

pytestmark = pytest.mark.django_db

PAGE_POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "object-src": "'none'",
    "base-uri": "'none'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}


def policy(answer) -> dict[str, str]:
    directives = (
        part.strip().split(" ", 1) for part in answer["Content-Security-Policy"].split(";")
    )
    return {name: value for name, value in directives}


@pytest.fixture
def milestone(project, tech_lead):
    return services.create_milestone(tech_lead, project, title="Tokenise cards")


def test_pages_carry_the_strict_policy_and_deny_unused_features(client, client_for, tech_lead):
    for answer in (client.get("/accounts/login/"), client_for(tech_lead).get("/")):
        assert answer.status_code == 200
        assert policy(answer) == PAGE_POLICY
        features = answer["Permissions-Policy"]
        for feature in ("camera", "microphone", "geolocation", "payment", "usb"):
            assert f"{feature}=()" in features


def test_the_artifact_editor_alone_adds_a_nonce_for_its_import_map_and_styles(
    client_for, tech_lead, milestone
):
    artifact = milestone.artifacts.get(kind="system_architecture")
    services.save_artifact_body(tech_lead, artifact, body="Text.", base_revision=0)
    editor = client_for(tech_lead).get(artifact.get_absolute_url())

    nonce = re.search(r'<script type="importmap" nonce="([^"]+)">', editor.content.decode())
    assert nonce
    expected = {
        **PAGE_POLICY,
        "script-src": f"'self' 'nonce-{nonce.group(1)}'",
        "style-src": f"'self' 'nonce-{nonce.group(1)}'",
    }
    assert policy(editor) == expected
    # A page without the editor keeps the strict policy, nonce and all.
    assert policy(client_for(tech_lead).get(milestone.get_absolute_url())) == PAGE_POLICY


def test_what_a_signed_in_user_is_shown_is_not_stored(client_for, tech_lead, milestone):
    review = services.schedule_review(
        tech_lead, milestone, scheduled_for=timezone.now() + timedelta(days=1)
    )
    client = client_for(tech_lead)
    for url in (
        "/",
        milestone.get_absolute_url(),
        milestone.get_absolute_url() + "packet.md",
        review.get_absolute_url() + "invite.ics",
        "/admin/login/",
    ):
        answer = client.get(url)
        assert answer["Cache-Control"] == PRIVATE, url

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=tech_lead).key}")
    answer = api.get("/api/v1/squads/")
    assert answer.status_code == 200
    assert answer["Cache-Control"] == PRIVATE


def test_an_anonymous_answer_is_not_marked_private(client):
    answer = client.get("/health/")
    assert "Cache-Control" not in answer
    assert "Permissions-Policy" in answer


def test_the_diagram_frame_alone_allows_inline_style_and_only_our_pages_frame_it(client):
    answer = client.get("/diagrams/frame/")
    assert answer.status_code == 200
    assert answer["X-Frame-Options"] == "SAMEORIGIN"
    assert policy(answer) == {
        "default-src": "'none'",
        "script-src": "'self'",
        "style-src": "'unsafe-inline'",
        "frame-ancestors": "'self'",
        "base-uri": "'none'",
        "form-action": "'none'",
    }
    assert 'data-mermaid="/static/vendor/mermaid/mermaid.esm.min.mjs"' in answer.content.decode()
    assert client.get("/accounts/login/")["X-Frame-Options"] == "DENY"


def test_the_api_docs_page_has_no_inline_script_or_style(client):
    page = client.get("/api/docs/").content.decode()
    assert "<style" not in page
    assert re.findall(r"<script(?![^>]*\bsrc=)", page) == []
    script = client.get("/api/docs/?script=")
    assert script["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle" in script.content.decode()
