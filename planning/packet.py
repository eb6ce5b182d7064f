"""The design packet: a milestone's whole plan as one Markdown document."""

from __future__ import annotations

from django.utils import timezone

from planning.models import Milestone
from planning.services.decisions import decisions
from planning.workflow import ArtifactStatus, Phase


def _section(title: str, level: int = 2) -> str:
    return f"{'#' * level} {title}\n"


def design_packet(milestone: Milestone) -> str:
    """Goal, artifacts with their diagrams, unknowns, the review, kick-off concerns, stories."""
    project = milestone.project
    out = [
        f"# {project.name} · M{milestone.number} {milestone.title}\n",
        f"- Squad: {project.squad.name}",
        f"- Tech lead: {milestone.tech_lead.display_name}",
        f"- Principal engineer: {project.principal_engineer.display_name if project.principal_engineer else 'none'}",
        f"- Phase: {Phase(milestone.phase).label}",
        f"- Due: {milestone.due_on:%Y-%m-%d}" if milestone.due_on else "- Due: not set",
        f"- Exported: {timezone.localtime():%Y-%m-%d %H:%M %Z}\n",
        _section("Goal"),
        (milestone.goal.strip() or "_No goal written._") + "\n",
        _section("Design artifacts"),
    ]
    for artifact in milestone.artifacts.order_by("id"):
        out.append(_section(artifact.get_kind_display(), 3))
        if artifact.is_on_need and artifact.needed is False:
            out.append(f"_Not needed: {artifact.not_needed_reason}_\n")
            continue
        status = ArtifactStatus(artifact.status).label.lower()
        out.append(f"_Status: {status}, revision {artifact.revision}._\n")
        out.append((artifact.body.strip() or "_Nothing written._") + "\n")

    out.append(_section("Unknowns"))
    unknowns = list(
        milestone.unknowns.select_related(
            "owner", "from_verdict__reviewer", "from_verdict__review"
        ).prefetch_related("deferrals__decided_by")
    )
    if not unknowns:
        out.append("_No unknowns were recorded._\n")
    for unknown in unknowns:
        owner = unknown.owner.display_name if unknown.owner else "no owner"
        out.append(
            f"- **{unknown.key} {unknown.title}** ({unknown.get_priority_display().lower()}, {unknown.get_status_display().lower()}, {owner})"
        )
        if unknown.from_verdict:
            out.append(
                f"  - Condition of {unknown.from_verdict.reviewer.display_name}'s approval "
                f"in design review {unknown.from_verdict.review.round}"
            )
        if unknown.resolution:
            out.append(f"  - Resolution: {unknown.resolution}")
        for deferral in unknown.deferrals.all():
            decided = (
                f", {deferral.get_status_display().lower()} by {deferral.decided_by.display_name}"
                if deferral.decided_by
                else ", pending"
            )
            note = f": {deferral.decision_note}" if deferral.decision_note else ""
            out.append(
                f"  - Deferral until {deferral.defer_until} ({deferral.reason}){decided}{note}"
            )
    out.append("")

    out.append(_section("Design review"))
    reviews = list(milestone.reviews.prefetch_related("verdicts__reviewer").order_by("round"))
    if not reviews:
        out.append("_No review yet._\n")
    for review in reviews:
        outcome = review.get_outcome_display() if review.outcome else review.get_status_display()
        out.append(
            f"- Round {review.round}, {timezone.localtime(review.scheduled_for):%Y-%m-%d %H:%M}: **{outcome}**"
        )
        for verdict in review.verdicts.all():
            counted = "" if verdict.counted else " (guest, not counted)"
            note = f": {verdict.note}" if verdict.note else ""
            out.append(
                f"  - {verdict.reviewer.display_name}{counted}: {verdict.get_verdict_display().lower()}{note}"
            )
    out.append("")

    out.append(_section("Decision log"))
    log = decisions(milestone)
    if not log:
        out.append("_No decisions yet._\n")
    for decision in log:
        out.append(
            f"- {timezone.localtime(decision.at):%Y-%m-%d %H:%M} · **{decision.label}**: {decision.summary}"
        )
        if decision.note:
            out.append(f"  - {' '.join(decision.note.split())}")
        for v in decision.verdicts:
            stale = " (stale)" if v.get("stale") else ""
            out.append(f"  - {v.get('reviewer', '')} {v['label']}{stale}")
    out.append("")

    out.append(_section("Kick-off concerns and questions"))
    concerns = list(milestone.concerns.select_related("raised_by"))
    if not concerns:
        out.append("_None were raised._\n")
    for concern in concerns:
        who = concern.raised_by.display_name if concern.raised_by else "someone"
        out.append(f"- {concern.get_kind_display()} from {who}: {concern.text}")
        out.append(f"  - Answer: {concern.answer}" if concern.answer else "  - _Not answered yet._")
    out.append("")

    out.append(_section("Stories"))
    stories = list(
        milestone.stories.select_related("assignee").prefetch_related("subtasks__assignee")
    )
    if not stories:
        out.append("_No stories yet._\n")
    for story in stories:
        who = f", {story.assignee.display_name}" if story.assignee else ""
        ticket = f" — {story.ticket_url}" if story.ticket_url else ""
        out.append(
            f"- **{story.key} {story.title}** ({story.get_status_display().lower()}{who}){ticket}"
        )
        for subtask in story.subtasks.all():
            mark = "x" if subtask.done else " "
            assignee = f" ({subtask.assignee.display_name})" if subtask.assignee else ""
            out.append(f"  - [{mark}] {subtask.title}{assignee}")
    out.append("")
    return "\n".join(out)
