"""Kick-off, concerns, stories and sub-tasks, the breakout session, and the guards to `done`."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from notifications.models import Notification
from planning import services
from planning.exceptions import GuardRefused
from planning.models import (
    BreakoutSession,
    Concern,
    DesignReview,
    KickoffMeeting,
    Milestone,
    Story,
    Subtask,
    Unknown,
    Verdict,
)
from planning.workflow import Phase
from squads.models import Squad
from tests.helpers import assert_forbidden_page, assert_not_found_page, put_in_phase, unchanged

pytestmark = pytest.mark.django_db

WHEN = (timezone.now() + timedelta(days=1)).replace(microsecond=0)


@pytest.fixture
def milestone(project, tech_lead, engineer, product):
    milestone = services.create_milestone(tech_lead, project, title="Tokenise cards")
    return put_in_phase(milestone, Phase.KICKOFF)


@pytest.fixture
def meeting_mode(squad):
    squad.breakout_mode = Squad.BreakoutMode.MEETING
    squad.save()
    return squad


def fresh(milestone: Milestone) -> Milestone:
    return Milestone.objects.select_related("project__squad", "tech_lead").get(pk=milestone.pk)


def url(name: str, milestone: Milestone, **extra) -> str:
    return reverse(f"planning:{name}", kwargs={**milestone.url_kwargs(), **extra})


def refused_codes(milestone: Milestone, to: str) -> list[str]:
    """The codes of a refused move, asserting the milestone did not move."""
    milestone = fresh(milestone)
    before = milestone.phase
    with pytest.raises(GuardRefused) as refusal:
        services.advance_phase(milestone.tech_lead, milestone, to=to)
    assert fresh(milestone).phase == before
    return [item.code for item in refusal.value.unmet]


def advance(milestone: Milestone, to: str) -> Milestone:
    services.advance_phase(milestone.tech_lead, fresh(milestone), to=to)
    return fresh(milestone)


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


# Kick-off ---------------------------------------------------------------------------


def test_the_tech_lead_schedules_the_kickoff_and_the_squad_is_invited(
    milestone, tech_lead, engineer, product, principal
):
    kickoff = services.schedule_kickoff(
        tech_lead, milestone, scheduled_for=WHEN, location="Room 2", notes="Bring questions."
    )

    saved = KickoffMeeting.objects.get(milestone=milestone)
    assert (saved.pk, saved.scheduled_for, saved.location) == (kickoff.pk, WHEN, "Room 2")
    invited = Notification.objects.filter(kind=Notification.Kind.MEETING_SCHEDULED)
    assert {n.recipient for n in invited} == {engineer, product}
    assert all("BEGIN:VEVENT" in n.calendar for n in invited)


@pytest.mark.parametrize("who", ["engineer", "product", "principal", "outsider"])
def test_only_the_tech_lead_schedules_the_kickoff(milestone, request, who):
    with pytest.raises(PermissionDenied):
        services.schedule_kickoff(request.getfixturevalue(who), milestone, scheduled_for=WHEN)

    assert not KickoffMeeting.objects.exists()


@pytest.mark.parametrize("who", ["engineer", "product", "principal", "outsider"])
def test_only_the_tech_lead_holds_the_kickoff(milestone, request, who):
    with pytest.raises(PermissionDenied):
        services.hold_kickoff(request.getfixturevalue(who), milestone)

    assert not KickoffMeeting.objects.filter(held_at__isnull=False).exists()


def test_holding_the_kickoff_twice_keeps_the_first_time(milestone, tech_lead):
    first = services.hold_kickoff(tech_lead, milestone).held_at

    second = services.hold_kickoff(tech_lead, milestone).held_at

    assert first is not None
    assert second == first
    assert milestone.activities.filter(verb="kickoff_held").count() == 1


# Concerns ---------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["engineer", "product", "tech_lead"])
def test_squad_members_raise_concerns_and_questions(milestone, request, who):
    actor = request.getfixturevalue(who)

    concern = services.raise_concern(actor, milestone, kind="concern", text="  Latency?  ")

    assert (concern.raised_by, concern.kind, concern.text, concern.status) == (
        actor,
        "concern",
        "Latency?",
        "open",
    )


@pytest.mark.parametrize("who", ["principal", "guest", "outsider"])
def test_someone_outside_the_squad_cannot_raise_a_concern(milestone, request, who):
    with pytest.raises(PermissionDenied):
        services.raise_concern(request.getfixturevalue(who), milestone, kind="question", text="?")

    assert not Concern.objects.exists()


@pytest.mark.parametrize(("kind", "text"), [("question", "   "), ("worry", "Latency?")])
def test_a_concern_needs_text_and_a_known_kind(milestone, engineer, kind, text):
    with pytest.raises(ValidationError):
        services.raise_concern(engineer, milestone, kind=kind, text=text)

    assert not Concern.objects.exists()


def test_the_tech_lead_answers_a_concern_and_the_raiser_is_notified(milestone, tech_lead, engineer):
    concern = services.raise_concern(engineer, milestone, kind="question", text="Which HSM?")

    services.answer_concern(tech_lead, concern, "The one we have.")

    saved = Concern.objects.get(pk=concern.pk)
    assert (saved.status, saved.answer, saved.answered_by) == (
        "answered",
        "The one we have.",
        tech_lead,
    )
    notification = Notification.objects.get(kind=Notification.Kind.CONCERN_ANSWERED)
    assert notification.recipient == engineer
    assert "The one we have." in notification.text


def test_the_tech_lead_answering_their_own_question_notifies_nobody(milestone, tech_lead):
    concern = services.raise_concern(tech_lead, milestone, kind="question", text="Note to self?")

    services.answer_concern(tech_lead, concern, "Yes.")

    assert not Notification.objects.filter(kind=Notification.Kind.CONCERN_ANSWERED).exists()


@pytest.mark.parametrize("who", ["engineer", "product", "principal"])
def test_only_the_tech_lead_answers_concerns(milestone, engineer, request, who):
    concern = services.raise_concern(engineer, milestone, kind="question", text="Which HSM?")

    with pytest.raises(PermissionDenied):
        services.answer_concern(request.getfixturevalue(who), concern, "My answer.")

    assert Concern.objects.get(pk=concern.pk).status == "open"


def test_an_answer_is_required(milestone, tech_lead, engineer):
    concern = services.raise_concern(engineer, milestone, kind="question", text="Which HSM?")

    with pytest.raises(ValidationError):
        services.answer_concern(tech_lead, concern, "   ")

    saved = Concern.objects.get(pk=concern.pk)
    assert (saved.status, saved.answer) == ("open", "")
    assert not Notification.objects.filter(kind=Notification.Kind.CONCERN_ANSWERED).exists()


# Stories and sub-tasks ----------------------------------------------------------------


def test_stories_are_numbered_s1_s2_within_each_milestone(milestone, project, tech_lead, engineer):
    first = services.add_story(tech_lead, milestone, title="Token service")
    second = services.add_story(engineer, milestone, title="Migration")
    other = services.create_milestone(tech_lead, project, title="Other")

    elsewhere = services.add_story(tech_lead, other, title="Elsewhere")

    assert (first.key, second.key, elsewhere.key) == ("S-1", "S-2", "S-1")


@pytest.mark.parametrize("who", ["principal", "outsider"])
def test_only_squad_members_add_stories(milestone, request, who):
    with pytest.raises(PermissionDenied):
        services.add_story(request.getfixturevalue(who), milestone, title="Not mine")

    assert not Story.objects.exists()


def test_a_story_needs_a_title(milestone, engineer):
    with pytest.raises(ValidationError):
        services.add_story(engineer, milestone, title="  ")

    assert not Story.objects.exists()


@pytest.mark.parametrize("who", ["engineer", "product"])
def test_claiming_a_story_makes_the_caller_its_assignee(milestone, tech_lead, request, who):
    actor = request.getfixturevalue(who)
    story = services.add_story(tech_lead, milestone, title="Token service")

    services.claim_story(actor, story)

    saved = Story.objects.get(pk=story.pk)
    assert (saved.assignee, saved.status) == (actor, Story.Status.IN_PROGRESS)


@pytest.mark.parametrize("who", ["principal", "outsider"])
def test_someone_outside_the_squad_cannot_claim_a_story(milestone, tech_lead, request, who):
    story = services.add_story(tech_lead, milestone, title="Token service")

    with pytest.raises(PermissionDenied):
        services.claim_story(request.getfixturevalue(who), story)

    assert Story.objects.get(pk=story.pk).assignee is None


def test_a_story_cannot_be_assigned_to_someone_outside_the_squad(milestone, tech_lead, principal):
    story = services.add_story(tech_lead, milestone, title="Token service")

    with pytest.raises(ValidationError):
        services.update_story(tech_lead, story, assignee=principal)

    assert Story.objects.get(pk=story.pk).assignee is None


def test_a_subtask_assigned_to_someone_else_notifies_them(milestone, tech_lead, engineer, product):
    story = services.add_story(tech_lead, milestone, title="Token service")

    subtask = services.add_subtask(engineer, story, title="Write the schema", assignee=product)

    assert Subtask.objects.get(pk=subtask.pk).assignee == product
    notification = Notification.objects.get(kind=Notification.Kind.SUBTASK_ASSIGNED)
    assert notification.recipient == product
    assert "Write the schema" in notification.text


def test_a_subtask_one_assigns_to_oneself_notifies_nobody(milestone, engineer):
    story = services.add_story(engineer, milestone, title="Token service")

    services.add_subtask(engineer, story, title="Write the schema", assignee=engineer)

    assert not Notification.objects.filter(kind=Notification.Kind.SUBTASK_ASSIGNED).exists()


def test_reassigning_a_subtask_notifies_the_new_assignee(milestone, tech_lead, engineer, product):
    story = services.add_story(tech_lead, milestone, title="Token service")
    subtask = services.add_subtask(engineer, story, title="Load test")

    services.update_subtask(engineer, subtask, assignee=product)

    assert [n.recipient for n in Notification.objects.filter(kind="subtask_assigned")] == [product]


@pytest.mark.parametrize("who", ["principal", "outsider"])
def test_a_subtask_assignee_must_be_a_squad_member(milestone, engineer, request, who):
    story = services.add_story(engineer, milestone, title="Token service")

    with pytest.raises(ValidationError):
        services.add_subtask(
            engineer, story, title="Review it", assignee=request.getfixturevalue(who)
        )

    assert not Subtask.objects.exists()


def test_a_subtask_needs_a_title(milestone, engineer):
    story = services.add_story(engineer, milestone, title="Token service")

    with pytest.raises(ValidationError):
        services.add_subtask(engineer, story, title=" ")

    assert not Subtask.objects.exists()


def test_a_subtask_is_ticked_done_and_back(milestone, engineer):
    story = services.add_story(engineer, milestone, title="Token service")
    subtask = services.add_subtask(engineer, story, title="Write the schema")

    services.update_subtask(engineer, subtask, done=True)
    done = Subtask.objects.get(pk=subtask.pk).done
    services.update_subtask(engineer, subtask, done=False)

    assert (done, Subtask.objects.get(pk=subtask.pk).done) == (True, False)


# Breakout session ----------------------------------------------------------------------


def test_a_breakout_session_is_refused_in_engineer_mode(milestone, tech_lead):
    with pytest.raises(ValidationError):
        services.schedule_breakout(tech_lead, milestone, scheduled_for=WHEN)

    assert not BreakoutSession.objects.exists()


def test_breakout_attendees_default_to_product_and_engineers(
    meeting_mode, milestone, tech_lead, engineer, product, principal
):
    session = services.schedule_breakout(tech_lead, milestone, scheduled_for=WHEN)

    people = set(session.attendees.all())
    assert {engineer, product} <= people
    assert principal not in people
    invited = Notification.objects.filter(kind=Notification.Kind.MEETING_SCHEDULED)
    assert {n.recipient for n in invited} == {engineer, product}


def test_breakout_attendees_can_be_chosen_among_the_squad(
    meeting_mode, milestone, tech_lead, engineer, principal
):
    session = services.schedule_breakout(
        tech_lead, milestone, scheduled_for=WHEN, attendees=[engineer]
    )

    assert list(session.attendees.all()) == [engineer]
    with pytest.raises(ValidationError):
        services.schedule_breakout(
            tech_lead, milestone, scheduled_for=WHEN, attendees=[engineer, principal]
        )
    assert list(BreakoutSession.objects.get().attendees.all()) == [engineer]


@pytest.mark.parametrize("who", ["engineer", "product"])
def test_only_the_tech_lead_schedules_and_holds_the_breakout(
    meeting_mode, milestone, tech_lead, request, who
):
    actor = request.getfixturevalue(who)
    with pytest.raises(PermissionDenied):
        services.schedule_breakout(actor, milestone, scheduled_for=WHEN)
    services.schedule_breakout(tech_lead, milestone, scheduled_for=WHEN)

    with pytest.raises(PermissionDenied):
        services.hold_breakout(actor, milestone)

    assert BreakoutSession.objects.get().held_at is None


def test_a_breakout_session_is_held_only_once_scheduled(meeting_mode, milestone, tech_lead):
    with pytest.raises(ValidationError):
        services.hold_breakout(tech_lead, milestone)

    services.schedule_breakout(tech_lead, milestone, scheduled_for=WHEN)
    assert services.hold_breakout(tech_lead, milestone).held_at is not None


# The guards from design_review to done, through the service ------------------------------


@pytest.fixture
def in_review(milestone):
    return put_in_phase(milestone, Phase.DESIGN_REVIEW)


def _review(milestone: Milestone, *, status: str, outcome: str = "") -> DesignReview:
    lead = milestone.tech_lead
    review = services.schedule_review(lead, milestone, scheduled_for=WHEN)
    if status in ("open", "closed"):
        services.open_review(lead, review)
    if status == "closed":
        if outcome == DesignReview.Outcome.APPROVED:
            for person in (milestone.project.principal_engineer, *_engineers(milestone)):
                services.set_verdict(person, review, Verdict.Choice.APPROVE)
        services.close_review(lead, review, outcome)
    return review


def _engineers(milestone: Milestone):
    return [
        m.user
        for m in milestone.project.squad.memberships.filter(role="engineer").select_related("user")
    ]


def test_design_review_to_kickoff_is_refused_without_a_review(in_review):
    assert refused_codes(in_review, Phase.KICKOFF) == ["review_missing"]


@pytest.mark.parametrize("status", ["scheduled", "open"])
def test_design_review_to_kickoff_is_refused_while_the_review_is_not_closed(in_review, status):
    _review(in_review, status=status)

    assert refused_codes(in_review, Phase.KICKOFF) == ["review_not_closed"]


def test_design_review_to_kickoff_is_refused_after_changes_requested(in_review):
    _review(in_review, status="closed", outcome=DesignReview.Outcome.CHANGES_REQUESTED)

    assert refused_codes(in_review, Phase.KICKOFF) == ["review_not_approved"]


def test_design_review_to_kickoff_passes_once_the_review_closed_approved(in_review):
    _review(in_review, status="closed", outcome=DesignReview.Outcome.APPROVED)

    assert advance(in_review, Phase.KICKOFF).phase == Phase.KICKOFF


def test_only_the_latest_round_counts_for_the_move_to_kickoff(in_review):
    _review(in_review, status="closed", outcome=DesignReview.Outcome.CHANGES_REQUESTED)
    _review(in_review, status="closed", outcome=DesignReview.Outcome.APPROVED)

    assert advance(in_review, Phase.KICKOFF).phase == Phase.KICKOFF


def test_kickoff_to_task_breakout_is_refused_until_the_kickoff_was_held(milestone, tech_lead):
    services.schedule_kickoff(tech_lead, milestone, scheduled_for=WHEN)

    assert refused_codes(milestone, Phase.TASK_BREAKOUT) == ["kickoff_not_held"]


def test_kickoff_to_task_breakout_is_refused_while_a_concern_is_open(
    milestone, tech_lead, engineer
):
    services.hold_kickoff(tech_lead, milestone)
    services.raise_concern(engineer, milestone, kind="concern", text="Latency?")

    assert refused_codes(milestone, Phase.TASK_BREAKOUT) == ["concerns_open"]


def test_kickoff_to_task_breakout_lists_both_when_neither_holds(milestone, engineer):
    services.raise_concern(engineer, milestone, kind="question", text="Which HSM?")

    assert refused_codes(milestone, Phase.TASK_BREAKOUT) == ["kickoff_not_held", "concerns_open"]


def test_kickoff_to_task_breakout_passes_once_held_and_every_concern_answered(
    milestone, tech_lead, engineer, product
):
    first = services.raise_concern(engineer, milestone, kind="concern", text="Latency?")
    second = services.raise_concern(product, milestone, kind="question", text="Refunds?")
    services.hold_kickoff(tech_lead, milestone)
    services.answer_concern(tech_lead, first, "Within budget.")
    assert refused_codes(milestone, Phase.TASK_BREAKOUT) == ["concerns_open"]

    services.answer_concern(tech_lead, second, "They still work.")

    assert advance(milestone, Phase.TASK_BREAKOUT).phase == Phase.TASK_BREAKOUT


@pytest.fixture
def breaking_out(milestone):
    return put_in_phase(milestone, Phase.TASK_BREAKOUT)


def test_engineer_mode_an_unclaimed_story_without_subtasks_does_not_block_done(
    breaking_out, tech_lead
):
    services.add_story(tech_lead, breaking_out, title="Nobody's yet")

    assert advance(breaking_out, Phase.DONE).phase == Phase.DONE


def test_engineer_mode_a_claimed_story_without_subtasks_blocks_done(
    breaking_out, tech_lead, engineer
):
    services.add_story(tech_lead, breaking_out, title="Nobody's yet")
    claimed = services.add_story(tech_lead, breaking_out, title="Token service")
    services.claim_story(engineer, claimed)

    assert refused_codes(breaking_out, Phase.DONE) == ["story_without_subtasks:S-2"]

    services.add_subtask(engineer, claimed, title="Write the schema")
    assert advance(breaking_out, Phase.DONE).phase == Phase.DONE


def test_engineer_mode_needs_no_breakout_session(breaking_out, tech_lead, engineer):
    story = services.add_story(tech_lead, breaking_out, title="Token service")
    services.claim_story(engineer, story)
    services.add_subtask(engineer, story, title="Write the schema")

    assert fresh(breaking_out).project.squad.breakout_mode == Squad.BreakoutMode.ENGINEER
    assert advance(breaking_out, Phase.DONE).phase == Phase.DONE


def test_meeting_mode_done_is_refused_without_a_breakout_session(meeting_mode, breaking_out):
    assert refused_codes(breaking_out, Phase.DONE) == ["no_stories", "breakout_not_held"]


def test_meeting_mode_done_is_refused_while_the_session_is_not_held(
    meeting_mode, breaking_out, tech_lead
):
    services.schedule_breakout(tech_lead, breaking_out, scheduled_for=WHEN)

    assert refused_codes(breaking_out, Phase.DONE) == ["no_stories", "breakout_not_held"]


def test_meeting_mode_every_story_needs_a_subtask_claimed_or_not(
    meeting_mode, breaking_out, tech_lead, engineer
):
    services.schedule_breakout(tech_lead, breaking_out, scheduled_for=WHEN)
    services.hold_breakout(tech_lead, breaking_out)
    unclaimed = services.add_story(tech_lead, breaking_out, title="Nobody's yet")
    claimed = services.add_story(tech_lead, breaking_out, title="Token service")
    services.claim_story(engineer, claimed)

    assert refused_codes(breaking_out, Phase.DONE) == [
        "story_without_subtasks:S-1",
        "story_without_subtasks:S-2",
    ]

    services.add_subtask(engineer, claimed, title="Write the schema")
    assert refused_codes(breaking_out, Phase.DONE) == ["story_without_subtasks:S-1"]

    services.add_subtask(engineer, unclaimed, title="Find an owner")
    assert advance(breaking_out, Phase.DONE).phase == Phase.DONE


def test_meeting_mode_lists_the_session_and_the_stories_together(
    meeting_mode, breaking_out, tech_lead
):
    services.add_story(tech_lead, breaking_out, title="Token service")

    assert refused_codes(breaking_out, Phase.DONE) == [
        "breakout_not_held",
        "story_without_subtasks:S-1",
    ]


@pytest.mark.parametrize("mode", [Squad.BreakoutMode.ENGINEER, Squad.BreakoutMode.MEETING])
@pytest.mark.parametrize("status", ["open", "investigating", "waiting_on_vendor"])
def test_an_unsettled_unknown_blocks_done_in_both_breakout_modes(
    squad, breaking_out, tech_lead, engineer, mode, status
):
    squad.breakout_mode = mode
    squad.save()
    breaking_out = fresh(breaking_out)
    if mode == Squad.BreakoutMode.MEETING:
        services.schedule_breakout(tech_lead, breaking_out, scheduled_for=WHEN)
        services.hold_breakout(tech_lead, breaking_out)
    story = services.add_story(tech_lead, breaking_out, title="Vault client")
    services.add_subtask(tech_lead, story, title="Client library")
    unknown = services.add_unknown(tech_lead, breaking_out, title="PCI scope", owner=engineer)
    Unknown.objects.filter(pk=unknown.pk).update(status=status)

    assert refused_codes(breaking_out, Phase.DONE) == ["unknown_unsettled:U-1"]

    services.resolve_unknown(engineer, Unknown.objects.get(pk=unknown.pk), "Out of scope.")
    assert advance(breaking_out, Phase.DONE).phase == Phase.DONE


def test_an_unknown_deferred_with_approval_does_not_block_done(
    breaking_out, tech_lead, engineer, principal
):
    services.add_story(tech_lead, breaking_out, title="Vault client")
    unknown = services.add_unknown(tech_lead, breaking_out, title="Key rotation", owner=engineer)
    deferral = services.request_deferral(
        tech_lead, unknown, reason="After launch.", defer_until="M3"
    )
    assert refused_codes(breaking_out, Phase.DONE) == ["unknown_unsettled:U-1"]

    services.decide_deferral(principal, deferral, decision="approve")

    assert advance(breaking_out, Phase.DONE).phase == Phase.DONE


# Pages ------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["tech_lead", "engineer", "product", "principal"])
@pytest.mark.parametrize("name", ["kickoff", "breakout"])
def test_the_kickoff_and_breakout_pages_render_for_the_squad(
    client_for, milestone, request, who, name
):
    response = client_for(request.getfixturevalue(who)).get(url(name, milestone))

    assert response.status_code == 200
    heading = {"kickoff": "Kick-off of M1", "breakout": "Task breakout of M1"}[name]
    assert f"<h1>{heading}</h1>" in response.content.decode()


@pytest.mark.parametrize("name", ["kickoff", "breakout", "kickoff-ics", "breakout-ics"])
def test_an_outsider_gets_404_on_the_meeting_pages(client_for, milestone, outsider, name):
    response = client_for(outsider).get(url(name, milestone))

    assert response.status_code == 404
    assert_not_found_page(response, "Tokenise cards", "Card Vault")


def test_the_kickoff_page_lists_open_and_answered_concerns(
    client_for, milestone, tech_lead, engineer
):
    open_one = services.raise_concern(engineer, milestone, kind="concern", text="Latency budget?")
    answered = services.raise_concern(engineer, milestone, kind="question", text="Which HSM?")
    services.answer_concern(tech_lead, answered, "The existing one.")

    response = client_for(tech_lead).get(url("kickoff", milestone))

    assert response.context["open_concerns"] == [open_one]
    assert response.context["answered_concerns"] == [answered]
    page = response.content.decode()
    assert "1 open" in page and "The existing one." in page
    assert url("concern-answer", milestone, pk=open_one.pk) in page


def test_the_tech_lead_schedules_the_kickoff_through_the_form(client_for, milestone, tech_lead):
    response = client_for(tech_lead).post(
        url("kickoff", milestone),
        {
            "scheduled_for": "2031-05-02T10:00",
            "duration_minutes": 45,
            "location": "Room 9",
            "notes": "Agenda",
        },
    )

    assert response.status_code == 302
    assert response["Location"] == url("kickoff", milestone)
    kickoff = KickoffMeeting.objects.get(milestone=milestone)
    assert (kickoff.location, kickoff.notes) == ("Room 9", "Agenda")


def test_a_kickoff_form_with_errors_answers_400_and_keeps_the_input(
    client_for, milestone, tech_lead
):
    response = client_for(tech_lead).post(
        url("kickoff", milestone),
        {"scheduled_for": "not a time", "duration_minutes": 45, "location": "Room 9"},
    )

    assert response.status_code == 400
    assert response.context["form"].errors["scheduled_for"]
    assert 'value="Room 9"' in response.content.decode()
    assert not KickoffMeeting.objects.exists()


def test_an_engineer_gets_403_when_posting_the_kickoff_form(client_for, milestone, engineer):
    response = client_for(engineer).post(
        url("kickoff", milestone), {"scheduled_for": "2031-05-02T10:00", "duration_minutes": 45}
    )

    assert response.status_code == 403
    assert not KickoffMeeting.objects.exists()


def test_the_tech_lead_marks_the_kickoff_held_through_the_page(client_for, milestone, tech_lead):
    response = client_for(tech_lead).post(url("kickoff-held", milestone))

    assert response.status_code == 302
    assert KickoffMeeting.objects.get(milestone=milestone).held_at is not None


def test_a_kickoff_without_a_time_can_be_marked_held_from_its_page(
    client_for, milestone, tech_lead
):
    client = client_for(tech_lead)

    page = client.get(url("kickoff", milestone)).content.decode()

    assert "Not scheduled yet." in page
    assert "Mark as held</button>" in page
    assert "No time was set; it can be marked held all the same." in page
    response = client.post(url("kickoff-held", milestone), follow=True)
    assert "The kick-off is marked as held." in response.content.decode()
    assert "Mark as held</button>" not in response.content.decode()
    assert services.readiness(milestone)["unmet"] == []


def test_a_concern_raised_through_the_page_redirects_to_the_concerns(
    client_for, milestone, product
):
    response = client_for(product).post(
        url("concern-add", milestone), {"kind": "concern", "text": "Support load?"}
    )

    assert response.status_code == 302
    assert response["Location"] == url("kickoff", milestone) + "#concerns"
    assert Concern.objects.get().raised_by == product


def test_a_concern_without_text_answers_400_and_keeps_the_kind(client_for, milestone, product):
    response = client_for(product).post(
        url("concern-add", milestone), {"kind": "concern", "text": "  "}
    )

    assert response.status_code == 400
    form = response.context["concern_form"]
    assert form.errors["text"]
    assert form["kind"].value() == "concern"
    assert '<option value="concern" selected>' in response.content.decode()
    assert not Concern.objects.exists()


def test_the_principal_gets_403_when_raising_a_concern_through_the_page(
    client_for, milestone, principal
):
    response = client_for(principal).post(
        url("concern-add", milestone), {"kind": "question", "text": "May I?"}
    )

    assert response.status_code == 403
    assert not Concern.objects.exists()


def test_the_tech_lead_answers_through_the_page_and_others_get_403(
    client_for, milestone, tech_lead, engineer
):
    concern = services.raise_concern(engineer, milestone, kind="question", text="Which HSM?")
    address = url("concern-answer", milestone, pk=concern.pk)

    with unchanged(concern):
        refused = client_for(engineer).post(address, {"answer": "I decide."})
    answered = client_for(tech_lead).post(address, {"answer": "The existing one."})

    assert refused.status_code == 403
    assert_forbidden_page(refused)
    assert answered.status_code == 302
    assert Concern.objects.get().answer == "The existing one."


def test_stories_are_added_claimed_and_broken_out_through_the_page(
    client_for, milestone, engineer, product
):
    client = client_for(engineer)

    added = client.post(
        url("story-add", milestone),
        {"title": "Token service", "ticket_url": "https://tracker.example/T-1"},
    )
    claimed = client.post(url("story-claim", milestone, story_number=1))
    subtask_added = client.post(
        url("subtask-add", milestone, story_number=1),
        {"title": "Write the schema", "assignee": product.pk},
    )
    subtask = Subtask.objects.get()
    ticked = client.post(url("subtask-done", milestone, pk=subtask.pk), {"done": "true"})

    assert [r.status_code for r in (added, claimed, subtask_added, ticked)] == [302] * 4
    assert added["Location"] == url("breakout", milestone) + "#story-1"
    story = Story.objects.get()
    assert (story.key, story.assignee, story.ticket_url) == (
        "S-1",
        engineer,
        "https://tracker.example/T-1",
    )
    saved = Subtask.objects.get()
    assert (saved.assignee, saved.done) == (product, True)
    page = client.get(url("breakout", milestone)).content.decode()
    assert "Claimed by" in page and "Write the schema" in page


def test_a_story_with_errors_answers_400_and_keeps_the_input(client_for, milestone, engineer):
    response = client_for(engineer).post(
        url("story-add", milestone), {"title": "Token service", "ticket_url": "not a url"}
    )

    assert response.status_code == 400
    assert response.context["story_form"].errors["ticket_url"]
    assert 'value="Token service"' in response.content.decode()
    assert not Story.objects.exists()


@pytest.mark.parametrize(
    ("name", "extra"),
    [("story-add", {}), ("story-claim", {"story_number": 1}), ("subtask-add", {"story_number": 1})],
)
def test_an_outsider_gets_404_on_the_breakout_forms(
    client_for, milestone, tech_lead, outsider, name, extra
):
    services.add_story(tech_lead, milestone, title="Token service")

    response = client_for(outsider).post(url(name, milestone, **extra), {"title": "Mine"})

    assert response.status_code == 404
    assert_not_found_page(response, "Token service", "Tokenise cards")
    story = Story.objects.get()
    assert (story.assignee, story.subtasks.count(), Story.objects.count()) == (None, 0, 1)


def test_the_breakout_session_is_scheduled_and_held_through_the_page(
    client_for, meeting_mode, milestone, tech_lead, engineer, product
):
    client = client_for(tech_lead)

    scheduled = client.post(
        url("breakout-session", milestone),
        {"scheduled_for": "2031-05-02T10:00", "duration_minutes": 60, "location": "Room 3"},
    )
    held = client.post(url("breakout-held", milestone))

    assert (scheduled.status_code, held.status_code) == (302, 302)
    session = BreakoutSession.objects.get(milestone=milestone)
    assert session.location == "Room 3"
    assert session.held_at is not None
    assert {engineer, product} <= set(session.attendees.all())


def test_a_breakout_session_form_with_errors_answers_400_and_keeps_the_input(
    client_for, meeting_mode, milestone, tech_lead
):
    response = client_for(tech_lead).post(
        url("breakout-session", milestone),
        {"scheduled_for": "", "duration_minutes": 60, "location": "Room 3"},
    )

    assert response.status_code == 400
    assert response.context["session_form"].errors["scheduled_for"]
    assert 'value="Room 3"' in response.content.decode()
    assert not BreakoutSession.objects.exists()


def test_a_breakout_session_posted_in_engineer_mode_answers_400_with_the_reason(
    client_for, milestone, tech_lead
):
    response = client_for(tech_lead).post(
        url("breakout-session", milestone),
        {"scheduled_for": "2031-05-02T10:00", "duration_minutes": 60, "location": "Room 3"},
    )

    assert response.status_code == 400
    assert response.context["session_form"].non_field_errors()
    assert not BreakoutSession.objects.exists()


def test_the_breakout_page_explains_the_squads_mode(client_for, squad, milestone, engineer):
    client = client_for(engineer)
    engineer_mode = client.get(url("breakout", milestone))
    squad.breakout_mode = Squad.BreakoutMode.MEETING
    squad.save()

    meeting = client.get(url("breakout", milestone))

    assert "whoever claims a story breaks it into sub-tasks" in engineer_mode.content.decode()
    assert engineer_mode.context["meeting_mode"] is False
    assert "in a session with product and engineers" in meeting.content.decode()
    assert meeting.context["meeting_mode"] is True
