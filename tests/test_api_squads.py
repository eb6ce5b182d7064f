"""The API for squads, members, people, projects and notifications, row by row of API.md."""

from __future__ import annotations

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from notifications.models import Notification
from notifications.services import notify
from planning.models import Project
from squads.models import Membership, Squad
from tests.factories import MembershipFactory, ProjectFactory, SquadFactory, UserFactory
from tests.helpers import assert_api_error, unchanged

pytestmark = pytest.mark.django_db

API = "/api/v1"
NOT_FOUND = {"detail": "Not found."}
# force_authenticate spends no query on the caller: the squad when the path
# names one, the count, the page of rows.
LIST_BUDGET = 3


@pytest.fixture
def api():
    """`api(user)`: an API client authenticated as `user`."""

    def client_for(user):
        client = APIClient()
        client.force_authenticate(user)
        return client

    return client_for


# GET /squads/ -----------------------------------------------------------------


def test_squads_lists_only_the_squads_i_belong_to_with_my_role(api, tech_lead, outsider):
    answer = api(tech_lead).get(f"{API}/squads/")

    assert answer.status_code == 200
    body = answer.json()
    assert body["count"] == 1
    (squad,) = body["results"]
    assert squad["slug"] == "payments"
    assert squad["my_role"] == "tech_lead"
    assert squad["min_review_approvals"] == 2


def test_squads_without_credentials_answer_401(squad):
    answer = APIClient().get(f"{API}/squads/")
    assert answer.status_code == 401
    assert_api_error(answer, 401)
    assert "payments" not in answer.content.decode()


def test_squads_list_keeps_its_query_count_as_squads_grow(
    api, tech_lead, django_assert_max_num_queries
):
    client = api(tech_lead)
    with django_assert_max_num_queries(LIST_BUDGET):
        assert client.get(f"{API}/squads/").json()["count"] == 1
    for _ in range(99):
        MembershipFactory(squad=SquadFactory(), user=tech_lead, role=Membership.Role.ENGINEER)
    with django_assert_max_num_queries(LIST_BUDGET):
        answer = client.get(f"{API}/squads/?page_size=200")
    assert answer.json()["count"] == 100


# POST /squads/ ------------------------------------------------------------------


def test_creating_a_squad_answers_201_and_makes_me_its_tech_lead(api, outsider):
    answer = api(outsider).post(
        f"{API}/squads/", {"name": "Search", "slug": "search", "description": "Finding things."}
    )

    assert answer.status_code == 201
    assert answer.json()["slug"] == "search"
    assert answer.json()["my_role"] == "tech_lead"
    membership = Membership.objects.get(squad__slug="search")
    assert (membership.user, membership.role) == (outsider, Membership.Role.TECH_LEAD)


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"name": "Search"},
        {"name": "Search", "slug": "not a slug!"},
        {"name": None, "slug": "search"},
        {"name": ["Search"], "slug": 12},
        {"name": "x" * 101, "slug": "search"},
    ],
)
def test_creating_a_squad_with_bad_input_answers_400(api, outsider, body):
    answer = api(outsider).post(f"{API}/squads/", body, format="json")

    assert answer.status_code == 400
    assert not Squad.objects.filter(slug="search").exists()


def test_creating_a_squad_with_a_taken_slug_answers_400_on_the_slug(api, squad, outsider):
    with unchanged(Squad, Membership):
        answer = api(outsider).post(f"{API}/squads/", {"name": "Again", "slug": squad.slug})

    assert answer.status_code == 400
    assert "slug" in answer.json()


# GET, PATCH /squads/{slug}/ -----------------------------------------------------------


def test_a_member_reads_the_squad_and_its_settings(api, engineer):
    answer = api(engineer).get(f"{API}/squads/payments/")

    assert answer.status_code == 200
    assert answer.json()["breakout_mode"] == "engineer"
    assert answer.json()["my_role"] == "engineer"


def test_an_outsider_gets_the_same_404_as_for_a_squad_that_does_not_exist(api, squad, outsider):
    hidden = api(outsider).get(f"{API}/squads/payments/")
    missing = api(outsider).get(f"{API}/squads/no-such-squad/")

    assert hidden.status_code == missing.status_code == 404
    assert hidden.json() == missing.json() == NOT_FOUND


def test_a_tech_lead_changes_the_squad_settings(api, tech_lead):
    answer = api(tech_lead).patch(
        f"{API}/squads/payments/",
        {
            "breakout_mode": "meeting",
            "remind_after_days": 2,
            "escalate_after_days": 4,
            "vendor_followup_days": 3,
            "min_review_approvals": 1,
            "webhook_url": "https://hooks.example.com/squad",
        },
    )

    assert answer.status_code == 200
    squad = Squad.objects.get(slug="payments")
    assert squad.breakout_mode == "meeting"
    assert (squad.remind_after_days, squad.escalate_after_days) == (2, 4)
    assert squad.webhook_url == "https://hooks.example.com/squad"
    assert answer.json()["min_review_approvals"] == 1


def test_an_empty_webhook_url_clears_the_webhook(api, tech_lead):
    Squad.objects.filter(slug="payments").update(webhook_url="https://hooks.example.com/x")

    answer = api(tech_lead).patch(f"{API}/squads/payments/", {"webhook_url": ""})

    assert answer.status_code == 200
    assert answer.json()["webhook_url"] == ""
    assert Squad.objects.get(slug="payments").webhook_url == ""


def test_an_engineer_changing_the_squad_settings_gets_403(api, engineer):
    answer = api(engineer).patch(f"{API}/squads/payments/", {"min_review_approvals": 1})

    assert answer.status_code == 403
    assert "detail" in answer.json()
    assert Squad.objects.get(slug="payments").min_review_approvals == 2


def test_an_outsider_changing_the_squad_settings_gets_404(api, squad, outsider):
    with unchanged(squad):
        answer = api(outsider).patch(f"{API}/squads/payments/", {"min_review_approvals": 1})

    assert answer.status_code == 404
    assert answer.json() == NOT_FOUND


@pytest.mark.parametrize(
    "body",
    [
        {"breakout_mode": "whenever"},
        {"remind_after_days": 0},
        {"remind_after_days": 10**30},
        {"remind_after_days": "soon"},
        {"min_review_approvals": None},
        {"webhook_url": "not a url"},
        # The model's own rule: escalate no sooner than the reminder.
        {"remind_after_days": 5, "escalate_after_days": 2},
    ],
)
def test_bad_squad_settings_answer_400(api, tech_lead, body):
    answer = api(tech_lead).patch(f"{API}/squads/payments/", body, format="json")

    assert answer.status_code == 400
    assert set(answer.json()) & set(body)
    assert Squad.objects.get(slug="payments").remind_after_days == 3


# GET, POST /squads/{slug}/members/ ------------------------------------------------------


def test_a_member_lists_the_squad_members_with_their_roles(api, tech_lead, engineer, product):
    answer = api(product).get(f"{API}/squads/payments/members/")

    assert answer.status_code == 200
    roles = {m["user"]["username"]: m["role"] for m in answer.json()["results"]}
    assert roles == {"tess": "tech_lead", "eli": "engineer", "pia": "product"}
    assert set(answer.json()["results"][0]["user"]) == {"id", "username", "full_name"}


def test_an_outsider_listing_the_members_gets_404(api, squad, outsider):
    assert api(outsider).get(f"{API}/squads/payments/members/").json() == NOT_FOUND


def test_members_list_keeps_its_query_count_as_members_grow(
    api, tech_lead, django_assert_max_num_queries
):
    client = api(tech_lead)
    with django_assert_max_num_queries(LIST_BUDGET):
        assert client.get(f"{API}/squads/payments/members/").json()["count"] == 1
    squad = Squad.objects.get(slug="payments")
    for _ in range(99):
        MembershipFactory(squad=squad)
    with django_assert_max_num_queries(LIST_BUDGET):
        answer = client.get(f"{API}/squads/payments/members/?page_size=200")
    assert len(answer.json()["results"]) == 100


def test_a_tech_lead_adds_a_member_by_username(api, tech_lead):
    newcomer = UserFactory(username="nina")

    answer = api(tech_lead).post(
        f"{API}/squads/payments/members/", {"user": "nina", "role": "engineer"}
    )

    assert answer.status_code == 201
    assert answer.json()["user"]["id"] == newcomer.pk
    assert Membership.objects.get(user=newcomer).role == "engineer"


def test_a_tech_lead_adds_a_member_by_id(api, tech_lead):
    newcomer = UserFactory(username="nina")

    answer = api(tech_lead).post(
        f"{API}/squads/payments/members/", {"user": newcomer.pk, "role": "product"}, format="json"
    )

    assert answer.status_code == 201
    assert answer.json()["role"] == "product"


def test_an_engineer_adding_a_member_gets_403(api, engineer):
    UserFactory(username="nina")

    answer = api(engineer).post(
        f"{API}/squads/payments/members/", {"user": "nina", "role": "engineer"}
    )

    assert answer.status_code == 403
    assert not Membership.objects.filter(user__username="nina").exists()


def test_an_outsider_adding_a_member_gets_404(api, squad, outsider):
    with unchanged(Membership):
        answer = api(outsider).post(
            f"{API}/squads/payments/members/", {"user": "otto", "role": "engineer"}
        )

    assert answer.status_code == 404
    assert answer.json() == NOT_FOUND


@pytest.mark.parametrize(
    "body",
    [
        {"user": "nobody-by-that-name", "role": "engineer"},
        {"user": 10**30, "role": "engineer"},
        {"user": 987654, "role": "engineer"},
        {"user": True, "role": "engineer"},
        {"user": None, "role": "engineer"},
        {"user": "", "role": "engineer"},
        {"user": "ni\x00na", "role": "engineer"},
        {"user": {"id": 1}, "role": "engineer"},
        {"user": "eli", "role": "engineer"},  # already a member
        {"user": "nina", "role": "boss"},
        {"user": "nina"},
    ],
)
def test_adding_a_member_with_bad_input_answers_400(api, tech_lead, engineer, body):
    UserFactory(username="nina")

    with unchanged(Membership):
        answer = api(tech_lead).post(f"{API}/squads/payments/members/", body, format="json")

    assert answer.status_code == 400
    assert set(answer.json()) <= {"user", "role"}


def test_a_username_with_a_lone_surrogate_answers_400_not_500(api, tech_lead):
    with unchanged(Membership):
        answer = api(tech_lead).post(
            f"{API}/squads/payments/members/",
            '{"user": "\\ud800", "role": "engineer"}',
            content_type="application/json",
        )

    assert answer.status_code == 400
    assert "user" in answer.json()


def test_adding_a_deactivated_person_answers_400(api, tech_lead):
    UserFactory(username="gone", is_active=False)

    with unchanged(Membership):
        answer = api(tech_lead).post(
            f"{API}/squads/payments/members/", {"user": "gone", "role": "engineer"}
        )

    assert answer.status_code == 400
    assert "user" in answer.json()


# PATCH, DELETE /squads/{slug}/members/{user_id}/ -------------------------------------------


def test_a_tech_lead_changes_a_members_role(api, tech_lead, engineer):
    answer = api(tech_lead).patch(
        f"{API}/squads/payments/members/{engineer.pk}/", {"role": "tech_lead"}
    )

    assert answer.status_code == 200
    assert answer.json()["role"] == "tech_lead"
    assert answer.json()["user"]["username"] == "eli"


def test_an_engineer_changing_a_role_gets_403(api, tech_lead, engineer):
    answer = api(engineer).patch(
        f"{API}/squads/payments/members/{tech_lead.pk}/", {"role": "engineer"}
    )

    assert answer.status_code == 403
    assert Membership.objects.get(user=tech_lead).role == "tech_lead"


def test_changing_the_role_of_someone_outside_the_squad_answers_404(api, tech_lead, outsider):
    with unchanged(Membership):
        answer = api(tech_lead).patch(
            f"{API}/squads/payments/members/{outsider.pk}/", {"role": "engineer"}
        )

    assert answer.status_code == 404
    assert answer.json() == NOT_FOUND


def test_an_outsider_changing_a_role_gets_404(api, tech_lead, outsider):
    with unchanged(Membership):
        answer = api(outsider).patch(
            f"{API}/squads/payments/members/{tech_lead.pk}/", {"role": "engineer"}
        )

    assert answer.status_code == 404
    assert answer.json() == NOT_FOUND


@pytest.mark.parametrize("body", [{"role": "boss"}, {}, {"role": None}, {"role": ["engineer"]}])
def test_changing_a_role_to_something_not_a_role_answers_400(api, tech_lead, engineer, body):
    with unchanged(Membership):
        answer = api(tech_lead).patch(
            f"{API}/squads/payments/members/{engineer.pk}/", body, format="json"
        )

    assert answer.status_code == 400
    assert "role" in answer.json()


def test_demoting_the_last_tech_lead_answers_400(api, tech_lead):
    with unchanged(Membership):
        answer = api(tech_lead).patch(
            f"{API}/squads/payments/members/{tech_lead.pk}/", {"role": "engineer"}
        )

    assert answer.status_code == 400
    assert "tech lead" in answer.json()["detail"]


def test_a_tech_lead_removes_a_member_with_204(api, tech_lead, engineer):
    answer = api(tech_lead).delete(f"{API}/squads/payments/members/{engineer.pk}/")

    assert answer.status_code == 204
    assert not Membership.objects.filter(user=engineer).exists()


def test_an_engineer_removing_a_member_gets_403(api, engineer, product):
    answer = api(engineer).delete(f"{API}/squads/payments/members/{product.pk}/")

    assert answer.status_code == 403
    assert Membership.objects.filter(user=product).exists()


def test_removing_someone_who_is_not_a_member_answers_404(api, tech_lead):
    with unchanged(Membership):
        answer = api(tech_lead).delete(f"{API}/squads/payments/members/987654/")
    assert answer.status_code == 404
    assert answer.json() == NOT_FOUND


def test_removing_the_tech_lead_of_a_project_answers_400(api, tech_lead, engineer, project):
    project.tech_lead = engineer
    project.save()

    with unchanged(Membership, Project):
        answer = api(tech_lead).delete(f"{API}/squads/payments/members/{engineer.pk}/")

    assert answer.status_code == 400
    assert "Card Vault" in answer.json()["detail"]


# GET /users/?search= ----------------------------------------------------------------


def test_users_search_finds_active_people_by_username_or_full_name(api, tech_lead):
    UserFactory(username="nina", full_name="Nina Simone")
    UserFactory(username="ns2", full_name="Someone Else", is_active=False)
    UserFactory(username="bob", full_name="Nina's friend Bob")

    answer = api(tech_lead).get(f"{API}/users/?search=nina")

    assert answer.status_code == 200
    found = {u["username"]: u for u in answer.json()["results"]}
    assert set(found) == {"nina", "bob"}
    assert found["nina"] == {
        "id": found["nina"]["id"],
        "username": "nina",
        "full_name": "Nina Simone",
    }


def test_users_list_keeps_its_query_count_as_people_grow(
    api, tech_lead, django_assert_max_num_queries
):
    client = api(tech_lead)
    with django_assert_max_num_queries(LIST_BUDGET):
        client.get(f"{API}/users/")
    UserFactory.create_batch(99)
    with django_assert_max_num_queries(LIST_BUDGET):
        assert len(client.get(f"{API}/users/?page_size=200").json()["results"]) == 100


def test_a_page_past_the_end_answers_404(api, tech_lead):
    answer = api(tech_lead).get(f"{API}/users/?page=99")
    assert answer.status_code == 404
    assert_api_error(answer, 404)


# GET, POST /projects/ -------------------------------------------------------------


def test_projects_lists_what_i_may_see_filtered_by_squad(api, tech_lead, principal, project):
    ProjectFactory(squad=SquadFactory(slug="hidden"))
    other = SquadFactory(slug="other")
    MembershipFactory(squad=other, user=tech_lead)
    ProjectFactory(squad=other, name="Other work")

    everything = api(tech_lead).get(f"{API}/projects/").json()
    only_payments = api(tech_lead).get(f"{API}/projects/?squad=payments").json()
    as_principal = api(principal).get(f"{API}/projects/").json()

    assert everything["count"] == 2
    assert [p["slug"] for p in only_payments["results"]] == ["card-vault"]
    assert only_payments["results"][0] == {
        **only_payments["results"][0],
        "squad": "payments",
        "tech_lead": tech_lead.pk,
        "principal_engineer": principal.pk,
    }
    assert [p["id"] for p in as_principal["results"]] == [project.pk]


def test_an_outsider_lists_no_projects_of_our_squad(api, project, outsider):
    assert api(outsider).get(f"{API}/projects/?squad=payments").json()["count"] == 0


def test_projects_list_keeps_its_query_count_as_projects_grow(
    api, tech_lead, project, django_assert_max_num_queries
):
    client = api(tech_lead)
    with django_assert_max_num_queries(LIST_BUDGET):
        assert client.get(f"{API}/projects/").json()["count"] == 1
    ProjectFactory.create_batch(99, squad=project.squad, tech_lead=tech_lead)
    with django_assert_max_num_queries(LIST_BUDGET):
        assert len(client.get(f"{API}/projects/?page_size=200").json()["results"]) == 100


def test_a_tech_lead_creates_a_project_with_201(api, tech_lead, engineer, principal):
    answer = api(tech_lead).post(
        f"{API}/projects/",
        {
            "squad": "payments",
            "name": "Wallet",
            "slug": "wallet",
            "summary": "Saved cards.",
            "tech_lead": engineer.pk,
            "principal_engineer": principal.pk,
        },
        format="json",
    )

    assert answer.status_code == 201
    project = Project.objects.get(pk=answer.json()["id"])
    assert (project.squad.slug, project.tech_lead, project.principal_engineer) == (
        "payments",
        engineer,
        principal,
    )


def test_an_engineer_creating_a_project_gets_403(api, engineer):
    answer = api(engineer).post(
        f"{API}/projects/",
        {"squad": "payments", "name": "Wallet", "slug": "wallet", "tech_lead": engineer.pk},
        format="json",
    )

    assert answer.status_code == 403
    assert not Project.objects.filter(slug="wallet").exists()


@pytest.mark.parametrize(
    "change",
    [
        {"squad": "no-such-squad"},
        {"squad": "elsewhere"},  # the outsider's squad, which we cannot see
        {"tech_lead": 987654},
        {"tech_lead": "tess"},
        {"tech_lead": 10**30},
        {"tech_lead": None},
        {"principal_engineer": 987654},
        {"slug": "not a slug"},
        {"slug": "card-vault"},  # taken in this squad
        {"name": ""},
    ],
)
def test_creating_a_project_with_bad_input_answers_400(api, tech_lead, outsider, project, change):
    body = {"squad": "payments", "name": "Wallet", "slug": "wallet", "tech_lead": tech_lead.pk}

    with unchanged(Project):
        answer = api(tech_lead).post(f"{API}/projects/", {**body, **change}, format="json")

    assert answer.status_code == 400
    assert set(answer.json()) & set(change)


def test_a_project_lead_who_is_not_a_squad_member_answers_400(api, tech_lead, outsider):
    with unchanged(Project):
        answer = api(tech_lead).post(
            f"{API}/projects/",
            {"squad": "payments", "name": "Wallet", "slug": "wallet", "tech_lead": outsider.pk},
            format="json",
        )

    assert answer.status_code == 400
    assert "tech_lead" in answer.json()


# GET, PATCH /projects/{id}/ -------------------------------------------------------


def test_a_member_and_the_principal_read_a_project(api, engineer, principal, project):
    for person in (engineer, principal):
        answer = api(person).get(f"{API}/projects/{project.pk}/")
        assert answer.status_code == 200
        assert answer.json()["slug"] == "card-vault"


def test_an_outsider_reading_a_project_gets_the_same_404_as_a_missing_one(api, project, outsider):
    hidden = api(outsider).get(f"{API}/projects/{project.pk}/")
    missing = api(outsider).get(f"{API}/projects/987654/")
    huge = api(outsider).get(f"{API}/projects/{10**30}/")

    assert hidden.status_code == missing.status_code == huge.status_code == 404
    assert hidden.json() == missing.json() == NOT_FOUND


def test_the_project_lead_changes_the_project(api, tech_lead, engineer, project):
    answer = api(tech_lead).patch(
        f"{API}/projects/{project.pk}/",
        {"name": "Card Safe", "summary": "Now safer.", "principal_engineer": None},
        format="json",
    )

    assert answer.status_code == 200
    project.refresh_from_db()
    assert (project.name, project.summary, project.principal_engineer) == (
        "Card Safe",
        "Now safer.",
        None,
    )


def test_an_engineer_changing_a_project_gets_403(api, engineer, project):
    answer = api(engineer).patch(f"{API}/projects/{project.pk}/", {"name": "Mine now"})

    assert answer.status_code == 403
    project.refresh_from_db()
    assert project.name == "Card Vault"


def test_an_outsider_changing_a_project_gets_404(api, project, outsider):
    with unchanged(project):
        answer = api(outsider).patch(f"{API}/projects/{project.pk}/", {"name": "X"})
    assert answer.status_code == 404
    assert answer.json() == NOT_FOUND


@pytest.mark.parametrize(
    "body",
    [
        {"tech_lead": 987654},
        {"tech_lead": None},
        {"name": None},
        {"slug": "has spaces"},
        {"principal_engineer": "paul"},
    ],
)
def test_changing_a_project_with_bad_input_answers_400(api, tech_lead, project, body):
    with unchanged(Project):
        answer = api(tech_lead).patch(f"{API}/projects/{project.pk}/", body, format="json")

    assert answer.status_code == 400
    assert set(answer.json()) & set(body)


def test_handing_a_project_to_someone_outside_the_squad_answers_400(
    api, tech_lead, project, outsider
):
    with unchanged(Project):
        answer = api(tech_lead).patch(
            f"{API}/projects/{project.pk}/", {"tech_lead": outsider.pk}, format="json"
        )

    assert answer.status_code == 400
    assert "tech_lead" in answer.json()


def test_taking_the_slug_of_another_project_answers_400(api, tech_lead, project):
    ProjectFactory(squad=project.squad, slug="wallet", tech_lead=tech_lead)

    with unchanged(Project):
        answer = api(tech_lead).patch(f"{API}/projects/{project.pk}/", {"slug": "wallet"})

    assert answer.status_code == 400
    assert "slug" in answer.json()


# GET /notifications/, POST /notifications/{id}/read/ ----------------------------------------


def test_notifications_lists_only_mine_and_filters_unread(api, engineer, tech_lead):
    read = notify(engineer, Notification.Kind.UNKNOWN_ASSIGNED, "An old one")
    Notification.objects.filter(pk=read.pk).update(read_at=timezone.now())
    fresh = notify(engineer, Notification.Kind.UNKNOWN_ASSIGNED, "A new one")
    notify(tech_lead, Notification.Kind.UNKNOWN_ASSIGNED, "Not for eli")

    everything = api(engineer).get(f"{API}/notifications/").json()
    unread = api(engineer).get(f"{API}/notifications/?unread=true").json()

    assert [n["text"] for n in everything["results"]] == ["A new one", "An old one"]
    assert [n["id"] for n in unread["results"]] == [fresh.pk]
    assert unread["results"][0]["read_at"] is None


def test_notifications_list_keeps_its_query_count_as_notifications_grow(
    api, engineer, django_assert_max_num_queries
):
    client = api(engineer)
    notify(engineer, Notification.Kind.UNKNOWN_ASSIGNED, "First")
    with django_assert_max_num_queries(LIST_BUDGET):
        assert client.get(f"{API}/notifications/").json()["count"] == 1
    Notification.objects.bulk_create(
        Notification(recipient=engineer, kind=Notification.Kind.UNKNOWN_ASSIGNED, text=f"n{i}")
        for i in range(99)
    )
    with django_assert_max_num_queries(LIST_BUDGET):
        assert len(client.get(f"{API}/notifications/?page_size=200").json()["results"]) == 100


def test_marking_my_notification_read_sets_read_at(api, engineer):
    notification = notify(engineer, Notification.Kind.UNKNOWN_ASSIGNED, "Yours")

    answer = api(engineer).post(f"{API}/notifications/{notification.pk}/read/")

    assert answer.status_code == 200
    assert answer.json()["read_at"] is not None
    notification.refresh_from_db()
    assert notification.read_at is not None


def test_marking_someone_elses_notification_read_answers_404(api, engineer, tech_lead):
    theirs = notify(tech_lead, Notification.Kind.UNKNOWN_ASSIGNED, "For tess")

    answer = api(engineer).post(f"{API}/notifications/{theirs.pk}/read/")
    missing = api(engineer).post(f"{API}/notifications/987654/read/")

    assert answer.status_code == missing.status_code == 404
    assert answer.json() == missing.json() == NOT_FOUND
    theirs.refresh_from_db()
    assert theirs.read_at is None
