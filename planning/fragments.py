"""Cached pages and their fragments: HTML kept under a key made of everything it shows.

A key holds the fingerprint of the rows a page shows (planning.state), or
the values a fragment renders, and what of the viewer it depends on, so an
entry is never stale: a change makes a new key, and old entries expire.
Every key is made by `page_key`. Pages fetch all their fragments in one
cache round trip and render only the missing ones.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Hashable, Iterable
from typing import TypeVar

from django.contrib.auth import get_user_model
from django.core.cache import BaseCache, caches
from django.http import HttpRequest
from django.middleware.csrf import get_token
from django.template.loader import get_template
from django.utils.safestring import SafeString, mark_safe

from planning.state import CachedPage

Name = TypeVar("Name", bound=Hashable)
SECONDS = 600


def store() -> BaseCache:
    """The cache of fragments and pages (settings.CACHES["fragments"])."""
    return caches["fragments"]


def page_key(
    page: CachedPage, fingerprint: object, *, viewer: HttpRequest | None, extra: tuple = ()
) -> str | None:
    """The cache key of a page or fragment: the one recipe every cached part uses.

    It holds the page's name, the `fingerprint` of what it shows, the viewer
    and the `extra` parts it depends on besides (the day, a query string).
    The viewer is the request when the content depends on who views it: their
    user id, since it shows what they may do, and their CSRF secret, since its
    forms carry tokens made from it; None when every viewer gets the same.
    Without a fingerprint (not on PostgreSQL) there is no key: the content is
    rendered every time.
    """
    if fingerprint is None:
        return None
    who = (viewer.user.pk, csrf_secret(viewer)) if viewer is not None else None
    digest = hashlib.blake2b(repr((fingerprint, who, extra)).encode(), digest_size=20)
    return f"fragment:{page.name}:{digest.hexdigest()}"


def cached_fragments(
    keys: dict[Name, str | None], render: Callable[[list[Name]], dict[Name, str]]
) -> dict[Name, SafeString]:
    """The HTML of each fragment in `keys` (name → key); `render(missing names)` makes the rest.

    A fragment without a key is rendered and not kept. `render` must return
    HTML made by templates, which escape what people wrote.
    """
    found = store().get_many([key for key in keys.values() if key])
    html = {name: found[key] for name, key in keys.items() if key in found}
    missing = [name for name in keys if name not in html]
    if missing:
        fresh = render(missing)
        kept = {keys[name]: fresh[name] for name in missing if keys[name]}
        if kept:
            store().set_many(kept, SECONDS)
        html.update({name: fresh[name] for name in missing})
    return {name: mark_safe(html[name]) for name in keys}  # templates' output


def row_state(rows: Iterable, fields: list[str], *extra: str) -> list[tuple]:
    """The loaded field values and `extra` attributes of each row, for a fragment key, and
    what was loaded with it of each person it points at (their name)."""
    return [
        tuple(row.__dict__.get(name) for name in fields)
        + tuple(getattr(row, a) for a in extra)
        + _people_loaded(row)
        for row in rows
    ]


def _people_loaded(row) -> tuple:
    people = get_user_model()
    return tuple(
        (field.name, _loaded(field.get_cached_value(row)))
        for field in row._meta.concrete_fields
        if field.related_model is people and field.is_cached(row)
    )


def _loaded(person) -> tuple | None:
    if person is None:
        return None
    return tuple(sorted((k, v) for k, v in vars(person).items() if not k.startswith("_")))


def csrf_secret(request: HttpRequest) -> str:
    """The viewer's CSRF secret, for the key of a fragment holding forms.

    The forms' tokens are made from it: a session with another secret must
    not be given forms whose tokens fail.
    """
    get_token(request)  # makes sure there is one
    return request.META.get("CSRF_COOKIE", "")


def page_content(
    request: HttpRequest,
    page: CachedPage,
    obj: object,
    template_name: str,
    context: Callable[[], dict],
    *extra: object,
) -> SafeString:
    """The content of `page` about `obj`, rendered from `template_name`, cached for this
    viewer while the fingerprint of what it shows and the `extra` parts stay the same."""

    def render(_missing: list[str]) -> dict[str, str]:
        full = {**context(), "user": request.user, "csrf_token": get_token(request)}
        return {"content": get_template(template_name).render(full)}

    key = page_key(page, page.fingerprint(obj), viewer=request, extra=extra)
    return cached_fragments({"content": key}, render)["content"]
