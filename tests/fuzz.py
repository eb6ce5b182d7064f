"""Malformed input, class by class, and what sends it: shared by the fuzz tests.

A `World` holds one of everything (a milestone with artifacts, unknowns, a
deferral, an open review with comments, a kick-off, stories), every name and
title at its longest so that texts built from them are as long as they get.
`Sender` sends one request at a time, each in a savepoint it rolls back, so
every request meets the same world and none of them can break the next one;
it counts what it sent and keeps every answer of 500 or more.
"""

from __future__ import annotations

import copy
import json
import re
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import quote_from_bytes, urlsplit

from django.db import transaction
from django.http import QueryDict
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from planning.models import DesignReview, Milestone, Verdict
from planning.workflow import Phase
from squads.models import Membership, Squad
from tests.factories import (
    ArtifactRevisionFactory,
    BreakoutSessionFactory,
    CommentFactory,
    ConcernFactory,
    DeferralRequestFactory,
    DesignReviewFactory,
    KickoffMeetingFactory,
    MembershipFactory,
    MilestoneFactory,
    NotificationFactory,
    ProjectFactory,
    SquadFactory,
    StoryFactory,
    SubtaskFactory,
    UnknownCommentFactory,
    UnknownFactory,
    UserFactory,
    VerdictFactory,
)
from tests.helpers import artifact_of

# What every fuzz run sent, for the summary at the end of the session.
TALLIES: list[str] = []


# The world ----------------------------------------------------------------------------


def _longest(text: str, length: int) -> str:
    """`text` repeated to exactly `length` characters: a name or title at its column's limit."""
    return (text * (length // len(text) + 1))[:length]


@dataclass
class World:
    people: dict[str, Any]
    squad: Squad
    project: Any
    milestone: Milestone
    objects: dict[str, Any]

    def pk(self, what: str) -> int:
        return self.objects[what].pk


def build_world() -> World:
    people = {
        name: UserFactory.create(
            username=name, full_name=_longest(f"{name.title()} Longname ", 150)
        )
        for name in ("lead", "engineer", "product", "principal", "guest", "outsider")
    }
    squad = SquadFactory.create(
        name=_longest("Payments Squad ", 100),
        slug="payments",
        breakout_mode=Squad.BreakoutMode.MEETING,
        webhook_url="",
    )
    for name, role in (
        ("lead", Membership.Role.TECH_LEAD),
        ("engineer", Membership.Role.ENGINEER),
        ("product", Membership.Role.PRODUCT),
    ):
        MembershipFactory.create(squad=squad, user=people[name], role=role)
    elsewhere = SquadFactory.create(name="Elsewhere", slug="elsewhere")
    MembershipFactory.create(
        squad=elsewhere, user=people["outsider"], role=Membership.Role.TECH_LEAD
    )
    project = ProjectFactory.create(
        squad=squad,
        name=_longest("Card Vault ", 120),
        slug="card-vault",
        tech_lead=people["lead"],
        principal_engineer=people["principal"],
    )
    milestone = MilestoneFactory.create(
        project=project, title=_longest("Saved cards ", 200), phase=Phase.DESIGN_REVIEW
    )
    lead, engineer = people["lead"], people["engineer"]
    kind = "system_architecture"
    ArtifactRevisionFactory.create(artifact=artifact_of(milestone, kind), author=lead)
    ArtifactRevisionFactory.create(artifact=artifact_of(milestone, kind), author=engineer)
    unknown = UnknownFactory.create(
        milestone=milestone, title=_longest("Token format ", 200), owner=engineer
    )
    UnknownCommentFactory.create(unknown=unknown, author=engineer)
    waiting = UnknownFactory.create(milestone=milestone, title=_longest("Vendor limits ", 200))
    deferral = DeferralRequestFactory.create(unknown=waiting, requested_by=lead)
    review = DesignReviewFactory.create(milestone=milestone, status=DesignReview.Status.OPEN)
    review.invitees.add(people["guest"])
    comment = CommentFactory.create(review=review, author=lead, body="Where does the token expire?")
    reply = CommentFactory.create(
        review=review, author=engineer, parent=comment, body="After a day."
    )
    guest_comment = CommentFactory.create(
        review=review, author=people["guest"], body="A guest asks."
    )
    verdict = VerdictFactory.create(
        review=review, reviewer=engineer, verdict=Verdict.Choice.CHANGES_REQUESTED
    )
    KickoffMeetingFactory.create(milestone=milestone)
    concern = ConcernFactory.create(
        milestone=milestone, raised_by=engineer, text="Who rotates keys?"
    )
    story = StoryFactory.create(milestone=milestone, title=_longest("Store the card ", 200))
    subtask = SubtaskFactory.create(story=story, title="Write the migration", assignee=engineer)
    BreakoutSessionFactory.create(milestone=milestone)
    objects = {
        "unknown": unknown,
        "waiting": waiting,
        "deferral": deferral,
        "review": review,
        "comment": comment,
        "reply": reply,
        "guest_comment": guest_comment,
        "verdict": verdict,
        "concern": concern,
        "story": story,
        "subtask": subtask,
    }
    for name, person in people.items():
        objects[f"notification:{name}"] = NotificationFactory.create(
            recipient=person, link=milestone.get_absolute_url()
        )
    return World(people, squad, project, milestone, objects)


# Malformed values, by class -----------------------------------------------------------
# Each class names what it stands for; a value is a str (sent as UTF-8, lone
# surrogates as the bytes a careless client would send) or bytes (sent as they are).

TEXT_CLASSES: dict[str, list[str | bytes]] = {
    "nul": ["\x00", "before\x00after"],
    "lone surrogate": ["\ud800", "x\udfffy"],
    "invalid utf-8": [b"\xff\xfe", b"caf\xe9"],
    "control character": ["\x07bell", "\x1b[31mred", "del\x7f", "c1\x85"],
    "line break in one line": ["two\nlines", "cr\r\nlf"],
    "not an id": [
        "1.5",
        "NaN",
        "1e309",
        "abc",
        "²",
        "-1",
        "0",
        " 7 ",
        "\u0661",
        "0x10",
        "Infinity",
    ],
    "number too big": [
        "32768",
        "65536",
        "2147483648",
        "9223372036854775808",
        "99999999999999999999",
        "-9223372036854775809",
        "9" * 400,
    ],
    "impossible time": [
        "2024-02-30",
        "2024-02-30T10:00",
        "2023-13-01T10:00",
        "2024-01-01T25:00",
        "0000-01-01",
        "0001-01-01T00:00",
        "9999-12-31T23:59",
        "10000-01-01T00:00",
        "2024-02-29T10:00+25:00",
    ],
    "not a url": ["abc", "javascript:alert(1)", "//evil.example/", "/a\nb", "http://[::1"],
    "long": ["é" * 201, "x" * 301, "y" * 10_000],
    "empty": ["", " "],
    "unicode": ["Ünïcødé ✓ 🚀 مرحبا", "\u202eevil", "\u200b"],
}

EVERY_VALUE: list[str | bytes] = [v for values in TEXT_CLASSES.values() for v in values]


def one_of_each_class(turn: int) -> list[str | bytes]:
    """A value of each class, a different one on each turn."""
    return [values[turn % len(values)] for values in TEXT_CLASSES.values()]


# Values for a path parameter, percent-encoded, by the converter that reads it.
PATH_VALUES = {
    "id": ["0", "-1", "1.5", "abc", "%C2%B2", "%00", "999999999999999999", "9" * 20],
    "slug": ["%00", "a%00b", "%C2%B2", "%ED%A0%80", "%FF", "%0A", "x" * 300],
    "str": ["%00", "U-%00", "U-%C2%B2", "U-%EF%BC%91", "U-1.5", "U-" + "9" * 20, "u-1", "U-"],
}
ANY_PATH_VALUE = [value for values in PATH_VALUES.values() for value in values]


def encode(value: str | bytes) -> str:
    """A value for a query string or a form body, percent-encoded as a client would send it."""
    raw = value if isinstance(value, bytes) else value.encode("utf-8", "surrogatepass")
    return quote_from_bytes(raw, safe="")


def form_body(fields: Iterable[tuple[str, str | bytes]]) -> str:
    return "&".join(f"{encode(name)}={encode(value)}" for name, value in fields)


# Sending ------------------------------------------------------------------------------


@dataclass
class Sender:
    """Sends requests through Django's test client, each in a savepoint that is rolled back."""

    client: Client
    label: str
    sent: int = 0
    failures: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)

    def send(self, method: str, path: str, body: bytes | str = b"", **extra):
        self.sent += 1
        cookies = copy.deepcopy(self.client.cookies)  # a logout or a new session is undone too
        try:
            with transaction.atomic():
                response = self.client.generic(method, path, body, **extra)
                transaction.set_rollback(True)
        except Exception as error:  # a view's exception: what the user would get as a 500
            self.failures.append(f"{method} {path[:200]} {body[:200]!r}: {error!r}"[:600])
            return None
        finally:
            self.client.cookies = cookies
        if response.status_code >= 500:
            self.failures.append(f"{method} {path[:200]} {body[:200]!r}: {response.status_code}")
        return response

    def post_form(self, path: str, fields: Iterable[tuple[str, str | bytes]], *, htmx=False):
        headers = {"HX-Request": "true"} if htmx else {}
        return self.send(
            "POST",
            path,
            form_body(fields),
            content_type="application/x-www-form-urlencoded",
            headers=headers,
        )

    def report(self) -> str:
        seconds = time.monotonic() - self.started
        line = (
            f"{self.label}: {self.sent} requests in {seconds:.0f} s, "
            f"{len(self.failures)} answered 5xx"
        )
        TALLIES.append(line)
        return line

    def assert_no_server_error(self) -> None:
        shown = "\n".join(self.failures[:40])
        assert not self.failures, f"{len(self.failures)} requests failed:\n{shown}"


# Which query and form keys a view reads -------------------------------------------------


class KeysRead:
    """Records the keys views read from any QueryDict (request.GET, request.POST)."""

    def __init__(self, monkeypatch) -> None:
        self.keys: set[str] = set()
        for name in ("get", "getlist", "__getitem__", "__contains__"):
            original = getattr(QueryDict, name)
            monkeypatch.setattr(QueryDict, name, self._recording(original))

    def _recording(self, original):
        keys = self.keys

        def read(querydict, key, *args, **kwargs):
            if isinstance(key, str):
                keys.add(key)
            return original(querydict, key, *args, **kwargs)

        return read

    def take(self) -> set[str]:
        taken = set(self.keys)
        self.keys.clear()
        return taken


# Pages and their forms -----------------------------------------------------------------


@dataclass
class PageForm:
    action: str
    htmx: bool
    fields: list[tuple[str, str]]  # name, value as the page fills it in
    limits: dict[str, int]  # name → maxlength
    choices: dict[str, list[str]] = field(default_factory=dict)  # a select's or radios' values

    @property
    def names(self) -> list[str]:
        return list(dict.fromkeys(name for name, _ in self.fields))


class _Forms(HTMLParser):
    def __init__(self, page_path: str) -> None:
        super().__init__(convert_charrefs=True)
        self.page_path = page_path
        self.forms: list[PageForm] = []
        self.current: PageForm | None = None
        self.radios: dict[str, str] = {}
        self.select: str | None = None
        self.select_value: str | None = None
        self.textarea: str | None = None
        self.text = ""

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            method = (a.get("method") or "get").lower()
            action = a.get("hx-post") or a.get("action") or self.page_path
            if method == "post" or "hx-post" in a:
                path = urlsplit(action).path or self.page_path
                self.current = PageForm(path, "hx-post" in a, [], {}, {})
            return
        form = self.current
        if tag == "option" and form is not None and self.select:
            if self.select_value is None or "selected" in a:
                self.select_value = a.get("value", "")
            form.choices.setdefault(self.select, []).append(a.get("value", ""))
            return
        if form is None or not a.get("name") or a.get("name") == "csrfmiddlewaretoken":
            return
        name = a["name"]
        if a.get("maxlength", "").isdigit():
            form.limits[name] = int(a["maxlength"])
        if tag == "input":
            kind = (a.get("type") or "text").lower()
            if kind in ("checkbox", "radio"):
                if kind == "radio":
                    form.choices.setdefault(name, []).append(a.get("value", "on"))
                if kind == "radio" and name not in self.radios:
                    self.radios[name] = a.get("value", "on")
                if "checked" in a:
                    self.radios[name] = a.get("value", "on")
                    if kind == "checkbox":
                        form.fields.append((name, a.get("value", "on")))
            elif kind not in ("submit", "button", "file", "image", "reset"):
                form.fields.append((name, a.get("value", "")))
        elif tag == "button" and a.get("value") is not None:
            form.fields.append((name, a["value"]))
        elif tag == "select":
            self.select, self.select_value = name, None
        elif tag == "textarea":
            self.textarea, self.text = name, ""

    def handle_data(self, data):
        if self.textarea:
            self.text += data

    def handle_endtag(self, tag):
        form = self.current
        if form is None:
            return
        if tag == "select" and self.select:
            form.fields.append((self.select, self.select_value or ""))
            self.select = None
        elif tag == "textarea" and self.textarea:
            form.fields.append((self.textarea, self.text.removeprefix("\n")))
            self.textarea = None
        elif tag == "form":
            form.fields.extend(self.radios.items())
            self.radios = {}
            self.forms.append(form)
            self.current = None


def forms_on(page_path: str, html: str) -> list[PageForm]:
    parser = _Forms(page_path)
    parser.feed(html)
    return parser.forms


# Routes ----------------------------------------------------------------------------------

_PARAMETER = re.compile(r"<(?:(?P<converter>\w+):)?(?P<name>\w+)>")


@dataclass(frozen=True)
class Route:
    route: str  # "squads/<slug:slug>/settings/"
    name: str  # "squads:settings"

    @property
    def parameters(self) -> dict[str, str]:
        """Each parameter's name and its converter's."""
        return {
            m.group("name"): m.group("converter") or "str" for m in _PARAMETER.finditer(self.route)
        }

    def path(self, values: dict[str, str]) -> str:
        return "/" + _PARAMETER.sub(lambda m: str(values[m.group("name")]), self.route)


def routes(exclude: tuple[str, ...] = ()) -> Iterator[Route]:
    """Every URL pattern of the site, its route spelled out from the root."""

    def walk(patterns, prefix: str, namespace: str):
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
                yield from walk(pattern.url_patterns, route, inner)
            elif isinstance(pattern, URLPattern):
                yield Route(
                    route.replace("^", "").replace("$", ""), namespace + (pattern.name or "")
                )

    for route in walk(get_resolver().url_patterns, "", ""):
        if not route.route.startswith(exclude):
            yield route


def real_values(world: World, route: Route, viewer: str) -> dict[str, str]:
    """Path values naming the world's objects, as `viewer` would follow them."""
    milestone = world.milestone
    pk_of = {
        "planning:comment-edit": "comment",
        "planning:comment-resolve": "comment",
        "planning:verdict-dismiss": "verdict",
        "planning:comment-block": "comment",
        "planning:comment-overrule": "comment",
        "planning:concern-answer": "concern",
        "planning:subtask-done": "subtask",
        "planning:deferral-decide": "deferral",
        "planning:notification-open": f"notification:{viewer}",
        "planning:notification-read": f"notification:{viewer}",
    }
    values = {
        "squad_slug": world.squad.slug,
        "slug": world.squad.slug,
        "project_slug": world.project.slug,
        "number": str(milestone.number),
        "kind": "system_architecture",
        "key": world.objects["unknown"].key,
        "round": str(world.objects["review"].round),
        "story_number": str(world.objects["story"].number),
        "user_id": str(world.people["engineer"].pk),
    }
    if route.name in pk_of:
        what = pk_of[route.name]
        values["pk"] = str(world.pk(what if what in world.objects else "notification:lead"))
    return values


# JSON with numbers Python would not write ------------------------------------------------


@dataclass(frozen=True)
class Raw:
    """JSON text sent as it is, e.g. a number no float holds: Raw("1e400")."""

    text: str


def to_json(value) -> bytes:
    """`value` as JSON text, `Raw` parts as written, lone surrogates as \\u escapes."""
    raws: dict[str, str] = {}

    def swap(item):
        if isinstance(item, Raw):
            token = f"@@raw{len(raws)}@@"
            raws[f'"{token}"'] = item.text
            return token
        if isinstance(item, dict):
            return {swap(k) if isinstance(k, Raw) else k: swap(v) for k, v in item.items()}
        if isinstance(item, list):
            return [swap(v) for v in item]
        return item

    text = json.dumps(swap(value))
    for token, raw in raws.items():
        text = text.replace(token, raw)
    return text.encode("ascii")


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth
