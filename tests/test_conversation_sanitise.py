"""Bodies from Intercom are untrusted HTML: sanitised at render time, remote images only loaded on a click."""

from __future__ import annotations

import re

import pytest

from dashboard.html import plain_text, sanitise
from tests import test_conversation as shared
from tests.test_conversation import make_conversation, make_people, page_of, part

support_user, support_client = shared.support_user, shared.support_client  # fixtures, used by name

PAYLOADS = (
    "<p>Hello<script>window.pwned=1</script></p>"
    '<img src=x onerror="window.pwned=1">'
    '<p onmouseover="window.pwned=1">hover me</p><iframe src="https://evil.example/"></iframe>'
    '<a href="javascript:window.pwned=1">click me</a>'
    "<svg/onload=window.pwned=1><style>body{display:none}</style>"
    '<form action="https://evil.example/"><input name="q"></form>'
)


def test_it_removes_scripts_handlers_and_dangerous_urls():
    clean = sanitise(PAYLOADS)
    for bad in (
        "<script",
        "pwned",
        "onerror",
        "onmouseover",
        "onload",
        "<iframe",
        "<svg",
        "<style",
        "javascript:",
        "<form",
        "<input",
    ):
        assert bad not in clean
    assert "<p>Hello</p>" in clean and "hover me" in clean and "click me" in clean


def test_it_keeps_the_allowed_formatting():
    body = (
        "<p>a<br><b>b</b><strong>s</strong><i>i</i><em>e</em></p><ul><li>one</li></ul><ol><li>two</li></ol>"
        "<pre><code>x = 1</code></pre><blockquote>quoted</blockquote>"
    )
    assert sanitise(body) == body


def test_links_open_apart_and_only_to_the_web_or_mail():
    clean = sanitise(
        '<a href="https://example.com/a?b=1&c=2" title="t">x</a><a href="/admin/">y</a><a href="mailto:a@b.c">m</a>'
    )
    assert (
        '<a href="https://example.com/a?b=1&amp;c=2" target="_blank" rel="noopener noreferrer nofollow">x</a>' in clean
    )
    assert '<a target="_blank" rel="noopener noreferrer nofollow">y</a>' in clean  # relative: points at this site
    assert 'href="mailto:a@b.c"' in clean


def test_remote_images_wait_for_a_click():
    clean = sanitise('<p><img src="https://tracker.example/pixel.gif?u=42&amp;c=7" alt="logo"></p>')
    assert "<img" not in clean
    assert (
        '<a class="remote-image" href="https://tracker.example/pixel.gif?u=42&amp;c=7" '
        'data-src="https://tracker.example/pixel.gif?u=42&amp;c=7" data-alt="logo" target="_blank" '
        'rel="noopener noreferrer nofollow">Load image from tracker.example</a>'
    ) in clean


def test_images_that_are_not_remote_are_dropped():
    assert sanitise('<img src="data:image/png;base64,AAAA">') == '<span class="image-removed">[image]</span>'
    assert sanitise('<img src="/static/x.png" alt="a">') == '<span class="image-removed">[image: a]</span>'


def test_an_alt_text_cannot_break_out_of_its_attribute():
    clean = sanitise('<img src="https://a.example/x.png" alt="&quot; onmouseover=&quot;x()&quot; > <script>">')
    assert "onmouseover=" not in clean.replace("&quot; onmouseover=&quot;", "")
    assert "<script" not in clean
    assert 'data-alt="&quot; onmouseover=&quot;x()&quot; &gt; &lt;script&gt;"' in clean


def test_text_that_looks_like_a_tag_stays_text():
    assert sanitise("<p>use &lt;img src=x&gt; here</p>") == "<p>use &lt;img src=x&gt; here</p>"


def test_plain_text_collapses_blocks_and_entities():
    assert plain_text("<p>Hi</p><p>there &amp; <b>you</b></p><script>x()</script>") == "Hi there & you"
    assert plain_text("<p>" + "word " * 40 + "</p>", 20) == "word word word word…"


@pytest.mark.django_db
def test_the_page_runs_nothing_from_a_hostile_body(support_client):
    make_people()
    conv = make_conversation(body=PAYLOADS)
    part(conv, 1, "comment", ("user", "c1"), '<p>see <img src="https://tracker.example/pixel.gif"></p>')
    part(conv, 2, "note", ("admin", "a1"), PAYLOADS)
    page = page_of(support_client, conv)
    assert "pwned" not in page and "onerror" not in page and "javascript:" not in page
    assert re.findall(r"<script(?![^>]*\ssrc=)[^>]*>", page) == []  # every script on the page is a file
    assert not re.search(r"<img[^>]*src=\"?https?://", page)  # no remote image loads on page view
    assert "Load image from tracker.example" in page
