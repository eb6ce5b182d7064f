"""Every page, htmx endpoint, query parameter and form field, sent each class of malformed input.

The sweep is generated, not listed: the routes come from the URL resolver, the
query parameters from what the views read, the forms from the pages as each
persona sees them. Whatever is sent, the answer is never a 5xx, and a refusal
is a page or a fragment that says what is wrong, not a traceback.
"""

from __future__ import annotations

import logging

import pytest
from django.test import Client

from tests.fuzz import (
    EVERY_VALUE,
    PATH_VALUES,
    KeysRead,
    PageForm,
    Route,
    Sender,
    build_world,
    encode,
    forms_on,
    one_of_each_class,
    real_values,
    routes,
)

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

VIEWERS = ("lead", "engineer", "principal", "guest", "anonymous")


def _problem(response) -> str | None:
    """Why an answer is not a page or a fragment a person can read; None when it is."""
    if response is None or response.status_code >= 500:
        return None  # counted by the sender
    kind = response.get("Content-Type", "")
    if response.status_code in (204, 301, 302, 304, 405) or not kind.startswith("text/html"):
        return None
    page = response.content.decode("utf-8", "replace")
    if "Traceback" in page or "<" not in page:
        return f"{response.status_code}: not a page: {page[:200]!r}"
    explained = 'role="alert"' in page or "error-page" in page
    if response.status_code == 400 and "<html" in page and not explained:
        return f"400 without a message: {page[:300]!r}"
    return None


class Sweep:
    def __init__(self, world, monkeypatch) -> None:
        self.world = world
        self.client = Client()
        self.sender = Sender(self.client, "HTML fuzz (pages, query strings, forms)")
        self.keys = KeysRead(monkeypatch)
        self.unreadable: list[str] = []
        self.routes = list(routes(exclude=("admin/", "api/", "static/")))

    def as_viewer(self, name: str) -> None:
        if name == "anonymous":  # the login page's form, and every redirect to it
            self.client.logout()
        else:
            self.client.force_login(self.world.people[name])

    def send(self, method: str, path: str, body="", **extra):
        response = self.sender.send(method, path, body, **extra)
        problem = _problem(response)
        if problem:
            self.unreadable.append(f"{method} {path[:160]}: {problem}")
        return response

    def post(self, form: PageForm, fields, *, htmx=False):
        response = self.sender.post_form(form.action, fields, htmx=htmx)
        problem = _problem(response)
        if problem:
            self.unreadable.append(f"POST {form.action} {fields!r:.200}: {problem}")
        return response


def test_no_page_query_string_or_form_answers_a_server_error(monkeypatch, caplog):
    # Thousands of refusals: Django's warning for each 4xx is noise, and costs time.
    caplog.set_level(logging.ERROR, logger="django.request")
    world = build_world()
    sweep = Sweep(world, monkeypatch)
    forms: dict[tuple, tuple[str, PageForm]] = {}
    read_by: dict[Route, set[str]] = {}
    method_of: dict[Route, str] = {}

    # Every page as each persona, with real objects in the path; the forms it shows.
    for viewer in VIEWERS:
        sweep.as_viewer(viewer)
        for route in sweep.routes:
            path = route.path(real_values(world, route, viewer))
            sweep.keys.take()
            response = sweep.send("GET", path)
            read_by.setdefault(route, set()).update(sweep.keys.take())
            if response is not None and response.status_code == 405:
                method_of[route] = "POST"
            if response is not None and response.status_code == 200 and _is_html(response):
                for form in forms_on(path, response.content.decode()):
                    forms.setdefault((form.action, tuple(form.names)), (viewer, form))

    # Malformed values in every path parameter of every route, by the route's method.
    sweep.as_viewer("lead")
    for route in sweep.routes:
        real = real_values(world, route, "lead")
        for parameter, converter in route.parameters.items():
            for value in PATH_VALUES.get(converter, PATH_VALUES["str"]):
                sweep.send(method_of.get(route, "GET"), route.path({**real, parameter: value}))

    # Every query parameter a view reads, with every malformed value; for htmx too.
    for route, keys in read_by.items():
        if method_of.get(route) == "POST":
            continue
        path = route.path(real_values(world, route, "lead"))
        for key in sorted(keys):
            for value in EVERY_VALUE:
                sweep.send("GET", f"{path}?{key}={encode(value)}")
            sweep.send("GET", f"{path}?{key}=1&{key}=%00", headers={"HX-Request": "true"})

    # Every field of every form, as the persona who saw it: a value of each class in
    # each field (in turn, plain or as htmx sends it where the page uses htmx), the
    # longest text it takes, each class in all fields at once, and bodies too large.
    for turn, (_, (viewer, form)) in enumerate(sorted(forms.items(), key=lambda item: item[0])):
        sweep.as_viewer(viewer)
        sweep.keys.take()
        sweep.post(form, form.fields)
        read = sweep.keys.take() - set(form.names) - {"csrfmiddlewaretoken"}
        names = form.names + sorted(read)
        for place, name in enumerate(names):
            for value in one_of_each_class(turn + place) + _longest_valid(form, name):
                fields = [(n, v) for n, v in form.fields if n != name] + [(name, value)]
                sweep.post(form, fields, htmx=form.htmx and (turn + place) % 2 == 0)
        for value in one_of_each_class(turn) + one_of_each_class(turn + 1):
            sweep.post(form, [(name, value) for name in names])
        # Each choice the page offers, with every other field at its longest, then with a NUL:
        # the paths behind each choice (a rejection's note, a move back's) must hold them too.
        for name, options in form.choices.items():
            for option in options:
                longest = [(n, _longest_valid(form, n)[0]) for n in names if n not in form.choices]
                chosen = [(n, v) for n, v in form.fields if n in form.choices and n != name]
                sweep.post(form, [*chosen, *longest, (name, option)])
                sweep.post(form, [*chosen, *[(n, "\x00") for n, _ in longest], (name, option)])
        # Bodies past Django's limits: larger than a form may be, or with too many fields.
        sweep.post(form, [*form.fields, ((names or ["text"])[0], "x" * 3_000_000)])
        sweep.post(form, form.fields + [(f"extra{n}", "x") for n in range(1_001)])

    sweep.sender.report()
    sweep.sender.assert_no_server_error()
    assert not sweep.unreadable, "\n".join(sweep.unreadable[:30])
    assert len(forms) >= 30, sorted(forms)


def _is_html(response) -> bool:
    return response.get("Content-Type", "").startswith("text/html")


def _longest_valid(form: PageForm, name: str) -> list[str]:
    """Text as long as the field takes: what a derived text (a summary) must still hold."""
    limit = form.limits.get(name)
    return ["Ŵ" * limit] if limit else ["Ŵ" * 400]
