"""Squads and their members: the services' rules, then the pages that use them."""

from __future__ import annotations

import re

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils.html import escape

from squads import services
from squads.models import Membership, Squad
from tests.factories import MembershipFactory, ProjectFactory, SquadFactory, UserFactory
from tests.helpers import assert_not_found_page

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
SETTINGS = {
    "name": "Payments",
    "description": "",
    "breakout_mode": Squad.BreakoutMode.ENGINEER,
    "remind_after_days": 3,
    "escalate_after_days": 7,
    "vendor_followup_days": 5,
    "min_review_approvals": 2,
    "webhook_url": "",
}
# The same queries however many rows there are. Squad list: session, user,
# page count, the page of squads, my roles on that page. Squad page: session,
# user, squad, memberships, my role (twice), projects. Each page also counts
# what the navigation shows in one query.
SQUAD_LIST_BUDGET = 6
SQUAD_DETAIL_BUDGET = 8


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


# create_squad ----------------------------------------------------------------


def test_create_squad_makes_its_creator_the_tech_lead():
    creator = UserFactory()

    squad = services.create_squad(creator, name="Search", description="We own search.")

    membership = Membership.objects.get(squad=squad)
    assert membership.user == creator
    assert membership.role == Membership.Role.TECH_LEAD
    assert squad.description == "We own search."


def test_create_squad_makes_a_slug_from_the_name():
    squad = services.create_squad(UserFactory(), name="Mobile Apps & Friends")

    assert squad.slug == "mobile-apps-friends"


def test_create_squad_slug_is_made_unique_with_a_number(squad):
    second = services.create_squad(UserFactory(), name="Payments")
    third = services.create_squad(UserFactory(), name="Payments")

    assert [squad.slug, second.slug, third.slug] == ["payments", "payments-2", "payments-3"]


def test_create_squad_with_a_name_that_has_no_letters_still_gets_a_slug():
    squad = services.create_squad(UserFactory(), name="!!!")

    assert squad.slug == "item"


def test_create_squad_refuses_a_slug_already_in_use(squad):
    with pytest.raises(ValidationError) as refusal:
        services.create_squad(UserFactory(), name="Other payments", slug="payments")

    assert "slug" in refusal.value.error_dict
    assert Squad.objects.count() == 1
    assert Membership.objects.filter(squad__name="Other payments").count() == 0


# add_member ------------------------------------------------------------------


def test_add_member_adds_the_user_with_the_role(squad, tech_lead):
    newcomer = UserFactory(username="nina")

    membership = services.add_member(tech_lead, squad, newcomer, Membership.Role.PRODUCT)

    assert membership.role == Membership.Role.PRODUCT
    assert Membership.objects.filter(squad=squad, user=newcomer).count() == 1


def test_add_member_refuses_someone_already_in_the_squad(squad, tech_lead, engineer):
    with pytest.raises(ValidationError, match="eli is already in this squad"):
        services.add_member(tech_lead, squad, engineer, Membership.Role.PRODUCT)

    assert Membership.objects.get(squad=squad, user=engineer).role == Membership.Role.ENGINEER


def test_add_member_refuses_a_deactivated_user(squad, tech_lead):
    gone = UserFactory(username="gone", is_active=False)

    with pytest.raises(ValidationError, match="gone has been deactivated"):
        services.add_member(tech_lead, squad, gone, Membership.Role.ENGINEER)

    assert not Membership.objects.filter(user=gone).exists()


def test_add_member_refuses_a_role_that_does_not_exist(squad, tech_lead):
    newcomer = UserFactory(username="nina")

    with pytest.raises(ValidationError, match="not a squad role"):
        services.add_member(tech_lead, squad, newcomer, "overlord")

    assert not Membership.objects.filter(user=newcomer).exists()


def test_add_member_is_refused_to_an_engineer(squad, engineer):
    with pytest.raises(PermissionDenied):
        services.add_member(engineer, squad, UserFactory(), Membership.Role.ENGINEER)

    assert squad.memberships.count() == 1


# change_role -----------------------------------------------------------------


def test_change_role_changes_the_role(squad, tech_lead, engineer):
    services.change_role(tech_lead, squad, engineer, Membership.Role.TECH_LEAD)

    assert Membership.objects.get(squad=squad, user=engineer).role == Membership.Role.TECH_LEAD


def test_change_role_refuses_to_leave_the_squad_without_a_tech_lead(squad, tech_lead, engineer):
    with pytest.raises(ValidationError, match="at least one tech lead"):
        services.change_role(tech_lead, squad, tech_lead, Membership.Role.ENGINEER)

    assert Membership.objects.get(squad=squad, user=tech_lead).role == Membership.Role.TECH_LEAD


def test_change_role_lets_a_tech_lead_step_down_when_another_remains(squad, tech_lead, engineer):
    services.change_role(tech_lead, squad, engineer, Membership.Role.TECH_LEAD)

    services.change_role(tech_lead, squad, tech_lead, Membership.Role.ENGINEER)

    roles = dict(squad.memberships.values_list("user__username", "role"))
    assert roles == {"tess": Membership.Role.ENGINEER, "eli": Membership.Role.TECH_LEAD}


def test_change_role_refuses_a_role_that_does_not_exist(squad, tech_lead, engineer):
    with pytest.raises(ValidationError, match="not a squad role"):
        services.change_role(tech_lead, squad, engineer, "overlord")


def test_change_role_refuses_someone_outside_the_squad(squad, tech_lead, outsider):
    with pytest.raises(ValidationError, match="otto is not in this squad"):
        services.change_role(tech_lead, squad, outsider, Membership.Role.ENGINEER)


def test_change_role_is_refused_to_product(squad, tech_lead, product):
    with pytest.raises(PermissionDenied):
        services.change_role(product, squad, product, Membership.Role.TECH_LEAD)

    assert Membership.objects.get(squad=squad, user=product).role == Membership.Role.PRODUCT


# remove_member ---------------------------------------------------------------


def test_remove_member_removes_the_membership(squad, tech_lead, engineer):
    services.remove_member(tech_lead, squad, engineer)

    assert not Membership.objects.filter(squad=squad, user=engineer).exists()


def test_remove_member_refuses_to_remove_the_last_tech_lead(squad, tech_lead, engineer):
    with pytest.raises(ValidationError, match="at least one tech lead"):
        services.remove_member(tech_lead, squad, tech_lead)

    assert Membership.objects.filter(squad=squad, user=tech_lead).exists()


def test_remove_member_removes_a_tech_lead_when_another_remains(squad, tech_lead):
    second_lead = UserFactory(username="tom")
    MembershipFactory(squad=squad, user=second_lead, role=Membership.Role.TECH_LEAD)

    services.remove_member(second_lead, squad, tech_lead)

    assert list(squad.memberships.values_list("user__username", flat=True)) == ["tom"]


def test_remove_member_refuses_to_remove_a_projects_tech_lead(squad, tech_lead, engineer):
    ProjectFactory(squad=squad, name="Ledger", tech_lead=engineer)

    with pytest.raises(ValidationError, match="leads Ledger"):
        services.remove_member(tech_lead, squad, engineer)

    assert Membership.objects.filter(squad=squad, user=engineer).exists()


def test_remove_member_is_refused_to_an_engineer(squad, tech_lead, engineer, product):
    with pytest.raises(PermissionDenied):
        services.remove_member(engineer, squad, product)

    assert Membership.objects.filter(squad=squad, user=product).exists()


# update_squad_settings -------------------------------------------------------


def test_update_squad_settings_saves_the_policy(squad, tech_lead):
    services.update_squad_settings(
        tech_lead, squad, remind_after_days=2, escalate_after_days=4, breakout_mode="meeting"
    )

    squad.refresh_from_db()
    assert (squad.remind_after_days, squad.escalate_after_days) == (2, 4)
    assert squad.breakout_mode == Squad.BreakoutMode.MEETING


def test_update_squad_settings_refuses_escalating_before_reminding(squad, tech_lead):
    with pytest.raises(ValidationError) as refusal:
        services.update_squad_settings(tech_lead, squad, remind_after_days=5, escalate_after_days=2)

    assert "escalate_after_days" in refusal.value.error_dict
    squad.refresh_from_db()
    assert (squad.remind_after_days, squad.escalate_after_days) == (3, 7)


def test_update_squad_settings_refuses_a_field_that_is_not_a_setting(squad, tech_lead):
    with pytest.raises(ValueError, match="slug"):
        services.update_squad_settings(tech_lead, squad, slug="hijacked")

    squad.refresh_from_db()
    assert squad.slug == "payments"


def test_update_squad_settings_is_refused_to_an_engineer(squad, engineer):
    with pytest.raises(PermissionDenied):
        services.update_squad_settings(engineer, squad, name="Mine now")

    squad.refresh_from_db()
    assert squad.name == "Payments"


# Pages: create a squad -------------------------------------------------------


def test_create_squad_page_creates_the_squad_and_redirects_to_it(client_for):
    creator = UserFactory(username="cora")
    client = client_for(creator)

    response = client.post(
        reverse("squads:create"), {"name": "Search Squad", "slug": "", "description": "Search."}
    )

    squad = Squad.objects.get(name="Search Squad")
    assert response.status_code == 302
    assert response.url == reverse("squads:detail", kwargs={"slug": "search-squad"})
    membership = Membership.objects.get(squad=squad, user=creator)
    assert membership.role == Membership.Role.TECH_LEAD
    page = client.get(response.url)
    assert "Search Squad is created; you are its tech lead." in messages_of(page)


def test_create_squad_page_keeps_what_was_typed_and_shows_the_error(client_for):
    client = client_for(UserFactory())

    response = client.post(
        reverse("squads:create"),
        {"name": "", "slug": "typed-slug", "description": "We look after search."},
    )

    page = response.content.decode()
    assert response.status_code == 200
    assert "This field is required." in page
    assert 'value="typed-slug"' in page
    assert "We look after search." in page
    assert not Squad.objects.exists()


def test_create_squad_page_refuses_a_slug_in_use(client_for, squad):
    client = client_for(UserFactory())

    response = client.post(reverse("squads:create"), {"name": "Payments too", "slug": "payments"})

    assert response.status_code == 200
    assert "already exists" in response.content.decode()
    assert Squad.objects.count() == 1


# Pages: members --------------------------------------------------------------


def test_add_member_by_username_with_a_plain_post_redirects_to_the_squad(
    client_for, squad, tech_lead
):
    newcomer = UserFactory(username="nina")
    client = client_for(tech_lead)

    response = client.post(
        reverse("squads:member-add", kwargs={"slug": "payments"}),
        {"user": "nina", "role": Membership.Role.ENGINEER},
    )

    assert response.status_code == 302
    assert response.url == squad.get_absolute_url()
    assert Membership.objects.get(squad=squad, user=newcomer).role == Membership.Role.ENGINEER
    page = client.get(response.url)
    assert f"{newcomer.display_name} joined as Engineer." in messages_of(page)


def test_add_member_username_is_matched_ignoring_case(client_for, squad, tech_lead):
    newcomer = UserFactory(username="nina")

    client_for(tech_lead).post(
        reverse("squads:member-add", kwargs={"slug": "payments"}),
        {"user": "  NINA ", "role": Membership.Role.PRODUCT},
    )

    assert Membership.objects.get(squad=squad, user=newcomer).role == Membership.Role.PRODUCT


def test_add_member_with_htmx_answers_with_the_members_fragment_only(client_for, squad, tech_lead):
    newcomer = UserFactory(username="nina")

    response = client_for(tech_lead).post(
        reverse("squads:member-add", kwargs={"slug": "payments"}),
        {"user": "nina", "role": Membership.Role.PRODUCT},
        **HTMX,
    )

    page = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in page
    assert 'id="members"' in page
    assert 'id="member-nina"' in page
    assert escape(f"{newcomer.display_name} joined as Product representative.") in page
    assert "Projects" not in page
    assert Membership.objects.filter(squad=squad, user=newcomer).exists()


def test_add_member_with_an_unknown_username_says_so_and_keeps_what_was_typed(
    client_for, squad, tech_lead
):
    response = client_for(tech_lead).post(
        reverse("squads:member-add", kwargs={"slug": "payments"}),
        {"user": "nobody-here", "role": Membership.Role.ENGINEER},
    )

    page = response.content.decode()
    assert response.status_code == 200
    assert "No one has the username" in page
    assert "nobody-here" in page
    assert 'value="nobody-here"' in page
    assert squad.memberships.count() == 1


def test_add_member_with_an_unknown_username_over_htmx_shows_the_error_in_the_fragment(
    client_for, squad, tech_lead
):
    response = client_for(tech_lead).post(
        reverse("squads:member-add", kwargs={"slug": "payments"}),
        {"user": "nobody-here", "role": Membership.Role.ENGINEER},
        **HTMX,
    )

    page = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in page
    assert "No one has the username" in page
    assert 'value="nobody-here"' in page
    assert squad.memberships.count() == 1


def test_adding_someone_already_in_the_squad_shows_the_refusal(
    client_for, squad, tech_lead, engineer
):
    response = client_for(tech_lead).post(
        reverse("squads:member-add", kwargs={"slug": "payments"}),
        {"user": "eli", "role": Membership.Role.TECH_LEAD},
    )

    assert response.status_code == 200
    assert "eli is already in this squad." in response.content.decode()
    assert Membership.objects.get(squad=squad, user=engineer).role == Membership.Role.ENGINEER


def test_change_role_page_changes_the_role_and_redirects(client_for, squad, tech_lead, engineer):
    client = client_for(tech_lead)

    response = client.post(
        reverse("squads:member-role", kwargs={"slug": "payments", "user_id": engineer.pk}),
        {"role": Membership.Role.PRODUCT},
    )

    assert response.status_code == 302
    assert response.url == squad.get_absolute_url()
    assert Membership.objects.get(squad=squad, user=engineer).role == Membership.Role.PRODUCT


def test_change_role_with_htmx_answers_with_the_members_fragment(
    client_for, squad, tech_lead, engineer
):
    response = client_for(tech_lead).post(
        reverse("squads:member-role", kwargs={"slug": "payments", "user_id": engineer.pk}),
        {"role": Membership.Role.TECH_LEAD},
        **HTMX,
    )

    page = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in page
    assert escape(f"{engineer.display_name} is now Tech lead.") in page
    assert Membership.objects.get(squad=squad, user=engineer).role == Membership.Role.TECH_LEAD


def test_demoting_the_last_tech_lead_on_the_page_is_refused_with_a_message(
    client_for, squad, tech_lead, engineer
):
    response = client_for(tech_lead).post(
        reverse("squads:member-role", kwargs={"slug": "payments", "user_id": tech_lead.pk}),
        {"role": Membership.Role.ENGINEER},
        follow=True,
    )

    assert response.status_code == 200
    assert any("at least one tech lead" in message for message in messages_of(response))
    assert Membership.objects.get(squad=squad, user=tech_lead).role == Membership.Role.TECH_LEAD


def test_change_role_to_an_unknown_role_shows_an_error(client_for, squad, tech_lead, engineer):
    response = client_for(tech_lead).post(
        reverse("squads:member-role", kwargs={"slug": "payments", "user_id": engineer.pk}),
        {"role": "overlord"},
    )

    assert response.status_code == 200
    assert "Choose one of the roles listed." in response.content.decode()
    assert Membership.objects.get(squad=squad, user=engineer).role == Membership.Role.ENGINEER


def test_change_role_of_someone_outside_the_squad_is_404(client_for, squad, tech_lead, outsider):
    response = client_for(tech_lead).post(
        reverse("squads:member-role", kwargs={"slug": "payments", "user_id": outsider.pk}),
        {"role": Membership.Role.ENGINEER},
    )

    assert response.status_code == 404
    assert not Membership.objects.filter(squad=squad, user=outsider).exists()
    assert_not_found_page(response, outsider.full_name)


def test_remove_member_get_asks_for_confirmation_and_removes_nothing(
    client_for, squad, tech_lead, engineer
):
    response = client_for(tech_lead).get(
        reverse("squads:member-remove", kwargs={"slug": "payments", "user_id": engineer.pk})
    )

    page = response.content.decode()
    assert response.status_code == 200
    assert escape(f"Remove {engineer.display_name} from Payments?") in page
    assert '<form method="post"' in page
    assert Membership.objects.filter(squad=squad, user=engineer).exists()


def test_remove_member_post_removes_and_redirects(client_for, squad, tech_lead, engineer):
    client = client_for(tech_lead)

    response = client.post(
        reverse("squads:member-remove", kwargs={"slug": "payments", "user_id": engineer.pk})
    )

    assert response.status_code == 302
    assert response.url == squad.get_absolute_url()
    assert not Membership.objects.filter(squad=squad, user=engineer).exists()
    page = client.get(response.url)
    assert f"{engineer.display_name} has left Payments." in messages_of(page)


def test_remove_member_with_htmx_answers_with_the_members_fragment(
    client_for, squad, tech_lead, engineer
):
    response = client_for(tech_lead).post(
        reverse("squads:member-remove", kwargs={"slug": "payments", "user_id": engineer.pk}),
        **HTMX,
    )

    page = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in page
    assert 'id="member-eli"' not in page
    assert 'id="member-tess"' in page
    assert list(squad.memberships.values_list("user__username", flat=True)) == ["tess"]


def test_removing_a_projects_tech_lead_on_the_page_is_refused_with_a_message(
    client_for, squad, tech_lead, engineer
):
    ProjectFactory(squad=squad, name="Ledger", tech_lead=engineer)

    response = client_for(tech_lead).post(
        reverse("squads:member-remove", kwargs={"slug": "payments", "user_id": engineer.pk}),
        follow=True,
    )

    assert any("leads Ledger" in message for message in messages_of(response))
    assert Membership.objects.filter(squad=squad, user=engineer).exists()


def test_tech_lead_who_removes_themselves_lands_on_a_page_they_can_see(
    client_for, squad, tech_lead
):
    second_lead = UserFactory(username="tom")
    MembershipFactory(squad=squad, user=second_lead, role=Membership.Role.TECH_LEAD)

    response = client_for(second_lead).post(
        reverse("squads:member-remove", kwargs={"slug": "payments", "user_id": second_lead.pk}),
        follow=True,
    )

    assert not Membership.objects.filter(squad=squad, user=second_lead).exists()
    assert response.status_code == 200


def test_engineer_sees_members_without_management_controls(client_for, squad, tech_lead, engineer):
    response = client_for(engineer).get(squad.get_absolute_url())

    page = response.content.decode()
    assert response.status_code == 200
    assert 'id="member-tess"' in page
    assert "Add a member" not in page
    assert reverse("squads:member-add", kwargs={"slug": "payments"}) not in page


def test_tech_lead_sees_member_management_controls(client_for, squad, tech_lead, engineer):
    page = client_for(tech_lead).get(squad.get_absolute_url()).content.decode()

    assert "Add a member" in page
    remove_url = reverse(
        "squads:member-remove", kwargs={"slug": "payments", "user_id": engineer.pk}
    )
    assert remove_url in page


# Pages: settings -------------------------------------------------------------


def test_settings_are_saved_by_the_tech_lead(client_for, squad, tech_lead):
    client = client_for(tech_lead)
    data = {
        **SETTINGS,
        "name": "Payments Core",
        "breakout_mode": "meeting",
        "remind_after_days": 2,
        "escalate_after_days": 5,
        "min_review_approvals": 3,
        "webhook_url": "https://hooks.example.com/T000/B000",
    }

    response = client.post(reverse("squads:settings", kwargs={"slug": "payments"}), data)

    assert response.status_code == 302
    assert response.url == reverse("squads:settings", kwargs={"slug": "payments"})
    squad.refresh_from_db()
    assert squad.name == "Payments Core"
    assert squad.breakout_mode == Squad.BreakoutMode.MEETING
    assert (squad.remind_after_days, squad.escalate_after_days) == (2, 5)
    assert squad.min_review_approvals == 3
    assert squad.webhook_url == "https://hooks.example.com/T000/B000"
    assert "Squad settings are saved." in messages_of(client.get(response.url))


def test_settings_refuse_escalating_before_reminding_and_keep_the_typed_values(
    client_for, squad, tech_lead
):
    data = {**SETTINGS, "name": "Typed name", "remind_after_days": 5, "escalate_after_days": 2}

    response = client_for(tech_lead).post(
        reverse("squads:settings", kwargs={"slug": "payments"}), data
    )

    page = response.content.decode()
    assert response.status_code == 200
    assert "Escalate no sooner than the owner is reminded." in page
    assert 'value="Typed name"' in page
    assert "<h1>Settings of Payments</h1>" in page
    squad.refresh_from_db()
    assert (squad.name, squad.remind_after_days, squad.escalate_after_days) == ("Payments", 3, 7)


@pytest.mark.parametrize(
    ("field", "value"),
    [("remind_after_days", 0), ("min_review_approvals", 0), ("webhook_url", "not a url")],
)
def test_settings_refuse_values_out_of_range(client_for, squad, tech_lead, field, value):
    response = client_for(tech_lead).post(
        reverse("squads:settings", kwargs={"slug": "payments"}), {**SETTINGS, field: value}
    )

    assert response.status_code == 200
    assert response.context["form"].errors[field]
    squad.refresh_from_db()
    assert getattr(squad, field) == Squad._meta.get_field(field).get_default()


def test_non_tech_lead_sees_the_settings_form_disabled(client_for, squad, engineer):
    response = client_for(engineer).get(reverse("squads:settings", kwargs={"slug": "payments"}))

    page = response.content.decode()
    assert response.status_code == 200
    assert "Only the squad's tech leads change these settings." in page
    assert re.search(r'<input[^>]*name="name"[^>]*disabled', page)
    assert re.search(r'<input[^>]*name="remind_after_days"[^>]*disabled', page)
    assert "Save settings" not in page


def test_tech_lead_sees_the_settings_form_enabled(client_for, squad, tech_lead):
    page = client_for(tech_lead).get(reverse("squads:settings", kwargs={"slug": "payments"}))

    content = page.content.decode()
    assert "Save settings" in content
    assert not re.search(r'<input[^>]*name="name"[^>]*disabled', content)


# Pages: the squad list -------------------------------------------------------


def test_squad_list_shows_my_squads_with_my_role(client_for, squad, product, outsider):
    page = client_for(product).get(reverse("squads:list")).content.decode()

    assert "Payments" in page
    assert "Product representative" in page
    assert "Elsewhere" not in page


def test_squad_list_counts_every_member_and_project_of_each_squad(
    client_for, squad, tech_lead, engineer, product
):
    ProjectFactory(squad=squad, tech_lead=tech_lead)
    ProjectFactory(squad=squad, tech_lead=engineer)

    response = client_for(tech_lead).get(reverse("squads:list"))

    [listed] = response.context["page"].object_list
    assert listed.member_count == 3
    assert listed.project_count == 2


def test_squad_list_shows_an_empty_state_to_someone_in_no_squad(client_for):
    page = client_for(UserFactory()).get(reverse("squads:list")).content.decode()

    assert "No squads yet" in page


def test_squad_list_paginates_26_squads_into_two_pages(client_for):
    member = UserFactory()
    for n in range(26):
        MembershipFactory(squad=SquadFactory(name=f"Team {n:02d}"), user=member)
    client = client_for(member)

    first = client.get(reverse("squads:list"))
    second = client.get(reverse("squads:list"), {"page": 2})

    assert len(first.context["page"].object_list) == 25
    assert "Page 1 of 2" in first.content.decode()
    assert "Team 24" in first.content.decode()
    assert "Team 25" not in first.content.decode()
    assert [s.name for s in second.context["page"].object_list] == ["Team 25"]
    assert "Page 2 of 2" in second.content.decode()


@pytest.mark.parametrize("squads", [1, 30])
def test_squad_list_query_count_does_not_grow_with_squads(
    client_for, django_assert_max_num_queries, squads
):
    member = UserFactory()
    for _ in range(squads):
        squad = SquadFactory()
        MembershipFactory(squad=squad, user=member, role=Membership.Role.TECH_LEAD)
        MembershipFactory(squad=squad)
        ProjectFactory(squad=squad, tech_lead=member)
    client = client_for(member)

    with django_assert_max_num_queries(SQUAD_LIST_BUDGET):
        response = client.get(reverse("squads:list"))

    assert response.status_code == 200
    assert len(response.context["page"].object_list) == min(squads, 25)


@pytest.mark.parametrize("members", [1, 30])
def test_squad_page_query_count_does_not_grow_with_members_and_projects(
    client_for, django_assert_max_num_queries, squad, tech_lead, members
):
    for _ in range(members):
        person = UserFactory()
        MembershipFactory(squad=squad, user=person)
        ProjectFactory(squad=squad, tech_lead=person, principal_engineer=UserFactory())
    client = client_for(tech_lead)

    with django_assert_max_num_queries(SQUAD_DETAIL_BUDGET):
        response = client.get(squad.get_absolute_url())

    assert response.status_code == 200
    assert len(response.context["memberships"]) == members + 1
