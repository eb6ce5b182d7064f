"""Signed events to the squad's webhook: phase moves, review outcomes, escalations and
overdue blockers, each a logged delivery, posted once and retried."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
import time_machine
from celery.exceptions import Retry
from django.urls import reverse
from django.utils import timezone

from notifications import tasks, webhooks
from notifications.models import WebhookDelivery
from planning import services
from planning.models import Milestone, Unknown
from planning.tasks import sweep_reminders
from planning.workflow import Phase

pytestmark = pytest.mark.django_db


class Receiver:
    """A webhook endpoint on 127.0.0.1 that records what it is sent."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.requests: list[tuple[dict, bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((dict(self.headers), body))
                self.send_response(receiver.status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.close()


@pytest.fixture
def hooked_squad(squad, receiver, settings):
    # The receiver listens on 127.0.0.1, which only a deployment that allows private hooks reaches.
    settings.WEBHOOK_ALLOW_PRIVATE = True
    squad.webhook_url = receiver.url
    squad.save(update_fields=["webhook_url"])
    return squad


def ready_for_protocols(milestone: Milestone, lead) -> None:
    for kind in ("system_architecture", "application_architecture"):
        artifact = milestone.artifacts.get(kind=kind)
        services.save_artifact_body(lead, artifact, body="Text.", base_revision=artifact.revision)
        services.mark_artifact(lead, milestone.artifacts.get(kind=kind), "ready")


def test_a_phase_move_posts_a_signed_event(
    hooked_squad, project, tech_lead, receiver, django_capture_on_commit_callbacks
):
    milestone = services.create_milestone(tech_lead, project, title="Vault")
    ready_for_protocols(milestone, tech_lead)
    with django_capture_on_commit_callbacks(execute=True):
        services.advance_phase(tech_lead, milestone, to=Phase.PROTOCOLS)
    delivery = WebhookDelivery.objects.get()
    assert delivery.event == "milestone.phase_changed"
    assert delivery.payload["data"]["to"] == "protocols"

    assert webhooks.post_delivery(delivery.pk) is True
    headers, body = receiver.requests[0]
    expected = (
        "sha256=" + hmac.new(hooked_squad.webhook_secret.encode(), body, hashlib.sha256).hexdigest()
    )
    assert headers["X-Squad-Planner-Signature"] == expected
    assert headers["X-Squad-Planner-Event"] == "milestone.phase_changed"
    payload = json.loads(body)
    assert "moved on to Protocols" in payload["text"]
    delivery.refresh_from_db()
    assert delivery.status == "sent" and delivery.attempts == 1 and delivery.response_status == 200

    # Delivered once: a second run of the same delivery posts nothing.
    assert webhooks.post_delivery(delivery.pk) is False
    assert len(receiver.requests) == 1


def test_a_closed_review_posts_its_outcome(hooked_squad, project, tech_lead, engineer, product):
    milestone = services.create_milestone(tech_lead, project, title="Vault")
    Milestone.objects.filter(pk=milestone.pk).update(phase=Phase.DESIGN_REVIEW)
    milestone.refresh_from_db()
    review = services.schedule_review(tech_lead, milestone, scheduled_for=timezone.now())
    review = services.open_review(tech_lead, review)
    services.set_verdict(engineer, review, "approve")
    services.set_verdict(product, review, "approve")
    services.close_review(tech_lead, review, "approved")
    delivery = WebhookDelivery.objects.get(event="review.closed")
    assert delivery.payload["data"]["outcome"] == "approved"


def test_a_failing_endpoint_raises_so_the_task_retries_and_the_log_says_why(hooked_squad, receiver):
    receiver.status = 500
    delivery = webhooks.queue_event(hooked_squad, "test.event", "Hello", {})
    with pytest.raises(OSError):
        webhooks.post_delivery(delivery.pk)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.response_status) == ("pending", 1, 500)
    assert delivery.last_error == "HTTP 500"

    receiver.status = 200
    assert webhooks.post_delivery(delivery.pk) is True
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("sent", 2)


def test_the_last_failed_retry_marks_the_delivery_failed(hooked_squad, receiver, monkeypatch):
    receiver.status = 503
    delivery = webhooks.queue_event(hooked_squad, "test.event", "Hello", {})
    task = tasks.deliver_webhook
    monkeypatch.setattr(task, "max_retries", 0)
    assert task.apply(args=[delivery.pk]).get() is False
    delivery.refresh_from_db()
    assert (delivery.status, delivery.last_error) == ("failed", "Gave up after 1 attempt: HTTP 503")


def test_without_a_retry_limit_a_failed_post_is_retried_not_crashed(
    hooked_squad, receiver, monkeypatch
):
    # Celery reads max_retries=None as "retry for ever"; run eagerly, a retry
    # would run again at once, so this one only says it would retry.
    def retry(exc: Exception, countdown: int) -> Retry:
        return Retry(exc=exc)

    receiver.status = 503
    delivery = webhooks.queue_event(hooked_squad, "test.event", "Hello", {})
    task = tasks.deliver_webhook
    monkeypatch.setattr(task, "max_retries", None)
    monkeypatch.setattr(task, "retry", retry)
    assert task.apply(args=[delivery.pk]).state == "RETRY"
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("pending", 1)


def test_a_failed_delivery_is_neither_queued_nor_posted_again(hooked_squad, receiver):
    from notifications.delivery import claim_deliveries

    delivery = webhooks.queue_event(hooked_squad, "test.event", "Hello", {})
    webhooks.mark_failed(delivery.pk, "Given up.")

    assert claim_deliveries().webhooks == []
    assert webhooks.post_delivery(delivery.pk) is False
    assert receiver.requests == []


def test_no_webhook_url_means_no_delivery(squad):
    assert webhooks.queue_event(squad, "test.event", "Hello", {}) is None
    assert not WebhookDelivery.objects.exists()


def test_each_squad_has_its_own_secret(squad, outsider):
    other = outsider.squads.get()
    assert len(squad.webhook_secret) == 64
    assert squad.webhook_secret != other.webhook_secret


def test_tech_leads_see_the_delivery_log_and_others_do_not(
    client_for, hooked_squad, tech_lead, engineer, outsider
):
    webhooks.queue_event(hooked_squad, "milestone.phase_changed", "Moved on.", {})
    url = reverse("planning:webhook-log", args=[hooked_squad.slug])
    page = client_for(tech_lead).get(url)
    assert page.status_code == 200
    assert "milestone.phase_changed" in page.content.decode()
    assert hooked_squad.webhook_secret in page.content.decode()
    assert client_for(engineer).get(url).status_code == 403
    assert client_for(outsider).get(url).status_code == 404
    for refused in (client_for(engineer).get(url), client_for(outsider).get(url)):
        assert hooked_squad.webhook_secret not in refused.content.decode()
        assert "milestone.phase_changed" not in refused.content.decode()


def test_old_deliveries_are_listed_newest_first(client_for, hooked_squad, tech_lead):
    first = webhooks.queue_event(hooked_squad, "first.event", "First", {})
    WebhookDelivery.objects.filter(pk=first.pk).update(
        created_at=timezone.now() - timedelta(days=1)
    )
    webhooks.queue_event(hooked_squad, "second.event", "Second", {})
    page = client_for(tech_lead).get(reverse("planning:webhook-log", args=[hooked_squad.slug]))
    text = page.content.decode()
    assert text.index("second.event") < text.index("first.event")


# The sweep's escalations and overdue blockers ----------------------------------------------


@pytest.fixture
def queued(monkeypatch):
    """The delivery tasks queued, by task name, instead of sent to the broker."""
    sent: dict[str, list[int]] = {"email": [], "webhook": []}
    monkeypatch.setattr(
        tasks.deliver_email, "apply_async", lambda args, **options: sent["email"].append(args[0])
    )
    monkeypatch.setattr(
        tasks.deliver_webhook,
        "apply_async",
        lambda args, **options: sent["webhook"].append(args[0]),
    )
    return sent


def sweep_at(moment, django_capture_on_commit_callbacks) -> dict:
    """What beat does every 15 minutes, at `moment`; the queueing runs as the sweep commits."""
    with (
        time_machine.travel(moment, tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        return sweep_reminders.apply().get()


def assert_signed_by(squad, headers: dict, body: bytes) -> None:
    expected = "sha256=" + hmac.new(squad.webhook_secret.encode(), body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["X-Squad-Planner-Signature"], expected)


def test_an_escalation_found_by_the_sweep_is_posted_once_signed(
    hooked_squad, project, tech_lead, engineer, receiver, queued, django_capture_on_commit_callbacks
):
    milestone = services.create_milestone(tech_lead, project, title="Vault")
    unknown = services.add_unknown(engineer, milestone, title="Which HSM?", owner=engineer)
    later = unknown.last_activity_at + timedelta(days=7, minutes=1)

    sweep_at(later, django_capture_on_commit_callbacks)

    [delivery] = WebhookDelivery.objects.all()
    assert (delivery.squad, delivery.event, delivery.url) == (
        hooked_squad,
        "unknown.escalated",
        receiver.url,
    )
    assert queued["webhook"] == [delivery.pk]
    assert tasks.deliver_webhook.apply(args=[delivery.pk]).get() is True
    [(headers, body)] = receiver.requests
    assert_signed_by(hooked_squad, headers, body)
    assert headers["X-Squad-Planner-Event"] == "unknown.escalated"
    payload = json.loads(body)
    assert set(payload) == {"text", "event", "data", "sent_at"}
    assert payload["text"].startswith("Escalation: U-1 “Which HSM?” has had no activity for 7 days")
    assert payload["data"]["key"] == "U-1"
    assert payload["data"]["url"].endswith(unknown.get_absolute_url())
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("sent", 1)

    # The next tick, and a repeated one, find the escalation already posted.
    sweep_at(later + timedelta(minutes=15), django_capture_on_commit_callbacks)
    sweep_at(later + timedelta(minutes=15), django_capture_on_commit_callbacks)

    assert WebhookDelivery.objects.count() == 1
    assert queued["webhook"] == [delivery.pk]
    assert len(receiver.requests) == 1


def test_an_overdue_blocker_found_by_the_sweep_is_posted_once_signed(
    hooked_squad, project, tech_lead, engineer, receiver, queued, django_capture_on_commit_callbacks
):
    milestone = services.create_milestone(tech_lead, project, title="Vault")
    due = timezone.localdate() + timedelta(days=2)
    services.add_unknown(
        engineer,
        milestone,
        title="Which HSM?",
        owner=engineer,
        priority=Unknown.Priority.BLOCKER,
        due_on=due,
    )
    overdue = timezone.now() + timedelta(days=3)

    sweep_at(overdue, django_capture_on_commit_callbacks)

    delivery = WebhookDelivery.objects.get(event="unknown.blocker_overdue")
    # Past its due date, the blocker is escalated to the tech lead as well.
    escalation = WebhookDelivery.objects.get(event="unknown.escalated")
    assert sorted(queued["webhook"]) == sorted([delivery.pk, escalation.pk])
    assert tasks.deliver_webhook.apply(args=[delivery.pk]).get() is True
    [(headers, body)] = receiver.requests
    assert_signed_by(hooked_squad, headers, body)
    assert headers["X-Squad-Planner-Event"] == "unknown.blocker_overdue"
    payload = json.loads(body)
    assert payload["text"].startswith("Blocker U-1 “Which HSM?” was due on")
    assert payload["data"]["due_on"] == due.isoformat()
    assert tasks.deliver_webhook.apply(args=[escalation.pk]).get() is True

    sweep_at(overdue + timedelta(minutes=15), django_capture_on_commit_callbacks)

    assert WebhookDelivery.objects.count() == 2
    assert len(queued["webhook"]) == 2
    assert len(receiver.requests) == 2


def test_a_lost_webhook_task_is_queued_again_by_the_next_sweep(
    hooked_squad, queued, django_capture_on_commit_callbacks
):
    delivery = webhooks.queue_event(hooked_squad, "test.event", "Hello", {})
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        claimed_at=timezone.now() - timedelta(hours=1)
    )

    summary = sweep_at(timezone.now(), django_capture_on_commit_callbacks)

    assert summary["queued"] == 1
    assert queued["webhook"] == [delivery.pk]
