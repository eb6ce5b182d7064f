"""Domain operations of the planning app: each checks access itself and runs atomically.

HTML views, the API and Celery tasks call these; none of them repeats a rule.
"""

from planning.services.artifacts import (
    decide_artifact_need,
    mark_artifact,
    save_artifact_body,
    starting_text,
)
from planning.services.milestones import create_milestone, update_milestone
from planning.services.phases import (
    advance_phase,
    milestone_facts,
    move_back,
    phase_changed,
    readiness,
    transition,
)
from planning.services.projects import create_project, update_project
from planning.services.unknowns import (
    add_unknown,
    comment_on_unknown,
    decide_deferral,
    request_deferral,
    resolve_unknown,
    update_unknown,
)

__all__ = [
    "add_unknown",
    "advance_phase",
    "comment_on_unknown",
    "create_milestone",
    "create_project",
    "decide_artifact_need",
    "decide_deferral",
    "mark_artifact",
    "milestone_facts",
    "move_back",
    "phase_changed",
    "readiness",
    "request_deferral",
    "resolve_unknown",
    "save_artifact_body",
    "starting_text",
    "transition",
    "update_milestone",
    "update_project",
    "update_unknown",
]
