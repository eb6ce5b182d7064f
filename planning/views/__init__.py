from planning.views.artifacts import (
    artifact_diff,
    artifact_edit,
    artifact_history,
    artifact_need,
    artifact_preview,
    artifact_status,
)
from planning.views.inbox import (
    inbox,
    notification_open,
    notification_read,
    notifications_read_all,
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
from planning.views.unknowns import (
    approvals,
    deferral_decide,
    deferral_request,
    unknown_comment,
    unknown_detail,
    unknown_edit,
    unknown_list,
    unknown_resolve,
)

__all__ = [
    "approvals",
    "artifact_diff",
    "artifact_edit",
    "artifact_history",
    "artifact_need",
    "artifact_preview",
    "artifact_status",
    "dashboard",
    "deferral_decide",
    "deferral_request",
    "inbox",
    "milestone_create",
    "milestone_detail",
    "milestone_edit",
    "milestone_timeline",
    "milestone_transition",
    "notification_open",
    "notification_read",
    "notifications_read_all",
    "project_create",
    "project_detail",
    "project_edit",
    "project_list",
    "unknown_comment",
    "unknown_detail",
    "unknown_edit",
    "unknown_list",
    "unknown_resolve",
]
