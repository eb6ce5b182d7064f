from planning.models.meetings import BreakoutSession, Concern, KickoffMeeting, Story, Subtask
from planning.models.milestone import Activity, Artifact, ArtifactRevision, Milestone
from planning.models.project import Project
from planning.models.reviews import Comment, DesignReview, Verdict
from planning.models.unknowns import DeferralRequest, Unknown, UnknownComment

__all__ = [
    "Activity",
    "Artifact",
    "ArtifactRevision",
    "BreakoutSession",
    "Comment",
    "Concern",
    "DeferralRequest",
    "DesignReview",
    "KickoffMeeting",
    "Milestone",
    "Project",
    "Story",
    "Subtask",
    "Unknown",
    "UnknownComment",
    "Verdict",
]
