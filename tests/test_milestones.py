"""Milestones and the phase engine: the services' rules first, then the pages that use them."""

from __future__ import annotations

import re

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse

from notifications import tasks
from notifications.models import WebhookDelivery
from planning import services
from planning.exceptions import GuardRefused
from planning.models import Activity, Artifact, Milestone
from planning.workflow import ARTIFACT_KINDS, ON_NEED_KINDS, ArtifactKind, Phase, next_phase
from squads.models import Membership, Squad
from tests.factories import MembershipFactory, ProjectFactory, UserFactory
from tests.helpers import (
    artifact_of,
    assert_not_found_page,
    decide_not_needed,
    make_ready,
    write_artifact,
)

pytestmark = pytest.mark.django_db

SYSTEM = ArtifactKind.SYSTEM_ARCHITECTURE
APPLICATION = ArtifactKind.APPLICATION_ARCHITECTURE
PROTOCOL_SPECS = ArtifactKind.PROTOCOL_SPECS
INFRASTRUCTURE = ArtifactKind.INFRASTRUCTURE_DIAGRAM
SEQUENCE = ArtifactKind.SEQUENCE_DIAGRAM
FLOW = ArtifactKind.FLOW_CHART
DESIGN_SPEC = ArtifactKind.DESIGN_SPEC
ON_NEED = [INFRASTRUCTURE, SEQUENCE, FLOW]

# The same queries however many rows there are. Milestone page: session, user,
# milestone (with project, squad, lead), my role, artifacts with their last
# editors, unknowns (with a pending deferral flag), reviews, the meetings'
# state (kick-off, breakout, open concerns), stories, the timeline, the
# decision log, the squad's members for the add form, the navigation counts. Project page:
# session, user, project, milestone count, the page of milestones with their
# tech leads, my role, the navigation counts.
MILESTONE_PAGE_BUDGET = 13
PROJECT_PAGE_BUDGET = 8


@pytest.fixture
def milestone(project, tech_lead):
    return services.create_milestone(
        tech_lead, project, title="Tokenise cards", goal="Keep only tokens."
    )


def fresh(milestone: Milestone) -> Milestone:
    return Milestone.objects.select_related("project__squad", "tech_lead").get(pk=milestone.pk)


def satisfy(milestone: Milestone, to: str) -> None:
    """Meet the guard of the move to `to`, the way the tech lead would."""
    if to == Phase.PROTOCOLS:
        make_ready(milestone, SYSTEM, APPLICATION)
    elif to == Phase.DESIGN_SPEC:
        make_ready(milestone, PROTOCOL_SPECS)
        decide_not_needed(milestone, *ON_NEED)
    elif to == Phase.UNKNOWNS:
        make_ready(milestone, DESIGN_SPEC)


def walk_to(milestone: Milestone, phase: str) -> Milestone:
    """Advance through the service, meeting each guard on the way, until `phase`."""
    while milestone.phase != phase:
        to = next_phase(milestone.phase)
        assert to is not None, f"{phase} is not after {milestone.phase}"
        satisfy(milestone, to)
        services.advance_phase(milestone.tech_lead, milestone, to=to)
        milestone = fresh(milestone)
    return milestone


def verbs(milestone: Milestone) -> list[str]:
    return list(milestone.activities.order_by("id").values_list("verb", flat=True))


def url(name: str, milestone: Milestone, **extra) -> str:
    return reverse(f"planning:{name}", kwargs={**milestone.url_kwargs(), **extra})


def artifact_url(name: str, milestone: Milestone, kind: str) -> str:
    return url(name, milestone, kind=kind)


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


# create_milestone ------------------------------------------------------------------


def test_create_milestone_numbers_milestones_one_two_three_in_a_project(project, tech_lead):
    numbers = [
        services.create_milestone(tech_lead, project, title=f"Step {n}").number for n in range(3)
    ]

    assert numbers == [1, 2, 3]


def test_each_project_numbers_its_milestones_from_one(project, squad, tech_lead):
    other = ProjectFactory(squad=squad, tech_lead=tech_lead, slug="ledger")
    services.create_milestone(tech_lead, project, title="One")
    services.create_milestone(tech_lead, project, title="Two")

    first_of_other = services.create_milestone(tech_lead, other, title="Elsewhere")

    assert first_of_other.number == 1
    assert services.create_milestone(tech_lead, project, title="Three").number == 3


def test_a_new_milestone_gets_its_seven_artifacts_missing_at_once(milestone):
    artifacts = list(milestone.artifacts.order_by("id"))

    assert [a.kind for a in artifacts] == ARTIFACT_KINDS
    assert {(a.status, a.body, a.revision, a.needed) for a in artifacts} == {
        ("missing", "", 0, None)
    }


def test_a_new_milestone_starts_in_architecture_with_one_activity(milestone, tech_lead):
    activity = Activity.objects.get(milestone=milestone)

    assert milestone.phase == Phase.ARCHITECTURE
    assert (activity.verb, activity.actor) == ("created", tech_lead)
    assert "milestone 1" in activity.summary


def test_a_new_milestone_is_led_by_the_project_tech_lead_unless_told(project, tech_lead, engineer):
    default = services.create_milestone(tech_lead, project, title="Default")
    chosen = services.create_milestone(tech_lead, project, title="Chosen", tech_lead=engineer)

    assert default.tech_lead == tech_lead
    assert chosen.tech_lead == engineer


@pytest.mark.parametrize("who", ["outsider", "principal"])
def test_the_milestone_tech_lead_must_be_a_squad_member(project, tech_lead, request, who):
    stranger = request.getfixturevalue(who)

    with pytest.raises(ValidationError) as refusal:
        services.create_milestone(tech_lead, project, title="Nope", tech_lead=stranger)

    assert "tech_lead" in refusal.value.error_dict
    assert not Milestone.objects.exists()
    assert not Artifact.objects.exists()


@pytest.mark.parametrize("who", ["engineer", "product", "principal", "outsider"])
def test_only_tech_leads_create_milestones(project, request, who):
    actor = request.getfixturevalue(who)

    with pytest.raises(PermissionDenied):
        services.create_milestone(actor, project, title="Not mine to plan")

    assert not Milestone.objects.exists()


def test_a_squad_tech_lead_creates_milestones_in_a_project_led_by_someone_else(project, squad):
    other_lead = UserFactory(username="theo")
    MembershipFactory(squad=squad, user=other_lead, role=Membership.Role.TECH_LEAD)

    milestone = services.create_milestone(other_lead, project, title="Covering")

    assert milestone.tech_lead == project.tech_lead


def test_update_milestone_refuses_a_tech_lead_outside_the_squad(milestone, tech_lead, outsider):
    with pytest.raises(ValidationError) as refusal:
        services.update_milestone(tech_lead, milestone, tech_lead=outsider)

    assert "tech_lead" in refusal.value.error_dict
    assert fresh(milestone).tech_lead == tech_lead


def test_update_milestone_records_a_new_tech_lead_on_the_timeline(milestone, tech_lead, engineer):
    services.update_milestone(tech_lead, milestone, title="Renamed", tech_lead=engineer)

    saved = fresh(milestone)
    assert (saved.title, saved.tech_lead) == ("Renamed", engineer)
    assert verbs(milestone) == ["created", "tech_lead_changed"]


def test_update_milestone_is_refused_to_an_engineer(milestone, engineer):
    with pytest.raises(PermissionDenied):
        services.update_milestone(engineer, milestone, title="Mine now")

    assert fresh(milestone).title == "Tokenise cards"


# The guards of the first three moves, through the service --------------------------


@pytest.mark.parametrize(
    ("ready", "expected"),
    [
        (
            (),
            [
                "artifact_not_ready:system_architecture",
                "artifact_not_ready:application_architecture",
            ],
        ),
        ((SYSTEM,), ["artifact_not_ready:application_architecture"]),
        ((APPLICATION,), ["artifact_not_ready:system_architecture"]),
    ],
)
def test_advance_to_protocols_is_refused_until_both_architecture_artifacts_are_ready(
    milestone, tech_lead, ready, expected
):
    make_ready(milestone, *ready)
    before = verbs(milestone)

    with pytest.raises(GuardRefused) as refusal:
        services.advance_phase(tech_lead, milestone, to=Phase.PROTOCOLS)

    assert [item.code for item in refusal.value.unmet] == expected
    assert all(item.artifact_kind for item in refusal.value.unmet)
    assert "Protocols" in refusal.value.message
    assert fresh(milestone).phase == Phase.ARCHITECTURE
    assert verbs(milestone) == before


def test_advance_to_design_spec_lists_the_protocol_spec_and_every_undecided_diagram(
    milestone, tech_lead
):
    milestone = walk_to(milestone, Phase.PROTOCOLS)

    with pytest.raises(GuardRefused) as refusal:
        services.advance_phase(tech_lead, milestone, to=Phase.DESIGN_SPEC)

    assert [item.code for item in refusal.value.unmet] == [
        "artifact_not_ready:protocol_specs",
        "need_undecided:infrastructure_diagram",
        "need_undecided:sequence_diagram",
        "need_undecided:flow_chart",
    ]
    assert fresh(milestone).phase == Phase.PROTOCOLS


def test_advance_to_design_spec_is_refused_while_one_diagram_is_undecided(milestone, tech_lead):
    milestone = walk_to(milestone, Phase.PROTOCOLS)
    make_ready(milestone, PROTOCOL_SPECS)
    decide_not_needed(milestone, INFRASTRUCTURE)
    services.decide_artifact_need(tech_lead, artifact_of(milestone, SEQUENCE), needed=True)

    with pytest.raises(GuardRefused) as refusal:
        services.advance_phase(tech_lead, milestone, to=Phase.DESIGN_SPEC)

    assert [item.code for item in refusal.value.unmet] == ["need_undecided:flow_chart"]
    assert refusal.value.unmet[0].artifact_kind == FLOW


def test_advance_to_design_spec_is_refused_while_the_protocol_spec_is_a_draft(milestone, tech_lead):
    milestone = walk_to(milestone, Phase.PROTOCOLS)
    write_artifact(tech_lead, milestone, PROTOCOL_SPECS, "POST /cards")
    decide_not_needed(milestone, *ON_NEED)

    with pytest.raises(GuardRefused) as refusal:
        services.advance_phase(tech_lead, milestone, to=Phase.DESIGN_SPEC)

    assert [item.code for item in refusal.value.unmet] == ["artifact_not_ready:protocol_specs"]


def test_advance_to_unknowns_is_refused_until_the_design_spec_is_ready(milestone, tech_lead):
    milestone = walk_to(milestone, Phase.DESIGN_SPEC)

    with pytest.raises(GuardRefused) as refusal:
        services.advance_phase(tech_lead, milestone, to=Phase.UNKNOWNS)

    assert [item.code for item in refusal.value.unmet] == ["artifact_not_ready:design_spec"]
    assert fresh(milestone).phase == Phase.DESIGN_SPEC


def test_advance_to_unknowns_is_refused_while_a_needed_diagram_is_not_ready(milestone, tech_lead):
    milestone = walk_to(milestone, Phase.DESIGN_SPEC)
    make_ready(milestone, DESIGN_SPEC)
    services.decide_artifact_need(tech_lead, artifact_of(milestone, FLOW), needed=True)
    write_artifact(tech_lead, milestone, FLOW, "```mermaid\nflowchart TD\n  a --> b\n```\n")

    with pytest.raises(GuardRefused) as refusal:
        services.advance_phase(tech_lead, milestone, to=Phase.UNKNOWNS)

    assert [item.code for item in refusal.value.unmet] == ["artifact_not_ready:flow_chart"]

    make_ready(milestone, FLOW)
    services.advance_phase(tech_lead, milestone, to=Phase.UNKNOWNS)
    assert fresh(milestone).phase == Phase.UNKNOWNS


@pytest.mark.parametrize(
    ("start", "to"),
    [
        (Phase.ARCHITECTURE, Phase.PROTOCOLS),
        (Phase.PROTOCOLS, Phase.DESIGN_SPEC),
        (Phase.DESIGN_SPEC, Phase.UNKNOWNS),
    ],
)
def test_once_the_guard_holds_advance_moves_and_writes_exactly_one_activity(
    milestone, tech_lead, start, to
):
    milestone = walk_to(milestone, start)
    satisfy(milestone, to)
    before = Activity.objects.count()

    moved = services.advance_phase(tech_lead, milestone, to=to, note="On we go.")

    assert moved.phase == to
    assert fresh(milestone).phase == to
    assert Activity.objects.count() == before + 1
    activity = Activity.objects.latest("id")
    assert (activity.verb, activity.actor, activity.milestone_id) == (
        "phase_advanced",
        tech_lead,
        milestone.pk,
    )
    assert activity.data == {"from_phase": start, "to_phase": to, "note": "On we go."}


def test_advance_with_a_stale_target_is_refused(milestone, tech_lead):
    milestone = walk_to(milestone, Phase.PROTOCOLS)
    before = Activity.objects.count()

    with pytest.raises(GuardRefused) as refusal:
        services.advance_phase(tech_lead, milestone, to=Phase.PROTOCOLS)

    assert [item.code for item in refusal.value.unmet] == ["phase_changed"]
    assert fresh(milestone).phase == Phase.PROTOCOLS
    assert Activity.objects.count() == before


def test_advance_from_a_stale_copy_of_the_milestone_reads_the_stored_phase(milestone, tech_lead):
    stale = fresh(milestone)
    satisfy(milestone, Phase.PROTOCOLS)
    services.advance_phase(tech_lead, milestone, to=Phase.PROTOCOLS)

    assert stale.phase == Phase.ARCHITECTURE
    with pytest.raises(GuardRefused) as refusal:
        services.advance_phase(tech_lead, stale, to=Phase.PROTOCOLS)

    assert [item.code for item in refusal.value.unmet] == ["phase_changed"]
    assert verbs(milestone).count("phase_advanced") == 1


@pytest.fixture
def announced(squad, monkeypatch):
    """Ids of the squad's webhook events queued for posting (the task itself does not run)."""
    Squad.objects.filter(pk=squad.pk).update(webhook_url="https://hooks.example.com/payments")
    queued: list[int] = []
    monkeypatch.setattr(
        tasks.deliver_webhook, "apply_async", lambda args, **options: queued.append(args[0])
    )
    return queued


def test_a_refused_advance_announces_nothing(
    milestone, tech_lead, announced, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(GuardRefused):
        services.advance_phase(tech_lead, milestone, to=Phase.PROTOCOLS)

    assert not WebhookDelivery.objects.exists()
    assert announced == []


def test_a_move_rolled_back_after_the_engine_announces_nothing(
    milestone, tech_lead, announced, django_capture_on_commit_callbacks
):
    satisfy(milestone, Phase.PROTOCOLS)

    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        services.advance_phase(tech_lead, milestone, to=Phase.PROTOCOLS)
        raise RuntimeError("the caller's transaction fails")

    assert not WebhookDelivery.objects.exists()
    assert announced == []


def test_a_move_is_announced_once_after_it_commits(
    milestone, tech_lead, announced, django_capture_on_commit_callbacks
):
    satisfy(milestone, Phase.PROTOCOLS)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.advance_phase(tech_lead, milestone, to=Phase.PROTOCOLS)
    # Written in the move's transaction, queued for posting only once it commits.
    [event] = WebhookDelivery.objects.all()
    assert announced == []
    with django_capture_on_commit_callbacks(execute=True):
        for callback in callbacks:
            callback()

    assert announced == [event.pk]
    assert event.event == "milestone.phase_changed"
    data = event.payload["data"]
    assert (data["from"], data["to"], data["actor"]) == (
        Phase.ARCHITECTURE,
        Phase.PROTOCOLS,
        tech_lead.username,
    )


# Moving back and `transition` -------------------------------------------------------


@pytest.mark.parametrize("note", ["", "   \n"])
def test_moving_back_needs_a_note(milestone, tech_lead, note):
    milestone = walk_to(milestone, Phase.DESIGN_SPEC)

    with pytest.raises(ValidationError) as refusal:
        services.move_back(tech_lead, milestone, to=Phase.PROTOCOLS, note=note)

    assert "note" in refusal.value.error_dict
    assert fresh(milestone).phase == Phase.DESIGN_SPEC


def test_moving_back_stores_the_phase_and_one_activity_with_the_note(milestone, tech_lead):
    milestone = walk_to(milestone, Phase.UNKNOWNS)
    before = Activity.objects.count()

    services.move_back(
        tech_lead, milestone, to=Phase.ARCHITECTURE, note="The vendor changed its API."
    )

    assert fresh(milestone).phase == Phase.ARCHITECTURE
    assert Activity.objects.count() == before + 1
    activity = Activity.objects.latest("id")
    assert activity.verb == "phase_moved_back"
    assert activity.data == {
        "from_phase": Phase.UNKNOWNS,
        "to_phase": Phase.ARCHITECTURE,
        "note": "The vendor changed its API.",
    }
    assert "The vendor changed its API." in activity.summary


def test_moving_back_to_the_current_phase_is_refused(milestone, tech_lead):
    milestone = walk_to(milestone, Phase.PROTOCOLS)

    with pytest.raises(GuardRefused):
        services.move_back(tech_lead, milestone, to=Phase.PROTOCOLS, note="Oops.")

    assert verbs(milestone).count("phase_moved_back") == 0


def test_transition_moves_forward_one_phase_through_the_guard(milestone, tech_lead):
    with pytest.raises(GuardRefused):
        services.transition(tech_lead, milestone, Phase.PROTOCOLS)

    satisfy(milestone, Phase.PROTOCOLS)
    services.transition(tech_lead, milestone, Phase.PROTOCOLS)

    assert fresh(milestone).phase == Phase.PROTOCOLS


def test_transition_moves_back_with_a_note(milestone, tech_lead):
    milestone = walk_to(milestone, Phase.PROTOCOLS)

    services.transition(tech_lead, milestone, Phase.ARCHITECTURE, note="Rethink the vault.")

    assert fresh(milestone).phase == Phase.ARCHITECTURE
    assert verbs(milestone)[-1] == "phase_moved_back"


def test_transition_to_the_phase_it_is_in_is_invalid_input_saying_where_it_is(milestone, tech_lead):
    with pytest.raises(ValidationError) as refusal:
        services.transition(tech_lead, milestone, Phase.ARCHITECTURE)

    assert refusal.value.message_dict == {"to": ["The milestone is already in Architecture."]}
    assert fresh(milestone).phase == Phase.ARCHITECTURE
    assert not {"phase_advanced", "phase_moved_back"} & set(verbs(milestone))


@pytest.mark.parametrize("to", [Phase.DESIGN_SPEC, Phase.DONE, "shipping"])
def test_transition_refuses_a_jump_ahead_or_a_phase_that_does_not_exist(milestone, tech_lead, to):
    satisfy(milestone, Phase.PROTOCOLS)
    satisfy(milestone, Phase.DESIGN_SPEC)

    with pytest.raises(ValidationError) as refusal:
        services.transition(tech_lead, milestone, to, note="Skipping ahead.")

    assert "to" in refusal.value.error_dict
    assert fresh(milestone).phase == Phase.ARCHITECTURE
    assert not {"phase_advanced", "phase_moved_back"} & set(verbs(milestone))


@pytest.mark.parametrize("who", ["engineer", "product", "principal"])
def test_only_the_milestone_tech_lead_advances_it(milestone, request, who):
    satisfy(milestone, Phase.PROTOCOLS)
    actor = request.getfixturevalue(who)

    with pytest.raises(PermissionDenied):
        services.advance_phase(actor, milestone, to=Phase.PROTOCOLS)

    assert fresh(milestone).phase == Phase.ARCHITECTURE
    assert "phase_advanced" not in verbs(milestone)


@pytest.mark.parametrize("who", ["engineer", "product", "principal"])
def test_only_the_milestone_tech_lead_moves_it_back(milestone, request, who):
    milestone = walk_to(milestone, Phase.PROTOCOLS)
    actor = request.getfixturevalue(who)

    with pytest.raises(PermissionDenied):
        services.move_back(actor, milestone, to=Phase.ARCHITECTURE, note="Let me.")

    assert fresh(milestone).phase == Phase.PROTOCOLS


def test_another_squad_tech_lead_does_not_move_a_milestone_they_do_not_lead(milestone, squad):
    other_lead = UserFactory(username="theo")
    MembershipFactory(squad=squad, user=other_lead, role=Membership.Role.TECH_LEAD)
    satisfy(milestone, Phase.PROTOCOLS)

    with pytest.raises(PermissionDenied):
        services.advance_phase(other_lead, milestone, to=Phase.PROTOCOLS)

    assert fresh(milestone).phase == Phase.ARCHITECTURE


def test_a_new_tech_lead_moves_the_milestone_and_the_old_one_no_longer_does(
    milestone, tech_lead, engineer
):
    services.update_milestone(tech_lead, milestone, tech_lead=engineer)
    milestone = fresh(milestone)
    satisfy(milestone, Phase.PROTOCOLS)

    with pytest.raises(PermissionDenied):
        services.advance_phase(tech_lead, milestone, to=Phase.PROTOCOLS)
    services.advance_phase(engineer, milestone, to=Phase.PROTOCOLS)

    assert fresh(milestone).phase == Phase.PROTOCOLS


def test_readiness_reports_the_next_phase_and_its_unmet_items(milestone):
    make_ready(milestone, SYSTEM)

    readiness = services.readiness(fresh(milestone))

    assert readiness["phase"] == Phase.ARCHITECTURE
    assert readiness["next_phase"] == Phase.PROTOCOLS
    assert readiness["can_advance"] is False
    assert [item.code for item in readiness["unmet"]] == [
        "artifact_not_ready:application_architecture"
    ]


# Pages: creating and editing ------------------------------------------------------


def create_url(project) -> str:
    return reverse(
        "planning:milestone-create",
        kwargs={"squad_slug": project.squad.slug, "project_slug": project.slug},
    )


def test_create_form_proposes_the_project_tech_lead(client_for, project, tech_lead):
    response = client_for(tech_lead).get(create_url(project))

    assert response.status_code == 200
    assert response.context["form"]["tech_lead"].value() == tech_lead.pk


def test_tech_lead_creates_a_milestone_and_lands_on_its_page(client_for, project, tech_lead):
    response = client_for(tech_lead).post(
        create_url(project),
        {
            "title": "Tokenise cards",
            "goal": "Keep tokens.",
            "due_on": "",
            "tech_lead": tech_lead.pk,
        },
    )

    milestone = Milestone.objects.get(project=project)
    assert response.status_code == 302
    assert response["Location"] == milestone.get_absolute_url()
    assert (milestone.number, milestone.title, milestone.goal) == (
        1,
        "Tokenise cards",
        "Keep tokens.",
    )
    assert milestone.artifacts.count() == 7


def test_an_invalid_create_form_keeps_what_was_typed(client_for, project, tech_lead):
    response = client_for(tech_lead).post(
        create_url(project),
        {
            "title": "",
            "goal": "Keep only tokens.",
            "due_on": "2030-02-01",
            "tech_lead": tech_lead.pk,
        },
    )

    page = response.content.decode()
    assert response.status_code == 200
    assert response.context["form"].errors["title"]
    assert "Keep only tokens." in page
    assert 'value="2030-02-01"' in page
    assert not Milestone.objects.exists()


def test_create_form_refuses_a_tech_lead_who_is_not_a_member(
    client_for, project, tech_lead, outsider
):
    response = client_for(tech_lead).post(
        create_url(project), {"title": "Tokenise", "goal": "", "tech_lead": outsider.pk}
    )

    assert response.status_code == 200
    assert response.context["form"].errors["tech_lead"]
    assert not Milestone.objects.exists()


def test_engineer_gets_403_on_the_create_form(client_for, project, engineer):
    client = client_for(engineer)

    assert client.get(create_url(project)).status_code == 403
    response = client.post(create_url(project), {"title": "Mine", "tech_lead": engineer.pk})
    assert response.status_code == 403
    assert not Milestone.objects.exists()


def test_tech_lead_edits_the_milestone(client_for, milestone, tech_lead):
    response = client_for(tech_lead).post(
        url("milestone-edit", milestone),
        {"title": "Tokenise every card", "goal": "", "due_on": "", "tech_lead": tech_lead.pk},
    )

    assert response.status_code == 302
    assert fresh(milestone).title == "Tokenise every card"


def test_engineer_gets_403_on_editing_the_milestone(client_for, milestone, engineer):
    response = client_for(engineer).post(
        url("milestone-edit", milestone),
        {"title": "Hijacked", "goal": "", "due_on": "", "tech_lead": engineer.pk},
    )

    assert response.status_code == 403
    assert fresh(milestone).title == "Tokenise cards"


# Pages: the milestone page --------------------------------------------------------


def test_milestone_page_shows_every_phase_in_the_stepper_and_where_it_stands(
    client_for, milestone, engineer
):
    milestone = walk_to(milestone, Phase.PROTOCOLS)

    page = client_for(engineer).get(url("milestone-detail", milestone)).content.decode()

    steps = re.findall(
        r'<li class="step step-(\w+)"[^>]*>\s*<span class="step-dot">[^<]*</span>'
        r'\s*<span class="step-label">([^<]+)</span>',
        page,
    )
    assert [label for _, label in steps] == [label for _, label in Phase.choices]
    assert [state for state, _ in steps] == ["done", "current"] + ["todo"] * 6
    assert re.search(r'step-current" aria-current="step"', page)


def test_milestone_page_lists_what_is_missing_with_links_to_fix_it(
    client_for, milestone, tech_lead
):
    response = client_for(tech_lead).get(url("milestone-detail", milestone))

    page = response.content.decode()
    assert "To move on to Protocols" in page
    assert "2 things before Protocols" in page
    for kind, message in [
        (SYSTEM, "Scoped system architecture diagram is not ready."),
        (APPLICATION, "Application architecture is not ready."),
    ]:
        link = f'<li data-code="artifact_not_ready:{kind}"><a href="{artifact_url("artifact-edit", milestone, kind)}">{message}</a></li>'
        assert link in page


def test_milestone_page_lists_undecided_diagrams_after_protocols(client_for, milestone, tech_lead):
    milestone = walk_to(milestone, Phase.PROTOCOLS)

    page = client_for(tech_lead).get(url("milestone-detail", milestone)).content.decode()

    assert "To move on to Design spec" in page
    codes = re.findall(r'data-code="([^"]+)"', page)
    assert codes == [
        "artifact_not_ready:protocol_specs",
        "need_undecided:infrastructure_diagram",
        "need_undecided:sequence_diagram",
        "need_undecided:flow_chart",
    ]
    assert artifact_url("artifact-edit", milestone, FLOW) in page


def test_tech_lead_sees_a_disabled_advance_button_while_items_are_missing(
    client_for, milestone, tech_lead
):
    page = client_for(tech_lead).get(url("milestone-detail", milestone)).content.decode()

    button = re.search(r"<button[^>]*>Move on to Protocols</button>", page)
    assert button is not None
    assert "disabled" in button.group(0)


def test_tech_lead_sees_an_enabled_advance_button_when_the_guard_holds(
    client_for, milestone, tech_lead
):
    satisfy(milestone, Phase.PROTOCOLS)

    page = client_for(tech_lead).get(url("milestone-detail", milestone)).content.decode()

    button = re.search(r"<button[^>]*>Move on to Protocols</button>", page)
    assert button is not None
    assert "disabled" not in button.group(0)
    assert "Everything Protocols needs is in place." in page


@pytest.mark.parametrize("who", ["engineer", "product", "principal"])
def test_nobody_but_the_tech_lead_sees_a_move_button(client_for, milestone, request, who):
    milestone = walk_to(milestone, Phase.PROTOCOLS)  # so that moving back would be possible too

    page = client_for(request.getfixturevalue(who)).get(url("milestone-detail", milestone))

    content = page.content.decode()
    assert page.status_code == 200
    assert "Move on to" not in content
    assert "Move back" not in content
    assert url("milestone-transition", milestone) not in content
    assert "the milestone's tech lead, moves it on" in content


def test_milestone_page_shows_the_artifact_checklist(client_for, milestone, tech_lead, engineer):
    write_artifact(engineer, milestone, SYSTEM, "A first sketch.")
    make_ready(milestone, APPLICATION)
    services.decide_artifact_need(
        tech_lead, artifact_of(milestone, INFRASTRUCTURE), needed=False, reason="No new servers."
    )

    page = client_for(tech_lead).get(url("milestone-detail", milestone)).content.decode()

    rows = dict(re.findall(r'<tr id="artifact-(\w+)" data-status="(\w+)">', page))
    assert rows == {
        SYSTEM: "draft",
        APPLICATION: "ready",
        PROTOCOL_SPECS: "missing",
        INFRASTRUCTURE: "missing",
        SEQUENCE: "missing",
        FLOW: "missing",
        DESIGN_SPEC: "missing",
    }
    row = page[page.index('id="artifact-infrastructure_diagram"') :]
    row = row[: row.index("</tr>")]
    assert "Not needed" in row and "No new servers." in row
    row = page[page.index('id="artifact-system_architecture"') :]
    row = row[: row.index("</tr>")]
    assert engineer.display_name in row


def test_milestone_page_shows_the_timeline(client_for, milestone, tech_lead):
    milestone = walk_to(milestone, Phase.PROTOCOLS)

    page = client_for(tech_lead).get(url("milestone-detail", milestone)).content.decode()

    assert f"{tech_lead.display_name} moved the milestone on to Protocols." in page
    assert f"{tech_lead.display_name} created milestone 1." in page


def test_timeline_page_lists_every_activity_beyond_what_the_milestone_page_shows(
    client_for, milestone, tech_lead, engineer
):
    milestone = walk_to(milestone, Phase.UNKNOWNS)
    services.move_back(tech_lead, milestone, to=Phase.DESIGN_SPEC, note="One more look.")
    services.advance_phase(tech_lead, milestone, to=Phase.UNKNOWNS)
    client = client_for(engineer)
    every = list(
        milestone.activities.order_by("-created_at", "-id").values_list("summary", flat=True)
    )
    assert len(every) == 17

    detail = client.get(url("milestone-detail", milestone))
    timeline = client.get(url("milestone-timeline", milestone))

    assert [a.summary for a in detail.context["activities"]] == every[:15]
    assert url("milestone-timeline", milestone) in detail.content.decode()
    assert timeline.status_code == 200
    assert [a.summary for a in timeline.context["page"].object_list] == every
    assert f"{tech_lead.display_name} created milestone 1." in timeline.content.decode()


def test_a_milestone_at_done_says_planning_is_done_and_offers_no_move_on(
    client_for, milestone, tech_lead
):
    Milestone.objects.filter(pk=milestone.pk).update(phase=Phase.DONE)

    response = client_for(tech_lead).get(url("milestone-detail", milestone))

    page = response.content.decode()
    assert response.status_code == 200
    assert "Planning is done" in page
    assert "Move on to" not in page
    assert response.context["readiness"]["next_phase"] is None
    assert 'class="step step-done"' in page and page.count("step-todo") == 0


def test_an_artifact_kind_that_does_not_exist_is_404(client_for, milestone, tech_lead):
    response = client_for(tech_lead).get(artifact_url("artifact-edit", milestone, "wiring_diagram"))

    assert response.status_code == 404
    assert_not_found_page(response)


@pytest.mark.parametrize("name", ["milestone-detail", "artifact-edit", "artifact-history"])
def test_anonymous_visitors_are_sent_to_log_in(client, milestone, name):
    response = client.get(any_url(name, milestone, SYSTEM))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


# Pages: moving ----------------------------------------------------------------------


@pytest.mark.parametrize("who", ["engineer", "product", "principal"])
def test_a_forged_move_by_someone_else_gets_403_and_changes_nothing(
    client_for, milestone, request, who
):
    satisfy(milestone, Phase.PROTOCOLS)
    before = Activity.objects.count()

    response = client_for(request.getfixturevalue(who)).post(
        url("milestone-transition", milestone), {"to": Phase.PROTOCOLS}
    )

    assert response.status_code == 403
    assert fresh(milestone).phase == Phase.ARCHITECTURE
    assert Activity.objects.count() == before


def test_tech_lead_moving_on_with_items_missing_gets_409_listing_them(
    client_for, milestone, tech_lead
):
    make_ready(milestone, SYSTEM)

    response = client_for(tech_lead).post(
        url("milestone-transition", milestone), {"to": Phase.PROTOCOLS}
    )

    page = response.content.decode()
    assert response.status_code == 409
    assert "Not ready to move on to Protocols." in page
    alert = page[page.index('role="alert"') :]
    alert = alert[: alert.index("</div>")]
    assert "Application architecture is not ready." in alert
    assert "Scoped system architecture diagram" not in alert
    assert fresh(milestone).phase == Phase.ARCHITECTURE


def test_tech_lead_moves_on_and_is_sent_back_to_the_milestone(client_for, milestone, tech_lead):
    satisfy(milestone, Phase.PROTOCOLS)
    client = client_for(tech_lead)

    response = client.post(url("milestone-transition", milestone), {"to": Phase.PROTOCOLS})

    assert response.status_code == 302
    assert response["Location"] == milestone.get_absolute_url()
    assert fresh(milestone).phase == Phase.PROTOCOLS
    assert verbs(milestone).count("phase_advanced") == 1
    followed = client.get(response["Location"])
    assert "The milestone is now in Protocols." in messages_of(followed)


def test_a_second_submission_of_the_same_move_does_not_move_twice(client_for, milestone, tech_lead):
    satisfy(milestone, Phase.PROTOCOLS)
    satisfy(milestone, Phase.DESIGN_SPEC)
    client = client_for(tech_lead)

    client.post(url("milestone-transition", milestone), {"to": Phase.PROTOCOLS})
    again = client.post(
        url("milestone-transition", milestone), {"to": Phase.PROTOCOLS}, follow=True
    )

    # Back on the page, which says where the milestone stands.
    assert again.redirect_chain == [(milestone.get_absolute_url(), 302)]
    assert "The milestone is already in Protocols." in again.content.decode()
    assert fresh(milestone).phase == Phase.PROTOCOLS
    assert verbs(milestone).count("phase_advanced") == 1


def test_a_jump_two_phases_ahead_through_the_page_is_refused(client_for, milestone, tech_lead):
    satisfy(milestone, Phase.PROTOCOLS)
    satisfy(milestone, Phase.DESIGN_SPEC)

    response = client_for(tech_lead).post(
        url("milestone-transition", milestone), {"to": Phase.DESIGN_SPEC}
    )

    assert response.status_code == 400
    assert fresh(milestone).phase == Phase.ARCHITECTURE


def test_moving_back_through_the_page_without_a_note_shows_the_error(
    client_for, milestone, tech_lead
):
    milestone = walk_to(milestone, Phase.PROTOCOLS)

    response = client_for(tech_lead).post(
        url("milestone-transition", milestone), {"to": Phase.ARCHITECTURE, "note": ""}
    )

    assert response.status_code == 400
    assert response.context["move_back_form"].errors["note"]
    assert response.context["move_back_open"] is True
    assert fresh(milestone).phase == Phase.PROTOCOLS


def test_moving_back_through_the_page_with_a_note_puts_it_on_the_timeline(
    client_for, milestone, tech_lead
):
    milestone = walk_to(milestone, Phase.PROTOCOLS)
    client = client_for(tech_lead)

    response = client.post(
        url("milestone-transition", milestone),
        {"to": Phase.ARCHITECTURE, "note": "The diagram missed the vault."},
    )

    assert response.status_code == 302
    assert fresh(milestone).phase == Phase.ARCHITECTURE
    page = client.get(response["Location"]).content.decode()
    assert "The diagram missed the vault." in page


# Who sees what --------------------------------------------------------------------

MILESTONE_REQUESTS = [
    ("milestone-create", "get"),
    ("milestone-create", "post"),
    ("milestone-detail", "get"),
    ("milestone-edit", "get"),
    ("milestone-edit", "post"),
    ("milestone-transition", "post"),
    ("milestone-timeline", "get"),
    ("artifact-edit", "get"),
    ("artifact-edit", "post"),
    ("artifact-preview", "post"),
    ("artifact-status", "post"),
    ("artifact-need", "post"),
    ("artifact-history", "get"),
    ("artifact-diff", "get"),
]


def any_url(name: str, milestone: Milestone, kind: str = FLOW) -> str:
    if name == "milestone-create":
        return create_url(milestone.project)
    if name.startswith("artifact-"):
        return artifact_url(name, milestone, kind)
    return url(name, milestone)


def request_data(name: str, milestone: Milestone, user) -> dict:
    """A valid-looking submission, so that a refusal is not down to a bad form."""
    return {
        "milestone-create": {"title": "Side door", "tech_lead": user.pk},
        "milestone-edit": {"title": "Taken over", "tech_lead": user.pk},
        "milestone-transition": {"to": Phase.PROTOCOLS},
        "artifact-edit": {"body": "Overwritten.", "base_revision": 1},
        "artifact-preview": {"body": "**secret?**"},
        "artifact-status": {"status": "ready"},
        "artifact-need": {"needed": "no", "not_needed_reason": "Says who?"},
    }.get(name, {})


def state(milestone: Milestone) -> tuple:
    saved = fresh(milestone)
    artifacts = sorted(saved.artifacts.values_list("kind", "status", "body", "revision", "needed"))
    return saved.title, saved.phase, artifacts, Activity.objects.count(), Milestone.objects.count()


@pytest.mark.parametrize(("name", "method"), MILESTONE_REQUESTS)
@pytest.mark.parametrize("who", ["outsider", "guest"])
def test_strangers_get_404_on_every_milestone_and_artifact_url(
    client_for, milestone, tech_lead, request, who, name, method
):
    satisfy(milestone, Phase.PROTOCOLS)
    write_artifact(tech_lead, milestone, FLOW, "A flow.")
    stranger = request.getfixturevalue(who)
    before = state(milestone)
    client = client_for(stranger)
    target = any_url(name, milestone)

    if method == "post":
        response = client.post(target, request_data(name, milestone, stranger))
    else:
        response = client.get(target)

    assert response.status_code == 404
    assert state(milestone) == before
    assert_not_found_page(response, "Tokenise cards", "A flow.")


@pytest.mark.parametrize(
    "name",
    [
        "milestone-detail",
        "milestone-timeline",
        "artifact-edit",
        "artifact-history",
        "artifact-diff",
    ],
)
def test_the_principal_engineer_reads_the_milestone_and_its_artifacts(
    client_for, milestone, tech_lead, principal, name
):
    write_artifact(tech_lead, milestone, FLOW, "A flow.")

    response = client_for(principal).get(any_url(name, milestone))

    assert response.status_code == 200
    page = response.content.decode()
    assert "Tokenise cards" in page
    assert {
        "milestone-detail": '<span class="milestone-number">M1</span> Tokenise cards',
        "milestone-timeline": "Timeline of M1 Tokenise cards",
        "artifact-edit": "A flow.",
        "artifact-history": "History of the flow chart",
        "artifact-diff": "A flow.",
    }[name] in page


def test_the_principal_engineer_reads_an_artifact_without_an_editor(
    client_for, milestone, tech_lead, principal
):
    write_artifact(tech_lead, milestone, SYSTEM, "The **vault** sits behind the API.")

    page = client_for(principal).get(any_url("artifact-edit", milestone, SYSTEM)).content.decode()

    assert "The <strong>vault</strong> sits behind the API." in page
    assert "<textarea" not in page


@pytest.mark.parametrize(
    "name", ["artifact-edit", "artifact-status", "artifact-need", "milestone-edit"]
)
def test_the_principal_engineer_gets_403_on_changing_anything(
    client_for, milestone, tech_lead, principal, name
):
    write_artifact(tech_lead, milestone, FLOW, "A flow.")
    before = state(milestone)

    response = client_for(principal).post(
        any_url(name, milestone), request_data(name, milestone, principal)
    )

    assert response.status_code == 403
    assert state(milestone) == before


# Query budgets ----------------------------------------------------------------------


@pytest.mark.parametrize("revisions", [1, 50])
def test_milestone_page_query_count_does_not_grow_with_revisions(
    client_for, django_assert_max_num_queries, milestone, tech_lead, revisions
):
    for kind in ARTIFACT_KINDS:
        for n in range(revisions):
            write_artifact(tech_lead, milestone, kind, f"Revision {n + 1} of {kind}.")
    assert Artifact.objects.filter(milestone=milestone, revision=revisions).count() == 7
    client = client_for(tech_lead)

    with django_assert_max_num_queries(MILESTONE_PAGE_BUDGET):
        response = client.get(url("milestone-detail", milestone))

    assert response.status_code == 200
    assert len(response.context["artifacts"]) == 7


@pytest.mark.parametrize("milestones", [1, 30])
def test_project_page_query_count_does_not_grow_with_milestones(
    client_for, django_assert_max_num_queries, project, tech_lead, engineer, milestones
):
    for n in range(milestones):
        lead = engineer if n % 2 else tech_lead
        services.create_milestone(tech_lead, project, title=f"Step {n + 1}", tech_lead=lead)
    client = client_for(engineer)

    with django_assert_max_num_queries(PROJECT_PAGE_BUDGET):
        response = client.get(project.get_absolute_url())

    assert response.status_code == 200
    page = response.content.decode()
    assert len(response.context["page"].object_list) == min(milestones, 25)
    assert page.count('class="phase-bar"') == min(milestones, 25)
    assert f"M{milestones}</span> Step {milestones}" in page


def test_on_need_kinds_are_the_three_diagrams():
    # The guard tests above lean on this split; say so if it ever changes.
    assert set(ON_NEED) == ON_NEED_KINDS


def test_the_milestone_page_lists_its_stories_with_sub_tasks_done(
    client_for, milestone, tech_lead, engineer
):
    page = client_for(engineer).get(milestone.get_absolute_url()).content.decode()
    assert "No stories yet." in page

    story = services.add_story(tech_lead, milestone, title="Vault client with retries")
    services.add_story(tech_lead, milestone, title="Checkout form")
    services.claim_story(engineer, story)
    retries = services.add_subtask(tech_lead, story, title="Retry policy", assignee=engineer)
    services.add_subtask(tech_lead, story, title="Timeouts")
    services.update_subtask(engineer, retries, done=True)

    page = client_for(engineer).get(milestone.get_absolute_url()).content.decode()
    stories = page.split('id="stories"', 1)[1]
    first, second = re.findall(r'<tr id="story-\d+">(.*?)</tr>', stories, re.S)
    assert "S-1" in first and "Vault client with retries" in first
    assert engineer.display_name in first and "1 of 2" in first and "In progress" in first
    assert "Checkout form" in second and "Not claimed" in second and "none yet" in second
    assert story.get_absolute_url() in first
