"""Editing artifacts: bodies with revisions and optimistic concurrency, status and need."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from planning.exceptions import EditConflict
from planning.models import Artifact, ArtifactRevision
from planning.services.activity import record
from planning.services.locks import lock_milestone
from planning.services.reviews import verdicts_made_stale
from planning.workflow import ArtifactKind, ArtifactStatus
from squads.access import Action, can, require

if TYPE_CHECKING:
    from accounts.models import User

TEMPLATES: dict[str, str] = {
    ArtifactKind.SYSTEM_ARCHITECTURE: """\
Only the systems this milestone touches.

```mermaid
flowchart LR
  user([User]) --> web[Web app]
  web --> api[Our service]
  api --> db[(Database)]
  api --> vendor[[Vendor API]]
```
""",
    ArtifactKind.APPLICATION_ARCHITECTURE: """\
The components we build or change, and how data flows between them.

```mermaid
flowchart TB
  subgraph service[Our service]
    handler[HTTP handlers] --> logic[Domain logic]
    logic --> repo[Repository]
  end
  repo --> db[(Database)]
```
""",
    ArtifactKind.PROTOCOL_SPECS: """\
## Endpoints and messages

| channel | request | response |
| --- | --- | --- |
| `POST /...` | | |

## Open questions
""",
    ArtifactKind.INFRASTRUCTURE_DIAGRAM: """\
```mermaid
flowchart LR
  lb[Load balancer] --> app1[App] & app2[App]
  app1 & app2 --> db[(Primary DB)]
```
""",
    ArtifactKind.SEQUENCE_DIAGRAM: """\
```mermaid
sequenceDiagram
  participant C as Client
  participant S as Service
  C->>S: request
  S-->>C: response
```
""",
    ArtifactKind.FLOW_CHART: """\
```mermaid
flowchart TD
  start([Start]) --> check{Condition?}
  check -- yes --> a[Do this]
  check -- no --> b[Do that]
```
""",
    ArtifactKind.DESIGN_SPEC: """\
## Goal

## Scope and non-goals

## Design

## Data model changes

## Rollout and testing
""",
}


EMPTY_READY = {"body": "A ready artifact cannot be emptied; move it back to draft first."}


def artifact_template(kind: str) -> str:
    """The text an artifact of this kind starts from."""
    return TEMPLATES.get(kind, "")


def starting_text(artifact: Artifact) -> str:
    """What the editor shows: the body, or the kind's template while there is none."""
    return artifact.body or artifact_template(artifact.kind)


def save_artifact_body(
    actor: User, artifact: Artifact, *, body: str, base_revision: int
) -> Artifact:
    """Save a new body as the next revision, unless someone saved since `base_revision`.

    The update is conditional on the revision the user started from, so of two
    saves from the same revision exactly one wins; the other raises
    EditConflict carrying its text.
    """
    require(actor, Action.EDIT_ARTIFACT, artifact)
    body = body.replace("\r\n", "\n")
    if artifact.is_ready and not body.strip():
        raise ValidationError(EMPTY_READY)
    # Who may change a ready artifact: asked once here, enforced again on the stored row below.
    may_change_ready = can(actor, Action.MARK_ARTIFACT, artifact)
    with transaction.atomic():
        changes = {
            "body": body,
            "revision": F("revision") + 1,
            "updated_by": actor,
            "updated_at": timezone.now(),
        }
        if body.strip() and artifact.status == ArtifactStatus.MISSING:
            changes["status"] = ArtifactStatus.DRAFT
        current = Artifact.objects.filter(pk=artifact.pk).values_list("body", "revision").get()
        if current == (body, base_revision):
            return artifact  # nothing changed: no empty revision
        # The rules on status hold for the stored row, not only the copy the
        # caller loaded: it may have been marked ready since.
        stored = Q(pk=artifact.pk, revision=base_revision)
        if not may_change_ready:
            stored &= ~Q(status=ArtifactStatus.READY)
        if not body.strip():
            stored &= ~Q(status=ArtifactStatus.READY)
        won = Artifact.objects.filter(stored).update(**changes)
        if not won:
            fresh = _fresh(artifact)
            if fresh.revision == base_revision and fresh.is_ready:
                if not body.strip():
                    raise ValidationError(EMPTY_READY)
                raise PermissionDenied(
                    "The artifact was marked ready meanwhile; only the milestone's tech lead changes it now."
                )
            raise EditConflict(fresh, body, base_revision)
        ArtifactRevision.objects.create(
            artifact_id=artifact.pk, number=base_revision + 1, body=body, author=actor
        )
        # Verdicts given on the revision this one replaces are stale now (DESIGN §8).
        verdicts_made_stale(artifact, base_revision, base_revision + 1, actor)
        if changes.get("status") == ArtifactStatus.DRAFT:
            record(
                artifact.milestone,
                actor,
                "artifact_started",
                f"{actor.display_name} started the {artifact.get_kind_display().lower()}.",
                kind=artifact.kind,
            )
    return _fresh(artifact)


def _fresh(artifact: Artifact) -> Artifact:
    fresh = Artifact.objects.select_related("updated_by").get(pk=artifact.pk)
    fresh.milestone = artifact.milestone
    return fresh


def _lock(artifact: Artifact) -> Artifact:
    """The artifact row, locked after its milestone's and read afresh, with that milestone.

    Status and need are what the phase guards read, so they change under the
    milestone lock that a phase move holds while it reads them.
    """
    milestone = lock_milestone(artifact.milestone_id)
    locked = Artifact.objects.select_for_update(no_key=True).get(pk=artifact.pk)
    locked.milestone = milestone
    return locked


@transaction.atomic
def mark_artifact(actor: User, artifact: Artifact, status: str) -> Artifact:
    """Mark an artifact ready, or move it back to draft (the milestone's tech lead)."""
    artifact = _lock(artifact)
    require(actor, Action.MARK_ARTIFACT, artifact)
    title = artifact.get_kind_display()
    if status == ArtifactStatus.READY:
        if not artifact.body.strip():
            raise ValidationError("Write something before marking it ready: the artifact is empty.")
        if artifact.is_waived:
            raise ValidationError(
                f"The {title.lower()} is marked not needed; mark it needed first."
            )
    elif status != ArtifactStatus.DRAFT:
        raise ValidationError(f"{status!r} is not a status you can set.")
    if artifact.status == status:
        return artifact
    artifact.status = status
    artifact.updated_by = actor
    artifact.save(update_fields=["status", "updated_by", "updated_at"])
    title = title.lower()
    if status == ArtifactStatus.READY:
        verb, summary = "artifact_ready", f"{actor.display_name} marked the {title} ready."
    else:
        verb, summary = "artifact_draft", f"{actor.display_name} moved the {title} back to draft."
    record(artifact.milestone, actor, verb, summary, kind=artifact.kind)
    return artifact


@transaction.atomic
def decide_artifact_need(
    actor: User, artifact: Artifact, *, needed: bool, reason: str = ""
) -> Artifact:
    """Decide whether an on-need diagram is needed; not needed takes a reason."""
    artifact = _lock(artifact)
    require(actor, Action.MARK_ARTIFACT, artifact)
    if not artifact.is_on_need:
        raise ValidationError(f"The {artifact.get_kind_display().lower()} is always required.")
    reason = reason.strip()
    if not needed and not reason:
        raise ValidationError({"not_needed_reason": "Say why it is not needed."})
    artifact.needed = needed
    artifact.not_needed_reason = "" if needed else reason
    if not needed and artifact.status == ArtifactStatus.READY:
        artifact.status = ArtifactStatus.DRAFT if artifact.body.strip() else ArtifactStatus.MISSING
    artifact.updated_by = actor
    artifact.save(
        update_fields=["needed", "not_needed_reason", "status", "updated_by", "updated_at"]
    )
    title = artifact.get_kind_display().lower()
    summary = (
        f"{actor.display_name} decided the {title} is needed."
        if needed
        else f"{actor.display_name} decided the {title} is not needed: {reason}"
    )
    record(
        artifact.milestone,
        actor,
        "artifact_need_decided",
        summary,
        kind=artifact.kind,
        needed=needed,
        reason=artifact.not_needed_reason,
    )
    return artifact
