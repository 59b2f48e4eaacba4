"""The Content-Security-Policy header, and templates that need nothing it forbids."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings

from dashboard.middleware import POLICY

EXPECTED = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: https:; object-src 'none'; "
    "base-uri 'self'; frame-ancestors 'none'; form-action 'self'"
)
TEMPLATE_DIRS = [Path(settings.BASE_DIR) / "templates", Path(settings.BASE_DIR) / "dashboard" / "templates"]
TAG = re.compile(r"<[a-zA-Z][^>]*>", re.S)
INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\bsrc=)[^>]*>", re.I)
HANDLER = re.compile(r"\son[a-z]+\s*=", re.I)
STYLE_ATTRIBUTE = re.compile(r"\sstyle\s*=", re.I)
STYLE_ELEMENT = re.compile(r"<style\b", re.I)
COMMENTS = re.compile(r"\{#.*?#\}|\{% comment %\}.*?\{% endcomment %\}|<!--.*?-->", re.S)


def test_the_policy_is_the_agreed_one():
    assert POLICY == EXPECTED


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/", "/login/", "/admin/login/", "/no-such-page/", "/conversations/1/"])
def test_every_response_carries_it(client, url):
    assert client.get(url)["Content-Security-Policy"] == EXPECTED


@pytest.mark.django_db
def test_a_staff_page_carries_it(staff_client):
    response = staff_client.get("/")
    assert response.status_code == 200 and response["Content-Security-Policy"] == EXPECTED


@pytest.mark.django_db
def test_debug_error_pages_keep_their_inline_styles(client, settings):
    settings.DEBUG = True
    assert "Content-Security-Policy" not in client.get("/no-such-page/")


def template_files() -> list[Path]:
    return sorted(p for d in TEMPLATE_DIRS if d.exists() for p in d.rglob("*.html"))


def test_there_are_templates_to_check():
    names = {p.name for p in template_files()}
    assert {"base.html", "detail.html", "login.html"} <= names


@pytest.mark.parametrize("path", template_files(), ids=lambda p: str(p.relative_to(settings.BASE_DIR)))
def test_no_template_needs_inline_script_or_style(path):
    source = COMMENTS.sub("", path.read_text())
    assert not INLINE_SCRIPT.findall(source), "inline <script>: move it to a file under static/js/"
    assert not STYLE_ELEMENT.search(source), "a <style> element: move it to a stylesheet under static/css/"
    for tag in TAG.findall(source):
        assert not HANDLER.search(tag), f"inline event handler in {tag!r}: bind it from static/js/"
        assert not STYLE_ATTRIBUTE.search(tag), f"style attribute in {tag!r}: use a class"
        assert "hx-on" not in tag, f"hx-on needs eval, which the policy forbids: {tag!r}"
        assert "javascript:" not in tag, f"javascript: URL in {tag!r}"


def test_the_scan_catches_what_it_looks_for():
    assert INLINE_SCRIPT.search("<script>alert(1)</script>") and not INLINE_SCRIPT.search(
        '<script src="/x.js"></script>'
    )
    assert HANDLER.search('<button onclick="x()">') and not HANDLER.search('<button data-once="1">')
    assert STYLE_ATTRIBUTE.search('<div style="color:red">') and STYLE_ELEMENT.search("<style>p{}</style>")
    assert COMMENTS.sub("", "{# <style> #}{% comment %}<script>{% endcomment %}<!-- <b style=x> -->") == ""


ADMIN_PAGES = [
    "/admin/",
    "/admin/intercom_mirror/conversation/",
    "/admin/intercom_mirror/conversation/{conversation}/change/",
    "/admin/intercom_mirror/staffprofile/add/",
    "/admin/auth/user/{user}/change/",
    "/admin/auth/group/add/",
]


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_django_admin_works_under_the_policy(live_server, page, django_user_model):
    """Django's admin has no inline scripts, styles or handlers: it needs no exemption."""
    from intercom_mirror.models import Conversation

    user = django_user_model.objects.create_superuser("root", "root@example.com", "password-root")
    conversation = Conversation.objects.create(intercom_id="77", body="<p>hi</p>")
    problems = []
    # Chromium reports each refused script, style or handler on the console; scripts that break raise page errors.
    page.on("console", lambda m: problems.append(m.text) if "Content Security Policy" in m.text else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "root")
    page.fill("#id_password", "password-root")
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")
    for url in ADMIN_PAGES:
        response = page.goto(live_server.url + url.format(conversation=conversation.pk, user=user.pk))
        assert response.status == 200 and response.headers["content-security-policy"] == EXPECTED
        page.wait_for_load_state("networkidle")
    # The JavaScript-built widgets ran: the user page's group chooser, the admin's theme toggle.
    page.goto(f"{live_server.url}/admin/auth/user/{user.pk}/change/")
    page.locator("#id_groups_from").wait_for()  # SelectFilter2.js built the two-list chooser
    page.locator(".theme-toggle").click()
    assert problems == []
