"""Artifacts: bodies and revisions, edit conflicts, status and need, the editor pages, XSS."""

from __future__ import annotations

import html
import json
import re
from html.parser import HTMLParser

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from planning import services
from planning.exceptions import EditConflict
from planning.models import Activity, ArtifactRevision, Milestone
from planning.workflow import ArtifactKind, ArtifactStatus
from squads.models import Membership
from tests.factories import MembershipFactory, UserFactory
from tests.helpers import artifact_of, assert_not_found_page, make_ready, write_artifact

pytestmark = pytest.mark.django_db

SYSTEM = ArtifactKind.SYSTEM_ARCHITECTURE
FLOW = ArtifactKind.FLOW_CHART
SPEC = ArtifactKind.DESIGN_SPEC
MISSING, DRAFT, READY = ArtifactStatus.MISSING, ArtifactStatus.DRAFT, ArtifactStatus.READY

# History page: session, user, milestone, artifact, the navigation counts, the
# revisions with their authors (bodies left out).
HISTORY_PAGE_BUDGET = 7  # + the page count of the paginated history


@pytest.fixture
def milestone(project, tech_lead):
    return services.create_milestone(tech_lead, project, title="Tokenise cards")


def page_url(name: str, milestone: Milestone, kind: str = SYSTEM, query: str = "") -> str:
    path = reverse(f"planning:{name}", kwargs={**milestone.url_kwargs(), "kind": kind})
    return f"{path}?{query}" if query else path


def revisions_of(milestone: Milestone, kind: str) -> list[tuple[int, str, str]]:
    return list(
        ArtifactRevision.objects.filter(artifact__milestone=milestone, artifact__kind=kind)
        .order_by("number")
        .values_list("number", "body", "author__username")
    )


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def textarea_text(page: str) -> str:
    """What a browser puts in the body editor: HTML drops one newline right after <textarea>."""
    match = re.search(r'<textarea name="body"[^>]*>(.*?)</textarea>', page, re.DOTALL)
    assert match, "the page has no body editor"
    text = html.unescape(match.group(1))
    return text[2:] if text.startswith("\r\n") else text[1:] if text.startswith("\n") else text


# save_artifact_body ---------------------------------------------------------------


def test_each_save_makes_the_next_revision_with_its_author(milestone, tech_lead, engineer):
    write_artifact(tech_lead, milestone, SYSTEM, "One.")
    write_artifact(engineer, milestone, SYSTEM, "One. Two.")
    saved = write_artifact(tech_lead, milestone, SYSTEM, "One. Two. Three.")

    assert (saved.revision, saved.body, saved.updated_by) == (3, "One. Two. Three.", tech_lead)
    assert revisions_of(milestone, SYSTEM) == [
        (1, "One.", "tess"),
        (2, "One. Two.", "eli"),
        (3, "One. Two. Three.", "tess"),
    ]


def test_a_first_body_makes_a_missing_artifact_a_draft_once(milestone, engineer):
    write_artifact(engineer, milestone, SYSTEM, "First sketch.")
    saved = write_artifact(engineer, milestone, SYSTEM, "Second sketch.")

    assert saved.status == DRAFT
    started = Activity.objects.filter(milestone=milestone, verb="artifact_started")
    assert [(a.actor, a.data) for a in started] == [(engineer, {"kind": SYSTEM})]


def test_a_body_of_only_blanks_leaves_the_artifact_missing(milestone, engineer):
    saved = write_artifact(engineer, milestone, SYSTEM, "  \n")

    assert saved.status == MISSING


def test_saving_the_same_body_makes_no_revision(milestone, tech_lead):
    first = write_artifact(tech_lead, milestone, SYSTEM, "Same text.")

    again = write_artifact(tech_lead, milestone, SYSTEM, "Same text.")

    assert again.revision == first.revision == 1
    assert len(revisions_of(milestone, SYSTEM)) == 1


def test_windows_line_endings_are_stored_as_unix_ones_and_count_as_the_same_text(
    milestone, tech_lead
):
    write_artifact(tech_lead, milestone, SYSTEM, "one\ntwo\n")

    again = write_artifact(tech_lead, milestone, SYSTEM, "one\r\ntwo\r\n")

    assert (again.revision, again.body) == (1, "one\ntwo\n")


def test_a_second_edit_from_the_same_base_is_refused_and_loses_no_text(
    milestone, tech_lead, engineer
):
    write_artifact(tech_lead, milestone, SYSTEM, "Base text.")
    mine, theirs = artifact_of(milestone, SYSTEM), artifact_of(milestone, SYSTEM)
    services.save_artifact_body(tech_lead, theirs, body="Their edit.", base_revision=1)

    with pytest.raises(EditConflict) as conflict:
        services.save_artifact_body(engineer, mine, body="My edit.", base_revision=1)

    assert conflict.value.attempted_body == "My edit."
    assert conflict.value.base_revision == 1
    current = conflict.value.current
    assert (current.pk, current.revision, current.body) == (mine.pk, 2, "Their edit.")
    assert artifact_of(milestone, SYSTEM).body == "Their edit."
    assert revisions_of(milestone, SYSTEM) == [
        (1, "Base text.", "tess"),
        (2, "Their edit.", "tess"),
    ]


def test_the_refused_text_saves_on_top_of_the_current_revision(milestone, tech_lead, engineer):
    write_artifact(tech_lead, milestone, SYSTEM, "Base text.")
    services.save_artifact_body(
        tech_lead, artifact_of(milestone, SYSTEM), body="Their edit.", base_revision=1
    )
    with pytest.raises(EditConflict) as conflict:
        services.save_artifact_body(
            engineer, artifact_of(milestone, SYSTEM), body="My edit.", base_revision=1
        )

    merged = services.save_artifact_body(
        engineer,
        conflict.value.current,
        body=f"Their edit.\n{conflict.value.attempted_body}",
        base_revision=conflict.value.current.revision,
    )

    assert merged.revision == 3
    assert [body for _, body, _ in revisions_of(milestone, SYSTEM)] == [
        "Base text.",
        "Their edit.",
        "Their edit.\nMy edit.",
    ]


def test_an_edit_from_a_revision_ahead_of_the_artifact_is_refused(milestone, tech_lead):
    with pytest.raises(EditConflict):
        services.save_artifact_body(
            tech_lead, artifact_of(milestone, SYSTEM), body="From the future.", base_revision=5
        )

    assert revisions_of(milestone, SYSTEM) == []


def test_a_ready_artifact_cannot_be_emptied(milestone, tech_lead):
    make_ready(milestone, SYSTEM)

    with pytest.raises(ValidationError) as refusal:
        write_artifact(tech_lead, milestone, SYSTEM, "   ")

    assert "body" in refusal.value.error_dict
    assert artifact_of(milestone, SYSTEM).body.strip()


def test_engineers_edit_drafts(milestone, tech_lead, engineer):
    write_artifact(tech_lead, milestone, SYSTEM, "Lead's draft.")

    saved = write_artifact(engineer, milestone, SYSTEM, "Lead's draft, improved.")

    assert (saved.revision, saved.updated_by) == (2, engineer)


def test_engineers_may_not_change_a_ready_artifact(milestone, engineer):
    make_ready(milestone, SYSTEM)

    with pytest.raises(PermissionDenied):
        write_artifact(engineer, milestone, SYSTEM, "Sneaking in a change.")

    assert len(revisions_of(milestone, SYSTEM)) == 1


def test_an_engineer_cannot_save_over_an_artifact_marked_ready_after_loading_it(
    milestone, tech_lead, engineer
):
    write_artifact(tech_lead, milestone, SYSTEM, "The lead's draft.")
    opened = artifact_of(milestone, SYSTEM)  # the engineer's editor, still a draft
    services.mark_artifact(tech_lead, artifact_of(milestone, SYSTEM), READY)

    # Marking ready does not change the revision, so only the stored status can refuse this.
    with pytest.raises((PermissionDenied, EditConflict)):
        services.save_artifact_body(engineer, opened, body="Changed after ready.", base_revision=1)

    stored = artifact_of(milestone, SYSTEM)
    assert (stored.status, stored.body, stored.revision) == (READY, "The lead's draft.", 1)


def test_the_milestone_tech_lead_still_edits_a_ready_artifact(milestone, tech_lead):
    make_ready(milestone, SYSTEM)

    saved = write_artifact(tech_lead, milestone, SYSTEM, "A late correction.")

    assert saved.revision == 2


@pytest.mark.parametrize("who", ["product", "principal", "guest", "outsider"])
def test_nobody_but_tech_leads_and_engineers_edits_an_artifact(milestone, request, who):
    with pytest.raises(PermissionDenied):
        write_artifact(request.getfixturevalue(who), milestone, SYSTEM, "Not mine to write.")

    assert revisions_of(milestone, SYSTEM) == []


# mark_artifact ---------------------------------------------------------------------


def test_marking_an_empty_artifact_ready_is_refused_with_a_reason(milestone, tech_lead):
    with pytest.raises(ValidationError) as refusal:
        services.mark_artifact(tech_lead, artifact_of(milestone, SYSTEM), READY)

    assert "empty" in " ".join(refusal.value.messages)
    assert artifact_of(milestone, SYSTEM).status == MISSING


def test_marking_ready_and_back_to_draft_leaves_an_activity_each(milestone, tech_lead):
    write_artifact(tech_lead, milestone, SYSTEM, "Done.")

    services.mark_artifact(tech_lead, artifact_of(milestone, SYSTEM), READY)
    services.mark_artifact(tech_lead, artifact_of(milestone, SYSTEM), READY)
    services.mark_artifact(tech_lead, artifact_of(milestone, SYSTEM), DRAFT)

    assert artifact_of(milestone, SYSTEM).status == DRAFT
    verbs = list(milestone.activities.order_by("id").values_list("verb", flat=True))
    assert verbs == ["created", "artifact_started", "artifact_ready", "artifact_draft"]


@pytest.mark.parametrize("who", ["engineer", "product", "principal"])
def test_only_the_milestone_tech_lead_marks_artifacts(milestone, tech_lead, request, who):
    write_artifact(tech_lead, milestone, SYSTEM, "Done.")

    with pytest.raises(PermissionDenied):
        services.mark_artifact(request.getfixturevalue(who), artifact_of(milestone, SYSTEM), READY)

    assert artifact_of(milestone, SYSTEM).status == DRAFT


def test_another_squad_tech_lead_does_not_mark_artifacts_of_a_milestone_they_do_not_lead(
    milestone, tech_lead, squad
):
    other_lead = UserFactory(username="theo")
    MembershipFactory(squad=squad, user=other_lead, role=Membership.Role.TECH_LEAD)
    write_artifact(tech_lead, milestone, SYSTEM, "Done.")

    with pytest.raises(PermissionDenied):
        services.mark_artifact(other_lead, artifact_of(milestone, SYSTEM), READY)


def test_a_status_other_than_ready_or_draft_is_refused(milestone, tech_lead):
    write_artifact(tech_lead, milestone, SYSTEM, "Done.")

    with pytest.raises(ValidationError):
        services.mark_artifact(tech_lead, artifact_of(milestone, SYSTEM), MISSING)

    assert artifact_of(milestone, SYSTEM).status == DRAFT


def test_a_diagram_not_needed_cannot_be_marked_ready(milestone, tech_lead):
    write_artifact(tech_lead, milestone, FLOW, "```mermaid\nflowchart TD\n  a --> b\n```\n")
    services.decide_artifact_need(
        tech_lead, artifact_of(milestone, FLOW), needed=False, reason="No new flow."
    )

    with pytest.raises(ValidationError):
        services.mark_artifact(tech_lead, artifact_of(milestone, FLOW), READY)

    assert artifact_of(milestone, FLOW).status == DRAFT


# decide_artifact_need --------------------------------------------------------------


@pytest.mark.parametrize("reason", ["", "  \n "])
def test_not_needed_requires_a_reason(milestone, tech_lead, reason):
    with pytest.raises(ValidationError) as refusal:
        services.decide_artifact_need(
            tech_lead, artifact_of(milestone, FLOW), needed=False, reason=reason
        )

    assert "not_needed_reason" in refusal.value.error_dict
    assert artifact_of(milestone, FLOW).needed is None


def test_not_needed_with_a_reason_is_stored_and_on_the_timeline(milestone, tech_lead):
    services.decide_artifact_need(
        tech_lead, artifact_of(milestone, FLOW), needed=False, reason="  One straight path.  "
    )

    flow = artifact_of(milestone, FLOW)
    assert (flow.needed, flow.not_needed_reason) == (False, "One straight path.")
    activity = milestone.activities.latest("id")
    assert activity.verb == "artifact_need_decided"
    # The reason goes with it, whole, for the decision log.
    assert activity.data == {"kind": FLOW, "needed": False, "reason": "One straight path."}
    assert "One straight path." in activity.summary


def test_deciding_needed_forgets_an_earlier_reason(milestone, tech_lead):
    services.decide_artifact_need(
        tech_lead, artifact_of(milestone, FLOW), needed=False, reason="No flow."
    )

    services.decide_artifact_need(tech_lead, artifact_of(milestone, FLOW), needed=True)

    flow = artifact_of(milestone, FLOW)
    assert (flow.needed, flow.not_needed_reason) == (True, "")


def test_not_needed_moves_a_ready_diagram_back_to_draft(milestone, tech_lead):
    services.decide_artifact_need(tech_lead, artifact_of(milestone, FLOW), needed=True)
    make_ready(milestone, FLOW)

    services.decide_artifact_need(
        tech_lead, artifact_of(milestone, FLOW), needed=False, reason="Cut from scope."
    )

    flow = artifact_of(milestone, FLOW)
    assert (flow.status, flow.needed) == (DRAFT, False)
    assert flow.body  # the text stays


@pytest.mark.parametrize(
    "kind",
    [
        ArtifactKind.SYSTEM_ARCHITECTURE,
        ArtifactKind.APPLICATION_ARCHITECTURE,
        ArtifactKind.PROTOCOL_SPECS,
        ArtifactKind.DESIGN_SPEC,
    ],
)
def test_required_kinds_refuse_a_need_decision(milestone, tech_lead, kind):
    with pytest.raises(ValidationError):
        services.decide_artifact_need(
            tech_lead, artifact_of(milestone, kind), needed=False, reason="Skip it."
        )

    assert artifact_of(milestone, kind).needed is None


@pytest.mark.parametrize("who", ["engineer", "product"])
def test_only_the_milestone_tech_lead_decides_need(milestone, request, who):
    with pytest.raises(PermissionDenied):
        services.decide_artifact_need(
            request.getfixturevalue(who), artifact_of(milestone, FLOW), needed=True
        )

    assert artifact_of(milestone, FLOW).needed is None


# The editor page -----------------------------------------------------------------


def test_a_diagram_editor_starts_from_a_template_with_one_mermaid_block(
    client_for, milestone, engineer
):
    response = client_for(engineer).get(page_url("artifact-edit", milestone, SYSTEM))

    page = response.content.decode()
    assert response.status_code == 200
    text = textarea_text(page)
    assert text.count("```mermaid") == 1
    assert page.count('<pre class="mermaid"') == 1
    assert 'name="base_revision" value="0"' in page


def test_the_design_spec_editor_starts_from_its_headings(client_for, milestone, engineer):
    page = client_for(engineer).get(page_url("artifact-edit", milestone, SPEC)).content.decode()

    assert "## Goal" in textarea_text(page)
    assert "<h2>Goal</h2>" in page


def test_mark_ready_says_in_words_why_it_waits_until_there_is_text(
    client_for, milestone, tech_lead
):
    client = client_for(tech_lead)
    empty = client.get(page_url("artifact-edit", milestone, SYSTEM)).content.decode()

    assert 'disabled aria-describedby="mark-ready-why"' in empty
    assert "Save some text first: an empty artifact cannot be ready." in empty

    client.post(
        page_url("artifact-edit", milestone, SYSTEM),
        {"body": "Gateway → vault.", "base_revision": 0, "action": "save"},
    )
    written = client.get(page_url("artifact-edit", milestone, SYSTEM)).content.decode()
    assert "Mark ready</button>" in written and "mark-ready-why" not in written


def test_saving_from_the_editor_makes_a_revision_and_returns_to_it(client_for, milestone, engineer):
    client = client_for(engineer)

    response = client.post(
        page_url("artifact-edit", milestone, SYSTEM),
        {"body": "Gateway → vault.", "base_revision": 0, "action": "save"},
    )

    assert response.status_code == 302
    assert response["Location"] == page_url("artifact-edit", milestone, SYSTEM)
    followed = client.get(response["Location"])
    assert "Saved as revision 1." in messages_of(followed)
    assert revisions_of(milestone, SYSTEM) == [(1, "Gateway → vault.", "eli")]


def test_saving_an_unchanged_body_from_the_editor_says_so(client_for, milestone, tech_lead):
    write_artifact(tech_lead, milestone, SYSTEM, "Same.")
    client = client_for(tech_lead)

    response = client.post(
        page_url("artifact-edit", milestone, SYSTEM), {"body": "Same.", "base_revision": 1}
    )

    assert "Nothing changed, so no new revision was made." in messages_of(
        client.get(response["Location"])
    )
    assert len(revisions_of(milestone, SYSTEM)) == 1


def test_opening_and_saving_a_body_that_starts_with_a_blank_line_changes_nothing(
    client_for, milestone, tech_lead
):
    write_artifact(tech_lead, milestone, SPEC, "\nThe intro follows a blank line.\n")
    client = client_for(tech_lead)
    editor = client.get(page_url("artifact-edit", milestone, SPEC)).content.decode()

    client.post(
        page_url("artifact-edit", milestone, SPEC),
        {"body": textarea_text(editor), "base_revision": 1, "action": "save"},
    )

    assert revisions_of(milestone, SPEC) == [(1, "\nThe intro follows a blank line.\n", "tess")]


def test_a_form_without_its_base_revision_keeps_the_text_and_saves_nothing(
    client_for, milestone, engineer
):
    response = client_for(engineer).post(
        page_url("artifact-edit", milestone, SYSTEM), {"body": "Typed with care."}
    )

    assert response.status_code == 200
    assert textarea_text(response.content.decode()) == "Typed with care."
    assert revisions_of(milestone, SYSTEM) == []


def test_emptying_a_ready_artifact_from_the_editor_shows_the_reason(
    client_for, milestone, tech_lead
):
    make_ready(milestone, SYSTEM)

    response = client_for(tech_lead).post(
        page_url("artifact-edit", milestone, SYSTEM), {"body": "", "base_revision": 1}
    )

    assert response.status_code == 200
    assert "move it back to draft first" in response.content.decode()
    assert len(revisions_of(milestone, SYSTEM)) == 1


def test_engineer_reads_a_ready_artifact_without_an_editor_and_gets_403_on_saving(
    client_for, milestone, engineer
):
    make_ready(milestone, SYSTEM)
    client = client_for(engineer)

    page = client.get(page_url("artifact-edit", milestone, SYSTEM)).content.decode()
    response = client.post(
        page_url("artifact-edit", milestone, SYSTEM), {"body": "Changed.", "base_revision": 1}
    )

    assert "<textarea" not in page
    assert "only the milestone's tech lead changes it now" in page
    assert response.status_code == 403
    assert len(revisions_of(milestone, SYSTEM)) == 1


@pytest.mark.parametrize("who", ["product", "principal"])
def test_product_and_principal_get_403_on_saving_an_artifact(client_for, milestone, request, who):
    response = client_for(request.getfixturevalue(who)).post(
        page_url("artifact-edit", milestone, SYSTEM), {"body": "Mine.", "base_revision": 0}
    )

    assert response.status_code == 403
    assert revisions_of(milestone, SYSTEM) == []


# The conflict page -----------------------------------------------------------------


def test_a_stale_save_answers_409_with_my_text_the_current_text_and_a_diff(
    client_for, milestone, tech_lead, engineer
):
    write_artifact(tech_lead, milestone, SYSTEM, "gateway\nvault\n")
    write_artifact(tech_lead, milestone, SYSTEM, "gateway\nvault\naudit log\n")
    mine = "gateway\nvault <tokens>\n"

    response = client_for(engineer).post(
        page_url("artifact-edit", milestone, SYSTEM), {"body": mine, "base_revision": 1}
    )

    page = response.content.decode()
    assert response.status_code == 409
    assert textarea_text(page) == mine
    assert 'name="base_revision" value="2"' in page
    assert '<pre class="source">gateway\nvault\naudit log\n</pre>' in page
    removed = re.findall(r'<tr class="diff-removed">.*?</span>([^<]*)</td></tr>', page)
    added = re.findall(r'<tr class="diff-added">.*?</span>([^<]*)</td></tr>', page)
    assert removed == ["vault", "audit log"]
    assert added == ["vault &lt;tokens&gt;"]
    assert "You started from revision 1; it is now at revision 2" in page
    assert len(revisions_of(milestone, SYSTEM)) == 2


def test_saving_the_merged_text_from_the_conflict_page_works(
    client_for, milestone, tech_lead, engineer
):
    write_artifact(tech_lead, milestone, SYSTEM, "gateway\n")
    write_artifact(tech_lead, milestone, SYSTEM, "gateway\nvault\n")
    client = client_for(engineer)
    conflict = client.post(
        page_url("artifact-edit", milestone, SYSTEM), {"body": "gateway\nkms\n", "base_revision": 1}
    ).content.decode()
    base = re.search(r'name="base_revision" value="(\d+)"', conflict).group(1)

    response = client.post(
        page_url("artifact-edit", milestone, SYSTEM),
        {"body": "gateway\nvault\nkms\n", "base_revision": base, "action": "save"},
    )

    assert response.status_code == 302
    assert revisions_of(milestone, SYSTEM)[-1] == (3, "gateway\nvault\nkms\n", "eli")


# Status and need through the pages ----------------------------------------------------


def test_marking_an_empty_artifact_ready_from_the_page_shows_why_not(
    client_for, milestone, tech_lead
):
    client = client_for(tech_lead)

    response = client.post(page_url("artifact-status", milestone, SYSTEM), {"status": "ready"})

    assert response.status_code == 302
    assert any("empty" in m for m in messages_of(client.get(response["Location"])))
    assert artifact_of(milestone, SYSTEM).status == MISSING


def test_tech_lead_marks_ready_from_the_page_and_returns_to_the_milestone(
    client_for, milestone, tech_lead
):
    write_artifact(tech_lead, milestone, SYSTEM, "Done.")

    response = client_for(tech_lead).post(
        page_url("artifact-status", milestone, SYSTEM),
        {"status": "ready", "next": milestone.get_absolute_url()},
    )

    assert response["Location"] == milestone.get_absolute_url()
    assert artifact_of(milestone, SYSTEM).status == READY


def test_the_status_form_does_not_redirect_off_the_site(client_for, milestone, tech_lead):
    write_artifact(tech_lead, milestone, SYSTEM, "Done.")

    response = client_for(tech_lead).post(
        page_url("artifact-status", milestone, SYSTEM),
        {"status": "ready", "next": "https://evil.example.com/"},
    )

    assert response["Location"] == page_url("artifact-edit", milestone, SYSTEM)


@pytest.mark.parametrize("status", ["ready", "draft"])
def test_engineer_gets_403_on_changing_an_artifact_status(
    client_for, milestone, tech_lead, engineer, status
):
    write_artifact(tech_lead, milestone, SYSTEM, "Done.")
    if status == "draft":
        services.mark_artifact(tech_lead, artifact_of(milestone, SYSTEM), READY)
    before = artifact_of(milestone, SYSTEM).status

    response = client_for(engineer).post(
        page_url("artifact-status", milestone, SYSTEM), {"status": status}
    )

    assert response.status_code == 403
    assert artifact_of(milestone, SYSTEM).status == before


def test_not_needed_without_a_reason_from_the_page_is_refused_beside_the_field(
    client_for, milestone, tech_lead
):
    response = client_for(tech_lead).post(
        page_url("artifact-need", milestone, FLOW), {"needed": "no", "not_needed_reason": ""}
    )

    assert response.status_code == 400
    assert response.context["need_form"].errors["not_needed_reason"]
    assert artifact_of(milestone, FLOW).needed is None


def test_not_needed_with_a_reason_from_the_page_is_saved(client_for, milestone, tech_lead):
    response = client_for(tech_lead).post(
        page_url("artifact-need", milestone, FLOW),
        {"needed": "no", "not_needed_reason": "A single straight path."},
    )

    assert response.status_code == 302
    flow = artifact_of(milestone, FLOW)
    assert (flow.needed, flow.not_needed_reason) == (False, "A single straight path.")


def test_a_need_decision_on_a_required_kind_from_the_page_is_refused(
    client_for, milestone, tech_lead
):
    response = client_for(tech_lead).post(
        page_url("artifact-need", milestone, SYSTEM), {"needed": "no", "not_needed_reason": "x"}
    )

    assert response.status_code == 400
    assert artifact_of(milestone, SYSTEM).needed is None


def test_a_need_decision_sent_with_typed_text_keeps_the_text_unsaved(
    client_for, milestone, tech_lead
):
    write_artifact(tech_lead, milestone, FLOW, "Saved.\n")
    typed = "Saved.\r\nAnd typed since, not saved yet.\r\n"

    response = client_for(tech_lead).post(
        page_url("artifact-need", milestone, FLOW),
        {"needed": "yes", "body": typed, "base_revision": "1"},
    )

    page = response.content.decode()
    assert response.status_code == 200
    assert "The decision is saved. Your text is not saved yet." in page
    assert textarea_text(page) == typed  # as sent; the browser shows CRLF as LF
    assert 'name="base_revision" value="1"' in page
    assert "data-unsaved" in page
    flow = artifact_of(milestone, FLOW)
    assert (flow.needed, flow.body, flow.revision) == (True, "Saved.\n", 1)
    assert Activity.objects.filter(milestone=milestone, verb="artifact_need_decided").count() == 1


def test_a_need_decision_sent_with_the_saved_text_redirects(client_for, milestone, tech_lead):
    write_artifact(tech_lead, milestone, FLOW, "Saved.\n")

    response = client_for(tech_lead).post(
        page_url("artifact-need", milestone, FLOW),
        {"needed": "yes", "body": "Saved.\r\n", "base_revision": "1"},
    )

    assert response.status_code == 302
    assert artifact_of(milestone, FLOW).needed is True


def test_a_refused_need_decision_keeps_the_typed_text_too(client_for, milestone, tech_lead):
    response = client_for(tech_lead).post(
        page_url("artifact-need", milestone, FLOW),
        {"needed": "no", "not_needed_reason": "", "body": "Typed.", "base_revision": "0"},
    )

    page = response.content.decode()
    assert response.status_code == 400
    assert textarea_text(page) == "Typed."
    assert "Say why it is not needed." in page
    assert artifact_of(milestone, FLOW).needed is None


def test_the_need_fields_belong_to_the_editors_form_for_one_who_edits(
    client_for, milestone, tech_lead
):
    page = client_for(tech_lead).get(page_url("artifact-edit", milestone, FLOW)).content.decode()

    markup = Markup(page)
    forms = [attrs for tag, attrs in markup.tags if tag == "form" and attrs.get("id")]
    assert [attrs["id"] for attrs in forms] == ["artifact-editor"]
    need_inputs = [
        attrs
        for tag, attrs in markup.tags
        if tag in ("input", "textarea") and attrs.get("name") in ("needed", "not_needed_reason")
    ]
    assert need_inputs and all(attrs.get("form") == "artifact-editor" for attrs in need_inputs)
    decide = next(attrs for tag, attrs in markup.tags if attrs.get("formaction"))
    assert decide["form"] == "artifact-editor"
    assert decide["formaction"] == page_url("artifact-need", milestone, FLOW)


def test_engineer_gets_403_on_deciding_need(client_for, milestone, engineer):
    response = client_for(engineer).post(
        page_url("artifact-need", milestone, FLOW), {"needed": "yes"}
    )

    assert response.status_code == 403
    assert artifact_of(milestone, FLOW).needed is None


# History and diffs ------------------------------------------------------------------


def test_history_lists_every_revision_newest_first_with_its_author(
    client_for, milestone, tech_lead, engineer
):
    write_artifact(tech_lead, milestone, SYSTEM, "one")
    write_artifact(engineer, milestone, SYSTEM, "one\ntwo")
    write_artifact(tech_lead, milestone, SYSTEM, "one\ntwo\nthree")

    response = client_for(engineer).get(page_url("artifact-history", milestone, SYSTEM))

    page = response.content.decode()
    assert [r.number for r in response.context["revisions"]] == [3, 2, 1]
    assert re.findall(r"<strong>r(\d+)</strong>", page) == ["3", "2", "1"]
    assert page.count(tech_lead.display_name) >= 2
    assert engineer.display_name in page
    assert page_url("artifact-diff", milestone, SYSTEM, "a=1&amp;b=2") in page


def test_history_of_an_artifact_never_saved_says_so(client_for, milestone, engineer):
    page = client_for(engineer).get(page_url("artifact-history", milestone, SYSTEM))

    assert "No revision yet" in page.content.decode()


@pytest.mark.parametrize("revisions", [1, 50])
def test_history_page_query_count_does_not_grow_with_revisions(
    client_for, django_assert_max_num_queries, milestone, tech_lead, engineer, revisions
):
    for n in range(revisions):
        write_artifact(engineer if n % 2 else tech_lead, milestone, SYSTEM, f"Revision {n + 1}")
    client = client_for(engineer)

    with django_assert_max_num_queries(HISTORY_PAGE_BUDGET):
        response = client.get(page_url("artifact-history", milestone, SYSTEM))

    assert len(response.context["revisions"]) == revisions


def test_diff_shows_the_lines_added_and_removed_between_two_revisions(
    client_for, milestone, tech_lead
):
    write_artifact(tech_lead, milestone, SYSTEM, "gateway\nvault\nledger\n")
    write_artifact(tech_lead, milestone, SYSTEM, "gateway\nvault\nledger\nx\n")
    write_artifact(tech_lead, milestone, SYSTEM, "gateway\nkms\nledger\naudit\n")

    response = client_for(tech_lead).get(page_url("artifact-diff", milestone, SYSTEM, "a=1&b=3"))

    page = response.content.decode()
    assert response.status_code == 200
    assert (response.context["old_number"], response.context["new_number"]) == (1, 3)
    assert [(line.kind, line.text) for line in response.context["diff"]] == [
        ("same", "gateway"),
        ("removed", "vault"),
        ("added", "kms"),
        ("same", "ledger"),
        ("added", "audit"),
    ]
    assert (response.context["added"], response.context["removed"]) == (2, 1)
    assert "Revision 1 → 3" in page
    assert page.count('class="diff-added"') == 2
    assert page.count('class="diff-removed"') == 1


def test_diff_without_revisions_named_compares_the_latest_with_the_one_before(
    client_for, milestone, tech_lead
):
    write_artifact(tech_lead, milestone, SYSTEM, "a")
    write_artifact(tech_lead, milestone, SYSTEM, "b")

    response = client_for(tech_lead).get(page_url("artifact-diff", milestone, SYSTEM))

    assert (response.context["old_number"], response.context["new_number"]) == (1, 2)


def test_diff_of_the_first_revision_compares_it_with_nothing(client_for, milestone, tech_lead):
    write_artifact(tech_lead, milestone, SYSTEM, "first\nlines")

    response = client_for(tech_lead).get(page_url("artifact-diff", milestone, SYSTEM, "a=0&b=1"))

    assert response.status_code == 200
    assert response.context["added"] == 2
    assert "Revision 1, the first" in response.content.decode()


def test_diff_with_the_revisions_swapped_still_reads_old_to_new(client_for, milestone, tech_lead):
    write_artifact(tech_lead, milestone, SYSTEM, "old")
    write_artifact(tech_lead, milestone, SYSTEM, "new")

    response = client_for(tech_lead).get(page_url("artifact-diff", milestone, SYSTEM, "a=2&b=1"))

    assert [(line.kind, line.text) for line in response.context["diff"]] == [
        ("removed", "old"),
        ("added", "new"),
    ]


@pytest.mark.parametrize("query", ["a=1&b=9", "a=7&b=2", "a=x&b=2", "b=-1", ""])
def test_diff_with_a_revision_that_does_not_exist_is_404(client_for, milestone, tech_lead, query):
    if query:
        write_artifact(tech_lead, milestone, SYSTEM, "one")
        write_artifact(tech_lead, milestone, SYSTEM, "two")

    response = client_for(tech_lead).get(page_url("artifact-diff", milestone, SYSTEM, query))

    assert response.status_code == 404
    assert_not_found_page(response)


# The preview endpoint -------------------------------------------------------------


def test_preview_renders_markdown_and_mermaid_blocks(client_for, milestone, engineer):
    response = client_for(engineer).post(
        page_url("artifact-preview", milestone, SYSTEM),
        {"body": "## Scope\n\n```mermaid\nflowchart LR\n  a --> b\n```\n"},
        HTTP_HX_REQUEST="true",
    )

    page = response.content.decode()
    assert response.status_code == 200
    assert "<h2>Scope</h2>" in page
    # data-line: the fence's line, so that a diagram's errors name lines of the Markdown.
    assert '<pre class="mermaid" data-line="3">flowchart LR\n  a --&gt; b</pre>' in page
    assert "<html" not in page


def test_preview_refuses_a_text_too_long_to_render(client_for, milestone, engineer):
    response = client_for(engineer).post(
        page_url("artifact-preview", milestone, SYSTEM), {"body": "x" * 200_001}
    )

    assert "too long to preview" in response.content.decode()


def test_preview_saves_nothing(client_for, milestone, engineer):
    client_for(engineer).post(page_url("artifact-preview", milestone, SYSTEM), {"body": "Draft."})

    assert revisions_of(milestone, SYSTEM) == []


# Markdown XSS ---------------------------------------------------------------------

MERMAID_PAYLOAD = """\
```mermaid
flowchart LR
  A[<img src=x onerror=alert(1)>] --> B
  click A call alert(1)
  classDef evil fill:url(javascript:alert(1))
```
"""
PAYLOADS = {
    "script": "<script>alert(1)</script>",
    "img-onerror": "<img src=x onerror=alert(1)>",
    "markdown-javascript-link": "[x](javascript:alert(1))",
    "html-javascript-link": '<a href="javascript:alert(1)">click me</a>',
    "htmx-attributes": '<div hx-get="/admin/" hx-trigger="load">loaded</div>',
    "svg-onload": "<svg onload=alert(1)>",
    "mermaid": MERMAID_PAYLOAD,
}
PAYLOADS["all-at-once"] = "\n\n".join(PAYLOADS.values())
MARKER = "Payload below."


class Markup(HTMLParser):
    """Every tag with its attributes, the text of scripts and of mermaid blocks."""

    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.scripts: list[str] = []
        self.mermaid: list[str] = []
        self._into: list[str] | None = None
        self.feed(source)
        self.close()

    def handle_starttag(self, tag, attrs):
        attributes = {name: value or "" for name, value in attrs}
        self.tags.append((tag, attributes))
        if tag == "script":
            self.scripts.append("")
            self._into = self.scripts
        elif tag == "pre" and "mermaid" in attributes.get("class", "").split():
            self.mermaid.append("")
            self._into = self.mermaid

    def handle_endtag(self, tag):
        if tag in ("script", "pre"):
            self._into = None

    def handle_data(self, data):
        if self._into is not None:
            self._into[-1] += data


def rendered_body(page: str) -> str:
    """The rendered artifact: the markdown-body element of the page or the preview."""
    match = re.search(r'<div class="markdown-body">(.*?)</div>', page, re.DOTALL)
    assert match, "no rendered Markdown on the page"
    return match.group(1)


def assert_inert(fragment: str) -> None:
    """Nothing in the rendered Markdown runs code, loads a script URL or drives htmx."""
    lowered = fragment.lower()
    assert "<script" not in lowered
    assert "onerror=" not in lowered and "onload=" not in lowered
    assert "hx-get" not in lowered
    assert not re.search(r"<[^>]*javascript:", lowered), "javascript: inside a tag"
    assert not re.search(r"^\s*click\s+A", fragment, re.MULTILINE)
    markup = Markup(fragment)
    for tag, attributes in markup.tags:
        assert tag not in ("script", "svg", "iframe", "object", "embed", "style"), tag
        for name, value in attributes.items():
            assert not name.startswith(("on", "hx-", "data-hx")), (tag, name)
            assert "javascript:" not in re.sub(r"\s", "", value.lower()), (tag, name, value)
    for diagram in markup.mermaid:
        assert not re.search(r"^\s*(click|callback)\b", diagram, re.MULTILINE)
        assert "javascript:" not in diagram.lower()
        assert "url(" not in diagram.lower()
        assert "<" not in diagram  # no tag for Mermaid to put into a label


def assert_page_runs_only_its_own_scripts(page: str) -> None:
    markup = Markup(page)
    scripts = [attrs for tag, attrs in markup.tags if tag == "script"]
    for attrs, text in zip(scripts, markup.scripts, strict=True):
        if attrs.get("type") == "importmap":
            # The editor's import map is data, not code, and every address in it is ours.
            assert attrs.get("nonce"), attrs
            addresses = json.loads(text)["imports"].values()
            assert all(url.startswith("/static/vendor/codemirror/") for url in addresses)
        else:
            assert attrs.get("src", "").startswith("/static/"), attrs
            assert not text.strip()
    for tag, attributes in markup.tags:
        assert not any(name.startswith("on") for name in attributes), tag
        assert "hx-get" not in attributes, tag


@pytest.fixture(params=sorted(PAYLOADS))
def payload(request) -> str:
    return f"{MARKER}\n\n{PAYLOADS[request.param]}"


@pytest.mark.parametrize("who", ["tech_lead", "product"])
def test_a_saved_payload_is_inert_on_the_artifact_page(
    client_for, milestone, tech_lead, request, payload, who
):
    write_artifact(tech_lead, milestone, SYSTEM, payload)

    page = client_for(request.getfixturevalue(who)).get(
        page_url("artifact-edit", milestone, SYSTEM)
    )

    content = page.content.decode()
    body = rendered_body(content)
    assert MARKER in body  # the payload was rendered here, not left out
    assert_inert(body)
    assert_page_runs_only_its_own_scripts(content)


def test_a_payload_is_inert_in_the_preview(client_for, milestone, engineer, payload):
    response = client_for(engineer).post(
        page_url("artifact-preview", milestone, SYSTEM), {"body": payload}, HTTP_HX_REQUEST="true"
    )

    content = response.content.decode()
    assert MARKER in content
    assert_inert(content)


def test_a_payload_is_inert_on_the_conflict_page(
    client_for, milestone, tech_lead, engineer, payload
):
    write_artifact(tech_lead, milestone, SYSTEM, "Base.")
    write_artifact(tech_lead, milestone, SYSTEM, payload)

    response = client_for(engineer).post(
        page_url("artifact-edit", milestone, SYSTEM), {"body": "Mine.", "base_revision": 1}
    )

    content = response.content.decode()
    assert response.status_code == 409
    assert [number for number, *_ in revisions_of(milestone, SYSTEM)] == [1, 2]
    assert artifact_of(milestone, SYSTEM).body == payload
    assert_inert(rendered_body(content))
    assert_page_runs_only_its_own_scripts(content)


def test_the_mermaid_payload_still_draws_its_harmless_part(client_for, milestone, engineer):
    response = client_for(engineer).post(
        page_url("artifact-preview", milestone, SYSTEM), {"body": MERMAID_PAYLOAD}
    )

    assert Markup(response.content.decode()).mermaid == ["flowchart LR\n  A[] --> B"]
