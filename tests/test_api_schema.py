"""The OpenAPI schema: valid, complete, and what the live API answers conforms to it."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from rest_framework.authtoken.models import Token

from planning import services
from tests.helpers import child_environ

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.django_db
def test_the_schema_is_valid_and_has_no_warnings():
    out = io.StringIO()
    call_command("spectacular", "--validate", "--fail-on-warn", stdout=out)
    assert "openapi: 3" in out.getvalue()


@pytest.mark.django_db
def test_every_api_route_is_in_the_schema(client):
    from django.urls import get_resolver

    schema = client.get("/api/schema/?format=json").json()
    paths = set(schema["paths"])
    api = get_resolver().url_patterns
    documented = [p for p in paths if p.startswith("/api/v1/")]
    assert len(documented) >= 40, sorted(documented)
    assert api  # the resolver loaded
    for operation in (op for ops in schema["paths"].values() for op in ops.values()):
        responses = operation["responses"]
        assert any(code.startswith("2") for code in responses), operation["operationId"]


@pytest.mark.django_db
def test_the_schema_describes_block_comments_and_verdicts_pinned_to_revisions(client):
    schema = client.get("/api/schema/?format=json").json()
    parts = schema["components"]["schemas"]

    assert {"revision", "anchor", "outdated"} <= set(parts["Comment"]["properties"])
    assert {"block", "quote", "current_block"} <= set(parts["Anchor"]["properties"])
    assert {"revision", "anchor"} <= set(parts["CommentInputRequest"]["properties"])
    assert set(parts["AnchorInputRequest"]["required"]) == {"block"}
    verdict = parts["Verdict"]["properties"]
    assert {"revisions", "stale", "dismissed_by", "dismiss_note", "dismissed_at"} <= set(verdict)
    assert verdict["stale"]["type"] == "boolean"
    dismiss = schema["paths"]["/api/v1/verdicts/{id}/dismiss/"]["post"]
    assert {"200", "400", "403", "404"} <= set(dismiss["responses"])
    assert dismiss["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/DismissRequest"
    )


def run_schemathesis(base_url: str, token: str, log: Path) -> subprocess.CompletedProcess:
    """Fuzz every operation, bounded in examples and time, failing on a 5xx or a reply off schema."""
    return subprocess.run(
        [
            sys.executable, "-m", "schemathesis.cli", "run", f"{base_url}/api/schema/?format=json",
            "--url", f"{base_url}",
            "--header", f"Authorization: Token {token}",
            "--checks", "not_a_server_error,response_schema_conformance",
            "--phases", "examples,fuzzing",
            "--max-examples", "12",
            "--max-time", "150",
            "--workers", "1",
            "--seed", "20261123",
            "--request-timeout", "20",
            "--exclude-path", "/api/v1/auth/token/",
            "--warnings", "off",
        ],
        cwd=ROOT, env=child_environ(), capture_output=True, text=True, timeout=400,
    )  # fmt: skip


@pytest.mark.django_db(transaction=True)
def test_schemathesis_finds_no_server_error_and_no_reply_off_schema(
    live_server, project, tech_lead, engineer, outsider, tmp_path
):
    # Something real behind the ids, for the member's token to reach.
    milestone = services.create_milestone(tech_lead, project, title="Fuzzed")
    services.add_unknown(tech_lead, milestone, title="Fuzzed unknown", owner=engineer)
    for person in (engineer, outsider):
        token = Token.objects.create(user=person).key
        result = run_schemathesis(live_server.url, token, tmp_path / f"{person.username}.log")
        assert result.returncode == 0, (
            f"schemathesis as {person.username}:\n{result.stdout[-6000:]}\n{result.stderr[-2000:]}"
        )
