"""The API's JSON parser: DRF's, refusing what Python's json module cannot take.

JSON nested 100,000 deep made Python's json give up with a RecursionError,
which DRF does not catch (a 500). Here any body nested deeper than our shapes
need, or that is not UTF-8, is a 400 saying which. The body's size is
Django's limit for any request (DATA_UPLOAD_MAX_MEMORY_SIZE, checked when DRF
reads request.body), answered as a 400 by api/errors.py.
"""

from __future__ import annotations

from django.conf import settings
from rest_framework import parsers
from rest_framework.exceptions import ParseError
from rest_framework.utils import json

MAX_DEPTH = 32  # our deepest shape is 2: a list of ids in an object


def _deeper_than(data, limit: int) -> bool:
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > limit:
            return True
        items = value.values() if isinstance(value, dict) else value
        stack.extend((item, depth + 1) for item in items if isinstance(item, dict | list))
    return False


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = stream.read().decode(encoding)
        except (UnicodeDecodeError, LookupError):
            raise ParseError(f"The body is not {encoding} text.") from None
        try:
            data = json.loads(text, parse_constant=json.strict_constant if self.strict else None)
        except RecursionError:
            raise ParseError(f"The body is nested deeper than {MAX_DEPTH} levels.") from None
        except ValueError as error:
            raise ParseError(f"JSON parse error - {error}") from None
        if isinstance(data, dict | list) and _deeper_than(data, MAX_DEPTH):
            raise ParseError(f"The body is nested deeper than {MAX_DEPTH} levels.")
        return data
