from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.paginator import Page
from django.core.paginator import Paginator as DjangoPaginator
from rest_framework.pagination import PageNumberPagination

# A page of rows from an offset, at most a limit, with how many there are in all.
Fetch = Callable[[int, int], tuple[list[Any], int]]


class Pagination(PageNumberPagination):
    """`?page=` and `?page_size=` (at most 200), answered as {count, next, previous, results}."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


class Counted:
    """Rows that a query fetches a page at a time together with their total.

    What `CountedPaginator` pages instead of a queryset: the page and the count
    in one query rather than two.
    """

    def __init__(self, fetch: Fetch) -> None:
        self.fetch = fetch
        self.fetched: tuple[int, list[Any]] | None = None

    def window(self, offset: int, limit: int) -> tuple[list[Any], int]:
        rows, total = self.fetch(offset, limit)
        self.fetched = (offset, rows)
        return rows, total

    def count(self) -> int:
        # Asked only for a page past the end, or for `?page=last`.
        return self.fetch(0, 1)[1]

    def __getitem__(self, wanted: slice) -> list[Any]:
        if self.fetched is not None and self.fetched[0] == wanted.start:
            return self.fetched[1]
        return self.window(wanted.start, wanted.stop - wanted.start)[0]


class CountedPaginator(DjangoPaginator):
    """Django's paginator, counting `Counted` rows from the page's own query."""

    def page(self, number: Any) -> Page:
        wanted = str(number)
        if isinstance(self.object_list, Counted) and _plain_page_number(wanted):
            first = (int(wanted) - 1) * self.per_page
            rows, total = self.object_list.window(first, self.per_page)
            if rows or first == 0:  # otherwise past the end: Django's own count and message
                self.__dict__["count"] = total
        return super().page(number)


def _plain_page_number(text: str) -> bool:
    """1, 2, …: anything else (`0`, ` 2`, a huge number) takes Django's way to its answer."""
    return text.isdecimal() and len(text) < 7 and int(text) > 0


class CountedPagination(Pagination):
    """Pagination for a list that may hand over `Counted` rows (a queryset works too)."""

    django_paginator_class = CountedPaginator
