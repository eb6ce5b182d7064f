import os
from collections.abc import Iterator
from contextlib import contextmanager

from django.utils.html import escape


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


# Refusals change nothing, and say so --------------------------------------------------


def row_of(instance) -> dict:
    """The stored values of a model instance, by column."""
    return {f.attname: getattr(instance, f.attname) for f in instance._meta.concrete_fields}


def assert_unchanged(*instances) -> None:
    """Each instance's row still holds what the instance held when the test read it."""
    for instance in instances:
        stored = row_of(type(instance)._base_manager.get(pk=instance.pk))
        held = row_of(instance)
        changed = {k: (held[k], stored[k]) for k in held if held[k] != stored[k]}
        assert not changed, f"{type(instance).__name__} {instance.pk} changed: {changed}"


def _stored(thing):
    """A model's rows (a class), or one row (an instance), as the database holds them now."""
    if isinstance(thing, type):
        return list(thing._base_manager.order_by("pk").values())
    try:
        return row_of(type(thing)._base_manager.get(pk=thing.pk))
    except type(thing).DoesNotExist:
        return None


def _named(thing) -> str:
    return thing.__name__ if isinstance(thing, type) else f"{type(thing).__name__} {thing.pk}"


@contextmanager
def unchanged(*things) -> Iterator[None]:
    """Inside the block no row of these models (classes) is added, changed or removed,
    and these rows (instances) keep what the database held on entry."""
    before = [_stored(thing) for thing in things]
    yield
    for thing, was in zip(things, before, strict=True):
        now = _stored(thing)
        assert now == was, f"{_named(thing)} changed: {was!r} became {now!r}"


def assert_api_error(response, status: int, *fields: str) -> dict:
    """The answer is `status` with the error body API.md fixes for it; returns the body.

    400: `{"field": ["message", …]}` (naming at least `fields`) or `{"detail": …}`;
    409: `{"detail": …}` and, for a guard, `"unmet": [{"code", "message"}, …]`;
    401, 403, 404: `{"detail": …}`.
    """
    assert response.status_code == status, (response.status_code, response.content[:300])
    body = response.json()
    assert isinstance(body, dict) and body, body
    if status == 400:
        for field, messages in body.items():
            if field == "detail" and isinstance(messages, str):
                assert messages, body
            else:
                assert isinstance(messages, list | dict) and messages, (field, messages)
        assert set(fields) <= set(body), body
        return body
    assert not fields, "only a 400 names fields"
    if status == 409:
        assert set(body) <= {"detail", "unmet"}, body
        for item in body.get("unmet", []):
            assert set(item) == {"code", "message"}, item
    else:
        assert set(body) == {"detail"}, body
    assert isinstance(body["detail"], str) and body["detail"], body
    return body


def assert_not_found_page(response, *hidden: str) -> None:
    """The plain 404 page, and none of `hidden` (titles, names) in it."""
    assert response.status_code == 404, response.status_code
    page = response.content.decode()
    assert "There is nothing here" in page
    for text in hidden:
        assert text not in page and escape(text) not in page, f"the 404 shows {text!r}"


def assert_api_not_found(response, *hidden: str) -> None:
    """The API's 404 body, and none of `hidden` (titles, names) in it."""
    assert_api_error(response, 404)
    for text in hidden:
        assert text not in response.content.decode(), f"the 404 shows {text!r}"


def assert_forbidden_page(response, reason: str = "") -> None:
    """The 403 page, saying `reason` when given."""
    assert response.status_code == 403, response.status_code
    page = response.content.decode()
    assert "You cannot do that here" in page
    if reason:
        assert escape(reason) in page, f"the 403 page does not say {reason!r}"


# The artifact editor in a browser ---------------------------------------------------


def type_in_editor(page, text: str) -> None:
    """Replace the editor's text with `text`, as typing would (CodeMirror over the textarea)."""
    # htmx binds the live preview once the page has loaded; typing earlier is lost.
    page.wait_for_load_state("load")
    content = page.locator("#artifact-editor .cm-content")
    content.click()
    page.keyboard.press("ControlOrMeta+a")
    page.keyboard.press("Delete")
    page.keyboard.insert_text(text)
