"""Each class of malformed input, refused where it was typed, and nothing of it saved.

One test per bug (each answered 500 before), and per cousin of
it. The fuzz tests (test_fuzz_pages.py, test_fuzz_api.py) send every class
everywhere; these say what the answer is.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django import forms
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils.html import escape
from rest_framework.authtoken.models import Token

import accounts.forms
import api.serializers.insights
import api.serializers.milestones
import api.serializers.reviews
import api.serializers.squads
import api.views
import api.views.auth
import planning.forms
import squads.forms
from api.serializers.base import TextRuleMixin as InputTextRule
from config.inputs import TextRuleMixin, parse_id, parse_time, safe_next, text_problem
from planning.models import (
    Activity,
    Comment,
    Concern,
    DeferralRequest,
    DesignReview,
    Milestone,
    Story,
    Subtask,
    Unknown,
    Verdict,
)
from squads.models import Membership, Squad
from tests.fuzz import Raw, World, build_world, form_body, nested, to_json
from tests.helpers import assert_api_error, unchanged

API = "/api/v1"


@pytest.fixture
def world(db) -> World:
    return build_world()


def page_as(world: World, name: str) -> Client:
    client = Client()
    client.force_login(world.people[name])
    return client


def api_as(world: World, name: str) -> Client:
    token = Token.objects.create(user=world.people[name]).key
    return Client(headers={"Authorization": f"Token {token}"})


def url(world: World, name: str, **extra) -> str:
    return reverse(f"planning:{name}", kwargs={**world.milestone.url_kwargs(), **extra})


def review_url(world: World, name: str, **extra) -> str:
    return url(world, name, round=world.objects["review"].round, **extra)


def post_raw(client: Client, path: str, fields, **headers):
    """A form post as a browser (or a careless client) would send its bytes."""
    return client.post(
        path,
        form_body(fields.items()),
        content_type="application/x-www-form-urlencoded",
        headers=headers,
    )


def send_json(client: Client, method: str, path: str, body) -> object:
    data = body if isinstance(body, bytes) else to_json(body)
    return client.generic(method, path, data, content_type="application/json")


# The rules themselves, on plain values --------------------------------------------------


@pytest.mark.database_free
@pytest.mark.parametrize(
    ("text", "multiline", "complaint"),
    [
        ("a\x00b", True, "null character (U+0000)"),
        ("\ud800", True, "unpaired surrogate (U+D800)"),
        ("bell\x07", True, "control character U+0007"),
        ("c1\x85", True, "control character U+0085"),
        ("two\nlines", False, "one line"),
        ("tab\there", False, "control character U+0009"),
    ],
)
def test_the_text_rule_names_what_no_person_could_have_typed(text, multiline, complaint):
    assert complaint in text_problem(text, multiline=multiline)


@pytest.mark.database_free
@pytest.mark.parametrize("text", ["Ünïcødé ✓ 🚀 مرحبا", "two\r\nlines\tand a tab", "\u200b", ""])
def test_the_text_rule_keeps_every_character_people_type(text):
    assert text_problem(text, multiline=True) is None


@pytest.mark.database_free
@pytest.mark.parametrize(
    "value",
    ["1.5", "NaN", "1e309", "abc", "²", "\u0661", "-1", "0", "0x10", "", "9" * 20, 2**63, True],
)
def test_the_id_parser_refuses_what_names_no_row(value):
    assert parse_id(value) is None


@pytest.mark.database_free
def test_the_id_parser_takes_ids_as_numbers_or_digits():
    assert (parse_id(7), parse_id(" 7 "), parse_id(str(2**63 - 1))) == (7, 7, 2**63 - 1)


@pytest.mark.database_free
@pytest.mark.parametrize(
    "since", ["2024-02-30T10:00", "2024-01-01T25:00", "2024-02-29T10:00+25:00", "yesterday", "\x00"]
)
def test_an_impossible_time_is_refused_with_a_sentence(since):
    with pytest.raises(ValueError, match="is not a time"):
        parse_time(since)


@pytest.mark.database_free
def test_a_time_without_an_offset_is_read_in_the_current_time_zone():
    assert parse_time("2024-02-29T10:00") == datetime(2024, 2, 29, 10, 0, tzinfo=UTC)


@pytest.mark.database_free
@pytest.mark.parametrize(
    "url",
    ["abc", "32768", "//evil.example/", "https://evil.example/", "javascript:alert(1)",
     "/a\nb", "/a\x00b", "/a b", "http://[::1"],
)  # fmt: skip
def test_a_next_that_is_no_address_on_this_site_is_not_followed(url):
    assert safe_next(RequestFactory().post("/"), url) is None


@pytest.mark.database_free
@pytest.mark.parametrize("url", ["/squads/", "/inbox/?unread=1", "http://testserver/squads/"])
def test_a_next_on_this_site_is_followed(url):
    assert safe_next(RequestFactory().post("/"), url) == url


# Every form and every input serializer follows the rules ---------------------------------


def _classes(modules, base):
    return [
        value
        for module in modules
        for value in vars(module).values()
        if isinstance(value, type)
        and issubclass(value, base)
        and value.__module__ == module.__name__
    ]


@pytest.mark.database_free
def test_every_form_of_the_site_follows_the_text_rule():
    site_forms = _classes([planning.forms, squads.forms, accounts.forms], forms.BaseForm)
    assert len(site_forms) >= 25
    assert [f.__name__ for f in site_forms if not issubclass(f, TextRuleMixin)] == []


@pytest.mark.database_free
def test_every_serializer_the_api_reads_input_with_follows_the_text_rule():
    views = Path(api.views.__file__).parent
    names = {
        n
        for f in views.glob("*.py")
        for n in re.findall(r"(?<![\w.])valid\(([A-Z]\w*)", f.read_text())
    }
    modules = [api.serializers.insights, api.serializers.milestones, api.serializers.reviews, api.serializers.squads,
               api.views.auth]  # fmt: skip
    found = {name: getattr(m, name) for m in modules for name in names if hasattr(m, name)}
    assert len(found) == len(names) >= 30, names - set(found)
    assert [name for name, s in found.items() if not issubclass(s, InputTextRule)] == []


# NUL, unpaired surrogates and control characters, on the pages ---------------------------


@pytest.mark.django_db
def test_a_nul_byte_in_a_comment_is_refused_with_a_message_and_nothing_is_saved(world):
    client = page_as(world, "lead")
    typed = "Where does the key\x00live?"

    with unchanged(Comment):
        plain = post_raw(client, review_url(world, "comment-add"), {"body": typed})
        swapped = post_raw(
            client, review_url(world, "comment-add"), {"body": typed}, **{"HX-Request": "true"}
        )

    assert plain.status_code == 400
    page = plain.content.decode()
    assert "Remove the null character (U+0000)" in page
    assert escape("Where does the key") in page  # what was typed is kept, to send again
    assert swapped.status_code == 200  # htmx swaps it in, where the comment was typed
    assert 'role="alert"' in swapped.content.decode()


# Each small form of a bigger page that read request.POST directly: its text field.
SMALL_FORMS = [
    ("comment-edit", lambda w: {"pk": w.pk("comment")}, "body", "lead", Comment),
    ("verdict-set", lambda w: {}, "note", "engineer", Verdict),
    ("review-invite", lambda w: {}, "username", "lead", DesignReview),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "extra", "field", "who", "model"), SMALL_FORMS)
@pytest.mark.parametrize("bad", ["\x00", "\x07", "\x1b[31m"])
def test_a_character_no_one_types_in_a_review_form_is_refused_where_it_was_typed(
    world, name, extra, field, who, model, bad
):
    client = page_as(world, who)
    fields = {field: f"text{bad}", **({"verdict": "approve"} if name == "verdict-set" else {})}

    with unchanged(model, Activity):
        response = post_raw(client, review_url(world, name, **extra(world)), fields)

    assert response.status_code == 400
    page = response.content.decode()
    assert f"U+{ord(bad[0]):04X}" in page
    assert f'name="{field}"' in page


@pytest.mark.django_db
def test_a_nul_byte_in_a_concern_answer_is_refused_and_the_concern_stays_open(world):
    concern = world.objects["concern"]

    with unchanged(concern, Activity):
        response = post_raw(
            page_as(world, "lead"),
            url(world, "concern-answer", pk=concern.pk),
            {"answer": "The platform\x00team"},
        )

    assert response.status_code == 400
    assert "Remove the null character" in response.content.decode()
    assert Concern.objects.get(pk=concern.pk).status == Concern.Status.OPEN


@pytest.mark.django_db
def test_a_line_break_in_a_one_line_field_is_refused_and_kept_in_a_multiline_one(world):
    client = page_as(world, "lead")
    story_add = url(world, "story-add")

    with unchanged(Story):
        one_line = post_raw(client, story_add, {"title": "Two\nlines"})
    kept = post_raw(client, story_add, {"title": "One line", "description": "Two\r\nlines\tok"})

    assert one_line.status_code == 400
    assert "Keep this to one line" in one_line.content.decode()
    assert kept.status_code == 302
    assert Story.objects.get(title="One line").description == "Two\r\nlines\tok"


@pytest.mark.django_db
def test_a_control_character_in_an_unknown_title_is_refused_with_the_form_as_typed(world):
    with unchanged(Unknown):
        response = post_raw(
            page_as(world, "lead"),
            url(world, "unknown-list"),
            {"title": "Rate\x07limits", "priority": "normal"},
        )

    assert response.status_code == 200  # the unknowns page, with the form as typed
    page = response.content.decode()
    assert "Remove the control character U+0007" in page
    assert "Rate" in page


@pytest.mark.django_db
def test_invalid_utf8_in_a_form_is_read_as_replacement_characters_not_a_server_error(world):
    response = post_raw(page_as(world, "lead"), url(world, "story-add"), {"title": b"caf\xe9"})

    assert response.status_code == 302
    assert Story.objects.filter(title="caf\ufffd").exists()


# Ids that are not numbers, or too big for any column -------------------------------------

NOT_IDS = ["1.5", "NaN", "1e309", "abc", "²", "-1", "99999999999999999999", "\x00"]


@pytest.mark.django_db
@pytest.mark.parametrize("parent", NOT_IDS)
def test_a_comment_parent_that_is_no_id_is_refused_and_nothing_is_saved(world, parent):
    client = page_as(world, "engineer")
    fields = {"body": "A reply", "parent": parent}

    with unchanged(Comment):
        plain = post_raw(client, review_url(world, "comment-add"), fields)
        swapped = post_raw(
            client, review_url(world, "comment-add"), fields, **{"HX-Request": "true"}
        )

    assert plain.status_code == 400
    assert "There is no such comment to reply to." in plain.content.decode()
    assert "A reply" in plain.content.decode()
    assert swapped.status_code == 200
    assert "There is no such comment to reply to." in swapped.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("assignee", [v for v in NOT_IDS if v != "\x00"])
def test_a_subtask_assignee_that_is_no_id_is_refused_and_nothing_is_saved(world, assignee):
    story = world.objects["story"]

    with unchanged(Subtask):
        response = post_raw(
            page_as(world, "engineer"),
            url(world, "subtask-add", story_number=story.number),
            {"title": "Write the backfill", "assignee": assignee},
        )

    assert response.status_code == 400
    page = response.content.decode()
    assert "Choose the assignee from the squad" in page
    assert 'value="Write the backfill"' in page


@pytest.mark.django_db
@pytest.mark.parametrize("days", ["32768", "99999999999999999999", "1e309", "-1"])
def test_a_number_too_big_for_its_column_is_refused_on_the_settings_form(world, days):
    squad = world.squad

    with unchanged(squad):
        response = post_raw(
            page_as(world, "lead"),
            reverse("squads:settings", kwargs={"slug": squad.slug}),
            {"name": "Payments", "breakout_mode": squad.breakout_mode, "remind_after_days": days,
             "escalate_after_days": "5", "vendor_followup_days": "5", "min_review_approvals": "1"},
        )  # fmt: skip

    assert response.status_code == 200  # the settings page again, as typed
    assert 'class="field field-invalid"' in response.content.decode()


# Impossible dates and times -------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("since", ["2024-02-30T10:00", "2023-13-01T10:00", "2024-01-01T25:00"])
def test_an_impossible_since_on_the_review_poller_is_a_400_that_says_so(world, since):
    response = page_as(world, "engineer").get(review_url(world, "review-updates"), {"since": since})

    assert response.status_code == 400
    assert "is not a time" in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("when", ["2024-02-30T10:00", "10000-01-01T00:00", "0001-01-01T00:00"])
def test_an_impossible_review_time_is_refused_on_the_form(world, when):
    with unchanged(DesignReview):
        response = post_raw(
            page_as(world, "lead"),
            url(world, "review-schedule"),
            {"scheduled_for": when, "duration_minutes": "60"},
        )

    assert response.status_code == 400
    assert 'class="field field-invalid"' in response.content.decode()


# Addresses ---------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("key", ["U-%C2%B2", "U-%00", "%00", "U-99999999999999999999", "U-1.5"])
def test_a_malformed_unknown_key_in_an_address_is_a_404(world, key):
    base = url(world, "unknown-detail", key="U-1").removesuffix("U-1/")

    response = page_as(world, "lead").get(f"{base}{key}/")

    assert response.status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize("next_url", ["abc", "32768", "/a\nb", "//evil.example/"])
def test_a_next_that_is_no_address_here_falls_back_to_the_artifact(world, next_url):
    artifact_url = url(world, "artifact-edit", kind="system_architecture")

    response = post_raw(
        page_as(world, "lead"),
        url(world, "artifact-status", kind="system_architecture"),
        {"status": "ready", "next": next_url},
    )

    assert response.status_code == 302
    assert response["Location"] == artifact_url


# Query strings ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_nul_in_the_projects_search_is_refused_under_the_search_box(world):
    response = page_as(world, "lead").get(reverse("planning:project-list"), {"q": "card\x00"})

    assert response.status_code == 400
    page = response.content.decode()
    assert 'id="q-error"' in page
    assert "Remove the null character" in page


@pytest.mark.django_db
def test_a_squad_filter_no_one_could_choose_matches_no_project(world):
    response = page_as(world, "lead").get(reverse("planning:project-list"), {"squad": "pay\x00"})

    assert response.status_code == 200
    assert "No project matches these filters." in response.content.decode()


@pytest.mark.django_db
def test_an_owner_filter_no_one_could_choose_matches_no_unknown(world):
    response = page_as(world, "lead").get(url(world, "unknown-list"), {"owner": "engineer\x00"})

    assert response.status_code == 200
    assert escape(world.objects["unknown"].title) not in response.content.decode()


# Long input that overflows a text built from it --------------------------------------------


@pytest.mark.django_db
def test_a_long_story_title_by_a_member_with_a_long_name_leaves_a_summary_that_fits(world):
    title = "T" * 200  # as long as a story title may be, by someone named at 150 characters

    response = post_raw(page_as(world, "lead"), url(world, "story-add"), {"title": title})

    assert response.status_code == 302
    assert Story.objects.filter(title=title).exists()
    summary = Activity.objects.get(verb="story_added").summary
    assert len(summary) == 300 and summary.endswith("…")


@pytest.mark.django_db
def test_a_400_character_rejection_note_is_kept_whole_and_its_summary_fits(world):
    deferral = world.objects["deferral"]
    note = "N" * 400

    response = post_raw(
        page_as(world, "principal"),
        reverse("planning:deferral-decide", kwargs={"pk": deferral.pk}),
        {"decision": "reject", "note": note},
    )

    assert response.status_code == 302
    assert DeferralRequest.objects.get(pk=deferral.pk).decision_note == note
    summary = Activity.objects.get(verb="deferral_rejected").summary
    assert len(summary) <= 300 and summary.endswith("…")


# Huge bodies ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_form_body_larger_than_a_form_may_be_is_a_400_page_and_nothing_is_saved(world):
    with unchanged(Story):
        response = post_raw(
            page_as(world, "lead"), url(world, "story-add"), {"title": "x" * 3_000_000}
        )

    assert response.status_code == 400
    assert "could not be understood" in response.content.decode()


# The API ------------------------------------------------------------------------------------

# Each choice field that echoed a lone surrogate into an error it could not encode.
CHOICES = [
    ("patch", lambda w: f"{API}/squads/{w.squad.slug}/", {}, "breakout_mode", Squad),
    ("post", lambda w: f"{API}/squads/{w.squad.slug}/members/", {"user": "guest"}, "role", Membership),
    ("post", lambda w: f"{API}/milestones/{w.milestone.pk}/unknowns/", {"title": "Q"}, "priority", Unknown),
    ("patch", lambda w: f"{API}/unknowns/{w.pk('unknown')}/", {}, "status", Unknown),
    ("put", lambda w: f"{API}/reviews/{w.pk('review')}/verdict/", {}, "verdict", Verdict),
    ("post", lambda w: f"{API}/deferrals/{w.pk('deferral')}/decide/", {}, "decision", DeferralRequest),
    ("post", lambda w: f"{API}/milestones/{w.milestone.pk}/concerns/", {"text": "Q"}, "kind", Concern),
    ("post", lambda w: f"{API}/reviews/{w.pk('review')}/comments/", {"body": "B"}, "artifact_kind", Comment),
    ("post", lambda w: f"{API}/reviews/{w.pk('review')}/invitees/", {}, "user", DesignReview),
    ("post", lambda w: f"{API}/stories/{w.pk('story')}/subtasks/", {"title": "T"}, "assignee", Subtask),
]  # fmt: skip


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "path", "body", "field", "model"), CHOICES)
def test_a_lone_surrogate_in_a_choice_field_is_a_400_on_that_field(
    world, method, path, body, field, model
):
    who = "principal" if field == "decision" else "lead"

    with unchanged(model, Activity):
        response = send_json(api_as(world, who), method, path(world), {**body, field: "x\udfffy"})

    errors = assert_api_error(response, 400, field)
    assert "unpaired surrogate (U+DFFF)" in errors[field][0]


@pytest.mark.django_db
@pytest.mark.parametrize(("value", "complaint"), [("a\x00b", "U+0000"), ("bell\x07", "U+0007")])
def test_a_character_no_one_types_in_an_api_title_is_a_400_on_the_field(world, value, complaint):
    with unchanged(Unknown):
        response = send_json(
            api_as(world, "lead"),
            "post",
            f"{API}/milestones/{world.milestone.pk}/unknowns/",
            {"title": value, "priority": "normal"},
        )

    assert complaint in assert_api_error(response, 400, "title")["title"][0]


@pytest.mark.django_db
def test_tabs_and_line_breaks_in_api_multiline_text_are_kept(world):
    response = send_json(
        api_as(world, "lead"),
        "post",
        f"{API}/milestones/{world.milestone.pk}/unknowns/",
        {"title": "Limits", "priority": "normal", "detail": "Two\r\nlines\tand a tab"},
    )

    assert response.status_code == 201, response.content
    assert Unknown.objects.get(title="Limits").detail == "Two\r\nlines\tand a tab"


@pytest.mark.django_db
@pytest.mark.parametrize("user_id", [Raw("1e400"), Raw("99999999999999999999"), 1.5, "²", True])
@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        (lambda w: f"{API}/milestones/", lambda w: {"project": w.project.pk, "title": "M"}, "tech_lead"),
        (lambda w: f"{API}/milestones/{w.milestone.pk}/unknowns/", lambda w: {"title": "Q", "priority": "normal"}, "owner"),
        (lambda w: f"{API}/reviews/{w.pk('review')}/invitees/", lambda w: {}, "user"),
    ],
)  # fmt: skip
def test_a_user_id_that_is_no_id_is_a_400_on_the_field(world, path, body, field, user_id):
    with unchanged(Milestone, Unknown):
        response = send_json(
            api_as(world, "lead"), "post", path(world), {**body(world), field: user_id}
        )

    assert_api_error(response, 400, field)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "project", ["99999999999999999999", "9223372036854775808", "1.5", "%C2%B2"]
)
def test_a_project_filter_that_is_no_id_is_a_400_on_the_parameter(world, project):
    response = api_as(world, "lead").get(f"{API}/milestones/?project={project}")

    assert_api_error(response, 400, "project")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("field", "value"),
    [("remind_after_days", 32768), ("min_review_approvals", 2**63), ("escalate_after_days", -1)],
)
def test_a_number_too_big_for_its_column_is_a_400_on_the_field(world, field, value):
    with unchanged(world.squad):
        response = send_json(
            api_as(world, "lead"), "patch", f"{API}/squads/{world.squad.slug}/", {field: value}
        )

    assert_api_error(response, 400, field)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        (lambda w: f"{API}/milestones/{w.milestone.pk}/", {"due_on": "2024-02-30"}, "due_on"),
        (lambda w: f"{API}/reviews/{w.pk('review')}/", {"scheduled_for": "2024-02-30T10:00"}, "scheduled_for"),
        (lambda w: f"{API}/reviews/{w.pk('review')}/", {"scheduled_for": "9999-12-31T23:59:59-14:00"}, "scheduled_for"),
    ],
)  # fmt: skip
def test_an_impossible_date_or_time_is_a_400_on_the_field(world, path, body, field):
    with unchanged(world.milestone, world.objects["review"]):
        response = send_json(api_as(world, "lead"), "patch", path(world), body)

    assert_api_error(response, 400, field)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (nested(100_000), "nested deeper than 32"),
        (b'{"title": ' + nested(40) + b"}", "nested deeper than 32"),
        (b'{"title": "' + b"x" * 3_000_000 + b'"}', "larger than"),
        (b'{"title": "caf\xe9"}', "not utf-8 text"),
        (b'{"title": NaN}', "JSON parse error"),
    ],
)
def test_a_json_body_beyond_the_parsers_limits_is_a_400_that_says_which(world, body, reason):
    with unchanged(Unknown):
        response = send_json(
            api_as(world, "lead"), "post", f"{API}/milestones/{world.milestone.pk}/unknowns/", body
        )

    assert reason in assert_api_error(response, 400)["detail"]


@pytest.mark.django_db
def test_a_long_story_title_through_the_api_leaves_a_summary_that_fits(world):
    response = send_json(
        api_as(world, "lead"),
        "post",
        f"{API}/milestones/{world.milestone.pk}/stories/",
        {"title": "T" * 200},
    )

    assert response.status_code == 201, response.content
    assert len(Activity.objects.get(verb="story_added").summary) == 300


# Logging in ------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("username", "complaint"),
    [("u" * 300, "at most 150 characters"), ("lead\x07", "control character U+0007")],
)
def test_a_username_no_account_can_have_is_refused_on_the_login_form(world, username, complaint):
    response = post_raw(
        Client(), reverse("accounts:login"), {"username": username, "password": "whatever"}
    )

    assert response.status_code == 200  # the login page again, saying why
    assert complaint in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("username", ["u" * 300, "lead\x00", "\ud800"])
def test_a_username_no_account_can_have_is_a_400_on_the_token_endpoint(world, username):
    response = send_json(
        Client(), "post", f"{API}/auth/token/", {"username": username, "password": "whatever"}
    )

    assert_api_error(response, 400, "username")


@pytest.mark.django_db
def test_a_nul_byte_in_the_note_of_a_move_back_is_refused_and_the_milestone_stays(world):
    with unchanged(world.milestone, Activity):
        response = post_raw(
            page_as(world, "lead"), url(world, "milestone-transition"),
            {"to": "architecture", "note": "Review asked\x00for it"},
        )  # fmt: skip

    assert response.status_code == 400
    page = response.content.decode()
    assert "Remove the null character" in page
    assert "Review asked" in page
