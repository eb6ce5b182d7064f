"""Signing in and out, the password, and the profile."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

User = get_user_model()
NEW_PASSWORD = "a-longer-new-passphrase-42"


@pytest.fixture
def person():
    return UserFactory(username="rosa", full_name="Rosa Parks", email="rosa@example.com")


def test_login_page_renders_the_form(client):
    response = client.get(reverse("accounts:login"))

    page = response.content.decode()
    assert response.status_code == 200
    assert 'name="username"' in page
    assert 'name="password"' in page
    assert "Log in" in page


def test_login_with_the_right_password_lands_on_my_work(client, person):
    response = client.post(
        reverse("accounts:login"), {"username": "rosa", "password": PASSWORD}, follow=True
    )

    assert response.redirect_chain == [(reverse("dashboard"), 302)]
    assert response.context["user"] == person
    assert "<h1>My work</h1>" in response.content.decode()


def test_login_follows_next_to_the_page_asked_for(client, person):
    response = client.post(
        reverse("accounts:login"),
        {"username": "rosa", "password": PASSWORD, "next": reverse("squads:list")},
    )

    assert response.status_code == 302
    assert response.url == reverse("squads:list")
    assert client.session["_auth_user_id"] == str(person.pk)


def test_login_with_a_wrong_password_shows_an_error(client, person):
    response = client.post(reverse("accounts:login"), {"username": "rosa", "password": "nope"})

    assert response.status_code == 200
    assert "Your username and password did not match." in response.content.decode()
    assert not response.context["user"].is_authenticated


def test_logged_in_user_visiting_login_goes_to_my_work(client_for, person):
    response = client_for(person).get(reverse("accounts:login"))

    assert response.status_code == 302
    assert response.url == reverse("dashboard")


def test_logout_is_a_post_and_ends_the_session(client_for, person):
    client = client_for(person)

    refused = client.get(reverse("accounts:logout"))
    assert refused.status_code == 405
    assert client.get(reverse("dashboard")).status_code == 200

    response = client.post(reverse("accounts:logout"))

    assert response.status_code == 302
    assert response.url == reverse("accounts:login")
    assert client.get(reverse("dashboard")).status_code == 302


def test_password_change_replaces_the_password(client_for, person):
    client = client_for(person)

    response = client.post(
        reverse("accounts:password-change"),
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )

    assert response.status_code == 302
    assert response.url == reverse("accounts:password-changed")
    person.refresh_from_db()
    assert person.check_password(NEW_PASSWORD)
    assert not person.check_password(PASSWORD)
    # The session that changed the password stays signed in.
    assert client.get(reverse("dashboard")).status_code == 200
    assert "Password changed" in client.get(response.url).content.decode()


def test_password_change_refuses_a_wrong_old_password(client_for, person):
    response = client_for(person).post(
        reverse("accounts:password-change"),
        {"old_password": "wrong", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )

    assert response.status_code == 200
    assert response.context["form"].errors["old_password"]
    person.refresh_from_db()
    assert person.check_password(PASSWORD)


def test_password_change_refuses_a_weak_password(client_for, person):
    response = client_for(person).post(
        reverse("accounts:password-change"),
        {"old_password": PASSWORD, "new_password1": "12345", "new_password2": "12345"},
    )

    assert response.status_code == 200
    assert response.context["form"].errors["new_password2"]
    person.refresh_from_db()
    assert person.check_password(PASSWORD)


def test_profile_page_shows_my_details(client_for, person):
    response = client_for(person).get(reverse("accounts:profile"))

    page = response.content.decode()
    assert response.status_code == 200
    assert 'value="Rosa Parks"' in page
    assert 'value="rosa@example.com"' in page


def test_profile_edit_saves_name_email_and_reminder_delivery(client_for, person):
    client = client_for(person)

    response = client.post(
        reverse("accounts:profile"),
        {
            "full_name": "Rosa L. Parks",
            "email": "rosa.parks@example.com",
            "reminder_delivery": User.ReminderDelivery.DAILY_DIGEST,
        },
    )

    assert response.status_code == 302
    assert response.url == reverse("accounts:profile")
    person.refresh_from_db()
    assert person.full_name == "Rosa L. Parks"
    assert person.email == "rosa.parks@example.com"
    assert person.reminder_delivery == User.ReminderDelivery.DAILY_DIGEST
    assert "Your profile is saved." in client.get(response.url).content.decode()


def test_profile_edit_requires_an_email(client_for, person):
    response = client_for(person).post(
        reverse("accounts:profile"),
        {"full_name": "Rosa Renamed", "email": "", "reminder_delivery": "immediate"},
    )

    assert response.status_code == 200
    assert response.context["form"].errors["email"] == ["This field is required."]
    assert 'value="Rosa Renamed"' in response.content.decode()
    person.refresh_from_db()
    assert (person.full_name, person.email) == ("Rosa Parks", "rosa@example.com")


def test_profile_edit_refuses_an_unknown_reminder_delivery(client_for, person):
    response = client_for(person).post(
        reverse("accounts:profile"),
        {"full_name": "Rosa Parks", "email": "rosa@example.com", "reminder_delivery": "pigeon"},
    )

    assert response.status_code == 200
    assert response.context["form"].errors["reminder_delivery"]
    person.refresh_from_db()
    assert person.reminder_delivery == User.ReminderDelivery.IMMEDIATE


def test_display_name_falls_back_to_the_username():
    nameless = UserFactory(username="quiet", full_name="")

    assert nameless.display_name == "quiet"
    assert str(nameless) == "quiet"
    assert nameless.get_short_name() == "quiet"
