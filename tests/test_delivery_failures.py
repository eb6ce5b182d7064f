"""A message that cannot be delivered is given up with its reason, and never holds up the others.

Email headers never carry control characters; a permanent refusal (a bad
header, a recipient the server refuses for good) or a delivery that failed its
last retry is marked failed, shown to the admin and the tech lead, and never
queued again. Cron mode sends everything else and says what failed.
"""

from __future__ import annotations

import smtplib
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
import time_machine
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend
from django.core.management import CommandError, call_command
from django.urls import reverse

from notifications import tasks
from notifications.delivery import claim_deliveries
from notifications.mail import _message, header_text, send_email
from notifications.models import Notification
from planning import services
from planning.models import Unknown
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

T0 = datetime(2030, 3, 4, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)
# Everything a form or the API lets into a title on PostgreSQL (NUL is refused there, below).
BROKEN_TITLE = "line one\nline two\rline three\r\n\tfour\x0bfive\x1bsix\x7fseven\u2028eight\x85nine"


class FlakyBackend(EmailBackend):
    """The test's mail server: refuses some recipients for good, some for now, or is away."""

    away = False
    refused_for_good = {"refused@example.com"}
    refused_for_now = {"greylisted@example.com"}

    def send_messages(self, messages):
        if FlakyBackend.away:
            raise ConnectionRefusedError(111, "Connection refused")
        for message in messages:
            for address in message.to:
                if address in self.refused_for_good:
                    raise smtplib.SMTPRecipientsRefused({address: (550, b"5.1.1 No such user")})
                if address in self.refused_for_now:
                    raise smtplib.SMTPRecipientsRefused({address: (450, b"4.2.0 Greylisted")})
        return super().send_messages(messages)


@pytest.fixture(autouse=True)
def flaky_mail_server(settings):
    settings.EMAIL_BACKEND = "tests.test_delivery_failures.FlakyBackend"
    FlakyBackend.away = False
    yield FlakyBackend
    FlakyBackend.away = False


@pytest.fixture
def clock():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


# Headers --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "header"),
    [
        ("line one\nline two", "line one line two"),
        ("carriage\rreturn", "carriage return"),
        ("nul\x00byte", "nul byte"),
        ("crlf\r\n\r\ninjection: yes", "crlf injection: yes"),
        ("escape\x1b[31mred", "escape [31mred"),
        ("del\x7fand c1\x85and\x9fmore", "del and c1 and more"),
        ("unicode\u2028line\u2029separators", "unicode line separators"),
        ("\n  leading and trailing \t\n", "leading and trailing"),
        ("x" * 300, "x" * 120),
    ],
)
def test_header_text_is_one_line_without_control_characters(text, header):
    assert header_text(text) == header


def test_an_email_about_text_with_line_breaks_and_nul_has_a_one_line_subject(engineer):
    notification = Notification(
        recipient=engineer, kind="owner_nudge", text="U-1 “a\nb\r\x00c” is idle.", link="/"
    )

    email = _message(notification)
    headers = email.message().as_string().split("\n\n", 1)[0]

    assert email.subject == "[Squad Planner] U-1 “a b c” is idle."
    assert "\x00" not in headers and "\r" not in headers


def test_a_title_with_nul_never_reaches_the_database(client_for, project, tech_lead):
    """PostgreSQL text cannot hold NUL: forms and the API refuse it, so only headers see the rest."""
    from rest_framework.test import APIClient

    milestone = services.create_milestone(tech_lead, project, title="Vault")
    api = APIClient()
    api.force_authenticate(tech_lead)

    answer = api.post(
        f"/api/v1/milestones/{milestone.pk}/unknowns/",
        {"title": "nul\x00here", "priority": "normal"},
        format="json",
    )

    assert answer.status_code == 400 and "title" in answer.json()
    assert not Unknown.objects.exists()


# Cron mode: manage.py send_reminders ---------------------------------------------------------


def run_command() -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("send_reminders", stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.fixture
def three_owners(clock, project, tech_lead, engineer, product, squad):
    """Three untouched unknowns whose owners are due a nudge: one titled with line breaks,
    one ordinary, one owned by someone whose address the mail server refuses for good."""
    refused = UserFactory(username="rhea", email="refused@example.com")
    MembershipFactory(squad=squad, user=refused, role="engineer")
    milestone = services.create_milestone(tech_lead, project, title="Vault")
    for owner, title in [(engineer, BROKEN_TITLE), (product, "Which HSM?"), (refused, "Quota")]:
        services.add_unknown(owner, milestone, title=title, owner=owner)
    Notification.objects.all().delete()
    clock.move_to(T0 + 3 * DAY)
    return {"broken": engineer, "plain": product, "refused": refused}


def test_cron_run_delivers_everyone_despite_a_broken_title_and_a_refused_recipient(three_owners):
    out, err = run_command()

    assert "3 reminders due, 3 new." in out and "2 emails sent" in out
    subjects = {message.to[0]: message.subject for message in mail.outbox}
    assert set(subjects) == {"eli@example.com", "pia@example.com"}
    assert subjects["eli@example.com"].startswith(
        "[Squad Planner] U-1 “line one line two line three four five six seven eight nine” "
        "has had no activity for 3 days."
    )
    failed = Notification.objects.get(recipient=three_owners["refused"])
    assert failed.email == Notification.Email.FAILED
    assert failed.email_error == (
        "Recipient refused: refused@example.com refused (550 5.1.1 No such user)"
    )
    assert f"Email {failed.pk} failed for good: Recipient refused" in err

    # The next run finds nothing to send: the failed one is not tried again.
    out, err = run_command()

    assert "0 new" in out and "0 emails sent" in out and err == ""
    assert len(mail.outbox) == 2
    assert claim_deliveries().emails == []


def test_a_mail_server_that_is_away_fails_the_run_and_leaves_every_email_for_the_next(
    three_owners, flaky_mail_server
):
    flaky_mail_server.away = True

    with pytest.raises(CommandError, match="3 emails could not be sent now"):
        run_command()

    assert mail.outbox == []
    assert set(Notification.objects.values_list("email", "email_claimed_at")) == {
        (Notification.Email.PENDING, None)
    }

    flaky_mail_server.away = False
    out, err = run_command()

    assert "2 emails sent" in out and "failed for good" in err
    assert len(mail.outbox) == 2


def test_a_recipient_refused_for_now_is_left_for_the_next_run_and_the_others_go(
    three_owners, flaky_mail_server
):
    User = type(three_owners["plain"])
    User.objects.filter(pk=three_owners["plain"].pk).update(email="greylisted@example.com")

    with pytest.raises(CommandError, match="1 emails could not be sent now"):
        run_command()

    assert [message.to for message in mail.outbox] == [["eli@example.com"]]
    later = Notification.objects.get(recipient=three_owners["plain"])
    assert (later.email, later.email_claimed_at) == (Notification.Email.PENDING, None)


# Worker mode: the delivery tasks --------------------------------------------------------------


def pending_email(user, text="U-1 needs you.") -> Notification:
    return Notification.objects.create(recipient=user, kind="owner_nudge", text=text, link="/")


def test_a_refused_recipient_fails_the_task_for_good_without_a_retry(engineer, monkeypatch):
    engineer.email = "refused@example.com"
    engineer.save(update_fields=["email"])
    notification = pending_email(engineer)
    monkeypatch.setattr(tasks.deliver_email, "retry", lambda **k: pytest.fail("retried"))

    assert tasks.deliver_email.apply(args=[notification.pk]).get() is False

    notification.refresh_from_db()
    assert notification.email == Notification.Email.FAILED
    assert "No such user" in notification.email_error


def test_an_address_that_cannot_be_a_header_fails_for_good(engineer):
    type(engineer).objects.filter(pk=engineer.pk).update(email="eli@example.com\nBcc: x@y.z")
    notification = pending_email(engineer)

    assert send_email(notification.pk) is False

    notification.refresh_from_db()
    assert notification.email == Notification.Email.FAILED
    assert notification.email_error.startswith("Bad header:")
    assert mail.outbox == []


def test_a_server_away_is_retried_and_after_the_last_retry_the_email_is_failed(
    engineer, flaky_mail_server, monkeypatch
):
    flaky_mail_server.away = True
    notification = pending_email(engineer)

    with pytest.raises(ConnectionRefusedError):
        send_email(notification.pk)
    notification.refresh_from_db()
    assert notification.email == Notification.Email.PENDING

    monkeypatch.setattr(tasks.deliver_email, "max_retries", 0)
    assert tasks.deliver_email.apply(args=[notification.pk]).get() is False
    notification.refresh_from_db()
    assert notification.email == Notification.Email.FAILED
    assert notification.email_error == "Gave up after 1 attempt: [Errno 111] Connection refused"
    assert claim_deliveries().emails == []


def test_one_refused_digest_does_not_keep_the_others_from_theirs(engineer, product):
    for person, address in [(engineer, "refused@example.com"), (product, "pia@example.com")]:
        person.email = address
        person.reminder_delivery = person.ReminderDelivery.DAILY_DIGEST
        person.save(update_fields=["email", "reminder_delivery"])
        Notification.objects.create(
            recipient=person, kind="owner_nudge", text="News.", email=Notification.Email.DIGEST
        )

    assert tasks.send_daily_digests.apply().get() == 1

    assert [message.to for message in mail.outbox] == [["pia@example.com"]]
    refused = Notification.objects.get(recipient=engineer)
    assert refused.email == Notification.Email.FAILED and "No such user" in refused.email_error


# Where failures are shown ------------------------------------------------------------------


def test_the_tech_lead_sees_the_squads_failed_emails_and_not_other_squads(
    client_for, squad, tech_lead, engineer, engineer_failed, outsider
):
    elsewhere = Notification.objects.create(
        recipient=outsider,
        kind="owner_nudge",
        text="Another squad's news.",
        link="/squads/elsewhere/projects/x/",
        email=Notification.Email.FAILED,
        email_error="Recipient refused: otto",
    )
    url = reverse("planning:webhook-log", args=[squad.slug])

    page = client_for(tech_lead).get(url).content.decode()

    failed = page.split('id="failed"')[1].split("</section>")[0]
    assert engineer.display_name in failed and "No such user" in failed
    assert engineer_failed.text[:40] in failed
    assert elsewhere.text not in page
    assert client_for(engineer).get(url).status_code == 403
    settings_page = client_for(tech_lead).get(reverse("squads:settings", args=[squad.slug]))
    assert url in settings_page.content.decode()


def test_the_admin_lists_failed_emails_with_their_reason(
    client, engineer_failed, django_user_model
):
    admin = django_user_model.objects.create_superuser("root", "root@example.com", "x")
    client.force_login(admin)

    page = client.get(reverse("admin:notifications_notification_changelist") + "?email=failed")

    assert page.status_code == 200
    assert "No such user" in page.content.decode()


@pytest.fixture
def engineer_failed(squad, engineer):
    return Notification.objects.create(
        recipient=engineer,
        kind="owner_nudge",
        text="U-3 “Quota” has had no activity for 3 days.",
        link=f"/squads/{squad.slug}/projects/card-vault/milestones/1/unknowns/U-3/",
        email=Notification.Email.FAILED,
        email_error="Recipient refused: eli@example.com refused (550 5.1.1 No such user)",
    )


@pytest.mark.parametrize(
    ("error", "permanent"),
    [
        (smtplib.SMTPRecipientsRefused({"a@x.y": (550, b"No such user")}), True),
        (smtplib.SMTPRecipientsRefused({"a@x.y": (452, b"Mailbox full")}), False),
        (smtplib.SMTPDataError(554, b"Message rejected"), True),
        (smtplib.SMTPDataError(451, b"Try again"), False),
        (smtplib.SMTPAuthenticationError(535, b"Bad credentials"), False),
        (smtplib.SMTPSenderRefused(550, b"Not our domain", "planner@localhost"), False),
        (smtplib.SMTPServerDisconnected("Connection unexpectedly closed"), False),
        (ConnectionRefusedError(111, "Connection refused"), False),
        (TimeoutError("timed out"), False),
    ],
)
def test_only_refusals_of_this_message_are_permanent(error, permanent):
    """What concerns the server itself (login, sender, connection) its operator can put right."""
    from notifications.mail import is_permanent

    assert is_permanent(error) is permanent
