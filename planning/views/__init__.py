from planning.views.artifacts import (
    artifact_diff,
    artifact_edit,
    artifact_history,
    artifact_need,
    artifact_preview,
    artifact_status,
)
from planning.views.milestones import (
    milestone_create,
    milestone_detail,
    milestone_edit,
    milestone_timeline,
    milestone_transition,
)
from planning.views.projects import (
    dashboard,
    project_create,
    project_detail,
    project_edit,
    project_list,
)

__all__ = [
    "artifact_diff",
    "artifact_edit",
    "artifact_history",
    "artifact_need",
    "artifact_preview",
    "artifact_status",
    "dashboard",
    "milestone_create",
    "milestone_detail",
    "milestone_edit",
    "milestone_timeline",
    "milestone_transition",
    "project_create",
    "project_detail",
    "project_edit",
    "project_list",
]
