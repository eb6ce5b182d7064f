"""Domain operations of the planning app: each checks access itself and runs atomically.

HTML views, the API and Celery tasks call these; none of them repeats a rule.
"""

from planning.services.artifacts import (
    decide_artifact_need,
    mark_artifact,
    save_artifact_body,
    starting_text,
)
from planning.services.blocking import mark_blocking, overrule_comment
from planning.services.deadlines import pending_reviewers
from planning.services.meetings import (
    add_story,
    add_subtask,
    answer_concern,
    claim_story,
    hold_breakout,
    hold_kickoff,
    raise_concern,
    schedule_breakout,
    schedule_kickoff,
    update_story,
    update_subtask,
)
from planning.services.milestones import create_milestone, update_milestone
from planning.services.phases import (
    advance_phase,
    milestone_facts,
    move_back,
    readiness,
    transition,
)
from planning.services.projects import create_project, update_project
from planning.services.reviews import (
    add_comment,
    approval_facts,
    close_review,
    comment_places,
    current_revisions,
    dismiss_verdict,
    edit_comment,
    invite_guest,
    open_blocking_comments,
    open_review,
    place_of,
    schedule_review,
    set_comment_resolved,
    set_verdict,
    update_review,
)
from planning.services.unknowns import (
    add_unknown,
    comment_on_unknown,
    decide_deferral,
    record_vendor_contact,
    request_deferral,
    resolve_unknown,
    update_unknown,
)

__all__ = [
    "add_comment",
    "add_story",
    "add_subtask",
    "add_unknown",
    "advance_phase",
    "answer_concern",
    "approval_facts",
    "claim_story",
    "close_review",
    "comment_on_unknown",
    "comment_places",
    "create_milestone",
    "create_project",
    "current_revisions",
    "decide_artifact_need",
    "decide_deferral",
    "dismiss_verdict",
    "edit_comment",
    "hold_breakout",
    "hold_kickoff",
    "invite_guest",
    "mark_artifact",
    "mark_blocking",
    "milestone_facts",
    "move_back",
    "open_blocking_comments",
    "open_review",
    "overrule_comment",
    "pending_reviewers",
    "place_of",
    "raise_concern",
    "readiness",
    "record_vendor_contact",
    "request_deferral",
    "resolve_unknown",
    "save_artifact_body",
    "schedule_breakout",
    "schedule_kickoff",
    "schedule_review",
    "set_comment_resolved",
    "set_verdict",
    "starting_text",
    "transition",
    "update_milestone",
    "update_project",
    "update_review",
    "update_story",
    "update_subtask",
    "update_unknown",
]
