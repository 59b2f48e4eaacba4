"""IntercomClient against httpx.MockTransport: errors, retries, rate limits, paging, scroll."""

from __future__ import annotations

import json
import logging

import httpx
import pytest

from intercom_mirror.api import (
    AuthenticationError,
    BadRequest,
    Conflict,
    ConnectionFailed,
    IntercomClient,
    IntercomError,
    MalformedResponse,
    NotFound,
    RateLimit,
    RateLimited,
    ScrollExists,
    ScrollFailed,
    ServerError,
    ServiceUnavailable,
    parse_timestamp,
)

TOKEN = "tok_secret_9f8e7d6c5b4a"
NOW = 1_700_000_000.0


class FakeTime:
    """A clock that only moves when the client sleeps."""

    def __init__(self) -> None:
        self.now = NOW
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def make_client(handler, *, fake: FakeTime | None = None, **kwargs) -> IntercomClient:
    fake = fake or FakeTime()
    kwargs.setdefault("max_retries", 4)
    return IntercomClient(
        token=TOKEN,
        base_url="https://api.intercom.io",
        transport=httpx.MockTransport(handler),
        sleep=fake.sleep,
        clock=fake.clock,
        **kwargs,
    )


def error_body(code: str, message: str = "boom", *, key: str = "code", **extra) -> dict:
    return {"type": "error.list", "request_id": "req-1", "errors": [{key: code, "message": message, **extra}]}


def respond(status: int, body=None, *, headers=None, text: str | None = None):
    """Return a handler that answers every request the same way, recording them."""
    requests: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        if text is not None:
            return httpx.Response(status, text=text, headers=headers)
        return httpx.Response(status, json=body, headers=headers)

    handler.requests = requests  # type: ignore[attr-defined]
    return handler


def sequence(*responses):
    """Return a handler that plays the given responses (or raises exceptions) in order."""
    requests: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        item = responses[min(len(requests), len(responses)) - 1]
        if isinstance(item, Exception):
            raise item
        return item

    handler.requests = requests  # type: ignore[attr-defined]
    return handler


@pytest.mark.parametrize(
    ("status", "body", "cls", "code"),
    [
        (401, error_body("unauthorized"), AuthenticationError, "unauthorized"),
        (403, error_body("forbidden"), AuthenticationError, "forbidden"),
        (403, error_body("api_plan_restricted"), AuthenticationError, "api_plan_restricted"),
        (401, error_body("token_revoked"), AuthenticationError, "token_revoked"),
        (403, error_body("token_unauthorized"), AuthenticationError, "token_unauthorized"),
        (404, error_body("not_found"), NotFound, "not_found"),
        (404, error_body("company_not_found"), NotFound, "company_not_found"),
        (404, error_body("admin_not_found"), NotFound, "admin_not_found"),
        (404, error_body("team_not_found"), NotFound, "team_not_found"),
        (400, error_body("parameter_not_found"), BadRequest, "parameter_not_found"),
        (400, error_body("missing_parameter"), BadRequest, "missing_parameter"),
        (422, error_body("parameter_invalid"), BadRequest, "parameter_invalid"),
        (400, error_body("bad_request"), BadRequest, "bad_request"),
        (409, error_body("conflict"), Conflict, "conflict"),
        (400, error_body("unique_user_constraint"), Conflict, "unique_user_constraint"),
        (409, error_body("resource_conflict"), Conflict, "resource_conflict"),
        (400, error_body("scroll_exists"), ScrollExists, "scroll_exists"),
        (503, error_body("service_unavailable"), ServiceUnavailable, "service_unavailable"),
        (500, error_body("server_error"), ServerError, "server_error"),
        # Legacy: the code sits in each error's `type` (§4.1).
        (404, error_body("not_found", key="type"), NotFound, "not_found"),
        (401, error_body("unauthorized", key="type"), AuthenticationError, "unauthorized"),
        # An error.list body raises whatever the status.
        (200, error_body("not_found"), NotFound, "not_found"),
        # No recognisable code: the status decides.
        (404, {"message": "nope"}, NotFound, None),
        (401, None, AuthenticationError, None),
        (409, {"type": "error.list", "errors": []}, Conflict, None),
        (502, None, ServerError, None),
        (503, None, ServiceUnavailable, None),
        (504, None, ServerError, None),
    ],
)
def test_it_maps_errors_to_exceptions(status, body, cls, code):
    client = make_client(respond(status, body), max_retries=0)
    with pytest.raises(cls) as info:
        client.get_user("1")
    assert type(info.value) is cls
    assert info.value.status == status
    assert info.value.code == code


def test_it_reads_type_before_code_but_skips_a_generic_type():
    body = {"type": "error.list", "errors": [{"type": "not_found", "code": "parameter_invalid", "message": "m"}]}
    with pytest.raises(NotFound):
        make_client(respond(400, body)).get_user("1")

    body = {"type": "error.list", "errors": [{"type": "error", "code": "conflict", "message": "m"}]}
    with pytest.raises(Conflict):
        make_client(respond(400, body)).get_user("1")


def test_it_raises_the_base_error_for_an_unknown_code():
    client = make_client(respond(400, error_body("brand_new_code", "what")))
    with pytest.raises(IntercomError) as info:
        client.get_user("1")
    assert type(info.value) is IntercomError
    assert info.value.code == "brand_new_code"


def test_it_keeps_rate_limit_and_server_classes_for_unknown_codes():
    with pytest.raises(ServerError):
        make_client(respond(500, error_body("mystery")), max_retries=0).get_user("1")
    with pytest.raises(RateLimited):
        make_client(respond(429, error_body("mystery")), max_retries=0).get_user("1")


def test_it_carries_error_details():
    body = error_body("parameter_not_found", "Please provide created_at_after", field="created_at_after")
    with pytest.raises(BadRequest) as info:
        make_client(respond(400, body)).list_activity_logs_for_admin(1)
    exc = info.value
    assert (exc.status, exc.code, exc.field, exc.request_id) == (
        400,
        "parameter_not_found",
        "created_at_after",
        "req-1",
    )
    assert exc.message == "Please provide created_at_after"
    text = str(exc)
    assert "400" in text and "parameter_not_found" in text and "created_at_after" in text and "req-1" in text


def test_it_raises_malformed_response_for_non_json():
    client = make_client(respond(200, text="<html>Gateway says hi</html>"))
    with pytest.raises(MalformedResponse) as info:
        client.get_user("1")
    assert "Gateway says hi" in str(info.value)


def test_it_raises_malformed_response_for_a_json_array():
    with pytest.raises(MalformedResponse):
        make_client(respond(200, [1, 2])).get_user("1")


def test_it_raises_malformed_response_for_an_empty_body_where_json_was_expected():
    with pytest.raises(MalformedResponse):
        make_client(respond(200, text="")).get_user("1")


def test_it_uses_the_status_for_a_non_json_error_body():
    client = make_client(respond(502, text="<html>Bad gateway</html>"), max_retries=0)
    with pytest.raises(ServerError) as info:
        client.get_user("1")
    assert "Bad gateway" in str(info.value)


def test_it_keeps_the_malformed_snippet_short():
    client = make_client(respond(200, text="x" * 5000))
    with pytest.raises(MalformedResponse) as info:
        client.get_user("1")
    assert len(str(info.value)) < 250


def test_it_returns_none_for_empty_bodies():
    handler = respond(202, text="")
    assert make_client(handler).create_event({"event_name": "x", "created_at": 1, "user_id": "u"}) is None
    assert handler.requests[0].method == "POST"
    assert make_client(respond(200, text="")).delete_tag("5") is None


def test_it_retries_5xx_exactly_max_retries_times():
    fake = FakeTime()
    handler = respond(503, text="")
    client = make_client(handler, fake=fake, max_retries=3)
    with pytest.raises(ServiceUnavailable):
        client.list_users()
    assert len(handler.requests) == 4
    assert client.request_count == 4
    assert len(fake.sleeps) == 3
    # Exponential backoff with jitter: attempt n waits between 2**n / 2 and 2**n seconds.
    for n, delay in enumerate(fake.sleeps):
        assert 2**n / 2 <= delay <= 2**n


def test_it_caps_the_backoff():
    fake = FakeTime()
    client = make_client(respond(500, text=""), fake=fake, max_retries=8)
    with pytest.raises(ServerError):
        client.get_user("1")
    assert max(fake.sleeps) <= 30


def test_it_recovers_after_a_5xx():
    handler = sequence(httpx.Response(502), httpx.Response(200, json={"type": "user", "id": "1"}))
    client = make_client(handler)
    assert client.get_user("1")["id"] == "1"
    assert client.request_count == 2


def test_it_does_not_retry_a_post_on_500():
    handler = respond(500, error_body("server_error"))
    client = make_client(handler)
    with pytest.raises(ServerError):
        client.post_reply("7", {"type": "admin", "admin_id": "1", "message_type": "comment", "body": "hi"})
    assert len(handler.requests) == 1


def test_it_does_not_retry_a_post_on_a_read_timeout():
    handler = sequence(httpx.ReadTimeout("slow"), httpx.Response(200, json={"type": "user"}))
    client = make_client(handler)
    with pytest.raises(ConnectionFailed):
        client.create_user({"email": "a@example.com"})
    assert len(handler.requests) == 1


def test_it_retries_a_post_on_a_connect_error():
    handler = sequence(
        httpx.ConnectError("refused"), httpx.ConnectTimeout("slow"), httpx.Response(200, json={"type": "user"})
    )
    client = make_client(handler)
    assert client.create_user({"email": "a@example.com"}) == {"type": "user"}
    assert len(handler.requests) == 3
    # Requests that never reached the server are not counted as sent.
    assert client.request_count == 1


def test_it_retries_a_post_on_429():
    fake = FakeTime()
    handler = sequence(
        httpx.Response(429, json=error_body("rate_limit_exceeded"), headers={"X-RateLimit-Reset": str(int(NOW) + 3)}),
        httpx.Response(200, json={"type": "tag", "id": "1", "name": "vip"}),
    )
    client = make_client(handler, fake=fake)
    assert client.create_tag({"name": "vip"})["id"] == "1"
    assert fake.sleeps == [4.0]


def test_it_retries_connection_errors_then_raises_connection_failed():
    fake = FakeTime()
    handler = sequence(httpx.ReadError("reset by peer"))
    client = make_client(handler, fake=fake, max_retries=2)
    with pytest.raises(ConnectionFailed) as info:
        client.list_admins()
    assert len(handler.requests) == 3
    assert len(fake.sleeps) == 2
    assert info.value.status is None
    assert "ReadError" in str(info.value)


def test_it_waits_for_the_reset_after_a_429():
    fake = FakeTime()
    headers = {"X-RateLimit-Limit": "166", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(NOW) + 7)}
    ok_headers = {"X-RateLimit-Limit": "166", "X-RateLimit-Remaining": "165", "X-RateLimit-Reset": str(int(NOW) + 17)}
    handler = sequence(
        httpx.Response(429, json=error_body("rate_limit_exceeded"), headers=headers),
        httpx.Response(429, json=error_body("rate_limit_exceeded"), headers=headers),
        httpx.Response(200, json={"type": "admin.list", "admins": []}, headers=ok_headers),
    )
    client = make_client(handler, fake=fake)
    assert client.list_admins()["type"] == "admin.list"
    # Seven seconds to the reset plus the one-second margin; the second 429 came after
    # the reset time had passed on our clock, so that wait is a backoff instead.
    assert fake.sleeps[0] == 8.0
    assert len(fake.sleeps) == 2 and fake.sleeps[1] <= 2
    assert client.rate_limit == RateLimit(limit=166, remaining=165, reset_at=int(NOW) + 17)


def test_it_backs_off_after_a_429_without_headers():
    fake = FakeTime()
    handler = sequence(httpx.Response(429, json=error_body("rate_limit_exceeded")), httpx.Response(200, json={}))
    client = make_client(handler, fake=fake)
    assert client.list_tags() == {}
    assert len(fake.sleeps) == 1 and 0.5 <= fake.sleeps[0] <= 1


def test_it_raises_rate_limited_when_429s_persist():
    fake = FakeTime()
    reset = str(int(NOW) + 5)
    handler = respond(429, error_body("rate_limit_exceeded"), headers={"X-RateLimit-Reset": reset})
    client = make_client(handler, fake=fake, max_retries=2)
    with pytest.raises(RateLimited) as info:
        client.list_tags()
    assert len(handler.requests) == 3
    assert info.value.reset_at == int(reset)
    assert info.value.code == "rate_limit_exceeded"


def test_it_caps_the_wait_for_a_far_reset():
    fake = FakeTime()
    handler = sequence(
        httpx.Response(429, headers={"X-RateLimit-Reset": str(int(NOW) + 86400)}), httpx.Response(200, json={})
    )
    make_client(handler, fake=fake).list_tags()
    assert fake.sleeps == [60.0]


def test_it_sleeps_before_sending_when_the_budget_is_down_to_the_reserve():
    fake = FakeTime()
    events: list[str] = []

    def handler(request):
        events.append(f"send@{fake.now}")
        headers = {"X-RateLimit-Limit": "100", "X-RateLimit-Remaining": "3", "X-RateLimit-Reset": str(int(NOW) + 5)}
        return httpx.Response(200, json={"type": "tag.list", "tags": []}, headers=headers)

    def sleep(seconds):
        events.append(f"sleep {seconds}")
        fake.sleep(seconds)

    client = IntercomClient(
        TOKEN, transport=httpx.MockTransport(handler), reserve=3, sleep=sleep, clock=fake.clock, max_retries=0
    )
    client.list_tags()
    client.list_tags()
    assert events == [f"send@{NOW}", "sleep 6.0", f"send@{NOW + 6}"]


def test_it_does_not_sleep_while_the_budget_is_above_the_reserve():
    fake = FakeTime()
    headers = {"X-RateLimit-Limit": "100", "X-RateLimit-Remaining": "4", "X-RateLimit-Reset": str(int(NOW) + 5)}
    client = make_client(respond(200, {}, headers=headers), fake=fake, reserve=3)
    client.list_tags()
    client.list_tags()
    assert fake.sleeps == []


def test_it_does_not_sleep_for_a_reset_in_the_past():
    fake = FakeTime()
    headers = {"X-RateLimit-Limit": "100", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(NOW) - 5)}
    client = make_client(respond(200, {}, headers=headers), fake=fake)
    client.list_tags()
    client.list_tags()
    assert fake.sleeps == []


def test_it_tolerates_missing_rate_limit_headers():
    fake = FakeTime()
    client = make_client(respond(200, {}), fake=fake)
    client.list_tags()
    assert client.rate_limit == RateLimit()
    assert fake.sleeps == []


def test_it_counts_down_the_budget_when_headers_go_missing():
    fake = FakeTime()
    headers = {"X-RateLimit-Limit": "100", "X-RateLimit-Remaining": "1", "X-RateLimit-Reset": str(int(NOW) + 5)}
    handler = sequence(httpx.Response(200, json={}, headers=headers), httpx.Response(200, json={}))
    client = make_client(handler, fake=fake)
    client.list_tags()
    client.list_tags()
    assert client.rate_limit.remaining == 0
    client.list_tags()
    assert fake.sleeps == [6.0]


def test_it_ignores_garbage_rate_limit_headers():
    headers = {"X-RateLimit-Limit": "lots", "X-RateLimit-Remaining": "", "X-RateLimit-Reset": "soon"}
    client = make_client(respond(200, {}, headers=headers))
    client.list_tags()
    assert client.rate_limit == RateLimit()


def test_it_keeps_the_token_out_of_logs_repr_and_errors(caplog):
    caplog.set_level(logging.DEBUG)
    # A hostile proxy echoing the token back in its error body.
    handler = respond(401, error_body("unauthorized", f"Access Token {TOKEN} Invalid"))
    client = make_client(handler, max_retries=2)
    with pytest.raises(AuthenticationError) as info:
        client.get_user("1")
    malformed = make_client(respond(200, text=f"oops Bearer {TOKEN}"))
    with pytest.raises(MalformedResponse) as info2:
        malformed.get_user("1")
    flaky = make_client(sequence(httpx.ReadError(f"reset {TOKEN}")), max_retries=1)
    with pytest.raises(ConnectionFailed) as info3:
        flaky.list_admins()

    assert handler.requests[0].headers["Authorization"] == f"Bearer {TOKEN}"
    for exc in (info.value, info2.value, info3.value):
        assert TOKEN not in str(exc)
        assert TOKEN not in repr(exc)
        assert all(TOKEN not in str(arg) for arg in exc.args)
    assert TOKEN not in repr(client)
    assert caplog.records, "expected DEBUG log lines"
    assert TOKEN not in caplog.text
    assert "GET /users/1 -> 401" in caplog.text


def test_it_sends_the_expected_headers():
    handler = respond(200, {"type": "user"})
    client = make_client(handler, version="1.3", user_agent="ua/9")
    client.create_user({"email": "a@example.com"})
    request = handler.requests[0]
    assert request.headers["Accept"] == "application/json"
    assert request.headers["Intercom-Version"] == "1.3"
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.headers["User-Agent"] == "ua/9"
    assert request.headers["Content-Type"] == "application/json"
    assert json.loads(request.content) == {"email": "a@example.com"}


def test_it_omits_the_version_header_when_none():
    handler = respond(200, {"type": "user"})
    make_client(handler, version=None).get_user("1")
    assert "Intercom-Version" not in handler.requests[0].headers


def test_it_uses_an_explicit_timeout():
    client = IntercomClient(TOKEN, timeout=12.5)
    timeout = client._http.timeout
    assert (timeout.connect, timeout.read, timeout.write, timeout.pool) == (10.0, 12.5, 12.5, 12.5)
    client.close()


def test_it_quotes_path_ids():
    handler = respond(200, {"type": "user"})
    make_client(handler).get_user("a/b c?d")
    assert handler.requests[0].url.raw_path == b"/users/a%2Fb%20c%3Fd"


def test_it_encodes_emails_in_the_query():
    handler = respond(200, {"type": "user.list", "users": []})
    make_client(handler).find_user(email="a+b@example.com")
    assert b"email=a%2Bb%40example.com" in handler.requests[0].url.raw_path


def test_it_follows_pages_next_on_its_own_base_url():
    seen: list[str] = []

    def handler(request):
        seen.append(str(request.url))
        page = request.url.params.get("page", "1")
        nxt = {"1": "https://elsewhere.example.net/users?per_page=2&page=2", "2": None}[page]
        users = [{"type": "user", "id": f"{page}a"}, {"type": "user", "id": f"{page}b"}]
        return httpx.Response(200, json={"type": "user.list", "users": users, "pages": {"type": "pages", "next": nxt}})

    client = make_client(handler)
    ids = [u["id"] for u in client.iter_items("list_users", "users", per_page=2)]
    assert ids == ["1a", "1b", "2a", "2b"]
    assert seen == ["https://api.intercom.io/users?per_page=2", "https://api.intercom.io/users?per_page=2&page=2"]


def test_it_follows_pages_under_a_base_path():
    seen: list[str] = []

    def handler(request):
        seen.append(request.url.path)
        if "page" in request.url.params:
            return httpx.Response(200, json={"type": "tag.list", "tags": [{"id": "2"}]})
        nxt = "http://proxy.test/intercom/tags?page=2"
        return httpx.Response(200, json={"type": "tag.list", "tags": [{"id": "1"}], "pages": {"next": nxt}})

    client = IntercomClient(TOKEN, "http://proxy.test/intercom", transport=httpx.MockTransport(handler))
    assert [t["id"] for t in client.iter_items("list_tags", "tags")] == ["1", "2"]
    assert seen == ["/intercom/tags", "/intercom/tags"]


def test_it_follows_the_event_list_whose_pages_hold_only_next():
    def handler(request):
        if "before" in request.url.params:
            return httpx.Response(200, json={"type": "event.list", "events": [{"event_name": "b"}], "pages": {}})
        nxt = "https://api.intercom.io/events?type=user&intercom_user_id=55a3b&before=144474756550"
        return httpx.Response(200, json={"type": "event.list", "events": [{"event_name": "a"}], "pages": {"next": nxt}})

    client = make_client(handler)
    names = [e["event_name"] for e in client.iter_items("list_events_for_user", "events", intercom_user_id="55a3b")]
    assert names == ["a", "b"]


def test_it_stops_when_next_is_absent_or_null():
    handler = respond(200, {"type": "user.list", "users": [{"id": "1"}], "pages": {"type": "pages", "next": None}})
    assert len(list(make_client(handler).iter_pages("list_users"))) == 1
    handler = respond(200, {"type": "user.list", "users": [{"id": "1"}], "pages": {"type": "pages"}})
    assert len(list(make_client(handler).iter_pages("list_users"))) == 1


def test_it_refuses_a_next_link_that_loops():
    handler = respond(
        200, {"type": "user.list", "users": [], "pages": {"next": "https://api.intercom.io/users?page=2"}}
    )
    with pytest.raises(MalformedResponse):
        list(make_client(handler).iter_pages("list_users"))


def test_it_accepts_a_callable_in_iter_pages():
    handler = respond(200, {"type": "conversation.list", "conversations": [{"id": "1"}]})
    client = make_client(handler)
    assert list(client.iter_items(client.list_conversations, "conversations", open=True)) == [{"id": "1"}]
    assert handler.requests[0].url.params["open"] == "true"


def test_it_rejects_unknown_operations():
    with pytest.raises(ValueError):
        list(make_client(respond(200, {})).iter_pages("drop_tables"))


def test_it_raises_when_the_item_key_is_missing():
    with pytest.raises(MalformedResponse):
        list(make_client(respond(200, {"type": "user.list"})).iter_items("list_users", "users"))


def scroll_handler(pages, *, key="users", fail_at=None, failure=None):
    """Serve a scroll of `pages` item lists, then an empty page; optionally fail one request."""
    requests: list[httpx.Request] = []

    served: list[int] = []

    def handler(request):
        requests.append(request)
        if fail_at == len(requests) - 1:
            if isinstance(failure, Exception):
                raise failure
            return failure
        index = len(served)
        served.append(index)
        assert ("scroll_param" in request.url.params) == (index > 0)
        items = pages[index] if index < len(pages) else []
        return httpx.Response(200, json={"type": "user.list", "scroll_param": "sp-1", key: items})

    handler.requests = requests  # type: ignore[attr-defined]
    return handler


def test_it_scrolls_until_an_empty_page():
    handler = scroll_handler([[{"id": "1"}, {"id": "2"}], [{"id": "3"}]])
    pages = list(make_client(handler).iter_scroll("users"))
    assert pages == [[{"id": "1"}, {"id": "2"}], [{"id": "3"}]]
    assert [r.url.path for r in handler.requests] == ["/users/scroll"] * 3
    assert "scroll_param" not in handler.requests[0].url.params
    assert handler.requests[1].url.params["scroll_param"] == "sp-1"
    assert "scroll" not in handler.requests[1].url.params


@pytest.mark.parametrize("key", ["contacts", "leads", "users"])
def test_it_accepts_every_leads_scroll_key(key):
    handler = scroll_handler([[{"id": "L1"}]], key=key)
    assert list(make_client(handler).iter_scroll("leads")) == [[{"id": "L1"}]]
    assert handler.requests[0].url.path == "/contacts/scroll"


def test_it_scrolls_companies():
    handler = scroll_handler([[{"id": "C1"}]], key="companies")
    assert list(make_client(handler).iter_scroll("companies")) == [[{"id": "C1"}]]
    assert handler.requests[0].url.path == "/companies/scroll"


def test_it_raises_scroll_failed_on_a_5xx_midway_without_retrying():
    failure = httpx.Response(500, json=error_body("server_error", "Please restart the scroll operation."))
    handler = scroll_handler([[{"id": "1"}], [{"id": "2"}]], fail_at=1, failure=failure)
    client = make_client(handler)
    got = []
    with pytest.raises(ScrollFailed) as info:
        for page in client.iter_scroll("users"):
            got.append(page)
    assert got == [[{"id": "1"}]]
    assert len(handler.requests) == 2
    assert info.value.status == 500
    assert isinstance(info.value.error, ServerError)
    assert "restart the scroll" in str(info.value)


def test_it_raises_scroll_failed_on_an_expired_param():
    failure = httpx.Response(404, json=error_body("not_found", "scroll parameter not found"))
    handler = scroll_handler([[{"id": "1"}], [{"id": "2"}]], fail_at=1, failure=failure)
    with pytest.raises(ScrollFailed) as info:
        list(make_client(handler).iter_scroll("users"))
    assert isinstance(info.value.error, NotFound)


def test_it_raises_scroll_failed_on_a_dropped_connection():
    handler = scroll_handler([[{"id": "1"}], [{"id": "2"}]], fail_at=1, failure=httpx.RemoteProtocolError("dropped"))
    with pytest.raises(ScrollFailed) as info:
        list(make_client(handler).iter_scroll("users"))
    assert isinstance(info.value.error, ConnectionFailed)
    assert len(handler.requests) == 2


def test_it_raises_scroll_failed_when_opening_fails():
    handler = scroll_handler([], fail_at=0, failure=httpx.Response(500, json=error_body("server_error")))
    with pytest.raises(ScrollFailed):
        list(make_client(handler).iter_scroll("companies"))
    assert len(handler.requests) == 1


def test_it_raises_scroll_exists_without_spinning():
    handler = respond(400, error_body("scroll_exists", "scroll already exists for this app"))
    fake = FakeTime()
    with pytest.raises(ScrollExists) as info:
        list(make_client(handler, fake=fake).iter_scroll("users"))
    assert len(handler.requests) == 1
    assert fake.sleeps == []
    assert info.value.code == "scroll_exists"


def test_it_waits_out_a_429_mid_scroll_with_the_same_param():
    fake = FakeTime()
    failure = httpx.Response(
        429, json=error_body("rate_limit_exceeded"), headers={"X-RateLimit-Reset": str(int(NOW) + 2)}
    )
    handler = scroll_handler([[{"id": "1"}], [{"id": "2"}]], fail_at=1, failure=failure)
    pages = list(make_client(handler, fake=fake).iter_scroll("users"))
    assert pages == [[{"id": "1"}], [{"id": "2"}]]
    assert fake.sleeps == [3.0]
    assert [r.url.params.get("scroll_param") for r in handler.requests] == [None, "sp-1", "sp-1", "sp-1"]


def test_it_rejects_unknown_scroll_resources():
    with pytest.raises(ValueError):
        list(make_client(respond(200, {})).iter_scroll("visitors"))


def test_it_finds_users_in_either_shape():
    single = respond(200, {"type": "user", "id": "1"})
    assert make_client(single).find_users(email="a@example.com") == [{"type": "user", "id": "1"}]
    listed = respond(200, {"type": "user.list", "users": [{"id": "1"}, {"id": "2"}], "total_count": 2})
    assert [u["id"] for u in make_client(listed).find_users(email="a@example.com")] == ["1", "2"]
    missing = respond(404, error_body("not_found"))
    assert make_client(missing).find_users(user_id="nope") == []


def test_it_insists_on_one_identifier():
    client = make_client(respond(200, {}))
    with pytest.raises(ValueError):
        client.find_user()
    with pytest.raises(ValueError):
        client.archive_user(user_id="1", email="a@example.com")


@pytest.mark.parametrize(
    ("version", "path", "query"),
    [("1.4", "/data_attributes", {"model": "customer"}), ("1.3", "/data_attributes/customer", {})],
)
def test_it_picks_the_data_attribute_path_by_version(version, path, query):
    handler = respond(200, {"type": "data_attribute.list", "data_attributes": []})
    make_client(handler, version=version).list_data_attributes_for_customers()
    assert handler.requests[0].url.path == path
    assert dict(handler.requests[0].url.params) == query


def test_it_falls_back_to_the_other_data_attribute_path():
    handler = sequence(
        httpx.Response(404, json=error_body("not_found")),
        httpx.Response(200, json={"type": "data_attribute.list", "data_attributes": []}),
    )
    make_client(handler, version="1.4").list_data_attributes_for_companies(include_archived=True)
    assert [r.url.path for r in handler.requests] == ["/data_attributes", "/data_attributes/company"]
    assert dict(handler.requests[1].url.params) == {"include_archived": "true"}


def test_it_builds_from_settings(settings):
    settings.INTERCOM_ACCESS_TOKEN = TOKEN
    settings.INTERCOM_API_BASE = "http://sandbox.test/"
    settings.INTERCOM_TIMEOUT = 7.0
    settings.INTERCOM_MAX_RETRIES = 2
    settings.INTERCOM_API_VERSION = "1.2"
    handler = respond(200, {"type": "admin.list", "admins": []})
    with IntercomClient.from_settings(transport=httpx.MockTransport(handler), reserve=5) as client:
        assert (client.base_url, client.max_retries, client.version, client.reserve) == (
            "http://sandbox.test",
            2,
            "1.2",
            5,
        )
        assert client._http.timeout.read == 7.0
        client.list_admins()
    assert client._http.is_closed
    assert str(handler.requests[0].url) == "http://sandbox.test/admins"
    assert handler.requests[0].headers["Intercom-Version"] == "1.2"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1410335293, 1410335293),
        ("1410335293", 1410335293),
        (1410335293.7, 1410335293),
        ("2014-01-16T23:12:21.000+00:00", 1389913941),
        (None, None),
        ("", None),
        (0, 0),
    ],
)
def test_it_parses_timestamps(value, expected):
    assert parse_timestamp(value) == expected


def test_it_rejects_non_timestamps():
    with pytest.raises(ValueError):
        parse_timestamp("yesterday")
