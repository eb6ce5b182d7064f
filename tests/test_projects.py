"""Projects: creating and editing them, the project list, and the dashboard."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils.html import escape

from planning import services
from planning.models import Project
from squads.models import Membership, Squad
from tests.factories import MembershipFactory, ProjectFactory, SquadFactory, UserFactory

pytestmark = pytest.mark.django_db

# Session, user, page count, my squads (for the filter), the page of projects
# with their squad and people joined in, the navigation counts.
PROJECT_LIST_BUDGET = 6
# As in test_dashboard: session, user, navigation counts, one query per card
# and the squads and projects under them.
DASHBOARD_BUDGET = 19


def create_url() -> str:
    return reverse("planning:project-create", kwargs={"squad_slug": "payments"})


def edit_url(project: Project) -> str:
    return reverse(
        "planning:project-edit",
        kwargs={"squad_slug": project.squad.slug, "project_slug": project.slug},
    )


def project_data(**overrides) -> dict:
    return {"name": "Ledger", "slug": "", "summary": "", "principal_engineer": "", **overrides}


# create_project --------------------------------------------------------------


def test_create_project_makes_a_slug_from_the_name(squad, tech_lead):
    project = services.create_project(tech_lead, squad, name="Fraud Rules", tech_lead=tech_lead)

    assert project.slug == "fraud-rules"
    assert project.squad == squad
    assert project.principal_engineer is None


def test_create_project_slug_is_made_unique_within_the_squad(project, tech_lead):
    second = services.create_project(
        tech_lead, project.squad, name="Card Vault", tech_lead=tech_lead
    )

    assert second.slug == "card-vault-2"


def test_the_same_project_slug_may_be_used_in_another_squad(project, outsider):
    elsewhere = Squad.objects.get(slug="elsewhere")

    other = services.create_project(outsider, elsewhere, name="Card Vault", tech_lead=outsider)

    assert other.slug == "card-vault"
    assert Project.objects.filter(slug="card-vault").count() == 2


def test_create_project_refuses_a_slug_taken_in_the_squad(project, tech_lead):
    with pytest.raises(ValidationError) as refusal:
        services.create_project(
            tech_lead, project.squad, name="Vault two", slug="card-vault", tech_lead=tech_lead
        )

    assert "slug" in refusal.value.error_dict
    assert Project.objects.count() == 1


def test_create_project_refuses_a_tech_lead_outside_the_squad(squad, tech_lead, outsider):
    with pytest.raises(ValidationError, match="otto is not in Payments"):
        services.create_project(tech_lead, squad, name="Ledger", tech_lead=outsider)

    assert not Project.objects.exists()


def test_create_project_is_refused_to_an_engineer(squad, engineer):
    with pytest.raises(PermissionDenied):
        services.create_project(engineer, squad, name="Ledger", tech_lead=engineer)

    assert not Project.objects.exists()


def test_update_project_refuses_a_tech_lead_outside_the_squad(project, tech_lead, outsider):
    with pytest.raises(ValidationError, match="otto is not in Payments"):
        services.update_project(tech_lead, project, tech_lead=outsider)

    project.refresh_from_db()
    assert project.tech_lead == tech_lead


def test_update_project_refuses_a_field_it_does_not_edit(project, tech_lead):
    with pytest.raises(ValueError, match="squad"):
        services.update_project(tech_lead, project, squad=SquadFactory())


# Pages: create a project -----------------------------------------------------


def test_tech_lead_creates_a_project_with_a_principal_engineer_by_username(
    client_for, squad, tech_lead, engineer, principal
):
    client = client_for(tech_lead)

    response = client.post(
        create_url(),
        project_data(
            summary="Double-entry books.", tech_lead=engineer.pk, principal_engineer="paul"
        ),
    )

    project = Project.objects.get(squad=squad, slug="ledger")
    assert response.status_code == 302
    assert response.url == project.get_absolute_url()
    assert (project.tech_lead, project.principal_engineer) == (engineer, principal)
    assert project.summary == "Double-entry books."
    page = client.get(response.url).content.decode()
    assert "Project Ledger is created." in page
    assert escape(principal.display_name) in page


def test_create_project_form_proposes_me_as_tech_lead_and_lists_only_members(
    client_for, squad, tech_lead, engineer, outsider
):
    response = client_for(tech_lead).get(create_url())

    form = response.context["form"]
    assert response.status_code == 200
    assert form.initial["tech_lead"] == tech_lead
    assert set(form.fields["tech_lead"].queryset) == {tech_lead, engineer}


def test_principal_engineer_is_optional(client_for, squad, tech_lead):
    response = client_for(tech_lead).post(create_url(), project_data(tech_lead=tech_lead.pk))

    assert response.status_code == 302
    assert Project.objects.get(slug="ledger").principal_engineer is None


def test_unknown_principal_engineer_username_is_refused(client_for, squad, tech_lead):
    response = client_for(tech_lead).post(
        create_url(), project_data(tech_lead=tech_lead.pk, principal_engineer="nobody-here")
    )

    page = response.content.decode()
    assert response.status_code == 200
    assert "No one has the username" in page
    assert 'value="nobody-here"' in page
    assert not Project.objects.exists()


def test_create_project_refuses_a_tech_lead_who_is_not_a_member(
    client_for, squad, tech_lead, outsider
):
    response = client_for(tech_lead).post(create_url(), project_data(tech_lead=outsider.pk))

    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert not Project.objects.exists()


def test_create_project_page_refuses_a_slug_taken_in_the_squad(client_for, project, tech_lead):
    response = client_for(tech_lead).post(
        create_url(), project_data(name="Vault again", slug="card-vault", tech_lead=tech_lead.pk)
    )

    assert response.status_code == 200
    assert "Another project of this squad uses this address." in response.content.decode()
    assert Project.objects.count() == 1


def test_create_project_page_requires_a_name(client_for, squad, tech_lead):
    response = client_for(tech_lead).post(
        create_url(), project_data(name="", summary="Typed summary", tech_lead=tech_lead.pk)
    )

    page = response.content.decode()
    assert response.status_code == 200
    assert "This field is required." in page
    assert "Typed summary" in page
    assert not Project.objects.exists()


# Pages: edit a project -------------------------------------------------------


def test_project_tech_lead_who_is_an_engineer_edits_the_project(
    client_for, squad, tech_lead, engineer, principal
):
    led = ProjectFactory(squad=squad, name="Ledger", slug="ledger", tech_lead=engineer)

    response = client_for(engineer).post(
        edit_url(led),
        project_data(
            name="Ledger v2", slug="ledger", summary="Now with reversals.", tech_lead=engineer.pk
        ),
    )

    led.refresh_from_db()
    assert response.status_code == 302
    assert response.url == led.get_absolute_url()
    assert (led.name, led.summary) == ("Ledger v2", "Now with reversals.")


def test_squad_tech_lead_edits_a_project_led_by_someone_else(
    client_for, squad, tech_lead, engineer, principal
):
    led = ProjectFactory(squad=squad, name="Ledger", slug="ledger", tech_lead=engineer)

    response = client_for(tech_lead).post(
        edit_url(led),
        project_data(slug="books", tech_lead=tech_lead.pk, principal_engineer="paul"),
    )

    led.refresh_from_db()
    assert response.status_code == 302
    assert response.url == reverse(
        "planning:project-detail", kwargs={"squad_slug": "payments", "project_slug": "books"}
    )
    assert (led.slug, led.tech_lead, led.principal_engineer) == ("books", tech_lead, principal)


def test_edit_form_shows_the_principal_engineer_username(client_for, project, tech_lead):
    response = client_for(tech_lead).get(edit_url(project))

    assert response.status_code == 200
    assert 'value="paul"' in response.content.decode()


def test_edit_clears_the_principal_engineer(client_for, project, tech_lead):
    response = client_for(tech_lead).post(
        edit_url(project),
        project_data(name="Card Vault", slug="card-vault", tech_lead=tech_lead.pk),
    )

    project.refresh_from_db()
    assert response.status_code == 302
    assert project.principal_engineer is None


@pytest.mark.parametrize("method", ["get", "post"])
def test_engineer_gets_403_on_editing_a_project_they_do_not_lead(
    client_for, project, engineer, method
):
    client = client_for(engineer)

    if method == "post":
        response = client.post(edit_url(project), project_data(tech_lead=engineer.pk))
    else:
        response = client.get(edit_url(project))

    project.refresh_from_db()
    assert response.status_code == 403
    assert (project.name, project.tech_lead.username) == ("Card Vault", "tess")


def test_edit_refuses_a_slug_used_by_another_project_of_the_squad(client_for, project, tech_lead):
    ProjectFactory(squad=project.squad, name="Ledger", slug="ledger", tech_lead=tech_lead)

    response = client_for(tech_lead).post(
        edit_url(project), project_data(name="Card Vault", slug="ledger", tech_lead=tech_lead.pk)
    )

    assert response.status_code == 200
    assert "Another project of this squad uses this address." in response.content.decode()
    project.refresh_from_db()
    assert project.slug == "card-vault"


def test_edit_keeps_the_slug_when_it_is_unchanged(client_for, project, tech_lead):
    response = client_for(tech_lead).post(
        edit_url(project),
        project_data(name="Card Vault", slug="card-vault", summary="New.", tech_lead=tech_lead.pk),
    )

    project.refresh_from_db()
    assert response.status_code == 302
    assert (project.slug, project.summary) == ("card-vault", "New.")


def test_edit_with_an_empty_slug_makes_it_from_the_name_again(client_for, project, tech_lead):
    response = client_for(tech_lead).post(
        edit_url(project), project_data(name="Card Vault", slug="", tech_lead=tech_lead.pk)
    )

    project.refresh_from_db()
    assert response.status_code == 302
    assert project.slug == "card-vault"


def test_project_page_shows_edit_link_only_to_those_who_may_edit(
    client_for, project, tech_lead, engineer
):
    link = edit_url(project)

    assert link in client_for(tech_lead).get(project.get_absolute_url()).content.decode()
    assert link not in client_for(engineer).get(project.get_absolute_url()).content.decode()


# Pages: the project list -----------------------------------------------------


def test_project_list_shows_only_the_projects_i_may_see(
    client_for, project, engineer, outsider, principal
):
    elsewhere = Squad.objects.get(slug="elsewhere")
    ProjectFactory(squad=elsewhere, name="Secret Thing", tech_lead=outsider)
    ProjectFactory(squad=elsewhere, name="Vetted Elsewhere", principal_engineer=principal)

    member_page = client_for(engineer).get(reverse("planning:project-list"))
    principal_page = client_for(principal).get(reverse("planning:project-list"))

    member_names = [p.name for p in member_page.context["page"].object_list]
    principal_names = [p.name for p in principal_page.context["page"].object_list]
    assert member_names == ["Card Vault"]
    assert "Secret Thing" not in member_page.content.decode()
    assert principal_names == ["Vetted Elsewhere", "Card Vault"]


def test_project_list_filters_by_squad(client_for, project, engineer):
    search = SquadFactory(name="Search", slug="search")
    MembershipFactory(squad=search, user=engineer)
    ProjectFactory(squad=search, name="Indexer", tech_lead=engineer)
    client = client_for(engineer)

    everything = client.get(reverse("planning:project-list"))
    filtered = client.get(reverse("planning:project-list"), {"squad": "search"})

    assert [p.name for p in everything.context["page"].object_list] == ["Card Vault", "Indexer"]
    assert [p.name for p in filtered.context["page"].object_list] == ["Indexer"]
    assert '<option value="search" selected>' in filtered.content.decode()


def test_project_list_filter_by_a_squad_i_am_not_in_shows_nothing(client_for, project, outsider):
    response = client_for(outsider).get(reverse("planning:project-list"), {"squad": "payments"})

    assert list(response.context["page"].object_list) == []
    assert "No project matches these filters." in response.content.decode()


def test_project_list_searches_name_and_summary(client_for, project, tech_lead):
    ProjectFactory(
        squad=project.squad, name="Ledger", summary="Books of the VAULT", tech_lead=tech_lead
    )
    ProjectFactory(squad=project.squad, name="Checkout", tech_lead=tech_lead)
    client = client_for(tech_lead)

    response = client.get(reverse("planning:project-list"), {"q": "vault"})
    nothing = client.get(reverse("planning:project-list"), {"q": "zebra"})

    assert [p.name for p in response.context["page"].object_list] == ["Card Vault", "Ledger"]
    assert 'value="vault"' in response.content.decode()
    assert "No project matches these filters." in nothing.content.decode()


def test_project_list_shows_an_empty_state_without_projects(client_for, squad, engineer):
    response = client_for(engineer).get(reverse("planning:project-list"))

    assert "No projects yet" in response.content.decode()


@pytest.mark.parametrize("projects", [1, 30])
def test_project_list_query_count_does_not_grow_with_projects(
    client_for, django_assert_max_num_queries, squad, tech_lead, projects
):
    for _ in range(projects):
        lead = UserFactory()
        MembershipFactory(squad=squad, user=lead)
        ProjectFactory(squad=squad, tech_lead=lead, principal_engineer=UserFactory())
    client = client_for(tech_lead)

    with django_assert_max_num_queries(PROJECT_LIST_BUDGET):
        response = client.get(reverse("planning:project-list"))

    assert response.status_code == 200
    assert len(response.context["page"].object_list) == min(projects, 25)


# Pages: the dashboard --------------------------------------------------------


def test_dashboard_lists_the_projects_i_lead(client_for, project, tech_lead):
    response = client_for(tech_lead).get(reverse("dashboard"))

    assert response.context["led_projects"] == [project]
    assert response.context["principal_projects"] == []
    page = response.content.decode()
    assert "Card Vault" in page
    assert "you lead it" in page
    assert "you are its principal engineer" not in page


def test_dashboard_lists_the_projects_where_i_am_principal(client_for, project, principal):
    response = client_for(principal).get(reverse("dashboard"))

    assert response.context["principal_projects"] == [project]
    assert response.context["led_projects"] == []
    page = response.content.decode()
    assert "Card Vault" in page
    assert "you are its principal engineer" in page
    assert "you lead it" not in page


def test_dashboard_shows_a_member_with_nothing_to_do_one_quiet_line(client_for, project, engineer):
    response = client_for(engineer).get(reverse("dashboard"))

    page = response.content.decode()
    assert response.status_code == 200
    assert "My work" in page
    assert "Nothing waits for you" in page
    assert "Milestones I lead" not in page
    assert "Card Vault" not in page
    assert response.context["squads"] == [project.squad]


def test_dashboard_tells_someone_in_no_squad_how_to_join_one(client_for, db):
    page = client_for(UserFactory()).get(reverse("dashboard")).content.decode()

    assert "You are not in a squad yet." in page


@pytest.mark.parametrize("projects", [1, 30])
def test_dashboard_query_count_does_not_grow_with_projects(
    client_for, django_assert_max_num_queries, squad, tech_lead, projects
):
    for _ in range(projects):
        ProjectFactory(squad=squad, tech_lead=tech_lead, principal_engineer=UserFactory())
        MembershipFactory(squad=SquadFactory(), user=tech_lead, role=Membership.Role.ENGINEER)
    client = client_for(tech_lead)

    with django_assert_max_num_queries(DASHBOARD_BUDGET):
        response = client.get(reverse("dashboard"))

    assert len(response.context["led_projects"]) == projects
