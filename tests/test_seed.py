"""The demo data: two squads with a person per role and months of history, loaded safely more than once."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from notifications.models import Notification
from planning import services, workflow
from planning.insights import Period, Scope, read_insights
from planning.models import (
    Activity,
    Comment,
    DeferralRequest,
    DesignReview,
    Milestone,
    Project,
    Unknown,
    Verdict,
)
from planning.services.decisions import decisions
from planning.workflow import BreakoutMode, Phase
from squads.models import Membership, Squad
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

User = get_user_model()
DEMO_USERNAMES = {"lead", "eng1", "eng2", "product", "principal", "guest"}


def seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def counts() -> dict[str, int]:
    return {
        "users": User.objects.count(),
        "squads": Squad.objects.count(),
        "memberships": Membership.objects.count(),
        "projects": Project.objects.count(),
    }


def test_seed_demo_creates_the_six_demo_users():
    seed()

    assert set(User.objects.values_list("username", flat=True)) == DEMO_USERNAMES
    lead = User.objects.get(username="lead")
    assert lead.full_name == "Lena Tech-Lead"
    assert lead.email == "lead@example.com"


def test_seed_demo_creates_the_squad_with_four_members_in_their_roles():
    seed()

    squad = Squad.objects.get(slug="payments")
    roles = dict(squad.memberships.values_list("user__username", "role"))
    assert squad.name == "Payments Squad"
    assert roles == {
        "lead": Membership.Role.TECH_LEAD,
        "eng1": Membership.Role.ENGINEER,
        "eng2": Membership.Role.ENGINEER,
        "product": Membership.Role.PRODUCT,
    }


def test_seed_demo_creates_the_project_with_its_tech_lead_and_principal():
    seed()

    project = Project.objects.get(squad__slug="payments", slug="card-vault")
    assert project.name == "Card Vault"
    assert project.tech_lead.username == "lead"
    assert project.principal_engineer.username == "principal"
    assert not Membership.objects.filter(user__username__in=["principal", "guest"]).exists()


def test_seed_demo_prints_the_logins():
    output = seed()

    assert "Demo data is ready." in output
    assert "password for each: squad-demo" in output
    for username in DEMO_USERNAMES:
        assert username in output


def test_make_run_loads_quietly_and_prints_the_logins_apart():
    loaded = seed("--if-empty", "--no-logins")
    logins = seed("--logins-only")

    assert "Demo data is ready." in loaded and "squad-demo" not in loaded
    assert counts() == {"users": 6, "squads": 2, "memberships": 7, "projects": 2}
    assert logins.startswith("Demo logins (password for each: squad-demo):")
    assert "Demo data" not in logins
    for username in DEMO_USERNAMES:
        assert f"  {username} " in logins


def test_seed_demo_twice_changes_nothing():
    seed()
    before = counts()
    lead = User.objects.get(username="lead")

    seed()

    assert counts() == before == {"users": 6, "squads": 2, "memberships": 7, "projects": 2}
    assert User.objects.get(username="lead").password == lead.password


def test_seed_demo_again_keeps_a_changed_password():
    seed()
    lead = User.objects.get(username="lead")
    lead.set_password("my-own-secret-phrase")
    lead.save()

    seed()

    lead.refresh_from_db()
    assert lead.check_password("my-own-secret-phrase")


def test_seed_demo_if_empty_does_nothing_when_a_user_exists():
    UserFactory(username="admin")

    output = seed("--if-empty")

    assert counts() == {"users": 1, "squads": 0, "memberships": 0, "projects": 0}
    assert "demo data not loaded" in output


def test_seed_demo_if_empty_loads_into_an_empty_database():
    seed("--if-empty")

    assert counts() == {"users": 6, "squads": 2, "memberships": 7, "projects": 2}


def test_demo_tech_lead_logs_in_with_the_demo_password(client):
    seed()

    response = client.post(
        reverse("accounts:login"), {"username": "lead", "password": "squad-demo"}, follow=True
    )

    assert response.redirect_chain == [(reverse("dashboard"), 302)]
    assert response.context["user"].username == "lead"
    page = response.content.decode()
    assert "My work" in page
    assert "Card Vault" in page


# Months of history, for the insights pages ------------------------------------------


def test_seed_demo_gives_the_squads_months_of_history_in_every_phase():
    seed()

    payments = Milestone.objects.filter(project__squad__slug="payments")
    assert set(payments.values_list("phase", flat=True)) == set(Phase.values)
    oldest = payments.order_by("created_at").first()
    assert timezone.now() - oldest.created_at > timedelta(days=150)
    # The timeline is dated to the story's days, not to the moment the seed ran.
    moves = Activity.objects.filter(
        milestone__in=payments, verb__in=["phase_advanced", "phase_moved_back"]
    )
    assert moves.filter(created_at__lt=timezone.now() - timedelta(days=90)).count() >= 20
    assert moves.filter(created_at__gte=timezone.now() - timedelta(days=90)).count() >= 20


def test_seed_demo_history_holds_what_the_insights_count():
    seed()
    payments = Milestone.objects.filter(project__squad__slug="payments")

    went_back = Activity.objects.filter(
        milestone__in=payments,
        verb="phase_moved_back",
        data__from_phase=Phase.DESIGN_REVIEW,
        data__to_phase=Phase.DESIGN_SPEC,
    )
    assert went_back.values("milestone").distinct().count() >= 3
    assert DesignReview.objects.filter(milestone__in=payments, round__gte=2).exists()
    decided = DeferralRequest.objects.filter(unknown__milestone__in=payments)
    assert {"approved", "rejected"} <= set(decided.values_list("status", flat=True))
    rules = set(
        Notification.objects.filter(dedupe_key__isnull=False).values_list("kind", flat=True)
    )
    assert {"owner_nudge", "escalation", "vendor_followup", "deferral_pending"} <= rules
    assert Squad.objects.get(slug="checkout").breakout_mode == BreakoutMode.MEETING
    assert Squad.objects.get(slug="payments").breakout_mode == BreakoutMode.ENGINEER


def test_every_demo_milestone_stands_where_its_phase_allows():
    """The past is written in bulk; each milestone must still meet the guard of its phase."""
    seed()

    for milestone in Milestone.objects.select_related("project__squad"):
        if milestone.phase != Phase.ARCHITECTURE:
            unmet = workflow.unmet_for(services.milestone_facts(milestone), milestone.phase)
            assert unmet == [], (milestone, milestone.phase, [u.code for u in unmet])


def test_the_demo_insights_say_something_on_first_run():
    seed()
    payments = Squad.objects.get(slug="payments")
    principal = User.objects.get(username="principal")

    insights = read_insights(Scope.squad(payments.pk), Period.last())
    overseen = read_insights(Scope.principal(principal.pk), Period.last())

    codes = {signal.code for signal in insights.signals}
    assert "move_back:design_review:design_spec" in codes
    assert "late_unknowns" in codes
    assert len(insights.current.lead_times) >= 3 and len(insights.previous.lead_times) >= 3
    assert insights.current.reminders_total > 0 and insights.current.review_rounds > 0
    assert {mode.mode for mode in overseen.current.breakout} == {"engineer", "meeting"}


def test_seed_demo_again_writes_no_second_history():
    seed()
    before = (Milestone.objects.count(), Activity.objects.count(), Notification.objects.count())

    output = seed("--if-empty") + seed()

    assert (
        Milestone.objects.count(),
        Activity.objects.count(),
        Notification.objects.count(),
    ) == before
    assert "Traceback" not in output


def test_the_demo_shows_review_in_depth():
    """Blocking comments settled both ways, one still open, an approval with conditions and a
    stale approval, comments on blocks (one outdated), who is still expected, and a decision
    log."""
    seed()

    settled = Comment.objects.filter(blocking=True)
    assert settled.filter(resolved=True).exists()
    assert settled.exclude(overrule_note="").exists()
    open_review = DesignReview.objects.get(status=DesignReview.Status.OPEN)
    assert services.open_blocking_comments(open_review).count() == 1
    condition = Unknown.objects.get(from_verdict__isnull=False)
    assert condition.from_verdict.verdict == Verdict.Choice.APPROVE_WITH_CONDITIONS
    facts = services.approval_facts(open_review)
    assert any(v.stale and v.approves for v in facts.verdicts)
    assert services.pending_reviewers(open_review)
    # Comments on blocks of the spec: the rewritten rollout paragraph's is outdated, the data
    # model's follows its block into the new revision.
    on_blocks = list(open_review.comments.filter(anchor_block__isnull=False))
    places = services.comment_places(open_review.milestone, on_blocks)
    outdated = [c.body for c in on_blocks if places[c.pk] is None]
    followed = [c.body for c in on_blocks if places[c.pk] is not None]
    assert outdated == ["Two weeks feels short for three steps: what do we watch before 100%?"]
    assert followed == ["Is the column dropped on a date, or when the migration milestone is done?"]
    assert {c.revision for c in on_blocks} == {1}
    kinds = {d.kind for d in decisions(condition.milestone)}
    assert {"comment_overruled", "blocking_resolved", "condition_added", "review_closed"} <= kinds
