"""The demo data: one squad with a person per role, loaded safely more than once."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.urls import reverse

from planning.models import Project
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


def test_seed_demo_twice_changes_nothing():
    seed()
    before = counts()
    lead = User.objects.get(username="lead")

    seed()

    assert counts() == before == {"users": 6, "squads": 1, "memberships": 4, "projects": 1}
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

    assert counts() == {"users": 6, "squads": 1, "memberships": 4, "projects": 1}


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
