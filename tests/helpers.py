import os


def child_environ() -> dict[str, str]:
    """The environment for a child process: ours, without what only the browser tests need."""
    env = dict(os.environ)
    # Set for Playwright's event loop in this process; a child must keep Django's
    # async safety (and `check --deploy` rightly refuses the variable).
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    return env


# Milestones and artifacts, through the services as a user would change them --------


def artifact_of(milestone, kind: str):
    """The artifact of `kind`, read fresh, with its milestone attached."""
    from planning.models import Artifact

    artifact = Artifact.objects.select_related("updated_by").get(milestone=milestone, kind=kind)
    artifact.milestone = milestone
    return artifact


def write_artifact(actor, milestone, kind: str, body: str):
    """Save `body` on top of the artifact's latest revision."""
    from planning import services

    artifact = artifact_of(milestone, kind)
    return services.save_artifact_body(actor, artifact, body=body, base_revision=artifact.revision)


def make_ready(milestone, *kinds: str) -> None:
    """Have the milestone's tech lead write each artifact and mark it ready."""
    from planning import services
    from planning.workflow import ArtifactStatus

    lead = milestone.tech_lead
    for kind in kinds:
        artifact = write_artifact(lead, milestone, kind, f"The {kind} of M{milestone.number}.\n")
        services.mark_artifact(lead, artifact, ArtifactStatus.READY)


def decide_not_needed(milestone, *kinds: str) -> None:
    """Have the milestone's tech lead decide each on-need diagram is not needed."""
    from planning import services

    for kind in kinds:
        services.decide_artifact_need(
            milestone.tech_lead,
            artifact_of(milestone, kind),
            needed=False,
            reason="Nothing of this kind changes in this milestone.",
        )


# Unknowns ---------------------------------------------------------------------------


def put_in_phase(milestone, phase: str):
    """Set the milestone's phase directly (test setup only) and read it back fresh."""
    from planning.models import Milestone

    Milestone.objects.filter(pk=milestone.pk).update(phase=phase)
    return Milestone.objects.select_related(
        "project__squad", "project__principal_engineer", "tech_lead"
    ).get(pk=milestone.pk)


def unknown_url(name: str, unknown, **extra) -> str:
    """The URL of one of an unknown's pages: `unknown_url("unknown-edit", u)`."""
    from django.urls import reverse

    kwargs = {**unknown.milestone.url_kwargs(), "key": unknown.key, **extra}
    return reverse(f"planning:{name}", kwargs=kwargs)
