"""What the site takes from people: text, ids, times and where to go next.

One rule for each kind of value, shared by the HTML forms, the htmx endpoints
and the API, so that no malformed value reaches the database (where it would
fail as a server error) and every refusal says what is wrong with the value.
"""

from __future__ import annotations

import re
from datetime import datetime

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import ProhibitNullCharactersValidator
from django.http import HttpRequest
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.deconstruct import deconstructible
from django.utils.http import url_has_allowed_host_and_scheme

# Ids are bigints: a larger number names no row, whatever a URL or a body lets through.
LARGEST_ID = 2**63 - 1

# Text -------------------------------------------------------------------------------
# NUL and unpaired surrogates cannot be stored (PostgreSQL refuses NUL, UTF-8 has no
# surrogates); other control characters are never typed, only pasted by accident or
# sent on purpose. All are refused, with the character named, rather than stripped:
# what is saved is exactly what was sent. Multi-line text keeps its tabs and line breaks.
_NOT_IN_TEXT = re.compile("[\x00\ud800-\udfff]")
_CONTROL_IN_LINE = re.compile("[\x00-\x1f\x7f-\x9f]")
_CONTROL_IN_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def text_problem(value: str, *, multiline: bool = False) -> str | None:
    """Why `value` is not text a person could have typed; None when it is."""
    found = _NOT_IN_TEXT.search(value)
    if found:
        if found.group() == "\x00":
            return "Remove the null character (U+0000): text cannot hold it."
        return f"Remove the unpaired surrogate (U+{ord(found.group()):04X}): it is not a character."
    found = (_CONTROL_IN_TEXT if multiline else _CONTROL_IN_LINE).search(value)
    if found:
        if found.group() in "\r\n":
            return "Keep this to one line: remove the line break."
        return f"Remove the control character U+{ord(found.group()):04X}: text cannot hold it."
    return None


@deconstructible
class PlainText:
    """The text rule as a form field's validator (serializers apply it in
    api.serializers.base, to every field at once)."""

    code = "not_text"

    def __init__(self, *, multiline: bool = False) -> None:
        self.multiline = multiline

    def __call__(self, value) -> None:
        if isinstance(value, str):
            problem = text_problem(value, multiline=self.multiline)
            if problem:
                raise ValidationError(problem, code=self.code)

    def __eq__(self, other) -> bool:
        return isinstance(other, PlainText) and other.multiline == self.multiline


def apply_text_rule(field: forms.Field) -> None:
    """Give a form field the text rule (in place of Django's NUL check, which it covers)."""
    if isinstance(field, forms.CharField) and not isinstance(field.widget, forms.PasswordInput):
        multiline = isinstance(field.widget, forms.Textarea)
        field.validators = [
            v
            for v in field.validators
            if not isinstance(v, ProhibitNullCharactersValidator | PlainText)
        ] + [PlainText(multiline=multiline)]


class TextRuleMixin:
    """For every form of the site: each of its text fields follows the text rule, multi-line
    ones (a Textarea) keeping their tabs and line breaks."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():  # type: ignore[attr-defined]
            apply_text_rule(field)


# Ids --------------------------------------------------------------------------------


def parse_id(value: object) -> int | None:
    """The row id `value` names (an int, or a string of ASCII digits), or None when it can
    name no row: not a whole number (1.5, NaN, 1e309, ², abc), below 1 or past a bigint."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        value = value.strip()
        if not (value.isascii() and value.isdigit()) or len(value) > 19:
            return None
        value = int(value)
    if isinstance(value, int) and 0 < value <= LARGEST_ID:
        return value
    return None


class IdField(forms.IntegerField):
    """A row id typed into a form or a query string: a whole number within the ids' range."""

    default_error_messages = {"invalid": "Give an id: a whole number."}

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", LARGEST_ID)
        super().__init__(**kwargs)

    def to_python(self, value):
        if value in self.empty_values:
            return None
        pk = parse_id(value)
        if pk is None:
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        return pk


# Times ------------------------------------------------------------------------------


def parse_time(value: str) -> datetime | None:
    """An ISO 8601 time from a query string, made aware in the current time zone; None for "".

    Raises ValueError, with a sentence for people, for a malformed or impossible
    time (2024-02-30T10:00).
    """
    if not value:
        return None
    problem = ValueError(f"“{value[:40]}” is not a time, e.g. 2024-05-01T10:00:00+00:00.")
    if text_problem(value) or len(value) > 64:
        raise problem
    try:
        when = parse_datetime(value)
    except ValueError:
        raise problem from None
    if when is None:
        raise problem
    if timezone.is_naive(when):
        try:
            when = timezone.make_aware(when)
        except (ValueError, OverflowError):
            raise problem from None
    return when


# Where to go next -------------------------------------------------------------------


def safe_next(request: HttpRequest, url: str | None) -> str | None:
    """`url` when it is an address on this site a browser may be sent to; None otherwise.

    A path ("/…") or a full URL of this host. A bare word is refused: `redirect()`
    would look it up as a view's name. So is any whitespace or control character.
    """
    if not url or len(url) > 2000 or text_problem(url) or any(c.isspace() for c in url):
        return None
    if not url.startswith("/") and not url.lower().startswith(("http://", "https://")):
        return None
    if url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return url
    return None


class Form(TextRuleMixin, forms.Form):
    """The site's forms: Django's, with the text rule on every text field."""


class ModelForm(TextRuleMixin, forms.ModelForm):
    """The site's model forms: Django's, with the text rule on every text field."""
