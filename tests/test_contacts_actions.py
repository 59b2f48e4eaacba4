"""Writes from the contacts pages, against the sandbox: tags, notes, bulk tagging, lead conversion; events and
notes read on demand. After each write the sandbox's state and the mirror agree."""

from __future__ import annotations

import re
from urllib.parse import urlencode

import pytest
from django.contrib.auth.models import Group
from django.core.cache import cache

from dashboard.contacts import bulk
from intercom_mirror import sync
from intercom_mirror.actions import core
from intercom_mirror.models import Admin, Contact, Conversation, Note, StaffAction, StaffProfile
from tests.sandbox_fixtures import make_sandbox


@pytest.fixture
def sb(monkeypatch):
    """A mirrored sandbox of 120 users and 20 leads; the actions' clients talk to it in-process."""
    cache.clear()
    sandbox = make_sandbox(users=120, leads=20, conversations=30)
    sync.sync_all(full=True, client=sandbox.client, sleep=sandbox.clock.sleep)
    monkeypatch.setattr(core, "web_client", lambda: sandbox.new_client(max_retries=1))
    monkeypatch.setattr(core, "worker_client", lambda: sandbox.new_client(max_retries=1))
    monkeypatch.setattr(bulk, "pause", lambda seconds: None)
    yield sandbox
    cache.clear()


@pytest.fixture
def sam(django_user_model, sb):
    user = django_user_model.objects.create_user("sam", "sam@example.com", "password-sam", is_staff=True)
    user.groups.add(Group.objects.get(name="Support staff"))
    StaffProfile.objects.create(user=user, admin=Admin.objects.live().order_by("id").first())
    return user


@pytest.fixture
def sam_client(client, sam):
    client.force_login(sam)
    return client


def sandbox_tags(sb, contact_id: str) -> set[str]:
    ws = sb.app.workspace
    contact = ws.users.get(contact_id) or ws.leads.get(contact_id)
    return {ws.tags[t].name for t in contact.tag_ids}


def text(response) -> str:
    return response.content.decode()


# --- tags --------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_tag_and_untag_a_contact_the_sandbox_agrees(sam_client, sb):
    user = Contact.objects.live().filter(role="user").first()
    url = f"/contacts/{user.intercom_id}/tags/"

    response = sam_client.post(url, {"action": "tag", "name": "VIP Gold"}, HTTP_HX_REQUEST="true")

    assert text(response).lstrip().startswith('<div id="contact-tags">')
    assert "VIP Gold" in text(response) and "VIP Gold" in sandbox_tags(sb, user.intercom_id)
    assert user.tags.filter(name="VIP Gold").exists()

    response = sam_client.post(url, {"action": "untag", "name": "vip gold"}, HTTP_HX_REQUEST="true")  # any case

    assert "VIP Gold" not in text(response) and "VIP Gold" not in sandbox_tags(sb, user.intercom_id)
    assert not user.tags.filter(name__iexact="vip gold").exists()


@pytest.mark.django_db
def test_tagging_without_javascript_redirects_back_and_a_refusal_keeps_the_name(sam_client, sb):
    user = Contact.objects.live().filter(role="user").first()
    response = sam_client.post(f"/contacts/{user.intercom_id}/tags/", {"action": "tag", "name": "Plain"})
    assert response.status_code == 302 and response["Location"] == f"/contacts/{user.intercom_id}/#tags"
    assert "Plain" in sandbox_tags(sb, user.intercom_id)

    sb.app.faults.fail_next(1, status=400)
    response = sam_client.post(
        f"/contacts/{user.intercom_id}/tags/", {"action": "tag", "name": "Refused"}, HTTP_HX_REQUEST="true"
    )
    assert "Intercom refused this" in text(response) and 'value="Refused"' in text(response)
    assert "Refused" not in sandbox_tags(sb, user.intercom_id)


@pytest.mark.django_db
def test_a_refused_change_can_be_retried_or_discarded_from_the_contact_page(sam_client, sb):
    user = Contact.objects.live().filter(role="user").first()
    page_url = f"/contacts/{user.intercom_id}/"
    for name in ("Retried", "Dropped"):
        sb.app.faults.fail_next(1, status=400)
        sam_client.post(f"{page_url}tags/", {"action": "tag", "name": name}, HTTP_HX_REQUEST="true")
    retried, dropped = StaffAction.objects.filter(target_intercom_id=user.intercom_id).order_by("id")
    page = text(sam_client.get(page_url))
    assert page.count('value="retry"') == 2 and page.count('value="discard"') == 2

    response = sam_client.post(f"{page_url}actions/{dropped.pk}/", {"action": "discard"}, HTTP_HX_REQUEST="true")
    assert text(response).lstrip().startswith('<div id="open-actions">') and "Dropped" not in text(response)
    dropped.refresh_from_db()
    assert dropped.state == StaffAction.DISCARDED and "Dropped" not in sandbox_tags(sb, user.intercom_id)

    response = sam_client.post(f"{page_url}actions/{retried.pk}/", {"action": "retry"})  # a plain form
    assert response.status_code == 302 and response["Location"] == page_url
    retried.refresh_from_db()
    assert retried.state == StaffAction.DONE and "Retried" in sandbox_tags(sb, user.intercom_id)
    assert user.tags.filter(name="Retried").exists()  # the mirror, from the API's answer
    assert 'value="retry"' not in text(sam_client.get(page_url))

    other = Contact.objects.live().filter(role="user").exclude(pk=user.pk).first()
    assert (
        sam_client.post(f"/contacts/{other.intercom_id}/actions/{retried.pk}/", {"action": "retry"}).status_code == 404
    )


# --- notes ---------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_add_a_note_it_shows_on_the_page_and_in_the_sandbox(sam_client, sb):
    lead = Contact.objects.live().filter(role="lead").first()
    page = text(sam_client.get(f"/contacts/{lead.intercom_id}/"))
    key = re.search(r'name="key" value="([^"]+)"', page).group(1)

    response = sam_client.post(f"/contacts/{lead.intercom_id}/notes/", {"body": "Called: wants a <demo>", "key": key})

    assert response.status_code == 302
    notes = [n for n in sb.app.workspace.notes.values() if n.contact_id == lead.intercom_id]
    assert any("Called: wants a &lt;demo&gt;" in n.body or "Called: wants a" in n.body for n in notes)
    page = text(sam_client.get(f"/contacts/{lead.intercom_id}/"))
    assert "Called: wants a &lt;demo&gt;" in page  # sanitised: the <demo> the staff typed is text
    # The same submit again (a double click) adds nothing.
    sam_client.post(f"/contacts/{lead.intercom_id}/notes/", {"body": "Called: wants a <demo>", "key": key})
    assert len([n for n in sb.app.workspace.notes.values() if n.contact_id == lead.intercom_id]) == len(notes)


@pytest.mark.django_db
def test_a_refused_note_keeps_its_text_and_says_why(sam_client, sb):
    lead = Contact.objects.live().filter(role="lead").first()
    sb.app.faults.fail_next(1, status=400)
    response = sam_client.post(
        f"/contacts/{lead.intercom_id}/notes/", {"body": "Keep me", "key": "note-k1"}, HTTP_HX_REQUEST="true"
    )
    html = text(response)
    assert "Intercom refused this" in html and ">Keep me</textarea>" in html
    assert 'name="key" value="note-k1"' not in html  # the spent key is replaced
    assert 'hx-swap-oob="true"' in html  # the notes list comes back with the form
    # Without htmx the page is shown again, with the text.
    sb.app.faults.fail_next(1, status=400)
    response = sam_client.post(f"/contacts/{lead.intercom_id}/notes/", {"body": "Keep me too", "key": "note-k2"})
    assert response.status_code == 200 and ">Keep me too</textarea>" in text(response)


@pytest.mark.django_db
def test_an_empty_note_is_refused(sam_client, sb):
    lead = Contact.objects.live().filter(role="lead").first()
    response = sam_client.post(
        f"/contacts/{lead.intercom_id}/notes/", {"body": "   ", "key": "note-k3"}, HTTP_HX_REQUEST="true"
    )
    assert "Type the note first" in text(response)
    assert not StaffAction.objects.filter(verb="add_note").exists()


@pytest.mark.django_db
def test_notes_are_read_again_from_intercom_in_the_background(sam_client, sb):
    user_id = next(iter(sb.app.workspace.users))
    sb.app.workspace.create_note({"body": "Written in Intercom itself", "user": {"id": user_id}})
    assert "Written in Intercom itself" not in text(sam_client.get(f"/contacts/{user_id}/"))

    response = sam_client.get(f"/contacts/{user_id}/notes/", HTTP_HX_REQUEST="true")

    assert text(response).lstrip().startswith('<div id="notes-list">')
    assert "Written in Intercom itself" in text(response)
    assert Note.objects.live().filter(contact_id=user_id, body__contains="Written in Intercom itself").exists()


@pytest.mark.django_db
def test_when_intercom_is_down_the_notes_say_they_could_not_be_refreshed(sam_client, sb):
    user = Contact.objects.live().filter(role="user").first()
    sb.app.faults.fail_next(4, status=503)
    response = sam_client.get(f"/contacts/{user.intercom_id}/notes/", HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and "Couldn't refresh from Intercom" in text(response)


# --- events -----------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_recent_events_load_on_their_own_and_are_cached(sam_client, sb):
    user_id, events = next((cid, ev) for cid, ev in sb.app.workspace.events_by_contact.items() if ev)
    url = f"/contacts/{user_id}/events/"

    html = text(sam_client.get(url, HTTP_HX_REQUEST="true"))

    assert html.lstrip().startswith('<section id="events"') and "hx-trigger" not in html
    assert all(e.event_name in html for e in events[:5])
    sb.app.faults.fail_next(4, status=503)  # cached for a minute: Intercom is not asked again
    assert text(sam_client.get(url, HTTP_HX_REQUEST="true")) == html


@pytest.mark.django_db
def test_recent_events_say_when_intercom_is_unavailable(sam_client, sb):
    user = Contact.objects.live().filter(role="user").first()
    sb.app.faults.fail_next(4, status=503)
    html = text(sam_client.get(f"/contacts/{user.intercom_id}/events/", HTTP_HX_REQUEST="true"))
    assert "Intercom is unavailable right now" in html
    page = text(sam_client.get(f"/contacts/{user.intercom_id}/events/"))  # without JavaScript: a page
    assert "<html" in page and "Intercom is unavailable right now" in page


@pytest.mark.django_db
def test_a_leads_page_says_leads_have_no_events_without_asking_intercom(sam_client, sb):
    lead = Contact.objects.live().filter(role="lead").first()
    sb.app.faults.fail_next(4, status=503)  # were Intercom asked, the page would say it is unavailable
    for html in (
        text(sam_client.get(f"/contacts/{lead.intercom_id}/")),
        text(sam_client.get(f"/contacts/{lead.intercom_id}/events/", HTTP_HX_REQUEST="true")),
    ):
        events = html.split('<section id="events"')[1].split("</section>")[0]
        assert "events for users only" in events and "hx-get" not in events and "unavailable" not in events


# --- bulk ---------------------------------------------------------------------------------------------------


def post_bulk(client, capture, data: dict, **headers):
    with capture(execute=True):  # the task is queued on commit; Q_CLUSTER sync runs it inline
        return client.post("/contacts/bulk/", data, **headers)


@pytest.mark.django_db
def test_bulk_tag_120_contacts_chosen_by_a_filter_with_the_summary(sam_client, sb, django_capture_on_commit_callbacks):
    users = list(Contact.objects.live().filter(role="user").values_list("intercom_id", flat=True))
    assert len(users) == 120
    response = post_bulk(
        sam_client,
        django_capture_on_commit_callbacks,
        {"verb": "tag", "name": "Renewal  2027", "all": "1", "role": "user"},
    )
    assert response.status_code == 302
    html = text(sam_client.get(response["Location"]))

    assert "120 contacts tagged “Renewal 2027”" in html and "in 3 requests" in html
    assert "http-equiv" not in html  # finished: the page no longer reloads itself
    assert all("Renewal 2027" in sandbox_tags(sb, i) for i in users)
    assert Contact.objects.filter(tags__name="Renewal 2027").count() == 120
    assert not any("Renewal 2027" in sandbox_tags(sb, i) for i in sb.app.workspace.leads)
    actions = StaffAction.objects.filter(verb="bulk_tag")
    assert [len(a.request_body["users"]) for a in actions.order_by("id")] == [50, 50, 20]


@pytest.mark.django_db
def test_a_bulk_form_sent_twice_starts_one_run(sam_client, sb, django_capture_on_commit_callbacks):
    """A double click, or the browser resending the form: the second request joins the first run."""
    chosen = list(Contact.objects.live().filter(role="user").values_list("intercom_id", flat=True)[:3])
    data = {"verb": "tag", "name": "Twice", "ids": chosen}
    first = post_bulk(sam_client, django_capture_on_commit_callbacks, data)
    again = post_bulk(sam_client, django_capture_on_commit_callbacks, data)
    assert again["Location"] == first["Location"]
    assert StaffAction.objects.filter(verb="bulk_tag").count() == 1
    other = post_bulk(sam_client, django_capture_on_commit_callbacks, {**data, "ids": chosen[:2]})
    assert other["Location"] != first["Location"]  # another request is another run
    assert StaffAction.objects.filter(verb="bulk_tag").count() == 2


@pytest.mark.django_db
def test_bulk_untag_the_checked_contacts_by_htmx_with_progress(sam_client, sb, django_capture_on_commit_callbacks):
    chosen = list(Contact.objects.live().filter(role="user").values_list("intercom_id", flat=True)[:3])
    post_bulk(sam_client, django_capture_on_commit_callbacks, {"verb": "tag", "name": "Trial", "ids": chosen})
    response = post_bulk(
        sam_client,
        django_capture_on_commit_callbacks,
        {"verb": "untag", "name": "trial", "ids": chosen[:2], "role": "all"},
        HTTP_HX_REQUEST="true",
    )
    html = text(response)  # rendered before the task starts (it is queued when the request commits)
    assert 'class="bulk-progress card"' in html and "<html" not in html and 'hx-trigger="every 1s"' in html
    poll = re.search(r'hx-get="([^"]+)"', html).group(1).replace("&amp;", "&")
    response = sam_client.get(poll, HTTP_HX_REQUEST="true")
    assert "2 contacts untagged “trial”" in text(response) and "every 1s" not in text(response)
    assert "contacts-changed" in response["HX-Trigger"]  # the list reloads to show the tags
    assert [("Trial" in sandbox_tags(sb, i)) for i in chosen] == [False, False, True]


@pytest.mark.django_db
def test_bulk_summary_says_which_contacts_failed_and_why(sam_client, sb, django_capture_on_commit_callbacks):
    sb.app.faults.fail_next(1, status=400)  # the first request of 50 is refused
    response = post_bulk(
        sam_client, django_capture_on_commit_callbacks, {"verb": "tag", "name": "Beta", "all": "1", "role": "user"}
    )
    html = text(sam_client.get(response["Location"]))
    assert "70 contacts tagged “Beta”, 50 failed" in html
    failed = StaffAction.objects.get(verb="bulk_tag", state="failed")
    assert f"50 failed: {failed.error_message}" in html
    first = failed.request_body["users"][0]["id"]
    assert f'href="/contacts/{first}/"' in html


@pytest.mark.django_db
def test_bulk_progress_before_the_worker_starts(sam_client, sb):
    url = "/contacts/bulk/" + "a" * 32 + "/?" + urlencode({"verb": "tag", "name": "X", "n": 120})
    html = text(sam_client.get(url))
    assert "0 of 120 contacts" in html and "Waiting for the background worker" in html
    assert 'http-equiv="refresh"' in html  # without JavaScript the page reloads itself
    htmx = text(sam_client.get(url, HTTP_HX_REQUEST="true"))
    assert 'hx-trigger="every 1s" hx-target="this"' in htmx  # not the bulk form's target, which it sits in


@pytest.mark.django_db
def test_bulk_refuses_nothing_selected_no_name_and_unlinked_users(sam_client, sb, client, staff_user):
    response = sam_client.post("/contacts/bulk/", {"verb": "tag", "name": "X"}, HTTP_HX_REQUEST="true")
    assert "Select some contacts first" in text(response)
    response = sam_client.post("/contacts/bulk/", {"verb": "tag", "all": "1"}, HTTP_HX_REQUEST="true")
    assert "Give the tag a name" in text(response)
    client.force_login(staff_user)
    response = client.post("/contacts/bulk/", {"verb": "tag", "name": "X", "all": "1"})
    assert response.status_code == 302 and not StaffAction.objects.exists()


# --- lead conversion -----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_convert_a_lead_after_confirming(sam_client, sb):
    lead = Contact.objects.live().filter(role="lead").first()
    form = {"user_id": "new-user-42", "email": "new42@example.com"}

    confirm = sam_client.post(f"/contacts/{lead.intercom_id}/convert/", form)  # without JavaScript: a page
    assert confirm.status_code == 200 and "becomes a user with user_id" in text(confirm)
    assert lead.intercom_id in sb.app.workspace.leads  # nothing sent yet
    dialog = sam_client.post(f"/contacts/{lead.intercom_id}/convert/", form, HTTP_HX_REQUEST="true")
    assert 'id="confirm-title"' in text(dialog) and "<html" not in text(dialog)

    response = sam_client.post(f"/contacts/{lead.intercom_id}/convert/", {**form, "confirmed": "1"})

    assert response.status_code == 302 and response["Location"] == f"/contacts/{lead.intercom_id}/"
    row = Contact.objects.get(intercom_id=lead.intercom_id)
    assert (row.role, row.user_id, row.email) == ("user", "new-user-42", "new42@example.com")
    assert lead.intercom_id in sb.app.workspace.users
    assert "is a user now" in text(sam_client.get(response["Location"]))


@pytest.mark.django_db
def test_converting_with_an_existing_users_email_says_it_will_merge(sam_client, sb):
    lead = Contact.objects.live().filter(role="lead").first()
    user = Contact.objects.live().filter(role="user").exclude(email="").first()
    form = {"user_id": "", "email": user.email.upper()}
    confirm = text(sam_client.post(f"/contacts/{lead.intercom_id}/convert/", form))
    assert "exists already" in confirm and "merge the lead into that user" in confirm

    response = sam_client.post(f"/contacts/{lead.intercom_id}/convert/", {**form, "confirmed": "1"})

    assert response["Location"] == f"/contacts/{user.intercom_id}/"
    assert Contact.objects.get(intercom_id=lead.intercom_id).merged_into_id == user.intercom_id


@pytest.mark.django_db
def test_merge_a_lead_into_a_user_and_find_its_conversation_there(sam_client, sb):
    lead_id = Conversation.objects.filter(customer__role="lead").values_list("customer_id", flat=True).first()
    conversation = Conversation.objects.filter(customer_id=lead_id).first()
    user = Contact.objects.live().filter(role="user").first()

    confirm = text(sam_client.post(f"/contacts/{lead_id}/merge/", {"into": user.intercom_id}, HTTP_HX_REQUEST="true"))
    assert f"into {user.display_name}" in confirm and "The lead is deleted in Intercom" in confirm

    response = sam_client.post(f"/contacts/{lead_id}/merge/", {"into": user.intercom_id, "confirmed": "1"})

    assert response["Location"] == f"/contacts/{user.intercom_id}/"
    page = text(sam_client.get(response["Location"]))
    assert f'href="/conversations/{conversation.intercom_id}/"' in page and "was merged into this user" in page
    assert sam_client.get(f"/contacts/{lead_id}/")["Location"] == f"/contacts/{user.intercom_id}/"
    assert lead_id not in sb.app.workspace.leads
    assert user.intercom_id in sb.app.workspace.conversations[conversation.intercom_id].customers


@pytest.mark.django_db
def test_a_failed_conversion_shows_the_api_message_and_changes_nothing(sam_client, sb):
    lead = Contact.objects.live().filter(role="lead").first()
    user = Contact.objects.live().filter(role="user").first()
    sb.app.faults.fail_next(1, status=400)

    response = sam_client.post(f"/contacts/{lead.intercom_id}/merge/", {"into": user.intercom_id, "confirmed": "1"})

    assert response["Location"] == f"/contacts/{lead.intercom_id}/"
    action = StaffAction.objects.get(verb="merge")
    assert action.state == "failed" and action.error_message
    page = text(sam_client.get(response["Location"]))
    assert "Intercom refused this" in page and action.error_message in page.replace("&#x27;", "'")
    row = Contact.objects.get(intercom_id=lead.intercom_id)
    assert (row.role, row.deleted_at) == ("lead", None)
    assert lead.intercom_id in sb.app.workspace.leads and user.intercom_id in sb.app.workspace.users


@pytest.mark.django_db
def test_conversion_refuses_a_user_and_junk(sam_client, sb):
    lead = Contact.objects.live().filter(role="lead").first()
    user = Contact.objects.live().filter(role="user").first()
    response = sam_client.post(f"/contacts/{user.intercom_id}/convert/", {"email": "x@example.com"})
    assert response.status_code == 302 and not StaffAction.objects.exists()
    dialog = text(sam_client.post(f"/contacts/{lead.intercom_id}/convert/", {"email": "nope"}, HTTP_HX_REQUEST="true"))
    assert "Enter a valid email address" in dialog
    dialog = text(sam_client.post(f"/contacts/{lead.intercom_id}/merge/", {"into": "nobody"}, HTTP_HX_REQUEST="true"))
    assert "not in the mirror" in dialog
