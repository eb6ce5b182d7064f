"""Cached page fragments: HTML kept under a key made of everything it shows.

A fragment's key holds the data it renders (or a version of it) and what of
the viewer it depends on, so an entry is never stale: a change makes a new
key, and old entries expire. Pages fetch all their fragments in one cache
round trip and render only the missing ones.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Hashable, Iterable
from typing import TypeVar

from django.core.cache import BaseCache, caches
from django.http import HttpRequest
from django.middleware.csrf import get_token
from django.template.loader import get_template
from django.utils.safestring import SafeString, mark_safe

Name = TypeVar("Name", bound=Hashable)
SECONDS = 600


def store() -> BaseCache:
    """The cache of fragments and pages (settings.CACHES["fragments"])."""
    return caches["fragments"]


def fragment_key(kind: str, *parts: object) -> str:
    """A short cache key for a fragment of `kind` that depends on `parts` (their repr)."""
    digest = hashlib.blake2b(repr(parts).encode(), digest_size=20).hexdigest()
    return f"fragment:{kind}:{digest}"


def cached_fragments(
    keys: dict[Name, str], render: Callable[[list[Name]], dict[Name, str]]
) -> dict[Name, SafeString]:
    """The HTML of each fragment in `keys` (name → key); `render(missing names)` makes the rest.

    `render` must return HTML made by templates, which escape what people wrote.
    """
    found = store().get_many(list(keys.values()))
    missing = [name for name, key in keys.items() if key not in found]
    if missing:
        fresh = render(missing)
        store().set_many({keys[name]: fresh[name] for name in missing}, SECONDS)
        found.update({keys[name]: fresh[name] for name in missing})
    return {name: mark_safe(found[key]) for name, key in keys.items()}  # templates' output


def row_state(rows: Iterable, fields: list[str], *extra: str) -> list[tuple]:
    """The loaded field values and `extra` attributes of each row, for a fragment key."""
    return [
        tuple(row.__dict__.get(name) for name in fields) + tuple(getattr(row, a) for a in extra)
        for row in rows
    ]


def csrf_secret(request: HttpRequest) -> str:
    """The viewer's CSRF secret, for the key of a fragment holding forms.

    The forms' tokens are made from it: a session with another secret must
    not be given forms whose tokens fail.
    """
    get_token(request)  # makes sure there is one
    return request.META.get("CSRF_COOKIE", "")


def page_content(
    request: HttpRequest,
    template_name: str,
    context: Callable[[], dict],
    fingerprint: str | None,
    *key_parts: object,
) -> SafeString:
    """A page's content rendered from `template_name`, cached for this viewer while the
    `fingerprint` of its rows (planning.state) and the `key_parts` stay the same.

    The viewer is in the key (what they may do, and their CSRF secret, from
    which the forms' tokens are made), and so are people's names. Without a
    fingerprint (not on PostgreSQL) the content is rendered every time.
    """
    from accounts.models import names_version

    def render(_missing: list[str] | None = None) -> dict[str, str]:
        full = {**context(), "user": request.user, "csrf_token": get_token(request)}
        return {"content": get_template(template_name).render(full)}

    if fingerprint is None:
        return mark_safe(render()["content"])  # a template's output
    key = fragment_key(
        template_name, fingerprint, names_version(), request.user.pk, csrf_secret(request),
        *key_parts,
    )  # fmt: skip
    return cached_fragments({"content": key}, render)["content"]
