"""The API guide's walk, for real: one milestone from creation to done through the API only."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

API = "/api/v1"


def token_client(user) -> APIClient:
    client = APIClient()
    answer = client.post(f"{API}/auth/token/", {"username": user.username, "password": PASSWORD})
    assert answer.status_code == 200, answer.content
    client.credentials(HTTP_AUTHORIZATION=f"Token {answer.json()['token']}")
    return client


def ok(answer, status: int = 200):
    assert answer.status_code == status, (answer.status_code, answer.content[:500])
    return (
        answer.json() if answer.get("Content-Type", "").startswith("application/json") else answer
    )


def test_a_milestone_walks_from_creation_to_done_through_the_api():
    lead = UserFactory(username="lead", full_name="Lena Lead")
    eng = UserFactory(username="eng1", full_name="Ezra Engineer")
    second = UserFactory(username="eng2", full_name="Noor Engineer")
    principal = UserFactory(username="principal", full_name="Paul Principal")
    api, eng_api, second_api = token_client(lead), token_client(eng), token_client(second)
    principal_api = token_client(principal)

    ok(api.post(f"{API}/squads/", {"name": "Checkout", "slug": "checkout"}), 201)
    for person in ("eng1", "eng2"):
        ok(api.post(f"{API}/squads/checkout/members/", {"user": person, "role": "engineer"}), 201)
    project = ok(
        api.post(
            f"{API}/projects/",
            {"squad": "checkout", "name": "Wallet", "slug": "wallet", "tech_lead": lead.pk,
             "principal_engineer": principal.pk},
        ),
        201,
    )  # fmt: skip
    milestone = ok(
        api.post(f"{API}/milestones/", {"project": project["id"], "title": "Saved cards"}), 201
    )
    m = milestone["id"]
    assert (milestone["number"], milestone["phase"]) == (1, "architecture")

    refused = api.post(f"{API}/milestones/{m}/transition/", {"to": "protocols"})
    assert refused.status_code == 409
    assert {u["code"] for u in refused.json()["unmet"]} >= {
        "artifact_not_ready:system_architecture"
    }
    assert ok(api.get(f"{API}/milestones/{m}/"))["phase"] == "architecture"

    def write_ready(kind: str) -> None:
        url = f"{API}/milestones/{m}/artifacts/{kind}/"
        etag = api.get(url)["ETag"]
        ok(
            api.patch(
                url,
                {"body": f"## {kind}\n\n```mermaid\nflowchart LR\n  a --> b\n```"},
                HTTP_IF_MATCH=etag,
            )
        )
        stale = api.patch(url, {"body": "late"}, HTTP_IF_MATCH=etag)
        assert stale.status_code == 412 and stale.json()["current_revision"] == 1
        ok(api.patch(url, {"status": "ready"}))

    def move(to: str, note: str = "") -> None:
        body = {"to": to, **({"note": note} if note else {})}
        assert ok(api.post(f"{API}/milestones/{m}/transition/", body))["phase"] == to

    write_ready("system_architecture")
    write_ready("application_architecture")
    move("protocols")
    write_ready("protocol_specs")
    for kind in ("infrastructure_diagram", "sequence_diagram", "flow_chart"):
        ok(
            api.patch(
                f"{API}/milestones/{m}/artifacts/{kind}/",
                {"needed": False, "not_needed_reason": "No."},
            )
        )
    move("design_spec")
    write_ready("design_spec")
    move("unknowns")

    unknown = ok(
        api.post(
            f"{API}/milestones/{m}/unknowns/",
            {"title": "Token format?", "priority": "blocker", "owner": eng.pk},
        ),
        201,
    )
    assert unknown["key"] == "U-1"
    assert ok(api.get(f"{API}/milestones/{m}/readiness/"))["can_advance"] is False
    deferral = ok(
        api.post(
            f"{API}/unknowns/{unknown['id']}/deferral/",
            {"reason": "After launch", "defer_until": "M3"},
        ),
        201,
    )
    pending = ok(principal_api.get(f"{API}/deferrals/?status=pending"))
    assert [d["id"] for d in pending["results"]] == [deferral["id"]]
    ok(
        principal_api.post(
            f"{API}/deferrals/{deferral['id']}/decide/", {"decision": "approve", "note": "Fine."}
        )
    )
    move("design_review")

    review = ok(
        api.post(f"{API}/milestones/{m}/reviews/",
                 {"scheduled_for": (timezone.now() + timedelta(days=1)).isoformat(), "location": "Room Ada"}),
        201,
    )  # fmt: skip
    r = review["id"]
    assert review["round"] == 1
    assert api.get(f"{API}/reviews/{r}/invite.ics")["Content-Type"].startswith("text/calendar")
    ok(api.post(f"{API}/reviews/{r}/open/"))
    ok(
        eng_api.post(
            f"{API}/reviews/{r}/comments/",
            {"body": "Looks good", "artifact_kind": "protocol_specs"},
        ),
        201,
    )
    early = api.post(f"{API}/reviews/{r}/close/", {"outcome": "approved"})
    assert early.status_code == 409
    assert "not_enough_approvals" in {u["code"] for u in early.json()["unmet"]}
    assert ok(api.get(f"{API}/reviews/{r}/"))["status"] == "open"
    ok(eng_api.put(f"{API}/reviews/{r}/verdict/", {"verdict": "approve"}))
    ok(second_api.put(f"{API}/reviews/{r}/verdict/", {"verdict": "approve"}))
    ok(api.post(f"{API}/reviews/{r}/close/", {"outcome": "approved"}))
    move("kickoff")

    ok(
        api.put(
            f"{API}/milestones/{m}/kickoff/",
            {"scheduled_for": timezone.now().isoformat(), "location": "Room Ada"},
        )
    )
    concern = ok(
        eng_api.post(
            f"{API}/milestones/{m}/concerns/", {"kind": "question", "text": "Email or push?"}
        ),
        201,
    )
    ok(
        api.patch(
            f"{API}/concerns/{concern['id']}/", {"answer": "Email first.", "status": "answered"}
        )
    )
    ok(api.post(f"{API}/milestones/{m}/kickoff/held/"))
    move("task_breakout")

    story = ok(eng_api.post(f"{API}/milestones/{m}/stories/", {"title": "Nightly job"}), 201)
    assert story["key"] == "S-1"
    ok(eng_api.post(f"{API}/stories/{story['id']}/claim/"))
    assert api.post(f"{API}/milestones/{m}/transition/", {"to": "done"}).status_code == 409
    not_broken_out = api.post(f"{API}/milestones/{m}/transition/", {"to": "done"})
    assert [u["code"] for u in not_broken_out.json()["unmet"]] == ["story_without_subtasks:S-1"]
    assert ok(api.get(f"{API}/milestones/{m}/"))["phase"] == "task_breakout"
    ok(
        eng_api.post(f"{API}/stories/{story['id']}/subtasks/", {"title": "Query expiring cards"}),
        201,
    )
    move("done")

    packet = api.get(f"{API}/milestones/{m}/packet.md")
    assert packet.status_code == 200 and "Nightly job" in packet.content.decode()
    activity = ok(api.get(f"{API}/milestones/{m}/activity/"))
    assert activity["results"][0]["verb"] == "phase_advanced"
