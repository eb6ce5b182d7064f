"""The dashboard's part of design reviews: what a reviewer still owes (planning/services/deadlines.py)."""

from __future__ import annotations

from django import template

from planning.models import DesignReview
from planning.services.deadlines import reviews_awaiting_verdict

register = template.Library()


@register.simple_tag
def awaiting_my_verdict(user) -> list[DesignReview]:
    return reviews_awaiting_verdict(user)
