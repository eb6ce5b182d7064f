"""Refusals of planning operations that carry more than a sentence."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from planning.models import Artifact
    from planning.workflow import Unmet


class GuardRefused(Exception):
    """A phase move was refused; `unmet` lists what is still missing."""

    def __init__(self, message: str, unmet: list[Unmet]) -> None:
        super().__init__(message)
        self.message = message
        self.unmet = unmet


class EditConflict(Exception):
    """An artifact edit was based on a revision that is no longer the latest.

    Carries the text the user sent, so that nothing they typed is lost.
    """

    def __init__(self, current: Artifact, attempted_body: str, base_revision: int) -> None:
        super().__init__(
            f"{current.get_kind_display()} changed since revision {base_revision}; "
            f"it is now at revision {current.revision}."
        )
        self.current = current
        self.attempted_body = attempted_body
        self.base_revision = base_revision


class DeferralConflict(Exception):
    """A deferral cannot be requested or decided in the state it is in (one pending at a time)."""
