from planning.models.milestone import Activity, Artifact, ArtifactRevision, Milestone
from planning.models.project import Project

__all__ = ["Activity", "Artifact", "ArtifactRevision", "Milestone", "Project"]
