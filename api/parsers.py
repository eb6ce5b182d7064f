"""The API's JSON parser: DRF's, within limits, so that no body is a server error.

A body larger than a form may be (DATA_UPLOAD_MAX_MEMORY_SIZE), nested deeper
than any of our shapes needs, or not UTF-8 is refused with a 400 saying which,
before a serializer sees it. (Python's json gives up on deep nesting with a
RecursionError, which DRF does not catch.)
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
        if isinstance(value, dict | list):
            if depth > limit:
                return True
            items = value.values() if isinstance(value, dict) else value
            stack.extend((item, depth + 1) for item in items if isinstance(item, dict | list))
    return False


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        raw = stream.read() if limit is None else stream.read(limit + 1)
        if limit is not None and len(raw) > limit:
            raise ParseError(f"The body is larger than {limit // 1024} KB.")
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = raw.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            raise ParseError(f"The body is not {encoding} text.") from None
        try:
            data = json.loads(text, parse_constant=json.strict_constant if self.strict else None)
        except RecursionError:
            raise ParseError(f"The body is nested deeper than {MAX_DEPTH} levels.") from None
        except ValueError as error:
            raise ParseError(f"JSON parse error - {error}") from None
        if _deeper_than(data, MAX_DEPTH):
            raise ParseError(f"The body is nested deeper than {MAX_DEPTH} levels.")
        return data
