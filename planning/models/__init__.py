from planning.models.milestone import Activity, Artifact, ArtifactRevision, Milestone
from planning.models.notifications import Notification
from planning.models.project import Project
from planning.models.reviews import DesignReview
from planning.models.unknowns import DeferralRequest, Unknown, UnknownComment

__all__ = [
    "Activity",
    "Artifact",
    "ArtifactRevision",
    "DeferralRequest",
    "DesignReview",
    "Milestone",
    "Notification",
    "Project",
    "Unknown",
    "UnknownComment",
]
