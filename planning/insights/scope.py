"""Whose milestones an insights page counts: a squad's, or those a principal engineer oversees."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q


@dataclass(frozen=True)
class Scope:
    """Milestones matching every lookup (paths from a milestone), optionally of one project."""

    lookups: tuple[tuple[str, int], ...]

    @classmethod
    def squad(cls, squad_id: int, project_id: int | None = None) -> Scope:
        return cls._with_project((("project__squad_id", squad_id),), project_id)

    @classmethod
    def principal(cls, user_id: int, project_id: int | None = None) -> Scope:
        return cls._with_project((("project__principal_engineer_id", user_id),), project_id)

    @classmethod
    def _with_project(cls, lookups: tuple[tuple[str, int], ...], project_id: int | None) -> Scope:
        if project_id is not None:
            lookups = (*lookups, ("project_id", project_id))
        return cls(lookups)

    def q(self, to_milestone: str = "") -> Q:
        """The condition on rows that reach a milestone through `to_milestone` ("" for milestones)."""
        prefix = f"{to_milestone}__" if to_milestone else ""
        return Q(**{prefix + path: value for path, value in self.lookups})
