"""Every operation of the OpenAPI schema, sent each class of malformed input.

`test_api_schema.py` runs schemathesis against a live server: it checks that
the answers conform to the schema, from what the schema allows. This file
sends what the schema does not allow, in process and on PostgreSQL: every body
property, query parameter and path parameter of every operation replaced in
turn by each malformed value of `tests.fuzz` (as the tech lead, who reaches
every operation but the principal engineer's decision), each choice with every
other property at its longest, and whole bodies that are no JSON object at
all; then Hypothesis combining them as a tech lead, an engineer, a guest and
the principal engineer. No answer is a 5xx, and every refusal has the error
shape of API.md.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass

import pytest
from django.test import Client
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from rest_framework.authtoken.models import Token

from tests.fuzz import (
    ANY_PATH_VALUE,
    PATH_VALUES,
    TEXT_CLASSES,
    Raw,
    Sender,
    World,
    build_world,
    encode,
    one_of_each_class,
    to_json,
)
from tests.fuzz import nested as nested_json

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

# What JSON carries besides text: numbers no column (or float) holds, other types.
JSON_ONLY = [
    Raw("1e400"),
    Raw("99999999999999999999"),
    Raw("1" + "0" * 400),
    2**63,
    2**31,
    32768,
    -1,
    0,
    1.5,
    True,
    None,
    [],
    {},
    [[["deep"]]],
    "x" * 10_000,
]
TEXT_VALUES = [v for values in TEXT_CLASSES.values() for v in values if isinstance(v, str)]
JSON_VALUES = TEXT_VALUES + JSON_ONLY


def json_values(turn: int) -> list:
    """A text of each class (a different one on each turn) and every JSON-only value."""
    texts = [v for v in one_of_each_class(turn) if isinstance(v, str)]
    return texts + JSON_ONLY


# Bodies that are not an object of properties at all.
BODIES = [
    nested_json(100_000),
    nested_json(1_000),
    nested_json(40),
    b'{"a":' * 5_000 + b"1" + b"}" * 5_000,
    b"[]",
    b'"text"',
    b"1",
    b"null",
    b"{",
    b"\xff\xfe{}",
    b"\xef\xbb\xbf{}",
    b'{"a": NaN}',
    b'{"\\ud800": 1}',
    b'{"' + b"x" * 3_000_000 + b'": 1}',
]

IF_MATCH = ['"1"', 'W/"1"', '"99999999999999999999"', '"1.5"', '"²"', "*", '""', "1"]

# Bodies name people and objects by id: a real one, so the bad value is the only fault.
PEOPLE_FIELDS = {"owner", "tech_lead", "principal_engineer", "assignee", "user"}


def _schema() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)


@dataclass(frozen=True)
class Operation:
    method: str
    path: str  # "/api/v1/milestones/{id}/"
    parameters: tuple  # ((name, where), …)
    body: dict | None  # the request body's schema, resolved
    components: dict

    @property
    def name(self) -> str:
        return f"{self.method.upper()} {self.path}"

    def resolve(self, schema: dict) -> dict:
        while "$ref" in schema:
            schema = self.components[schema["$ref"].rsplit("/", 1)[-1]]
        for combined in ("allOf", "oneOf", "anyOf"):
            if combined in schema:
                return self.resolve(schema[combined][0])
        return schema

    @property
    def properties(self) -> dict:
        if not self.body:
            return {}
        return {
            name: self.resolve(prop)
            for name, prop in self.body.get("properties", {}).items()
            if not prop.get("readOnly")
        }


@functools.cache
def operations() -> tuple[Operation, ...]:
    schema = _schema()
    components = schema["components"]["schemas"]
    found = []
    for path, methods in sorted(schema["paths"].items()):
        for method, operation in sorted(methods.items()):
            if path == "/api/v1/auth/token/":
                continue  # throttled after ten attempts; tests/test_api_basics.py covers it
            content = operation.get("requestBody", {}).get("content", {})
            body = content.get("application/json", {}).get("schema")
            if body and "$ref" in body:
                body = components[body["$ref"].rsplit("/", 1)[-1]]
            parameters = tuple((p["name"], p["in"]) for p in operation.get("parameters", []))
            found.append(Operation(method, path, parameters, body, components))
    return tuple(found)


def path_value(world: World, operation: Operation, name: str, persona: str) -> str:
    """The path parameter `name` naming the world's object of that kind."""
    if name == "kind":
        return "system_architecture"
    if name == "slug":
        return world.squad.slug
    if name == "user_id":
        return str(world.people["engineer"].pk)
    segments = operation.path.split("/")
    kind = segments[segments.index("{" + name + "}") - 1]
    objects = {
        "milestones": world.milestone,
        "projects": world.project,
        "reviews": world.objects["review"],
        "unknowns": world.objects["unknown"],
        "deferrals": world.objects["deferral"],
        "comments": world.objects["guest_comment" if persona == "guest" else "comment"],
        "verdicts": world.objects["verdict"],
        "concerns": world.objects["concern"],
        "stories": world.objects["story"],
        "subtasks": world.objects["subtask"],
        "notifications": world.objects[f"notification:{persona}"],
    }
    return str(objects[kind].pk)


def good_value(world: World, name: str, prop: dict):
    """A value the property takes, as long as it may be: texts built from it are longest."""
    if name in PEOPLE_FIELDS:
        return world.people["guest" if name == "user" else "engineer"].pk
    if name == "attendees":
        return [world.people["engineer"].pk]
    if name == "project":
        return world.project.pk
    if name == "parent":
        return world.objects["comment"].pk
    if name == "squad":
        return world.squad.slug
    if "enum" in prop:
        return next((v for v in prop["enum"] if v), prop["enum"][0])
    kind, form = prop.get("type"), prop.get("format")
    if kind == "integer":
        low, high = prop.get("minimum", 1), prop.get("maximum", 60)
        return max(low, min(high, 60))
    if kind == "boolean":
        return True
    if kind == "array":
        return []
    if form == "date-time":
        return "2031-05-01T10:00:00Z"
    if form == "date":
        return "2031-05-01"
    if form == "uri":
        return "https://tickets.example.com/T-1"
    if prop.get("pattern") or name == "slug":
        return "fuzzed-slug"
    return "Ŵ" * prop.get("maxLength", 400)


class Requests:
    """Requests to one operation, as one persona."""

    def __init__(self, world: World, operation: Operation, persona: str) -> None:
        self.world, self.operation, self.persona = world, operation, persona

    def path(self, **bad: str) -> str:
        path = self.operation.path
        for name, where in self.operation.parameters:
            if where == "path":
                value = bad.get(name) or path_value(self.world, self.operation, name, self.persona)
                path = path.replace("{" + name + "}", value)
        return path

    def good_body(self, *, every_property: bool = False) -> dict:
        required = set((self.operation.body or {}).get("required", []))
        return {
            name: good_value(self.world, name, prop)
            for name, prop in self.operation.properties.items()
            if every_property or name in required or self.operation.method == "patch"
        }

    def path_converters(self) -> dict[str, str]:
        """Each path parameter, and the converter of the URL pattern that reads it."""
        kinds = {"kind": "str", "slug": "slug"}
        return {
            name: kinds.get(name, "id")
            for name, where in self.operation.parameters
            if where == "path"
        }

    def query_names(self) -> list[str]:
        return [name for name, where in self.operation.parameters if where == "query"]

    def headers(self) -> dict:
        names = {name for name, where in self.operation.parameters if where == "header"}
        return {"If-Match": '"1"'} if "If-Match" in names else {}


def check(sender: Sender, response) -> None:
    """Not a 5xx (the sender counts those); a refusal has the error shape of API.md."""
    if response is None or response.status_code >= 500:
        return
    if response.status_code >= 400 and response["Content-Type"].startswith("application/json"):
        body = response.json()
        assert isinstance(body, dict) and body, (response.status_code, body)
        if response.status_code != 400:
            assert "detail" in body, (response.status_code, body)


def send(sender: Sender, method: str, path: str, body: bytes = b"", headers=None):
    response = sender.send(
        method.upper(), path, body, content_type="application/json", headers=headers or {}
    )
    check(sender, response)
    return response


@pytest.fixture
def quiet(caplog):
    """Thousands of refusals: Django's warning for each 4xx is noise, and costs time."""
    caplog.set_level(logging.ERROR, logger="django.request")


def _client(world: World, persona: str) -> Client:
    token = Token.objects.create(user=world.people[persona]).key
    return Client(headers={"Authorization": f"Token {token}"})


def test_every_operation_refuses_each_malformed_value_without_a_server_error(quiet):
    world = build_world()
    lead, principal = _client(world, "lead"), _client(world, "principal")
    sender = Sender(lead, "API fuzz, every value in every place (tech lead, principal)")
    for operation in operations():
        # The one who may act: the tech lead, but for a deferral's decision.
        persona = "principal" if operation.path.endswith("/decide/") else "lead"
        sender.client = principal if persona == "principal" else lead
        requests = Requests(world, operation, persona)
        method, headers = operation.method, requests.headers()
        for name, converter in requests.path_converters().items():
            for value in PATH_VALUES[converter]:
                send(sender, method, requests.path(**{name: value}), headers=headers)
        for name in requests.query_names():
            for value in TEXT_VALUES:
                send(sender, "get", f"{requests.path()}?{name}={encode(value)}")
        if "If-Match" in headers:
            for tag in IF_MATCH:
                body = to_json({"body": "New text"})
                send(sender, method, requests.path(), body, headers={"If-Match": tag})
        if operation.body is None:
            continue
        good = requests.good_body()
        send(sender, method, requests.path(), to_json(good), headers)
        # Each choice with every property at its longest: the path behind each must hold them.
        everything = requests.good_body(every_property=True)
        for name, prop in operation.properties.items():
            for choice in prop.get("enum", []):
                send(
                    sender, method, requests.path(), to_json({**everything, name: choice}), headers
                )
        for turn, name in enumerate(operation.properties):
            for value in json_values(turn):
                send(sender, method, requests.path(), to_json({**good, name: value}), headers)
        for body in BODIES:
            send(sender, method, requests.path(), body, headers)
    sender.report()
    sender.assert_no_server_error()


# Hypothesis: combinations, for each persona -----------------------------------------------

TEXT = st.text(
    st.characters(categories=("Cc", "Cs", "Co", "Cn", "Zs", "Zl", "Nd", "No", "Lo", "So")),
    max_size=12,
)
ANY_VALUE = st.one_of(
    st.sampled_from(JSON_VALUES),
    TEXT,
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(),
    st.lists(st.one_of(TEXT, st.integers()), max_size=3),
    st.dictionaries(TEXT, TEXT, max_size=2),
)


@st.composite
def requests_to(draw, requests: Requests):
    operation = requests.operation
    bad_path = {
        name: draw(st.sampled_from(ANY_PATH_VALUE))
        for name, where in operation.parameters
        if where == "path" and draw(st.integers(0, 9)) == 0
    }
    path = requests.path(**bad_path)
    names = requests.query_names()
    if names:
        chosen = draw(st.lists(st.sampled_from(names), max_size=3, unique=True))
        query = "&".join(
            f"{name}={encode(draw(TEXT | st.sampled_from(TEXT_VALUES)))}" for name in chosen
        )
        path = f"{path}?{query}" if query else path
    headers = requests.headers()
    if headers and draw(st.booleans()):
        headers = {"If-Match": draw(st.sampled_from(IF_MATCH) | TEXT.filter(str.isprintable))}
    if operation.body is None:
        return operation.method, path, b"", headers
    if draw(st.integers(0, 19)) == 0:
        return operation.method, path, draw(st.sampled_from(BODIES)), headers
    body = requests.good_body()
    fields = list(operation.properties) or ["unexpected"]
    for name in draw(st.lists(st.sampled_from(fields), min_size=1, max_size=3, unique=True)):
        body[name] = draw(ANY_VALUE)
    return operation.method, path, to_json(body), headers


EXAMPLES = {"lead": 20, "engineer": 8, "guest": 8, "principal": 5}


@pytest.mark.parametrize("persona", list(EXAMPLES))
def test_no_combination_of_malformed_values_is_a_server_error(persona, quiet):
    world = build_world()
    sender = Sender(_client(world, persona), f"API fuzz, Hypothesis ({persona})")
    for operation in operations():
        requests = Requests(world, operation, persona)

        @settings(
            max_examples=EXAMPLES[persona],
            derandomize=True,
            deadline=None,
            database=None,
            phases=(Phase.explicit, Phase.generate),
            suppress_health_check=list(HealthCheck),
        )
        @given(request=requests_to(requests))
        def no_server_error(request):
            method, path, body, headers = request
            response = send(sender, method, path, body, headers)
            assert response is not None and response.status_code < 500, sender.failures[-1:]

        no_server_error()
    sender.report()
    sender.assert_no_server_error()
