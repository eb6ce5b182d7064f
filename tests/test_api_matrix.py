"""Every API route against {member, other-squad user, anonymous, invited guest}.

The routes come from the OpenAPI schema, so a new route is covered the day
it is added. Outsiders get exactly the 404 of an id that does not exist;
anonymous callers get 401; a member is never told "not found" about their
own squad's objects; a guest reaches only their review and its milestone.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.apps import apps as django_apps
from django.utils import timezone
from rest_framework.test import APIClient

from notifications.models import Notification
from notifications.services import notify
from planning import models, services
from planning.models import Milestone
from planning.workflow import Phase
from squads.models import Membership, Squad
from tests.helpers import unchanged

pytestmark = pytest.mark.django_db

# Every table a call could write to: a refused caller leaves each as it was.
EVERY_MODEL = [
    Squad,
    Membership,
    *(getattr(models, name) for name in models.__all__),
    *django_apps.get_app_config("notifications").get_models(),
]

MISSING = 987654321

# Which object a path parameter names, by the collection just before it.
COLLECTION_OBJECTS = {
    "squads": "squad",
    "members": "member",
    "projects": "project",
    "milestones": "milestone",
    "artifacts": "kind",
    "unknowns": "unknown",
    "deferrals": "deferral",
    "reviews": "review",
    "comments": "comment",
    "verdicts": "verdict",
    "concerns": "concern",
    "stories": "story",
    "subtasks": "subtask",
    "notifications": "notification",
}

# What an invited guest may reach (method, path pattern after /api/v1).
GUEST_ALLOWED = [
    ("GET", r"^/milestones/\{[^}]+\}/$"),
    ("GET", r"^/milestones/\{[^}]+\}/artifacts/$"),
    ("GET", r"^/milestones/\{[^}]+\}/artifacts/\{[^}]+\}/$"),
    ("GET", r"^/reviews/\{[^}]+\}/$"),
    ("GET", r"^/reviews/\{[^}]+\}/comments/$"),
    ("POST", r"^/reviews/\{[^}]+\}/comments/$"),
    ("PUT", r"^/reviews/\{[^}]+\}/verdict/$"),
    ("GET", r"^/reviews/\{[^}]+\}/invite\.ics$"),
]
# Where a guest may also be answered otherwise than 404: their review is
# visible to them, so the tech lead's actions on it are refused (403), and
# the list of a milestone's reviews shows them their own round.
GUEST_VISIBLE = [
    (None, r"^/reviews/\{[^}]+\}/"),
    (None, r"^/comments/\{[^}]+\}/$"),
    ("POST", r"^/verdicts/\{[^}]+\}/dismiss/$"),
    # The principal engineer's overrule of a comment in their review: refused (403).
    ("POST", r"^/comments/\{[^}]+\}/overrule/$"),
    ("GET", r"^/milestones/\{[^}]+\}/reviews/$"),
]


@pytest.fixture
def world(squad, project, tech_lead, engineer, product, principal, guest, outsider):
    milestone = services.create_milestone(tech_lead, project, title="Matrix")
    Milestone.objects.filter(pk=milestone.pk).update(phase=Phase.DESIGN_REVIEW)
    milestone.refresh_from_db()
    unknown = services.add_unknown(tech_lead, milestone, title="Matrix unknown", owner=engineer)
    deferral = services.request_deferral(tech_lead, unknown, reason="Later.", defer_until="M2")
    review = services.schedule_review(
        tech_lead, milestone, scheduled_for=timezone.now() + timedelta(days=1)
    )
    services.invite_guest(tech_lead, review, guest)
    review = services.open_review(tech_lead, review)
    comment = services.add_comment(engineer, review, body="A comment.")
    verdict = services.set_verdict(engineer, review, "changes_requested", "More detail.")
    concern = services.raise_concern(engineer, milestone, kind="question", text="Why?")
    story = services.add_story(engineer, milestone, title="A story")
    subtask = services.add_subtask(engineer, story, title="A sub-task")
    notification = Notification.objects.filter(recipient=engineer).first() or notify(
        engineer, Notification.Kind.UNKNOWN_ASSIGNED, "Yours.", "/"
    )
    return {
        "squad": squad.slug,
        "member": engineer.pk,
        "project": project.pk,
        "milestone": milestone.pk,
        "kind": "system_architecture",
        "unknown": unknown.pk,
        "deferral": deferral.pk,
        "review": review.pk,
        "comment": comment.pk,
        "verdict": verdict.pk,
        "concern": concern.pk,
        "story": story.pk,
        "subtask": subtask.pk,
        "notification": notification.pk,
        "people": {"engineer": engineer, "outsider": outsider, "guest": guest},
    }


def operations(client) -> list[tuple[str, str]]:
    schema = client.get("/api/schema/?format=json").json()
    found = []
    for path, item in schema["paths"].items():
        if not path.startswith("/api/v1/") or path == "/api/v1/auth/token/":
            continue
        for method in item:
            if method in ("get", "post", "put", "patch", "delete"):
                found.append((method.upper(), path.removeprefix("/api/v1")))
    return sorted(found)


def fill(path: str, world: dict, missing: bool = False) -> str:
    parts = path.strip("/").split("/")
    filled = []
    for index, part in enumerate(parts):
        if part.startswith("{"):
            collection = parts[index - 1]
            kind = COLLECTION_OBJECTS[collection]
            value = world[kind]
            if missing and kind not in ("kind",):
                value = "no-such-squad" if kind == "squad" else MISSING
            filled.append(str(value))
        else:
            filled.append(part)
    tail = "/" if path.endswith("/") else ""
    return "/api/v1/" + "/".join(filled) + tail


def call(client: APIClient, method: str, url: str):
    return getattr(client, method.lower())(url, {}, format="json")


def as_user(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_the_schema_lists_the_api(client):
    assert len(operations(client)) >= 50


def test_anonymous_callers_get_401_everywhere(client, world):
    anonymous = APIClient()
    failures = []
    with unchanged(*EVERY_MODEL):
        for method, path in operations(client):
            answer = call(anonymous, method, fill(path, world))
            if answer.status_code != 401 or "detail" not in answer.json():
                failures.append((method, path, answer.status_code))
    assert failures == [], "\n".join(map(str, failures))


def test_outsiders_get_the_404_of_a_missing_id_on_every_object_route(client, world):
    outsider = as_user(world["people"]["outsider"])
    failures = []
    with unchanged(*EVERY_MODEL):
        for method, path in operations(client):
            if "{" not in path:
                continue
            seen = call(outsider, method, fill(path, world))
            missing = call(outsider, method, fill(path, world, missing=True))
            if seen.status_code != 404 or seen.content != missing.content:
                failures.append(
                    (method, path, seen.status_code, seen.content[:80], missing.content[:80])
                )
    assert failures == [], "\n".join(map(str, failures))


def test_members_are_never_told_their_own_objects_do_not_exist(client, world):
    member = as_user(world["people"]["engineer"])
    failures = []
    for method, path in operations(client):
        answer = call(member, method, fill(path, world))
        if answer.status_code in (401, 404) or answer.status_code >= 500:
            failures.append((method, path, answer.status_code))
    assert failures == [], "\n".join(map(str, failures))


def test_guests_reach_their_review_and_its_milestone_only(client, world):
    guest = as_user(world["people"]["guest"])
    failures = []
    for method, path in operations(client):
        if "{" not in path:
            continue
        allowed = any(m == method and re.match(p, path) for m, p in GUEST_ALLOWED)
        visible = allowed or any(
            m in (None, method) and re.match(p, path) for m, p in GUEST_VISIBLE
        )
        answer = call(guest, method, fill(path, world))
        if allowed and answer.status_code in (401, 403, 404):
            failures.append(("refused", method, path, answer.status_code))
        if visible and answer.status_code >= 500:
            failures.append(("server error", method, path, answer.status_code))
        if not visible and answer.status_code != 404:
            failures.append(("reached", method, path, answer.status_code))
    assert failures == [], "\n".join(map(str, failures))
