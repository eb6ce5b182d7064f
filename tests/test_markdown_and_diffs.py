"""Markdown rendering with its sanitiser, and the line diffs of revisions. No database."""

from __future__ import annotations

import pytest
from django.utils.safestring import SafeString

from planning.diffs import DiffLine, diff_lines, diff_stats
from planning.markdown import mermaid_blocks, render_markdown

DIAGRAM = """\
Before the diagram.

```mermaid
flowchart LR
  a[Shop] --> b[(Vault)]
```
"""


# render_markdown: what it keeps ---------------------------------------------------


def test_render_markdown_returns_html_safe_for_a_template():
    html = render_markdown("**bold** and _slanted_")

    assert isinstance(html, SafeString)
    assert html == "<p><strong>bold</strong> and <em>slanted</em></p>\n"


def test_render_markdown_of_nothing_is_empty():
    assert render_markdown("") == ""
    assert render_markdown(None) == ""


def test_tables_become_html_tables():
    html = render_markdown("| channel | verb |\n| --- | --- |\n| `/cards` | POST |\n")

    assert "<table>" in html
    assert "<th>channel</th>" in html
    assert "<td><code>/cards</code></td>" in html


def test_column_alignment_becomes_a_class_not_an_inline_style():
    html = render_markdown("| a | b |\n|:-:|--:|\n| 1 | 2 |\n")

    assert '<th class="align-center">a</th>' in html
    assert '<td class="align-right">2</td>' in html
    assert "style" not in html


def test_inline_style_in_raw_html_table_cells_is_dropped():
    html = render_markdown('<table><tr><td style="text-align:right">1</td></tr></table>')

    assert "<td>1</td>" in html


def test_headings_lists_and_strikethrough_render():
    html = render_markdown("## Scope\n\n- one\n- ~~two~~\n")

    assert "<h2>Scope</h2>" in html
    assert "<li><s>two</s></li>" in html


def test_code_fences_show_html_as_text():
    html = render_markdown('```python\nprint("<b>hi</b>")\n```\n')

    assert html == '<pre><code>print("&lt;b&gt;hi&lt;/b&gt;")\n</code></pre>\n'


def test_a_mermaid_fence_becomes_a_pre_that_mermaid_draws():
    html = render_markdown(DIAGRAM)

    assert "<p>Before the diagram.</p>" in html
    assert (
        '<pre class="mermaid" data-line="3">flowchart LR\n  a[Shop] --&gt; b[(Vault)]</pre>' in html
    )
    assert "<code" not in html


def test_the_mermaid_fence_is_recognised_whatever_its_case():
    assert '<pre class="mermaid" data-line="1">' in render_markdown(
        "```Mermaid\ngraph TD\n  a-->b\n```\n"
    )


def test_other_classes_than_mermaid_are_dropped():
    html = render_markdown('<pre class="evil mermaid">x</pre>')

    assert "evil" not in html


def test_safe_raw_html_such_as_details_is_kept():
    html = render_markdown("<details><summary>Why</summary>Because.</details>")

    assert html == "<details><summary>Why</summary>Because.</details>"


def test_links_open_without_handing_over_the_window():
    html = render_markdown("[vendor docs](https://example.com/docs)")

    assert html == (
        '<p><a href="https://example.com/docs" rel="noopener noreferrer nofollow">'
        "vendor docs</a></p>\n"
    )


def test_a_raw_link_gets_rel_noopener_too():
    html = render_markdown('<a href="https://example.com" target="_blank">x</a>')

    assert 'rel="noopener noreferrer nofollow"' in html
    assert "target" not in html


def test_mermaid_blocks_lists_the_source_of_every_diagram():
    source = DIAGRAM + "\n```mermaid\nsequenceDiagram\n  A->>B: hi\n```\n\n```sql\nselect 1\n```\n"

    assert mermaid_blocks(source) == [
        "flowchart LR\n  a[Shop] --> b[(Vault)]\n",
        "sequenceDiagram\n  A->>B: hi\n",
    ]


# render_markdown: what it strips --------------------------------------------------


@pytest.mark.parametrize(
    ("source", "forbidden"),
    [
        ("<script>alert(1)</script>", "<script"),
        ("<img src=x onerror=alert(1)>", "onerror"),
        ("<svg onload=alert(1)>", "<svg"),
        ('<a href="javascript:alert(1)">x</a>', "javascript:"),
        ('<a href="JaVaScRiPt:alert(1)">x</a>', "javascript"),
        ('<a href="data:text/html,<script>alert(1)</script>">x</a>', "data:"),
        ('<div hx-get="/admin/" hx-trigger="load">x</div>', "hx-"),
        ('<p style="background:url(javascript:alert(1))">x</p>', "style"),
        ("<iframe src=https://example.com></iframe>", "<iframe"),
        ('<form action="/"><button>go</button></form>', "<form"),
        ("<style>body{display:none}</style>", "<style"),
        ("<!-- hidden -->", "hidden"),
    ],
)
def test_unsafe_raw_html_is_stripped(source, forbidden):
    html = render_markdown(source)

    assert forbidden.lower() not in html.lower()


def test_a_markdown_javascript_link_is_not_made_a_link():
    html = render_markdown("[x](javascript:alert(1))")

    assert "<a" not in html
    assert "href" not in html


def test_an_image_keeps_its_source_but_loses_its_handler():
    assert render_markdown("<img src=x onerror=alert(1)>") == '<img src="x">'


def test_mermaid_click_and_callback_lines_are_removed():
    html = render_markdown(
        "```mermaid\nflowchart LR\n  A --> B\n  click A call alert(1)\n"
        '  click B href "javascript:alert(1)"\n  callback A "alert"\n```\n'
    )

    assert html == '<pre class="mermaid" data-line="1">flowchart LR\n  A --&gt; B</pre>\n'


def test_a_mermaid_click_after_a_semicolon_is_removed_too():
    # Mermaid also ends a statement at ";", so a binding need not start its own line.
    html = render_markdown("```mermaid\nflowchart LR; A --> B; click A call alert(1)\n```\n")

    assert "click" not in html
    assert "alert" not in html


def test_mermaid_styles_that_load_urls_are_removed():
    html = render_markdown(
        "```mermaid\nflowchart LR\n  A --> B\n"
        "  classDef evil fill:url(javascript:alert(1))\n"
        "  style A fill:url(https://example.com/x.png)\n"
        "  %%{init: {'securityLevel': 'loose'}}%%\n```\n"
    )

    assert html == '<pre class="mermaid" data-line="1">flowchart LR\n  A --&gt; B</pre>\n'


def test_tags_inside_mermaid_labels_are_removed_but_line_breaks_stay():
    html = render_markdown(
        "```mermaid\nflowchart LR\n  A[<img src=x onerror=alert(1)>] --> B[one<br>two]\n```\n"
    )

    assert (
        html
        == '<pre class="mermaid" data-line="1">flowchart LR\n  A[] --&gt; B[one&lt;br&gt;two]</pre>\n'
    )


# diff_lines and diff_stats ---------------------------------------------------------


def test_identical_texts_have_no_diff():
    assert diff_lines("a\nb\nc\n", "a\nb\nc\n") == []
    assert diff_lines("", "") == []


def test_a_first_revision_is_all_added_lines():
    lines = diff_lines("", "one\ntwo")

    assert lines == [DiffLine("added", None, 1, "one"), DiffLine("added", None, 2, "two")]
    assert diff_stats(lines) == (2, 0)


def test_a_changed_line_is_removed_then_added_with_context_around_it():
    lines = diff_lines("a\nb\nc", "a\nB\nc")

    assert lines == [
        DiffLine("same", 1, 1, "a"),
        DiffLine("removed", 2, None, "b"),
        DiffLine("added", None, 2, "B"),
        DiffLine("same", 3, 3, "c"),
    ]
    assert diff_stats(lines) == (1, 1)


def test_deleted_lines_are_counted_as_removed():
    lines = diff_lines("keep\ngone\nalso gone\n", "keep\n")

    assert [line.kind for line in lines] == ["same", "removed", "removed"]
    assert diff_stats(lines) == (0, 2)


def test_unchanged_lines_beyond_the_context_collapse_into_one_gap():
    old = "\n".join(f"line {n}" for n in range(1, 21))
    new = old.replace("line 10", "line ten")

    lines = diff_lines(old, new, context=2)

    assert [(line.kind, line.old_number, line.new_number) for line in lines] == [
        ("gap", None, None),
        ("same", 8, 8),
        ("same", 9, 9),
        ("removed", 10, None),
        ("added", None, 10),
        ("same", 11, 11),
        ("same", 12, 12),
    ]


def test_two_distant_changes_are_separated_by_a_gap():
    old = "\n".join(f"line {n}" for n in range(1, 31))
    new = old.replace("line 2\n", "line two\n").replace("line 28", "line twenty-eight")

    lines = diff_lines(old, new, context=1)

    kinds = [line.kind for line in lines]
    assert kinds.count("gap") == 1
    gap = kinds.index("gap")
    assert lines[gap - 1] == DiffLine("same", 3, 3, "line 3")
    assert lines[gap + 1] == DiffLine("same", 27, 27, "line 27")
    assert diff_stats(lines) == (2, 2)


def test_line_numbers_follow_each_side_after_an_insertion():
    lines = diff_lines("a\nb", "a\nnew\nb")

    assert lines == [
        DiffLine("same", 1, 1, "a"),
        DiffLine("added", None, 2, "new"),
        DiffLine("same", 2, 3, "b"),
    ]


def test_diff_stats_ignore_context_and_gaps():
    lines = [
        DiffLine("gap", None, None, ""),
        DiffLine("same", 1, 1, "x"),
        DiffLine("added", None, 2, "y"),
        DiffLine("removed", 2, None, "z"),
        DiffLine("added", None, 3, "w"),
    ]

    assert diff_stats(lines) == (2, 1)
