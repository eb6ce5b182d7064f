"""Who sees and does what: outsiders get 404, members without the role get 403.

The page tests go through the client; the rules themselves are tested on
`squads.access` directly.
"""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.urls import reverse

from planning.models import Project
from squads import access
from squads.access import Action
from squads.models import Membership, Squad
from tests.factories import MembershipFactory, ProjectFactory, SquadFactory, UserFactory
from tests.helpers import assert_forbidden_page, assert_not_found_page

pytestmark = pytest.mark.django_db

SQUAD_URLS = [
    "squads:detail",
    "squads:settings",
    "squads:member-add",
    "squads:member-role",
    "squads:member-remove",
    "planning:project-create",
    "planning:project-detail",
    "planning:project-edit",
]
POST_ONLY = {"squads:member-add", "squads:member-role"}
# Every (URL, method) pair that the view accepts.
SQUAD_REQUESTS = [
    (name, method)
    for name in SQUAD_URLS
    for method in ("get", "post")
    if not (method == "get" and name in POST_ONLY)
]


def url(name: str, squad_slug: str = "payments", project_slug: str = "card-vault", user_id=None):
    if name.startswith("squads:"):
        kwargs = {"slug": squad_slug}
        if name in ("squads:member-role", "squads:member-remove"):
            kwargs["user_id"] = user_id
    else:
        kwargs = {"squad_slug": squad_slug}
        if name != "planning:project-create":
            kwargs["project_slug"] = project_slug
    return reverse(name, kwargs=kwargs)


def form_data(name: str, user) -> dict:
    """A valid-looking submission for each URL, so a refusal is not down to a bad form."""
    return {
        "squads:settings": {
            "name": "Taken over",
            "breakout_mode": "engineer",
            "remind_after_days": 3,
            "escalate_after_days": 7,
            "vendor_followup_days": 5,
            "min_review_approvals": 2,
        },
        "squads:member-add": {"user": user.username, "role": Membership.Role.TECH_LEAD},
        "squads:member-role": {"role": Membership.Role.PRODUCT},
        "planning:project-create": {"name": "Side door", "tech_lead": user.pk},
        "planning:project-edit": {"name": "Renamed", "tech_lead": user.pk},
    }.get(name, {})


def squad_state(squad: Squad) -> tuple:
    squad.refresh_from_db()
    memberships = sorted(squad.memberships.values_list("user__username", "role"))
    projects = sorted(Project.objects.filter(squad=squad).values_list("slug", "name"))
    return squad.name, memberships, projects


def page_without_csrf_token(response) -> str:
    # The masked CSRF token differs on every response; nothing else should.
    page = response.content.decode()
    page = re.sub(r'"x-csrftoken": "[^"]*"', "", page)
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", page)


def send(client, method: str, path: str, data: dict):
    return client.post(path, data) if method == "post" else client.get(path)


# Outsiders -------------------------------------------------------------------


@pytest.mark.parametrize(("name", "method"), SQUAD_REQUESTS)
def test_outsider_gets_404_on_every_squad_and_project_url(
    client_for, outsider, project, engineer, name, method
):
    squad = project.squad
    before = squad_state(squad)
    client = client_for(outsider)

    response = send(client, method, url(name, user_id=engineer.pk), form_data(name, outsider))

    assert response.status_code == 404
    assert squad_state(squad) == before


@pytest.mark.parametrize(("name", "method"), SQUAD_REQUESTS)
def test_outsider_404_for_an_existing_squad_looks_like_the_404_for_a_missing_one(
    client_for, outsider, project, engineer, name, method
):
    client = client_for(outsider)
    data = form_data(name, outsider)

    existing = send(client, method, url(name, user_id=engineer.pk), data)
    missing = send(
        client,
        method,
        url(name, squad_slug="no-such-squad", project_slug="no-such-project", user_id=engineer.pk),
        data,
    )

    assert existing.status_code == missing.status_code == 404
    assert page_without_csrf_token(existing) == page_without_csrf_token(missing)
    assert "Payments" not in existing.content.decode()


@pytest.mark.parametrize("name", sorted(POST_ONLY))
def test_get_on_a_post_only_member_url_is_405_whether_or_not_the_squad_exists(
    client_for, outsider, squad, engineer, name
):
    client = client_for(outsider)

    existing = client.get(url(name, user_id=engineer.pk))
    missing = client.get(url(name, squad_slug="no-such-squad", user_id=engineer.pk))

    assert existing.status_code == missing.status_code == 405
    assert existing["Allow"] == missing["Allow"] == "POST"
    assert existing.content == missing.content


def test_outsider_does_not_see_the_squad_in_the_squad_list(client_for, outsider, squad):
    response = client_for(outsider).get(reverse("squads:list"))

    assert response.status_code == 200
    assert "Elsewhere" in response.content.decode()
    assert "Payments" not in response.content.decode()


def test_guest_who_is_not_principal_gets_404_on_the_project(client_for, guest, project):
    response = client_for(guest).get(project.get_absolute_url())

    assert_not_found_page(response, "Card Vault", "Payments")


# Members without the tech-lead role ------------------------------------------

FORBIDDEN_TO_MEMBERS = [
    ("squads:member-add", "post"),
    ("squads:member-role", "post"),
    ("squads:member-remove", "get"),
    ("squads:member-remove", "post"),
    ("squads:settings", "post"),
    ("planning:project-create", "get"),
    ("planning:project-create", "post"),
]


@pytest.mark.parametrize("persona", ["engineer", "product"])
@pytest.mark.parametrize(("name", "method"), FORBIDDEN_TO_MEMBERS)
def test_member_without_tech_lead_role_gets_403_on_member_settings_and_project_changes(
    request, client_for, squad, tech_lead, persona, name, method
):
    member = request.getfixturevalue(persona)
    before = squad_state(squad)
    client = client_for(member)
    path = url(name, user_id=tech_lead.pk)

    response = client.post(path, form_data(name, member)) if method == "post" else client.get(path)

    assert response.status_code == 403
    assert squad_state(squad) == before


def test_403_page_says_why(client_for, squad, engineer):
    before = squad_state(squad)

    response = client_for(engineer).post(url("squads:member-add"), {"user": "eli", "role": "x"})

    assert response.status_code == 403
    assert squad_state(squad) == before
    assert "Only the squad&#x27;s tech leads manage members." in response.content.decode()


@pytest.mark.parametrize("persona", ["engineer", "product"])
def test_member_without_tech_lead_role_may_read_the_squad_and_its_settings(
    request, client_for, squad, persona
):
    member = request.getfixturevalue(persona)
    client = client_for(member)

    detail = client.get(url("squads:detail"))
    settings = client.get(url("squads:settings"))

    assert detail.status_code == 200
    assert "Payments" in detail.content.decode()
    assert member.full_name in detail.content.decode()
    assert settings.status_code == 200
    # They see the settings, in a form they cannot send.
    assert (
        '<input type="text" name="name" value="Payments" maxlength="100" required disabled'
        in settings.content.decode()
    )


def state_after_tech_lead(name: str, method: str, before: tuple) -> tuple:
    """What the tech lead's request leaves of `squad_state`: the change the form asks for."""
    squad_name, memberships, projects = before
    if method == "get":
        return before
    if name == "squads:settings":
        return "Taken over", memberships, projects
    if name == "squads:member-role":
        return squad_name, [("eli", Membership.Role.PRODUCT), ("tess", "tech_lead")], projects
    if name == "squads:member-remove":
        return squad_name, [("tess", "tech_lead")], projects
    if name == "planning:project-create":
        return squad_name, memberships, sorted([*projects, ("side-door", "Side door")])
    if name == "planning:project-edit":
        return squad_name, memberships, [("renamed", "Renamed")]
    # Adding the tech lead, already a member, changes nothing; the pages take no POST action.
    return before


@pytest.mark.parametrize(("name", "method"), SQUAD_REQUESTS)
def test_tech_lead_is_not_refused_on_squad_and_project_urls(
    client_for, tech_lead, engineer, project, name, method
):
    client = client_for(tech_lead)
    path = url(name, user_id=engineer.pk)
    before = squad_state(project.squad)

    response = (
        client.post(path, form_data(name, tech_lead)) if method == "post" else client.get(path)
    )

    assert response.status_code in (200, 302)
    assert squad_state(project.squad) == state_after_tech_lead(name, method, before)
    if name == "squads:member-add":
        assert "tess is already in this squad." in response.content.decode()


# The principal engineer ------------------------------------------------------


def test_principal_sees_the_project_page(client_for, principal, project):
    response = client_for(principal).get(project.get_absolute_url())

    assert response.status_code == 200
    assert "Card Vault" in response.content.decode()


def test_principal_gets_404_on_the_squad_page(client_for, principal, project):
    response = client_for(principal).get(url("squads:detail"))

    assert_not_found_page(response, "Payments", "Card Vault")


def test_principal_gets_403_on_project_edit(client_for, principal, project):
    response = client_for(principal).get(url("planning:project-edit"))

    assert_forbidden_page(
        response, "Only the project's tech lead or the squad's tech leads edit a project."
    )


# Anonymous users -------------------------------------------------------------


@pytest.mark.parametrize(("name", "method"), [(n, m) for n in SQUAD_URLS for m in ("get", "post")])
def test_anonymous_user_is_redirected_to_login(client, project, engineer, name, method):
    path = url(name, user_id=engineer.pk)
    before = squad_state(project.squad)

    response = send(client, method, path, form_data(name, engineer))

    assert response.status_code == 302
    assert response.url == f"{reverse('accounts:login')}?next={path}"
    assert squad_state(project.squad) == before


@pytest.mark.parametrize(
    "name", ["dashboard", "squads:list", "squads:create", "planning:project-list"]
)
def test_anonymous_user_is_redirected_to_login_from_top_level_pages(client, db, name):
    response = client.get(reverse(name))

    assert response.status_code == 302
    assert response.url.startswith(reverse("accounts:login"))


# squads.access ---------------------------------------------------------------


def test_squads_for_lists_only_the_users_squads(squad, engineer, outsider):
    other = SquadFactory(name="Search", slug="search")
    MembershipFactory(squad=other, user=engineer)

    assert set(access.squads_for(engineer)) == {squad, other}
    assert list(access.squads_for(outsider)) == [Squad.objects.get(slug="elsewhere")]


def test_squads_for_anonymous_is_empty(squad, engineer):
    assert list(access.squads_for(AnonymousUser())) == []


def test_projects_for_member_is_every_project_of_their_squads(project, engineer, outsider):
    second = ProjectFactory(squad=project.squad, tech_lead=engineer)
    ProjectFactory(squad=Squad.objects.get(slug="elsewhere"), tech_lead=outsider)

    assert set(access.projects_for(engineer)) == {project, second}


def test_projects_for_principal_is_only_the_projects_they_vet(project, principal, tech_lead):
    ProjectFactory(squad=project.squad, tech_lead=tech_lead)
    elsewhere = SquadFactory(slug="platform")
    vetted_elsewhere = ProjectFactory(squad=elsewhere, principal_engineer=principal)

    assert set(access.projects_for(principal)) == {project, vetted_elsewhere}


def test_projects_for_principal_who_is_also_a_member_lists_each_project_once(project, principal):
    MembershipFactory(squad=project.squad, user=principal)

    assert list(access.projects_for(principal)) == [project]


def test_projects_for_outsider_and_anonymous_is_empty(project, outsider):
    assert list(access.projects_for(outsider)) == []
    assert list(access.projects_for(AnonymousUser())) == []


def test_role_in_names_the_role_or_none(squad, tech_lead, product, outsider):
    assert access.role_in(tech_lead, squad) == Membership.Role.TECH_LEAD
    assert access.role_in(product, squad) == Membership.Role.PRODUCT
    assert access.role_in(outsider, squad) is None
    assert access.role_in(AnonymousUser(), squad) is None


def test_get_squad_for_raises_404_for_outsider_and_missing_slug(squad, tech_lead, outsider):
    assert access.get_squad_for(tech_lead, "payments") == squad
    with pytest.raises(Http404):
        access.get_squad_for(outsider, "payments")
    with pytest.raises(Http404):
        access.get_squad_for(tech_lead, "no-such-squad")


def test_get_project_for_lets_principal_in_and_keeps_outsider_out(project, principal, outsider):
    assert access.get_project_for(principal, "payments", "card-vault") == project
    with pytest.raises(Http404):
        access.get_project_for(outsider, "payments", "card-vault")
    with pytest.raises(Http404):
        access.get_project_for(principal, "elsewhere", "card-vault")


@pytest.mark.parametrize(
    "action", [Action.MANAGE_MEMBERS, Action.EDIT_SQUAD_SETTINGS, Action.CREATE_PROJECT]
)
def test_only_squad_tech_leads_can_do_squad_actions(
    squad, tech_lead, engineer, product, outsider, action
):
    assert access.can(tech_lead, action, squad)
    assert not access.can(engineer, action, squad)
    assert not access.can(product, action, squad)
    assert not access.can(outsider, action, squad)
    assert not access.can(AnonymousUser(), action, squad)


def test_project_tech_lead_and_squad_tech_lead_can_edit_project(
    project, tech_lead, engineer, product, principal
):
    led_by_engineer = ProjectFactory(squad=project.squad, tech_lead=engineer)

    assert access.can(engineer, Action.EDIT_PROJECT, led_by_engineer)
    assert access.can(tech_lead, Action.EDIT_PROJECT, led_by_engineer)
    assert access.can(tech_lead, Action.EDIT_PROJECT, project)
    assert not access.can(engineer, Action.EDIT_PROJECT, project)
    assert not access.can(product, Action.EDIT_PROJECT, project)
    assert not access.can(principal, Action.EDIT_PROJECT, project)
    assert not access.can(AnonymousUser(), Action.EDIT_PROJECT, project)


def test_require_raises_permission_denied_with_the_reason(squad, tech_lead, engineer):
    access.require(tech_lead, Action.MANAGE_MEMBERS, squad)

    with pytest.raises(PermissionDenied, match=r"Only the squad's tech leads manage members\."):
        access.require(engineer, Action.MANAGE_MEMBERS, squad)


def test_require_refuses_anonymous_user(project):
    with pytest.raises(PermissionDenied, match="edit a project"):
        access.require(AnonymousUser(), Action.EDIT_PROJECT, project)


def test_former_member_loses_access(client_for, squad, tech_lead):
    leaver = UserFactory(username="lea")
    membership = MembershipFactory(squad=squad, user=leaver)
    client = client_for(leaver)
    assert client.get(url("squads:detail")).status_code == 200

    membership.delete()

    assert client.get(url("squads:detail")).status_code == 404
    assert_not_found_page(client.get(url("squads:detail")), "Payments")


# Rules that live here beside the others: deferral decisions, comments, phase moves -----


def test_only_the_principal_engineer_who_did_not_ask_decides_a_deferral(
    project, tech_lead, engineer, principal
):
    from planning import services

    milestone = services.create_milestone(tech_lead, project, title="Vault")
    unknown = services.add_unknown(tech_lead, milestone, title="Which HSM?")
    deferral = services.request_deferral(
        tech_lead, unknown, reason="Small volume", defer_until="M3"
    )

    assert access.can(principal, Action.DECIDE_DEFERRAL, deferral) is True
    assert access.can(tech_lead, Action.DECIDE_DEFERRAL, deferral) is False
    assert access.can(engineer, Action.DECIDE_DEFERRAL, deferral) is False
    # A principal engineer who asked for the deferral themselves does not decide it.
    project.principal_engineer = tech_lead
    project.save()
    deferral.unknown.milestone.project = project
    assert access.can(tech_lead, Action.DECIDE_DEFERRAL, deferral) is False
    with pytest.raises(PermissionDenied, match="never the one who asked"):
        access.require(tech_lead, Action.DECIDE_DEFERRAL, deferral)


def test_only_the_author_edits_and_the_author_or_the_tech_lead_resolves_a_comment(
    project, tech_lead, engineer, product
):
    from planning import services
    from planning.models import DesignReview

    milestone = services.create_milestone(tech_lead, project, title="Vault")
    review = DesignReview.objects.create(
        milestone=milestone, round=1, scheduled_for="2030-01-01T10:00Z"
    )
    comment = services.add_comment(engineer, review, body="Why two queues?")

    assert access.can(engineer, Action.EDIT_COMMENT, comment) is True
    assert access.can(tech_lead, Action.EDIT_COMMENT, comment) is False
    assert access.can(engineer, Action.RESOLVE_COMMENT, comment) is True
    assert access.can(tech_lead, Action.RESOLVE_COMMENT, comment) is True
    assert access.can(product, Action.RESOLVE_COMMENT, comment) is False


def test_who_moves_a_milestone_is_the_workflows_rule(project, tech_lead, engineer):
    from planning import services, workflow

    milestone = services.create_milestone(tech_lead, project, title="Vault")

    assert access.can(tech_lead, Action.MOVE_PHASE, milestone) is True
    assert access.can(engineer, Action.MOVE_PHASE, milestone) is False
    with pytest.raises(PermissionDenied) as refusal:
        access.require(engineer, Action.MOVE_PHASE, milestone)
    assert str(refusal.value) == workflow.MOVE_REFUSAL
