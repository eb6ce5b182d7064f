"""The API of milestones: workflow, artifacts with ETag/If-Match, timeline, packet, unknowns, deferrals."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from planning import services
from planning.models import (
    Activity,
    Artifact,
    ArtifactRevision,
    DeferralRequest,
    Milestone,
    Unknown,
)
from planning.workflow import ARTIFACT_KINDS
from squads.models import Membership
from tests.factories import MembershipFactory, ProjectFactory, UserFactory
from tests.helpers import (
    artifact_of,
    assert_api_error,
    assert_api_not_found,
    decide_not_needed,
    make_ready,
    unchanged,
    write_artifact,
)

pytestmark = pytest.mark.django_db

API = "/api/v1"


def api(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


@pytest.fixture
def milestone(project, tech_lead):
    return services.create_milestone(tech_lead, project, title="Tokenise cards", goal="PCI scope.")


@pytest.fixture
def invited_guest(milestone, tech_lead, guest):
    review = services.schedule_review(
        tech_lead, milestone, scheduled_for=timezone.now() + dt.timedelta(days=2)
    )
    services.invite_guest(tech_lead, review, guest)
    return guest


@pytest.fixture
def unknown(milestone, engineer):
    return services.add_unknown(engineer, milestone, title="Vendor rate limits?", priority="high")


@pytest.fixture
def deferral(unknown, tech_lead):
    return services.request_deferral(
        tech_lead, unknown, reason="Only matters at scale.", defer_until="M3"
    )


def artifact_url(milestone, kind="design_spec") -> str:
    return f"{API}/milestones/{milestone.pk}/artifacts/{kind}/"


# Milestones ---------------------------------------------------------------------------


def test_a_member_lists_the_milestones_of_their_projects(milestone, engineer, outsider):
    answer = api(engineer).get(f"{API}/milestones/")
    assert answer.status_code == 200
    assert [m["id"] for m in answer.json()["results"]] == [milestone.pk]
    assert api(outsider).get(f"{API}/milestones/").json()["count"] == 0


def test_milestones_filter_by_project_and_phase(milestone, engineer, project):
    client = api(engineer)
    assert client.get(f"{API}/milestones/?project={project.pk}").json()["count"] == 1
    assert client.get(f"{API}/milestones/?project={project.pk + 99}").json()["count"] == 0
    assert client.get(f"{API}/milestones/?phase=architecture").json()["count"] == 1
    assert client.get(f"{API}/milestones/?phase=done").json()["count"] == 0


@pytest.mark.parametrize("query", ["phase=nowhere", "project=abc", "project=1.5"])
def test_a_bad_milestone_filter_answers_400(milestone, engineer, query):
    answer = api(engineer).get(f"{API}/milestones/?{query}")
    assert answer.status_code == 400
    assert_api_error(answer, 400, query.split("=")[0])


def test_the_project_tech_lead_creates_a_milestone_in_architecture(project, tech_lead):
    answer = api(tech_lead).post(
        f"{API}/milestones/",
        {"project": project.pk, "title": "Vault", "goal": "Keep cards.", "due_on": "2030-01-31"},
    )
    assert answer.status_code == 201
    body = answer.json()
    assert (body["number"], body["phase"], body["tech_lead"]) == (1, "architecture", tech_lead.pk)
    assert body["due_on"] == "2030-01-31"
    assert body["readiness"]["next_phase"] == "protocols"
    assert Artifact.objects.filter(milestone_id=body["id"]).count() == 7


def test_an_engineer_creating_a_milestone_gets_403(project, engineer):
    with unchanged(Milestone, Artifact, Activity):
        answer = api(engineer).post(f"{API}/milestones/", {"project": project.pk, "title": "Vault"})
    assert answer.status_code == 403
    assert "detail" in answer.json()
    assert_api_error(answer, 403)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": "No project"}, "project"),
        ({"project": "abc", "title": "x"}, "project"),
        ({"project": 10**30, "title": "x"}, "project"),
        ({"project": None, "title": "x"}, "project"),
        ({"project": "P", "title": "x", "due_on": "31/01/2030"}, "due_on"),
        ({"project": "P", "title": "", "due_on": None}, "title"),
        ({"project": "P", "title": "x", "tech_lead": 10**12}, "tech_lead"),
        ({"project": "P", "title": "x", "tech_lead": "tess"}, "tech_lead"),
    ],
)
def test_malformed_milestone_creation_answers_400(project, tech_lead, body, field):
    if body.get("project") == "P":
        body = {**body, "project": project.pk}
    with unchanged(Milestone, Artifact, Activity):
        answer = api(tech_lead).post(f"{API}/milestones/", body, format="json")
    assert answer.status_code == 400
    assert_api_error(answer, 400, field)


def test_creating_a_milestone_in_a_project_i_cannot_see_answers_400(project, outsider):
    with unchanged(Milestone, Artifact, Activity):
        answer = api(outsider).post(f"{API}/milestones/", {"project": project.pk, "title": "x"})
    assert answer.status_code == 400
    assert answer.json() == {"project": ["No such project."]}


def test_a_tech_lead_from_outside_the_squad_is_refused_with_400(project, tech_lead, outsider):
    with unchanged(Milestone, Artifact, Activity):
        answer = api(tech_lead).post(
            f"{API}/milestones/", {"project": project.pk, "title": "x", "tech_lead": outsider.pk}
        )
    assert answer.status_code == 400
    assert "tech_lead" in answer.json()
    assert_api_error(answer, 400, "tech_lead")


def test_a_milestone_includes_its_phase_and_readiness(milestone, engineer):
    answer = api(engineer).get(f"{API}/milestones/{milestone.pk}/")
    assert answer.status_code == 200
    body = answer.json()
    assert body["phase"] == "architecture"
    assert body["readiness"]["can_advance"] is False
    assert {"code", "message"} <= set(body["readiness"]["unmet"][0])


def test_an_outsider_gets_404_on_a_milestone_as_for_one_that_does_not_exist(milestone, outsider):
    mine = api(outsider).get(f"{API}/milestones/{milestone.pk}/")
    missing = api(outsider).get(f"{API}/milestones/{milestone.pk + 999}/")
    assert mine.status_code == missing.status_code == 404
    assert mine.json() == missing.json() == {"detail": "Not found."}


def test_anonymous_callers_get_401(milestone):
    answer = api().get(f"{API}/milestones/{milestone.pk}/")
    assert answer.status_code == 401
    assert_api_error(answer, 401)
    assert milestone.title not in answer.content.decode()


def test_a_huge_milestone_id_answers_404(engineer):
    answer = api(engineer).get(f"{API}/milestones/{10**30}/")
    assert answer.status_code == 404
    assert answer.json() == {"detail": "Not found."}


def test_the_tech_lead_changes_a_milestone(milestone, tech_lead, engineer):
    answer = api(tech_lead).patch(
        f"{API}/milestones/{milestone.pk}/",
        {"title": "Tokenise all cards", "due_on": None, "tech_lead": engineer.pk},
        format="json",
    )
    assert answer.status_code == 200
    body = answer.json()
    assert (body["title"], body["tech_lead"], body["due_on"]) == (
        "Tokenise all cards",
        engineer.pk,
        None,
    )
    assert "readiness" in body


def test_an_engineer_changing_a_milestone_gets_403(milestone, engineer):
    with unchanged(milestone, Activity):
        answer = api(engineer).patch(f"{API}/milestones/{milestone.pk}/", {"title": "Mine now"})
    assert answer.status_code == 403
    assert_api_error(answer, 403)


@pytest.mark.parametrize(
    "body",
    [{"title": ""}, {"due_on": "not a date"}, {"tech_lead": "abc"}, {"title": ["a"]}],
)
def test_a_malformed_milestone_change_answers_400(milestone, tech_lead, body):
    with unchanged(milestone, Activity):
        answer = api(tech_lead).patch(f"{API}/milestones/{milestone.pk}/", body, format="json")
    assert answer.status_code == 400
    assert_api_error(answer, 400, *body)


def test_an_outsider_changing_a_milestone_gets_404(milestone, outsider):
    with unchanged(milestone, Activity):
        answer = api(outsider).patch(f"{API}/milestones/{milestone.pk}/", {"title": "x"})
    assert answer.status_code == 404
    assert_api_not_found(answer, milestone.title)


# Readiness and transitions ---------------------------------------------------------------


def test_readiness_lists_what_is_missing(milestone, engineer):
    answer = api(engineer).get(f"{API}/milestones/{milestone.pk}/readiness/")
    assert answer.status_code == 200
    body = answer.json()
    assert (body["phase"], body["next_phase"], body["can_advance"]) == (
        "architecture",
        "protocols",
        False,
    )
    assert "artifact_not_ready:system_architecture" in [u["code"] for u in body["unmet"]]


def test_readiness_of_a_milestone_i_cannot_see_is_404(milestone, outsider):
    answer = api(outsider).get(f"{API}/milestones/{milestone.pk}/readiness/")
    assert answer.status_code == 404
    assert_api_not_found(answer, milestone.title, "artifact_not_ready")


def _ready_for_protocols(milestone):
    make_ready(milestone, "system_architecture", "application_architecture")
    decide_not_needed(milestone, "infrastructure_diagram")


def test_the_tech_lead_moves_the_milestone_on(milestone, tech_lead):
    _ready_for_protocols(milestone)
    answer = api(tech_lead).post(
        f"{API}/milestones/{milestone.pk}/transition/", {"to": "protocols"}
    )
    assert answer.status_code == 200, answer.json()
    assert answer.json()["phase"] == "protocols"


def test_a_move_the_guard_refuses_answers_409_with_unmet(milestone, tech_lead):
    with unchanged(milestone, Activity):
        answer = api(tech_lead).post(
            f"{API}/milestones/{milestone.pk}/transition/", {"to": "protocols"}
        )
    assert answer.status_code == 409
    assert_api_error(answer, 409)
    body = answer.json()
    assert body["detail"]
    assert {"code", "message"} == set(body["unmet"][0])


def test_skipping_a_phase_answers_400(milestone, tech_lead):
    with unchanged(milestone, Activity):
        answer = api(tech_lead).post(
            f"{API}/milestones/{milestone.pk}/transition/", {"to": "design_review"}
        )
    assert answer.status_code == 400
    assert "to" in answer.json()


@pytest.mark.parametrize("body", [{}, {"to": "nowhere"}, {"to": ["protocols"]}, {"to": None}])
def test_a_malformed_move_answers_400(milestone, tech_lead, body):
    _ready_for_protocols(milestone)
    with unchanged(Milestone, Activity):
        answer = api(tech_lead).post(
            f"{API}/milestones/{milestone.pk}/transition/", body, format="json"
        )
    assert answer.status_code == 400
    assert_api_error(answer, 400, "to")


def test_moving_back_without_a_note_answers_400_and_with_one_succeeds(milestone, tech_lead):
    _ready_for_protocols(milestone)
    services.transition(tech_lead, milestone, "protocols")
    url = f"{API}/milestones/{milestone.pk}/transition/"
    with unchanged(Milestone, Activity):
        refused = api(tech_lead).post(url, {"to": "architecture"})
    assert refused.status_code == 400
    assert "note" in refused.json()
    moved = api(tech_lead).post(url, {"to": "architecture", "note": "Scope changed."})
    assert moved.status_code == 200
    assert moved.json()["phase"] == "architecture"


def test_a_move_to_the_phase_it_is_in_answers_400_naming_to(milestone, tech_lead):
    with unchanged(Milestone, Activity):
        answer = api(tech_lead).post(
            f"{API}/milestones/{milestone.pk}/transition/", {"to": "architecture"}
        )

    assert_api_error(answer, 400, "to")
    assert answer.json()["to"] == ["The milestone is already in Architecture."]


def test_an_engineer_moving_the_milestone_gets_403(milestone, engineer):
    _ready_for_protocols(milestone)  # the guard holds: only the role refuses the move
    with unchanged(Milestone, Activity):
        answer = api(engineer).post(
            f"{API}/milestones/{milestone.pk}/transition/", {"to": "protocols"}
        )
    assert answer.status_code == 403
    assert_api_error(answer, 403)


def test_an_outsider_moving_the_milestone_gets_404(milestone, outsider):
    _ready_for_protocols(milestone)
    with unchanged(Milestone, Activity):
        answer = api(outsider).post(
            f"{API}/milestones/{milestone.pk}/transition/", {"to": "protocols"}
        )
    assert answer.status_code == 404
    assert_api_not_found(answer, milestone.title)


# Artifacts -----------------------------------------------------------------------------------


def test_a_member_lists_the_seven_artifacts(milestone, engineer):
    answer = api(engineer).get(f"{API}/milestones/{milestone.pk}/artifacts/")
    assert answer.status_code == 200
    assert [a["kind"] for a in answer.json()["results"]] == ARTIFACT_KINDS


def test_each_artifact_carries_the_template_its_editor_starts_from(milestone, engineer):
    from planning.services.artifacts import TEMPLATES

    answer = api(engineer).get(f"{API}/milestones/{milestone.pk}/artifacts/")

    templates = {a["kind"]: a["template"] for a in answer.json()["results"]}
    assert templates == {kind: TEMPLATES.get(kind, "") for kind in ARTIFACT_KINDS}
    assert "```mermaid" in templates["sequence_diagram"]
    one = api(engineer).get(f"{API}/milestones/{milestone.pk}/artifacts/flow_chart/").json()
    assert one["template"] == TEMPLATES["flow_chart"]


def test_the_artifacts_of_a_milestone_i_cannot_see_are_404(milestone, outsider):
    answer = api(outsider).get(f"{API}/milestones/{milestone.pk}/artifacts/")
    assert answer.status_code == 404
    assert_api_not_found(answer, milestone.title, "design_spec")


def test_an_artifact_answer_carries_its_revision_as_etag(milestone, engineer):
    write_artifact(engineer, milestone, "design_spec", "First words.")
    answer = api(engineer).get(artifact_url(milestone))
    assert answer.status_code == 200
    assert answer["ETag"] == '"1"'
    assert answer.json()["body"] == "First words."


@pytest.mark.parametrize("kind", ["nonsense", "DESIGN_SPEC"])
def test_an_unknown_artifact_kind_is_404(milestone, engineer, kind):
    answer = api(engineer).get(artifact_url(milestone, kind))
    assert answer.status_code == 404
    assert answer.json() == {"detail": "Not found."}


def test_an_engineer_saves_a_body_with_if_match(milestone, engineer):
    answer = api(engineer).patch(
        artifact_url(milestone), {"body": "## Goal\n"}, HTTP_IF_MATCH='"0"'
    )
    assert answer.status_code == 200, answer.json()
    assert answer["ETag"] == '"1"'
    assert (answer.json()["status"], answer.json()["revision"]) == ("draft", 1)


def test_a_stale_if_match_answers_412_with_the_current_revision(milestone, engineer, tech_lead):
    write_artifact(tech_lead, milestone, "design_spec", "Theirs.")
    answer = api(engineer).patch(artifact_url(milestone), {"body": "Mine."}, HTTP_IF_MATCH='"0"')
    assert answer.status_code == 412
    assert answer.json()["current_revision"] == 1
    assert answer.json()["detail"]
    assert artifact_of(milestone, "design_spec").body == "Theirs."


def test_a_save_that_loses_the_conditional_write_answers_412(
    milestone, engineer, tech_lead, monkeypatch
):
    # Another save lands between our check of If-Match and our conditional update.
    real_save = services.save_artifact_body

    def racing_save(actor, artifact, *, body, base_revision):
        theirs = artifact_of(milestone, "design_spec")
        real_save(tech_lead, theirs, body="Theirs, first.", base_revision=theirs.revision)
        return real_save(actor, artifact, body=body, base_revision=base_revision)

    monkeypatch.setattr(services, "save_artifact_body", racing_save)
    answer = api(engineer).patch(artifact_url(milestone), {"body": "Mine."}, HTTP_IF_MATCH='"0"')
    assert answer.status_code == 412
    assert answer.json()["current_revision"] == 1
    # "Theirs" ran inside our request's transaction here, so it was rolled back with it;
    # what matters is that "Mine." was not written over it.
    spec = artifact_of(milestone, "design_spec")
    assert spec.body != "Mine."
    assert not ArtifactRevision.objects.filter(artifact=spec, body="Mine.").exists()


def test_a_body_change_without_if_match_answers_400(milestone, engineer):
    with unchanged(Artifact, ArtifactRevision):
        answer = api(engineer).patch(artifact_url(milestone), {"body": "Mine."})
    assert answer.status_code == 400
    assert answer.json() == {"detail": "If-Match is required to change the body."}


@pytest.mark.parametrize("header", ["abc", '"-1"', '"1.5"', '"' + "9" * 40 + '"'])
def test_a_malformed_if_match_answers_400(milestone, engineer, header):
    with unchanged(Artifact, ArtifactRevision):
        answer = api(engineer).patch(artifact_url(milestone), {"body": "x"}, HTTP_IF_MATCH=header)
    assert answer.status_code == 400
    assert_api_error(answer, 400)


def test_marking_an_empty_artifact_ready_answers_400(milestone, tech_lead):
    with unchanged(Artifact):
        answer = api(tech_lead).patch(artifact_url(milestone), {"status": "ready"})
    assert answer.status_code == 400
    assert "detail" in answer.json()


def test_the_tech_lead_writes_and_marks_ready_in_one_patch(milestone, tech_lead):
    answer = api(tech_lead).patch(
        artifact_url(milestone), {"body": "Spec.", "status": "ready"}, HTTP_IF_MATCH='"0"'
    )
    assert answer.status_code == 200
    assert (answer.json()["status"], answer.json()["revision"]) == ("ready", 1)


def test_an_engineer_marking_an_artifact_ready_gets_403(milestone, engineer):
    write_artifact(engineer, milestone, "design_spec", "Spec.")
    with unchanged(Artifact, ArtifactRevision):
        answer = api(engineer).patch(artifact_url(milestone), {"status": "ready"})
    assert answer.status_code == 403
    assert_api_error(answer, 403)
    assert artifact_of(milestone, "design_spec").status == "draft"


def test_an_engineer_editing_a_ready_artifact_gets_403(milestone, engineer, tech_lead):
    make_ready(milestone, "design_spec")
    with unchanged(Artifact, ArtifactRevision):
        answer = api(engineer).patch(artifact_url(milestone), {"body": "x"}, HTTP_IF_MATCH='"1"')
    assert answer.status_code == 403
    assert_api_error(answer, 403)


def test_the_tech_lead_decides_an_on_need_diagram_is_not_needed(milestone, tech_lead):
    url = artifact_url(milestone, "flow_chart")
    with unchanged(Artifact):
        refused = api(tech_lead).patch(url, {"needed": False}, format="json")
    assert refused.status_code == 400
    assert "not_needed_reason" in refused.json()
    answer = api(tech_lead).patch(
        url, {"needed": False, "not_needed_reason": "No branching logic."}, format="json"
    )
    assert answer.status_code == 200
    assert (answer.json()["needed"], answer.json()["not_needed_reason"]) == (
        False,
        "No branching logic.",
    )


def test_deciding_the_need_of_a_required_artifact_answers_400(milestone, tech_lead):
    with unchanged(Artifact):
        answer = api(tech_lead).patch(artifact_url(milestone), {"needed": True}, format="json")
    assert answer.status_code == 400
    assert_api_error(answer, 400)


@pytest.mark.parametrize(
    "body",
    [{"status": "missing"}, {"needed": "perhaps"}, {"body": ["x"]}, {"not_needed_reason": "x"}],
)
def test_a_malformed_artifact_change_answers_400(milestone, tech_lead, body):
    with unchanged(Artifact, ArtifactRevision):
        answer = api(tech_lead).patch(
            artifact_url(milestone), body, format="json", HTTP_IF_MATCH='"0"'
        )
    assert answer.status_code == 400
    assert_api_error(answer, 400)


def test_an_outsider_changing_an_artifact_gets_404(milestone, outsider):
    with unchanged(Artifact, ArtifactRevision):
        answer = api(outsider).patch(artifact_url(milestone), {"body": "x"}, HTTP_IF_MATCH='"0"')
    assert answer.status_code == 404
    assert_api_not_found(answer, milestone.title)


def test_revisions_list_number_author_time_and_body(milestone, engineer):
    write_artifact(engineer, milestone, "design_spec", "One.")
    write_artifact(engineer, milestone, "design_spec", "Two.")
    answer = api(engineer).get(artifact_url(milestone) + "revisions/")
    assert answer.status_code == 200
    rows = answer.json()["results"]
    assert [(r["number"], r["body"], r["author"]) for r in rows] == [
        (2, "Two.", engineer.pk),
        (1, "One.", engineer.pk),
    ]
    assert rows[0]["created_at"]


def test_revisions_of_a_milestone_i_cannot_see_are_404(milestone, outsider, engineer):
    write_artifact(engineer, milestone, "design_spec", "Secret design.")
    answer = api(outsider).get(artifact_url(milestone) + "revisions/")
    assert answer.status_code == 404
    assert_api_not_found(answer, milestone.title, "Secret design.")


# Guests ---------------------------------------------------------------------------------------


def test_a_guest_reads_the_milestone_and_its_artifacts(milestone, invited_guest):
    write_artifact(milestone.tech_lead, milestone, "design_spec", "The spec to review.")
    client = api(invited_guest)
    detail = client.get(f"{API}/milestones/{milestone.pk}/")
    artifacts = client.get(f"{API}/milestones/{milestone.pk}/artifacts/")
    spec = client.get(artifact_url(milestone))
    assert detail.status_code == 200
    assert artifacts.status_code == 200
    assert spec.status_code == 200
    assert (detail.json()["id"], detail.json()["title"]) == (milestone.pk, "Tokenise cards")
    assert [a["kind"] for a in artifacts.json()["results"]] == ARTIFACT_KINDS
    assert (spec.json()["kind"], spec.json()["body"]) == ("design_spec", "The spec to review.")


@pytest.mark.parametrize(
    "method, path",
    [
        ("patch", "/"),
        ("get", "/readiness/"),
        ("post", "/transition/"),
        ("patch", "/artifacts/design_spec/"),
        ("get", "/artifacts/design_spec/revisions/"),
        ("get", "/activity/"),
        ("get", "/packet.md"),
        ("get", "/unknowns/"),
        ("post", "/unknowns/"),
    ],
)
def test_a_guest_gets_404_on_everything_else(milestone, invited_guest, method, path):
    with unchanged(Milestone, Artifact, Unknown, Activity):
        answer = getattr(api(invited_guest), method)(f"{API}/milestones/{milestone.pk}{path}", {})
    assert answer.status_code == 404
    assert_api_not_found(answer, milestone.title)


def test_a_guest_does_not_see_the_milestone_in_lists(milestone, invited_guest):
    assert api(invited_guest).get(f"{API}/milestones/").json()["count"] == 0


def test_a_guest_gets_404_on_the_milestone_unknowns(unknown, invited_guest):
    answer = api(invited_guest).get(f"{API}/unknowns/{unknown.pk}/")
    assert answer.status_code == 404
    assert_api_not_found(answer, unknown.title)


# Timeline and packet --------------------------------------------------------------------------


def test_the_activity_is_newest_first(milestone, engineer, tech_lead):
    services.update_milestone(tech_lead, milestone, tech_lead=engineer)
    answer = api(engineer).get(f"{API}/milestones/{milestone.pk}/activity/")
    assert answer.status_code == 200
    verbs = [a["verb"] for a in answer.json()["results"]]
    assert verbs == ["tech_lead_changed", "created"]


def test_the_activity_of_a_milestone_i_cannot_see_is_404(milestone, outsider):
    answer = api(outsider).get(f"{API}/milestones/{milestone.pk}/activity/")
    assert answer.status_code == 404
    assert_api_not_found(answer, milestone.title, "created milestone")


def test_the_packet_is_markdown(milestone, engineer):
    answer = api(engineer).get(f"{API}/milestones/{milestone.pk}/packet.md")
    assert answer.status_code == 200
    assert answer["Content-Type"].startswith("text/markdown")
    assert answer.content.decode().startswith("# Card Vault · M1 Tokenise cards")


def test_the_packet_answers_a_client_that_asks_for_markdown(milestone, engineer, outsider):
    url = f"{API}/milestones/{milestone.pk}/packet.md"
    packet = api(engineer).get(url, HTTP_ACCEPT="text/markdown")
    refused = api(outsider).get(url, HTTP_ACCEPT="text/markdown")
    assert packet.status_code == 200
    assert refused.status_code == 404
    assert packet["Content-Type"].startswith("text/markdown")
    assert packet.content.decode().startswith("# Card Vault · M1 Tokenise cards")
    assert milestone.title not in refused.content.decode()


def test_the_packet_of_a_milestone_i_cannot_see_is_404(milestone, outsider):
    answer = api(outsider).get(f"{API}/milestones/{milestone.pk}/packet.md")
    assert answer.status_code == 404
    assert_api_not_found(answer, milestone.title, "Card Vault")


# Unknowns --------------------------------------------------------------------------------------


def test_a_member_adds_an_unknown_keyed_u_n(milestone, engineer):
    answer = api(engineer).post(
        f"{API}/milestones/{milestone.pk}/unknowns/",
        {
            "title": "Which HSM?",
            "priority": "blocker",
            "owner": engineer.pk,
            "due_on": "2030-02-01",
        },
        format="json",
    )
    assert answer.status_code == 201, answer.json()
    body = answer.json()
    assert (body["key"], body["priority"], body["owner"], body["status"]) == (
        "U-1",
        "blocker",
        engineer.pk,
        "open",
    )


def test_the_principal_adding_an_unknown_gets_403(milestone, principal):
    with unchanged(Unknown, Activity):
        answer = api(principal).post(
            f"{API}/milestones/{milestone.pk}/unknowns/", {"title": "x", "priority": "low"}
        )
    assert answer.status_code == 403
    assert_api_error(answer, 403)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": "x"}, "priority"),
        ({"title": "x", "priority": "urgent"}, "priority"),
        ({"title": "", "priority": "low"}, "title"),
        ({"title": "x", "priority": "low", "owner": "abc"}, "owner"),
        ({"title": "x", "priority": "low", "due_on": "2030-13-01"}, "due_on"),
        ({"title": "x", "priority": "low", "ticket_url": "not a url"}, "ticket_url"),
    ],
)
def test_a_malformed_unknown_answers_400(milestone, engineer, body, field):
    with unchanged(Unknown, Activity):
        answer = api(engineer).post(
            f"{API}/milestones/{milestone.pk}/unknowns/", body, format="json"
        )
    assert answer.status_code == 400
    assert_api_error(answer, 400, field)


def test_an_owner_from_outside_the_squad_answers_400(milestone, engineer, outsider):
    with unchanged(Unknown, Activity):
        answer = api(engineer).post(
            f"{API}/milestones/{milestone.pk}/unknowns/",
            {"title": "x", "priority": "low", "owner": outsider.pk},
        )
    assert answer.status_code == 400
    assert "owner" in answer.json()


def test_unknowns_filter_by_status_priority_and_owner(milestone, engineer):
    services.add_unknown(engineer, milestone, title="A", priority="low", owner=engineer)
    services.add_unknown(engineer, milestone, title="B", priority="blocker")
    client = api(engineer)
    url = f"{API}/milestones/{milestone.pk}/unknowns/"
    assert [u["title"] for u in client.get(url).json()["results"]] == ["B", "A"]
    assert [u["title"] for u in client.get(f"{url}?priority=low").json()["results"]] == ["A"]
    assert [u["title"] for u in client.get(f"{url}?owner={engineer.pk}").json()["results"]] == ["A"]
    assert [u["title"] for u in client.get(f"{url}?owner=none").json()["results"]] == ["B"]
    assert client.get(f"{url}?status=open").json()["count"] == 2
    assert client.get(f"{url}?status=resolved").json()["count"] == 0


@pytest.mark.parametrize("query", ["status=lost", "priority=urgent", "owner=eli", "owner=1e9"])
def test_a_bad_unknown_filter_answers_400(milestone, engineer, query):
    answer = api(engineer).get(f"{API}/milestones/{milestone.pk}/unknowns/?{query}")
    assert answer.status_code == 400
    assert_api_error(answer, 400, query.split("=")[0])


def test_an_unknown_reads_with_its_key(unknown, engineer):
    answer = api(engineer).get(f"{API}/unknowns/{unknown.pk}/")
    assert answer.status_code == 200
    assert (answer.json()["key"], answer.json()["deferral_pending"]) == ("U-1", False)


def test_an_outsider_gets_404_on_an_unknown(unknown, outsider):
    assert api(outsider).get(f"{API}/unknowns/{unknown.pk}/").status_code == 404
    with unchanged(unknown, Activity):
        changed = api(outsider).patch(f"{API}/unknowns/{unknown.pk}/", {"title": "x"})
    assert changed.status_code == 404
    assert_api_not_found(api(outsider).get(f"{API}/unknowns/{unknown.pk}/"), unknown.title)
    assert_api_not_found(changed, unknown.title)


def test_a_member_changes_an_unknown(unknown, product):
    answer = api(product).patch(
        f"{API}/unknowns/{unknown.pk}/",
        {"status": "waiting_on_vendor", "vendor": "Acme", "vendor_contacted_on": "2030-01-02"},
        format="json",
    )
    assert answer.status_code == 200, answer.json()
    assert (answer.json()["status"], answer.json()["vendor"]) == ("waiting_on_vendor", "Acme")


@pytest.mark.parametrize("settled", ["resolved", "deferred"])
def test_setting_resolved_or_deferred_directly_answers_400(unknown, engineer, settled):
    with unchanged(unknown):
        answer = api(engineer).patch(f"{API}/unknowns/{unknown.pk}/", {"status": settled})
    assert answer.status_code == 400
    assert "status" in answer.json()


@pytest.mark.parametrize(
    "body",
    [
        {"priority": "urgent"},
        {"owner": "eli"},
        {"due_on": "tomorrow"},
        {"title": None},
        {"detail": "nul \x00 byte"},
    ],
)
def test_a_malformed_unknown_change_answers_400(unknown, engineer, body):
    with unchanged(unknown, Activity):
        answer = api(engineer).patch(f"{API}/unknowns/{unknown.pk}/", body, format="json")
    assert answer.status_code == 400
    assert_api_error(answer, 400, *body)


def test_the_principal_changing_an_unknown_gets_403(unknown, principal):
    with unchanged(unknown, Activity):
        answer = api(principal).patch(f"{API}/unknowns/{unknown.pk}/", {"title": "x"})
    assert answer.status_code == 403
    assert_api_error(answer, 403)


def test_a_member_resolves_an_unknown(unknown, engineer):
    answer = api(engineer).post(
        f"{API}/unknowns/{unknown.pk}/resolve/", {"resolution": "1000 rps per key."}
    )
    assert answer.status_code == 200
    assert (answer.json()["status"], answer.json()["resolution"]) == (
        "resolved",
        "1000 rps per key.",
    )


@pytest.mark.parametrize("body", [{}, {"resolution": "  "}, {"resolution": ["x"]}])
def test_resolving_without_a_resolution_answers_400(unknown, engineer, body):
    with unchanged(unknown, Activity):
        answer = api(engineer).post(f"{API}/unknowns/{unknown.pk}/resolve/", body, format="json")
    assert answer.status_code == 400
    assert_api_error(answer, 400, "resolution")


def test_the_principal_resolving_an_unknown_gets_403(unknown, principal):
    with unchanged(unknown, Activity):
        answer = api(principal).post(f"{API}/unknowns/{unknown.pk}/resolve/", {"resolution": "x"})
    assert answer.status_code == 403
    assert_api_error(answer, 403)


# Deferrals --------------------------------------------------------------------------------------


def test_the_tech_lead_asks_for_a_deferral(unknown, tech_lead):
    answer = api(tech_lead).post(
        f"{API}/unknowns/{unknown.pk}/deferral/", {"reason": "Scale only.", "defer_until": "M3"}
    )
    assert answer.status_code == 201
    body = answer.json()
    assert (body["status"], body["unknown_key"], body["requested_by"]) == (
        "pending",
        "U-1",
        tech_lead.pk,
    )


def test_an_engineer_asking_for_a_deferral_gets_403(unknown, engineer):
    with unchanged(unknown, DeferralRequest, Activity):
        answer = api(engineer).post(
            f"{API}/unknowns/{unknown.pk}/deferral/", {"reason": "x", "defer_until": "M3"}
        )
    assert answer.status_code == 403
    assert_api_error(answer, 403)


def test_a_second_pending_deferral_answers_409(deferral, unknown, tech_lead):
    with unchanged(DeferralRequest, Activity):
        answer = api(tech_lead).post(
            f"{API}/unknowns/{unknown.pk}/deferral/", {"reason": "Again.", "defer_until": "M4"}
        )
    assert answer.status_code == 409
    assert "detail" in answer.json()
    assert_api_error(answer, 409)


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, ["reason", "defer_until"]),
        ({"reason": "x"}, ["defer_until"]),
        ({"reason": " ", "defer_until": "M3"}, ["reason"]),
        ({"defer_until": "M3"}, ["reason"]),
    ],
)
def test_a_deferral_without_reason_or_until_answers_400(unknown, tech_lead, body, fields):
    with unchanged(unknown, DeferralRequest, Activity):
        answer = api(tech_lead).post(f"{API}/unknowns/{unknown.pk}/deferral/", body, format="json")
    assert answer.status_code == 400
    assert_api_error(answer, 400, *fields)


def test_the_principal_sees_the_deferrals_of_their_projects(deferral, principal, outsider):
    answer = api(principal).get(f"{API}/deferrals/?status=pending")
    assert answer.status_code == 200
    assert [d["id"] for d in answer.json()["results"]] == [deferral.pk]
    assert api(principal).get(f"{API}/deferrals/?status=approved").json()["count"] == 0
    assert api(outsider).get(f"{API}/deferrals/").json()["count"] == 0


def test_a_bad_deferral_filter_answers_400(principal):
    answer = api(principal).get(f"{API}/deferrals/?status=maybe")
    assert answer.status_code == 400
    assert_api_error(answer, 400, "status")


def test_the_principal_approves_a_deferral(deferral, unknown, principal):
    answer = api(principal).post(f"{API}/deferrals/{deferral.pk}/decide/", {"decision": "approve"})
    assert answer.status_code == 200
    assert answer.json()["status"] == "approved"
    assert Unknown.objects.get(pk=unknown.pk).status == "deferred"


def test_a_rejection_needs_a_note(deferral, principal):
    url = f"{API}/deferrals/{deferral.pk}/decide/"
    with unchanged(deferral, Unknown, Activity):
        refused = api(principal).post(url, {"decision": "reject"})
    assert refused.status_code == 400
    assert "note" in refused.json()
    answer = api(principal).post(url, {"decision": "reject", "note": "Answer it now."})
    assert answer.status_code == 200
    assert answer.json()["decision_note"] == "Answer it now."


def test_someone_other_than_the_principal_deciding_gets_403(deferral, tech_lead):
    with unchanged(deferral, Unknown, Activity):
        answer = api(tech_lead).post(
            f"{API}/deferrals/{deferral.pk}/decide/", {"decision": "approve"}
        )
    assert answer.status_code == 403
    assert_api_error(answer, 403)


def test_the_principal_cannot_decide_their_own_request(squad, principal):
    MembershipFactory(squad=squad, user=principal, role=Membership.Role.TECH_LEAD)
    project = ProjectFactory(squad=squad, tech_lead=principal, principal_engineer=principal)
    milestone = services.create_milestone(principal, project, title="Self")
    unknown = services.add_unknown(principal, milestone, title="x", priority="low")
    deferral = services.request_deferral(principal, unknown, reason="r", defer_until="M2")
    with unchanged(deferral, Unknown, Activity):
        answer = api(principal).post(
            f"{API}/deferrals/{deferral.pk}/decide/", {"decision": "approve"}
        )
    assert answer.status_code == 403
    assert_api_error(answer, 403)


def test_deciding_twice_answers_409(deferral, principal):
    url = f"{API}/deferrals/{deferral.pk}/decide/"
    assert api(principal).post(url, {"decision": "approve"}).status_code == 200
    with unchanged(deferral, Unknown, Activity):
        again = api(principal).post(url, {"decision": "approve"})
    assert again.status_code == 409
    assert_api_error(again, 409)
    assert DeferralRequest.objects.get(pk=deferral.pk).status == "approved"


@pytest.mark.parametrize("body", [{}, {"decision": "maybe"}, {"decision": None}])
def test_a_malformed_decision_answers_400(deferral, principal, body):
    with unchanged(deferral, Unknown, Activity):
        answer = api(principal).post(f"{API}/deferrals/{deferral.pk}/decide/", body, format="json")
    assert answer.status_code == 400
    assert_api_error(answer, 400, "decision")


def test_an_outsider_deciding_gets_404(deferral, outsider):
    with unchanged(deferral, Unknown, Activity):
        answer = api(outsider).post(
            f"{API}/deferrals/{deferral.pk}/decide/", {"decision": "approve"}
        )
    assert answer.status_code == 404
    assert_api_not_found(answer, deferral.unknown.title, deferral.reason)


# Query budgets: the count does not grow with the rows -----------------------------------------


def _more_milestones(project, tech_lead, n):
    for i in range(n):
        services.create_milestone(tech_lead, project, title=f"M {i}")


def _more_unknowns(milestone, engineer, n):
    other = UserFactory()
    MembershipFactory(squad=milestone.project.squad, user=other)
    for i in range(n):
        services.add_unknown(engineer, milestone, title=f"U {i}", priority="low", owner=other)


def _more_revisions(milestone, engineer, n):
    for i in range(n):
        write_artifact(engineer, milestone, "design_spec", f"Body {i}.")


def _more_activity(milestone, engineer, n):
    Activity.objects.bulk_create(
        Activity(milestone=milestone, actor=engineer, verb="x", summary=str(i)) for i in range(n)
    )


def _more_deferrals(milestone, engineer, n):
    for i in range(n):
        unknown = services.add_unknown(engineer, milestone, title=f"D {i}", priority="low")
        DeferralRequest.objects.create(
            unknown=unknown, requested_by=milestone.tech_lead, reason="r", defer_until="M9"
        )


LISTS = {
    "milestones": (lambda m: f"{API}/milestones/", "tech_lead", _more_milestones),
    "unknowns": (lambda m: f"{API}/milestones/{m.pk}/unknowns/", "engineer", _more_unknowns),
    "revisions": (lambda m: artifact_url(m) + "revisions/", "engineer", _more_revisions),
    "activity": (lambda m: f"{API}/milestones/{m.pk}/activity/", "engineer", _more_activity),
    "deferrals": (lambda m: f"{API}/deferrals/", "engineer", _more_deferrals),
}


@pytest.mark.parametrize("rows", [1, 100])
@pytest.mark.parametrize("name", list(LISTS))
def test_list_query_count_does_not_grow_with_rows(
    request, milestone, engineer, project, tech_lead, django_assert_max_num_queries, name, rows
):
    url_of, who, grow = LISTS[name]
    if grow is _more_milestones:
        grow(project, tech_lead, rows)
    else:
        grow(milestone, engineer, rows)
    client = api(request.getfixturevalue(who))
    with django_assert_max_num_queries(8):
        answer = client.get(url_of(milestone) + "?page_size=200")
    assert answer.status_code == 200
    assert answer.json()["count"] >= rows


# A race through the API, on PostgreSQL with real threads -------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("round_", range(3))
def test_two_patches_with_the_same_if_match_give_one_200_and_one_412(
    project, tech_lead, engineer, round_
):
    from tests.racing import race_once

    milestone = services.create_milestone(tech_lead, project, title=f"Round {round_}")
    write_artifact(tech_lead, milestone, "design_spec", "First.")
    url = artifact_url(milestone)

    def patch(user, body):
        return lambda: api(user).patch(url, {"body": body}, HTTP_IF_MATCH='"1"').status_code

    results = race_once(patch(tech_lead, "Lead's."), patch(engineer, "Engineer's."))

    assert sorted(results) == [200, 412], results
    assert artifact_of(milestone, "design_spec").revision == 2
