"""The login page in a real browser (Playwright driving Debian's chromium)."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def test_it_logs_a_staff_user_in_and_out(live_server, page, staff_user):
    page.goto(f"{live_server.url}/")
    assert "/login/" in page.url
    page.fill("#id_username", "alice")
    page.fill("#id_password", "password-alice")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    assert page.locator("h1").inner_text() == "Mirror status"
    # htmx is loaded and the CSRF header is on <body> for every htmx request.
    assert page.evaluate("typeof htmx") == "object"
    assert "x-csrftoken" in page.locator("body").get_attribute("hx-headers")
    page.click("text=Log out")
    page.wait_for_url(f"{live_server.url}/login/")


def test_it_shows_an_error_for_a_wrong_password(live_server, page, staff_user):
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "alice")
    page.fill("#id_password", "wrong")
    page.click("button[type=submit]")
    assert "didn't match" in page.locator(".error").inner_text()
