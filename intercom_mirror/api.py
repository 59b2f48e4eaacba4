"""Intercom REST API v1.x client: one method per operation, typed errors, paging and scroll.

The spec is /work/shared/intercom-v1-api.md ("the reference" below; section numbers refer
to it). Every public operation method returns the parsed JSON object (a dict), or None
when the API answers with an empty body. Views, tasks and commands do not call this
module directly; `sync.py` does.

Each operation carries a `# Reference:` docs URL. The 1.x docs are offline and the pages
the reference cites (its §10) are the only verified ones; the others follow the same
URL scheme and are marked "page name unverified".
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

__all__ = [
    "OPERATIONS",
    "AuthenticationError",
    "BadRequest",
    "Conflict",
    "ConnectionFailed",
    "IntercomClient",
    "IntercomError",
    "MalformedResponse",
    "NotFound",
    "RateLimit",
    "RateLimited",
    "ScrollExists",
    "ScrollFailed",
    "ServerError",
    "ServiceUnavailable",
    "error_class",
    "parse_timestamp",
]

logger = logging.getLogger(__name__)

# The 57 operations of the seed; each is a method of IntercomClient with this name.
OPERATIONS = (
    "add_customer_to_conversation",
    "archive_user",
    "convert_lead",
    "convert_visitor",
    "create_company",
    "create_event",
    "create_lead",
    "create_note",
    "create_tag",
    "create_update_user",
    "create_user",
    "delete_company",
    "delete_company_by_id",
    "delete_customer_to_conversation",
    "delete_lead",
    "delete_lead_by_id",
    "delete_tag",
    "delete_visitor",
    "delete_visitor_by_id",
    "find_user",
    "get_admin",
    "get_company",
    "get_conversation",
    "get_count",
    "get_current_admin_and_app",
    "get_lead",
    "get_note",
    "get_segment",
    "get_team",
    "get_user",
    "get_visitor",
    "list_activity_logs_for_admin",
    "list_admins",
    "list_companies",
    "list_conversations",
    "list_data_attributes_for_companies",
    "list_data_attributes_for_customers",
    "list_events_for_user",
    "list_leads",
    "list_notes_for_user",
    "list_segments",
    "list_tags",
    "list_teams",
    "list_users",
    "list_users_for_company",
    "mark_conversation_as_read",
    "post_message",
    "post_reply",
    "post_reply_to_last_conversation",
    "scroll_companies",
    "scroll_leads",
    "scroll_users",
    "set_admin_away",
    "update_company",
    "update_lead",
    "update_tag",
    "update_visitor",
)

# Scroll resources: the operation and the array keys to accept. The reference (§3)
# says sources disagree on the leads key, so any of the three is taken.
SCROLL_RESOURCES: dict[str, tuple[str, tuple[str, ...]]] = {
    "users": ("scroll_users", ("users",)),
    "leads": ("scroll_leads", ("contacts", "leads", "users")),
    "companies": ("scroll_companies", ("companies",)),
}


# --- Errors ---------------------------------------------------------------------------


class IntercomError(Exception):
    """An error answered by the API, or met on the way to it."""

    def __init__(
        self,
        status: int | None = None,
        code: str | None = None,
        message: str = "",
        request_id: str | None = None,
        field: str | None = None,
    ) -> None:
        super().__init__(status, code, message, request_id, field)
        self.status = status
        self.code = code
        self.message = message
        self.request_id = request_id
        self.field = field

    def __str__(self) -> str:
        head = " ".join(str(part) for part in (self.status, self.code) if part)
        text = f"{head}: {self.message}" if head else self.message
        if self.field:
            text += f" (field: {self.field})"
        if self.request_id:
            text += f" [request_id {self.request_id}]"
        return text or self.__class__.__name__


class AuthenticationError(IntercomError):
    """The token is missing, invalid, revoked or not allowed to do this (401/403)."""


class NotFound(IntercomError):
    """The object or route does not exist (404)."""


class BadRequest(IntercomError):
    """A parameter is missing or invalid (400/422)."""


class Conflict(IntercomError):
    """Several objects match, or the object already exists (409)."""


class RateLimited(IntercomError):
    """Still over the rate limit after the retries (429)."""

    def __init__(self, *args: Any, reset_at: float | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.reset_at = reset_at


class ScrollExists(IntercomError):
    """Another scroll is open for this app; it expires a minute after its last use."""


class ScrollFailed(IntercomError):
    """A scroll broke midway and cannot be resumed: restart it from the first page."""

    def __init__(self, error: IntercomError) -> None:
        # The wrapped error's message only: status, code and request id are carried once, by the fields.
        super().__init__(error.status, error.code, f"scroll failed: {error.message}", error.request_id, error.field)
        self.error = error


class ServerError(IntercomError):
    """The server failed (5xx) and the retries did not help."""


class ServiceUnavailable(ServerError):
    """The service is temporarily unavailable (503)."""


class MalformedResponse(IntercomError):
    """The body is not JSON, or not the shape JSON was expected to have."""


class ConnectionFailed(IntercomError):
    """The network failed or timed out, and the retries did not help."""


AUTH_CODES = {
    "unauthorized",
    "forbidden",
    "token_unauthorized",
    "token_not_found",
    "token_revoked",
    "token_blocked",
    "token_expired",
    "token_suspended",
    "missing_authorization",
    "api_plan_restricted",
}
NOT_FOUND_CODES = {"not_found", "company_not_found", "admin_not_found", "team_not_found"}
BAD_REQUEST_CODES = {
    "bad_request",
    "missing_parameter",
    "parameter_not_found",
    "parameter_invalid",
    "type_mismatch",
    "action_forbidden",
    "invalid_document",
    "intercom_version_invalid",
    "custom_data_limit_reached",
    "not_restorable",
    "team_unavailable",
    "job_closed",
    "unsupported",
    "client_error",
}
CONFLICT_CODES = {"conflict", "unique_user_constraint", "resource_conflict"}

ERROR_CLASSES: dict[str, type[IntercomError]] = {
    **dict.fromkeys(AUTH_CODES, AuthenticationError),
    **dict.fromkeys(NOT_FOUND_CODES, NotFound),
    **dict.fromkeys(BAD_REQUEST_CODES, BadRequest),
    **dict.fromkeys(CONFLICT_CODES, Conflict),
    "rate_limit_exceeded": RateLimited,
    "scroll_exists": ScrollExists,
    "server_error": ServerError,
    "service_unavailable": ServiceUnavailable,
    "retry_after": ServiceUnavailable,
}

# Used when the body carries no code at all (§4.2 "SDK status fallback", widened).
STATUS_CLASSES: dict[int, type[IntercomError]] = {
    400: BadRequest,
    401: AuthenticationError,
    403: AuthenticationError,
    404: NotFound,
    409: Conflict,
    422: BadRequest,
    429: RateLimited,
    500: ServerError,
    502: ServerError,
    503: ServiceUnavailable,
    504: ServerError,
}

RETRY_STATUSES = {500, 502, 503, 504}

# Failures that happen before a byte of the request reaches the server, so a retry
# cannot repeat a side effect.
PRE_SEND_ERRORS = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


def error_class(status: int | None, code: str | None) -> type[IntercomError]:
    """Return the exception class for an HTTP status and an Intercom error code."""
    if code in ERROR_CLASSES:
        return ERROR_CLASSES[code]
    if status is not None and (status == 429 or status >= 500):
        # An unknown code on a transient status still tells the caller to wait or retry.
        return STATUS_CLASSES.get(status, ServerError)
    if code:
        return IntercomError  # like the SDK's UnexpectedError
    return STATUS_CLASSES.get(status or 0, IntercomError)


def _error_code(error: Mapping[str, Any]) -> str | None:
    """Return the code of one error object, reading the legacy `type` before `code` (§4.1)."""
    candidates = [error.get("type"), error.get("code")]
    names = [c for c in candidates if isinstance(c, str) and c]
    for name in names:
        if name in ERROR_CLASSES:
            return name
    return names[0] if names else None


# --- Small helpers ----------------------------------------------------------------------


@dataclass
class RateLimit:
    """The budget reported by the last response's X-RateLimit-* headers (§5)."""

    limit: int | None = None
    remaining: int | None = None
    reset_at: float | None = None


def parse_timestamp(value: Any) -> int | None:
    """Return a UNIX time in seconds from an int, a numeric string or an ISO-8601 string.

    Real payloads carry timestamps as ints, as strings ("1410335293") in webhook items,
    and as ISO strings in the event summary (§1.4). Return None for null or empty values.
    """
    if value is None or value == "" or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        try:
            return int(float(text))
        except ValueError:
            pass
        try:
            return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp())
        except ValueError:
            pass
    raise ValueError(f"not a timestamp: {value!r}")


def _header_number(headers: httpx.Headers, name: str) -> int | None:
    try:
        return int(float(headers[name]))
    except (KeyError, ValueError):
        return None


def _query(params: Mapping[str, Any]) -> dict[str, str]:
    """Drop None values and spell booleans as the API does (`true`/`false`)."""
    query = {}
    for key, value in params.items():
        if value is None:
            continue
        if isinstance(value, bool):
            value = "true" if value else "false"
        query[key] = str(value)
    return query


def _seg(value: Any) -> str:
    """Quote one path segment: ids are opaque strings (§1.4)."""
    return quote(str(value), safe="")


def _one_of(**identifiers: Any) -> dict[str, Any]:
    """Return the identifiers given, insisting on exactly one."""
    given = {k: v for k, v in identifiers.items() if v is not None}
    if len(given) != 1:
        raise ValueError(f"pass exactly one of {', '.join(identifiers)}")
    return given


# --- The client -------------------------------------------------------------------------


class IntercomClient:
    """A client for the Intercom REST API v1.x over one pooled httpx.Client."""

    RESET_MARGIN = 1.0  # seconds added to X-RateLimit-Reset: the header has 1 s resolution
    MAX_RATE_WAIT = 60.0  # never sleep longer than this for a rate-limit window (clock skew)
    BACKOFF_BASE = 1.0
    BACKOFF_CAP = 30.0

    def __init__(
        self,
        token: str,
        base_url: str = "https://api.intercom.io",
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 30.0,
        max_retries: int = 4,
        version: str | None = "1.4",
        reserve: int = 0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        user_agent: str = "intercom-mirror/1.0",
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.version = version
        self.max_retries = max(0, max_retries)
        self.reserve = reserve
        self.sleep = sleep
        self.clock = clock
        self.rate_limit = RateLimit()
        self.request_count = 0
        # The sync reads ahead on a second thread and fetches details on a few more;
        # the counter must not lose increments (SyncRun.api_requests comes from it).
        self._count_lock = threading.Lock()
        self._budget_lock = threading.Lock()
        self._in_flight = 0
        self._spent_window: int | None = None  # X-RateLimit-Reset of the last window waited out
        # Seconds the API's clock (its Date header) is ahead of ours; 0 until known.
        self.server_offset = 0.0
        self._token = token
        self._random = random.Random()
        self._base_path = urlsplit(self.base_url).path.rstrip("/")
        headers = {
            "Accept": "application/json",
            "Authorization": f"Bearer {token}",
            "User-Agent": user_agent,
        }
        if version:
            headers["Intercom-Version"] = version
        self._http = httpx.Client(
            base_url=self.base_url,
            headers=headers,
            transport=transport,
            timeout=httpx.Timeout(connect=min(timeout, 10.0), read=timeout, write=timeout, pool=timeout),
            follow_redirects=False,
        )

    @classmethod
    def from_settings(cls, **overrides: Any) -> IntercomClient:
        """Return a client configured from the INTERCOM_* Django settings."""
        from django.conf import settings

        options: dict[str, Any] = {
            "token": settings.INTERCOM_ACCESS_TOKEN,
            "base_url": settings.INTERCOM_API_BASE,
            "timeout": settings.INTERCOM_TIMEOUT,
            "max_retries": settings.INTERCOM_MAX_RETRIES,
            "version": settings.INTERCOM_API_VERSION,
        }
        options.update(overrides)
        return cls(**options)

    def __repr__(self) -> str:
        # Deliberately without the token.
        return f"<IntercomClient {self.base_url} version={self.version} requests={self.request_count}>"

    def __enter__(self) -> IntercomClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    # --- Transport, retries, rate limits --------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        safe_to_retry: bool | None = None,
    ) -> dict[str, Any] | None:
        """Send one API call, retrying what is safe to retry, and return the parsed body.

        Retry policy: a 429 was refused, not processed, so every call waits for the
        window to reset and tries again. Failures before the request was sent
        (PRE_SEND_ERRORS) are retried for every call too. A 5xx, a read timeout or a
        dropped connection may come after the server acted, so only calls that can be
        repeated without a second side effect retry them: GET, PUT and DELETE, but not
        POST (a reply or a message could be posted twice) and not scroll pages (a scroll
        cannot be resumed, §3).
        """
        if safe_to_retry is None:
            safe_to_retry = method != "POST"
        attempts = 1 + self.max_retries
        query = _query(params or {})
        for attempt in range(attempts):
            last = attempt == attempts - 1
            self._wait_for_budget()
            try:
                response = self._http.request(method, path, params=query or None, json=json)
            except httpx.TransportError as exc:
                self._landed()
                if not isinstance(exc, PRE_SEND_ERRORS):
                    self._count_request()
                logger.debug("%s %s failed: %s", method, self._log_path(path), exc.__class__.__name__)
                retryable = safe_to_retry or isinstance(exc, PRE_SEND_ERRORS)
                if last or not retryable or isinstance(exc, httpx.UnsupportedProtocol):
                    raise ConnectionFailed(message=f"{method} {self._log_path(path)}: {self._describe(exc)}") from exc
                self._backoff(attempt, method, path, exc.__class__.__name__)
                continue

            self._count_request()
            logger.debug("%s %s -> %s", method, self._log_path(path), response.status_code)
            self._landed(response.headers)
            status = response.status_code
            if status == 429 and not last:
                self._wait_for_reset(attempt, method, path)
                continue
            if status in RETRY_STATUSES and safe_to_retry and not last:
                self._backoff(attempt, method, path, str(status))
                continue
            return self._parse(response)
        raise AssertionError("unreachable")  # pragma: no cover

    def _wait_for_budget(self) -> None:
        """Sleep until the window resets when the budget is down to the reserve (§5), then claim one unit.

        Requests already sent but not yet answered count against the budget too: the
        sync sends several at once, and the last header seen does not know about them.
        """
        with self._budget_lock:
            rl = self.rate_limit
            if rl.remaining is not None and rl.reset_at is not None and rl.remaining - self._in_flight <= self.reserve:
                delay = rl.reset_at + self.RESET_MARGIN - self.clock()
                if delay > 0:
                    delay = min(delay, self.MAX_RATE_WAIT)
                    logger.info(
                        "Rate-limit budget at %s (reserve %s): sleeping %.1fs", rl.remaining, self.reserve, delay
                    )
                    self.sleep(delay)  # holding the lock: the other senders would wait just the same
                    self._spent_window = rl.reset_at
                    self.rate_limit = RateLimit(limit=rl.limit, remaining=None, reset_at=None)
            self._in_flight += 1

    def _landed(self, headers: httpx.Headers | None = None) -> None:
        """Record that a request came back (or failed) and what it says about the budget and the clock."""
        with self._budget_lock:
            self._in_flight = max(0, self._in_flight - 1)
            if headers is not None:
                self._read_rate_limit(headers)
                self._read_server_clock(headers)

    def _wait_for_reset(self, attempt: int, method: str, path: str) -> None:
        """Sleep after a 429: until X-RateLimit-Reset if it is known, else a backoff."""
        reset_at = self.rate_limit.reset_at
        delay = None if reset_at is None else reset_at + self.RESET_MARGIN - self.clock()
        if delay is None or delay <= 0:
            self._backoff(attempt, method, path, "429")
            return
        delay = min(delay, self.MAX_RATE_WAIT)
        logger.info("%s %s -> 429: sleeping %.1fs until the window resets", method, self._log_path(path), delay)
        self.sleep(delay)

    def _backoff(self, attempt: int, method: str, path: str, reason: str) -> None:
        ceiling = min(self.BACKOFF_CAP, self.BACKOFF_BASE * 2**attempt)
        delay = self._random.uniform(ceiling / 2, ceiling)
        logger.info("%s %s -> %s: retrying in %.1fs", method, self._log_path(path), reason, delay)
        self.sleep(delay)

    def _count_request(self) -> None:
        with self._count_lock:
            self.request_count += 1

    def server_now(self) -> float:
        """Return the API's current time (UNIX seconds), as far as its Date headers tell."""
        return self.clock() + self.server_offset

    def _read_server_clock(self, headers: httpx.Headers) -> None:
        date = headers.get("Date")
        if not date:
            return
        try:
            server_time = parsedate_to_datetime(date).timestamp()
        except (TypeError, ValueError, IndexError):
            return
        # The header has 1 s resolution and arrives after the server wrote it: keep
        # the offset as a whole number of seconds so jitter does not move it.
        self.server_offset = float(round(server_time - self.clock()))

    def _read_rate_limit(self, headers: httpx.Headers) -> None:
        limit = _header_number(headers, "X-RateLimit-Limit")
        remaining = _header_number(headers, "X-RateLimit-Remaining")
        reset_at = _header_number(headers, "X-RateLimit-Reset")
        rl = self.rate_limit
        if reset_at is not None and self._spent_window is not None and reset_at <= self._spent_window:
            return  # a late answer from a window this client already waited out
        if remaining is not None and reset_at is not None and reset_at == rl.reset_at and rl.remaining is not None:
            # Answers to concurrent requests can arrive out of order: the lowest figure is the latest.
            remaining = min(remaining, rl.remaining)
        if remaining is None and reset_at is not None and reset_at != rl.reset_at:
            self.rate_limit = RateLimit(limit=limit or rl.limit, remaining=None, reset_at=reset_at)
            return
        if remaining is None:
            # The API omits the headers now and then (§5): assume this request used one
            # unit of the window last reported, so the budget logic stays conservative.
            if rl.remaining is not None and rl.reset_at is not None and rl.reset_at > self.clock():
                rl.remaining = max(0, rl.remaining - 1)
            return
        self.rate_limit = RateLimit(limit=limit, remaining=remaining, reset_at=reset_at)

    def _parse(self, response: httpx.Response) -> dict[str, Any] | None:
        """Return the JSON body of a response, or raise the error it carries."""
        status = response.status_code
        content = response.content
        body: Any = None
        if content.strip():
            try:
                body = response.json()
            except ValueError:
                if status < 400:
                    raise MalformedResponse(status, None, f"expected JSON, got {self._snippet(content)}") from None
                body = None
        if isinstance(body, dict) and body.get("type") == "error.list":
            raise self._error_from_body(status, body)
        if status >= 400:
            raise self._error_from_body(status, body if isinstance(body, dict) else {}, content)
        if body is None:
            return None
        if not isinstance(body, dict):
            raise MalformedResponse(status, None, f"expected a JSON object, got {self._snippet(content)}")
        return body

    def _error_from_body(self, status: int, body: Mapping[str, Any], content: bytes = b"") -> IntercomError:
        errors = body.get("errors")
        first = errors[0] if isinstance(errors, list) and errors and isinstance(errors[0], dict) else {}
        code = _error_code(first)
        message = first.get("message") or body.get("message")
        if not isinstance(message, str) or not message:
            message = self._snippet(content) if content.strip() else f"HTTP {status}"
        message = self._redact(message)
        field = first.get("field") if isinstance(first.get("field"), str) else None
        request_id = body.get("request_id") if isinstance(body.get("request_id"), str) else None
        cls = error_class(status, code)
        if cls is RateLimited:
            return RateLimited(status, code, message, request_id, field, reset_at=self.rate_limit.reset_at)
        return cls(status, code, message, request_id, field)

    def _snippet(self, content: bytes, size: int = 120) -> str:
        """Return a short, token-free, one-line excerpt of a body for error messages."""
        text = self._redact(" ".join(content[: size * 4].decode("utf-8", "replace").split()))
        return repr(text[:size] + ("…" if len(text) > size else ""))

    def _describe(self, exc: Exception) -> str:
        text = f"{exc.__class__.__name__}: {exc}" if str(exc) else exc.__class__.__name__
        return self._redact(text)

    def _redact(self, text: str) -> str:
        """Return text without the token, in case a server or proxy echoes it back."""
        return text.replace(self._token, "[redacted]") if self._token else text

    def _log_path(self, path: str) -> str:
        # The query string can hold emails: keep log lines to the path.
        return path.split("?", 1)[0]

    def request(
        self, method: str, path: str, *, params: Mapping[str, Any] | None = None, json: Any = None
    ) -> dict[str, Any] | None:
        """Send a call outside the 57 operations (§7.13); return the parsed body or None.

        Retries, rate-limit waits and errors work as for the operations.
        """
        return self._request(method.upper(), path, params=params, json=json)

    def _get_dict(self, path: str, params: Mapping[str, Any] | None = None, **kwargs: Any) -> dict[str, Any]:
        body = self._request("GET", path, params=params, **kwargs)
        if body is None:
            raise MalformedResponse(message=f"GET {self._log_path(path)}: empty body where JSON was expected")
        return body

    # --- Paging and scroll -------------------------------------------------------------

    def iter_pages(self, operation: str | Callable[..., Any], **params: Any) -> Iterator[dict[str, Any]]:
        """Yield each page of a list operation, following `pages.next` to the end (§2.1).

        Only the path and query of `next` are kept and sent to this client's base URL,
        as the SDK does. The event list's `pages` holds only `next`; that works too.
        """
        call = self._operation(operation)
        page = call(**params)
        seen: set[str] = set()
        while True:
            if not isinstance(page, dict):
                raise MalformedResponse(message=f"expected a page object, got {type(page).__name__}")
            yield page
            next_url = self._next_url(page)
            if next_url is None:
                return
            if next_url in seen:
                raise MalformedResponse(message=f"pages.next repeats {self._log_path(next_url)}")
            seen.add(next_url)
            page = self._get_dict(next_url)

    def iter_items(self, operation: str | Callable[..., Any], key: str, **params: Any) -> Iterator[dict[str, Any]]:
        """Yield the items under `key` ("users", "conversations", ...) across all pages."""
        for page in self.iter_pages(operation, **params):
            items = page.get(key)
            if not isinstance(items, list):
                raise MalformedResponse(message=f"page has no {key!r} list (keys: {', '.join(sorted(page))})")
            yield from items

    def iter_scroll(self, resource: str) -> Iterator[list[dict[str, Any]]]:
        """Yield each page of a scroll over "users", "leads" or "companies" (§3).

        Stop at the first empty page. Raise ScrollExists if another scroll is open (wait
        for it to expire; do not spin), and ScrollFailed if the scroll breaks: it cannot
        be resumed, so the caller starts again from the first page.
        """
        if resource not in SCROLL_RESOURCES:
            raise ValueError(f"resource must be one of {', '.join(SCROLL_RESOURCES)}")
        operation, keys = SCROLL_RESOURCES[resource]
        call = getattr(self, operation)
        scroll_param: str | None = None
        while True:
            try:
                page = call(scroll_param=scroll_param)
            except (ServerError, ConnectionFailed, MalformedResponse) as exc:
                raise ScrollFailed(exc) from exc
            except (NotFound, RateLimited) as exc:
                if scroll_param is None:
                    raise
                # A 404 mid-scroll is the expired param; a 429 that outlasted the retries
                # leaves it to expire too.
                raise ScrollFailed(exc) from exc
            items = next((page[k] for k in keys if isinstance(page.get(k), list)), None)
            if items is None:
                raise MalformedResponse(message=f"scroll page has none of {keys} (keys: {', '.join(sorted(page))})")
            if not items:
                return
            scroll_param = page.get("scroll_param")
            if not isinstance(scroll_param, str) or not scroll_param:
                raise MalformedResponse(message=f"{resource} scroll page has no scroll_param")
            yield items

    def find_users(self, *, user_id: str | None = None, email: str | None = None) -> list[dict[str, Any]]:
        """Return the users find_user matches, whichever shape the version answers in.

        Under 1.0 a lookup by email returns one `user`; from 1.1 a `user.list` (§0). A
        miss by user_id (404) gives an empty list.
        """
        try:
            found = self.find_user(user_id=user_id, email=email)
        except NotFound:
            return []
        if found.get("type") == "user.list" or "users" in found:
            return [user for page in self.iter_pages(lambda: found) for user in page.get("users", [])]
        return [found]

    def _operation(self, operation: str | Callable[..., Any]) -> Callable[..., Any]:
        if callable(operation):
            return operation
        if operation not in OPERATIONS:
            raise ValueError(f"unknown operation {operation!r}")
        return getattr(self, operation)

    def _next_url(self, page: Mapping[str, Any]) -> str | None:
        """Return the path and query of `pages.next`, relative to our own base URL."""
        pages = page.get("pages")
        if not isinstance(pages, dict):
            return None
        next_url = pages.get("next")
        if not isinstance(next_url, str) or not next_url:
            return None
        parts = urlsplit(next_url)
        path = parts.path or "/"
        if self._base_path and path.startswith(self._base_path + "/"):
            path = path[len(self._base_path) :]
        return f"{path}?{parts.query}" if parts.query else path

    def _data_attributes(self, model: str, include_archived: bool | None) -> dict[str, Any]:
        params = {"include_archived": include_archived}
        new_style = ("/data_attributes", {**params, "model": model})
        old_style = (f"/data_attributes/{model}", params)
        first, second = (new_style, old_style) if self._version_tuple() >= (1, 4) else (old_style, new_style)
        try:
            return self._get_dict(first[0], first[1])
        except NotFound:
            # The path moved in 1.4 (§0); an app pinned to another version answers the other form.
            return self._get_dict(second[0], second[1])

    def _version_tuple(self) -> tuple[int, int]:
        try:
            major, minor = (self.version or "1.4").split(".")[:2]
            return int(major), int(minor)
        except ValueError:
            return (1, 4)

    # --- Users (§7.1) -------------------------------------------------------------------

    def create_user(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """Create a user, or update the one matching id, user_id or email (upsert)."""
        # Reference: https://developers.intercom.com/docs/references/1.4/rest-api/users/create-or-update-user (page name unverified)
        return self._post("/users", body)

    def create_update_user(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """Create or update a user: the same call as create_user."""
        # Reference: https://developers.intercom.com/docs/references/1.4/rest-api/users/create-or-update-user (page name unverified)
        return self._post("/users", body)

    def get_user(self, id: str) -> dict[str, Any]:
        """Return the user with Intercom's id."""
        # Reference: https://developers.intercom.com/docs/references/1.4/rest-api/users/view-a-user
        return self._get_dict(f"/users/{_seg(id)}")

    def find_user(self, *, user_id: str | None = None, email: str | None = None) -> dict[str, Any]:
        """Return the user with this user_id, or the users with this email.

        By email, 1.1+ answers a `user.list` and 1.0 a single `user`; find_users()
        flattens both.
        """
        # Reference: https://developers.intercom.com/docs/references/1.4/rest-api/users/list-by-email-1
        return self._get_dict("/users", _one_of(user_id=user_id, email=email))

    def list_users(
        self,
        *,
        page: int | None = None,
        per_page: int | None = None,
        order: str | None = None,
        sort: str | None = None,
        created_since: int | None = None,
        tag_id: str | None = None,
        segment_id: str | None = None,
        **filters: Any,
    ) -> dict[str, Any]:
        """Return one page of users (`user.list`); at most 10,000 users deep, then scroll."""
        # Reference: https://developers.intercom.com/docs/references/1.4/rest-api/users/list-users
        params = {"page": page, "per_page": per_page, "order": order, "sort": sort, "created_since": created_since}
        return self._get_dict("/users", {**params, "tag_id": tag_id, "segment_id": segment_id, **filters})

    def archive_user(
        self, *, id: str | None = None, user_id: str | None = None, email: str | None = None
    ) -> dict[str, Any] | None:
        """Archive (soft-delete) a user by Intercom id, user_id or email; return it as it was."""
        # Reference: https://developers.intercom.com/docs/references/1.4/rest-api/users/archive-a-user
        given = _one_of(id=id, user_id=user_id, email=email)
        if id is not None:
            return self._request("DELETE", f"/users/{_seg(id)}")
        return self._request("DELETE", "/users", params=given)

    def scroll_users(self, scroll_param: str | None = None) -> dict[str, Any]:
        """Return the next page of a users scroll (100 users; an empty list at the end)."""
        # Reference: https://developers.intercom.com/docs/references/1.4/rest-api/users/iterating-over-all-users
        # The seed names the parameter `scroll`; the API reads `scroll_param` (§3).
        return self._get_dict("/users/scroll", {"scroll_param": scroll_param}, safe_to_retry=False)

    # --- Leads (§7.2) ------------------------------------------------------------------

    def create_lead(self, body: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Create a lead (no identifier needed), or update the one matching id or user_id."""
        # Reference: https://developers.intercom.com/docs/references/1.4/rest-api/leads/create-lead (page name unverified)
        return self._post("/contacts", body or {})

    def update_lead(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """Update the lead named by `id` or `user_id` in the body."""
        # Reference: https://developers.intercom.com/docs/references/1.4/rest-api/leads/update-lead (page name unverified)
        # The docs use POST /contacts; the SDK's PUT /contacts/{id} is the alternative (§7.2).
        return self._post("/contacts", body)

    def get_lead(self, id: str) -> dict[str, Any]:
        """Return the lead with Intercom's id."""
        # Reference: https://developers.intercom.com/docs/references/1.4/rest-api/leads/view-a-lead (page name unverified)
        return self._get_dict(f"/contacts/{_seg(id)}")

    def list_leads(
        self,
        *,
        email: str | None = None,
        phone: str | None = None,
        user_id: str | None = None,
        page: int | None = None,
        per_page: int | None = None,
        **filters: Any,
    ) -> dict[str, Any]:
        """Return one page of leads (`contact.list`); by user_id the API answers one `contact`."""
        # Reference: https://developers.intercom.com/docs/references/1.4/rest-api/leads/list-leads (page name unverified)
        params = {"email": email, "phone": phone, "user_id": user_id, "page": page, "per_page": per_page}
        return self._get_dict("/contacts", {**params, **filters})

    def delete_lead(self, user_id: str) -> dict[str, Any] | None:
        """Delete the lead with this user_id; return it as it was."""
        # Reference: https://developers.intercom.com/docs/references/1.4/rest-api/leads/delete-a-lead (page name unverified)
        return self._request("DELETE", "/contacts", params={"user_id": user_id})

    def delete_lead_by_id(self, id: str) -> dict[str, Any] | None:
        """Delete the lead with Intercom's id; return it as it was."""
        # Reference: https://developers.intercom.com/docs/references/1.4/rest-api/leads/delete-a-lead (page name unverified)
        return self._request("DELETE", f"/contacts/{_seg(id)}")

    def convert_lead(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """Convert a lead to a user: `{"contact": {"user_id": …}, "user": {…}}`."""
        # Reference: https://developers.intercom.com/docs/references/1.4/rest-api/leads/convert-a-lead (page name unverified)
        return self._post("/contacts/convert", body)

    def scroll_leads(self, scroll_param: str | None = None) -> dict[str, Any]:
        """Return the next page of a leads scroll; the array key varies (see iter_scroll)."""
        # Reference: https://intercom-developer-hub.readme.io/reference/iterating-over-all-leads
        return self._get_dict("/contacts/scroll", {"scroll_param": scroll_param}, safe_to_retry=False)

    # --- Visitors (§7.3) -----------------------------------------------------------------

    def get_visitor(self, id: str) -> dict[str, Any]:
        """Return the visitor with Intercom's id."""
        # Reference: https://developers.intercom.com/docs/references/1.4/rest-api/visitors/view-a-visitor (page name unverified)
        return self._get_dict(f"/visitors/{_seg(id)}")

    def update_visitor(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """Update the visitor named by `id` or `user_id` in the body."""
        # Reference: https://developers.intercom.com/docs/references/1.4/rest-api/visitors/update-a-visitor
        return self._dict("PUT", "/visitors", json=dict(body))

    def delete_visitor(self, user_id: str) -> dict[str, Any] | None:
        """Delete the visitor with this user_id; return it as it was."""
        # Reference: none; DELETE /visitors?user_id= is inferred from delete_lead (§7.3).
        return self._request("DELETE", "/visitors", params={"user_id": user_id})

    def delete_visitor_by_id(self, id: str) -> dict[str, Any] | None:
        """Delete the visitor with Intercom's id; return it as it was."""
        # Reference: https://developers.intercom.com/docs/references/1.4/rest-api/visitors/delete-a-visitor (page name unverified)
        return self._request("DELETE", f"/visitors/{_seg(id)}")

    def convert_visitor(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """Convert a visitor to a user (`"type": "user"`) or a lead (`"type": "lead"`)."""
        # Reference: https://developers.intercom.com/docs/references/1.4/rest-api/visitors/convert-a-visitor (page name unverified)
        return self._post("/visitors/convert", body)

    # --- Companies (§7.4) ----------------------------------------------------------------

    def create_company(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """Create a company, or update the one with this company_id (upsert)."""
        # Reference: https://developers.intercom.com/docs/references/1.4/rest-api/companies/create-or-update-company (page name unverified)
        return self._post("/companies", body)

    def update_company(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """Update the company with this company_id (or id): the same call as create_company."""
        # Reference: https://developers.intercom.com/docs/references/1.4/rest-api/companies/create-or-update-company (page name unverified)
        return self._post("/companies", body)

    def get_company(self, id: str) -> dict[str, Any]:
        """Return the company with Intercom's id."""
        # Reference: https://developers.intercom.com/docs/references/1.4/rest-api/companies/view-a-company (page name unverified)
        return self._get_dict(f"/companies/{_seg(id)}")

    def list_companies(
        self,
        *,
        page: int | None = None,
        per_page: int | None = None,
        order: str | None = None,
        tag_id: str | None = None,
        segment_id: str | None = None,
        company_id: str | None = None,
        name: str | None = None,
        type: str | None = None,
        **filters: Any,
    ) -> dict[str, Any]:
        """Return one page of companies; by company_id or name the API answers one `company`."""
        # Reference: https://developers.intercom.com/docs/references/1.2/rest-api/companies/list-companies
        params = {"page": page, "per_page": per_page, "order": order, "tag_id": tag_id, "segment_id": segment_id}
        return self._get_dict("/companies", {**params, "company_id": company_id, "name": name, "type": type, **filters})

    def list_users_for_company(
        self, id: str, *, page: int | None = None, per_page: int | None = None
    ) -> dict[str, Any]:
        """Return one page of the users of the company with Intercom's id."""
        # Reference: https://developers.intercom.com/docs/references/1.4/rest-api/companies/list-company-users
        return self._get_dict(f"/companies/{_seg(id)}/users", {"page": page, "per_page": per_page})

    def scroll_companies(self, scroll_param: str | None = None) -> dict[str, Any]:
        """Return the next page of a companies scroll."""
        # Reference: https://developers.intercom.com/docs/references/1.4/rest-api/companies/iterating-over-all-companies (page name unverified)
        return self._get_dict("/companies/scroll", {"scroll_param": scroll_param}, safe_to_retry=False)

    def delete_company(self, company_id: str | None = None, user_id: str | None = None) -> dict[str, Any] | None:
        """Delete the company with this company_id.

        The seed gives this operation only a `user_id` parameter, which fits no known API;
        it is sent as `company_id` (§7.4, inferred).
        """
        # Reference: none in the v1 docs; DELETE /companies?company_id= is inferred (§7.4).
        company_id = company_id if company_id is not None else user_id
        if company_id is None:
            raise ValueError("pass company_id")
        return self._request("DELETE", "/companies", params={"company_id": company_id})

    def delete_company_by_id(self, id: str) -> dict[str, Any] | None:
        """Delete the company with Intercom's id."""
        # Reference: none in the v1 docs; python-intercom 3.1.0's Delete mixin sends this (§7.4).
        return self._request("DELETE", f"/companies/{_seg(id)}")

    # --- Conversations (§7.5) ----------------------------------------------------------

    def list_conversations(
        self,
        *,
        type: str | None = None,
        admin_id: str | None = None,
        intercom_user_id: str | None = None,
        user_id: str | None = None,
        email: str | None = None,
        open: bool | None = None,
        unread: bool | None = None,
        display_as: str | None = None,
        order: str | None = None,
        sort: str | None = None,
        page: int | None = None,
        per_page: int | None = None,
    ) -> dict[str, Any]:
        """Return one page of conversations (without their parts)."""
        # Reference: https://developers.intercom.com/docs/references/1.4/rest-api/conversations/list-conversations
        params = {"type": type, "admin_id": admin_id, "intercom_user_id": intercom_user_id, "user_id": user_id}
        params |= {"email": email, "open": open, "unread": unread, "display_as": display_as}
        return self._get_dict(
            "/conversations", {**params, "order": order, "sort": sort, "page": page, "per_page": per_page}
        )

    def get_conversation(self, id: str, *, display_as: str | None = None) -> dict[str, Any]:
        """Return a conversation with its parts (at most 500)."""
        # Reference: https://developers.intercom.com/docs/references/1.4/rest-api/conversations/get-a-single-conversation
        return self._get_dict(f"/conversations/{_seg(id)}", {"display_as": display_as})

    def post_reply(self, conversation_id: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """Reply to, note, assign, open, close or snooze a conversation; return it.

        The seed spells the snooze field `snooze_until`; the API reads `snoozed_until`, so
        the former is renamed (§7.5).
        """
        # Reference: https://developers.intercom.com/docs/references/1.4/rest-api/conversations/replying-to-a-conversation (page name unverified)
        return self._post(f"/conversations/{_seg(conversation_id)}/reply", _reply_body(body))

    def post_reply_to_last_conversation(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """Reply as a user to their most recent conversation; return it."""
        # Reference: https://developers.intercom.com/docs/references/1.4/rest-api/conversations/replying-to-users-last-conversation (page name unverified)
        return self._post("/conversations/last/reply", _reply_body(body))

    def mark_conversation_as_read(self, id: str) -> dict[str, Any]:
        """Mark a conversation as read by an admin; return it."""
        # Reference: https://developers.intercom.com/docs/references/1.4/rest-api/conversations/marking-a-conversation-as-read
        return self._dict("PUT", f"/conversations/{_seg(id)}", json={"read": True})

    def add_customer_to_conversation(self, conversation_id: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """Add a customer to a group conversation; return `{"customers": [...]}`."""
        # Reference: https://developers.intercom.com/docs/references/1.4/rest-api/conversations/adding-to-group-conversations
        return self._post(f"/conversations/{_seg(conversation_id)}/customers", body)

    def delete_customer_to_conversation(
        self, conversation_id: str, id: str, *, admin_id: str | None = None
    ) -> dict[str, Any] | None:
        """Remove the customer with Intercom's id from a group conversation."""
        # Reference: https://developers.intercom.com/docs/references/1.4/rest-api/conversations/deleting-from-group-conversations
        body = {"admin_id": admin_id} if admin_id is not None else None
        return self._request("DELETE", f"/conversations/{_seg(conversation_id)}/customers/{_seg(id)}", json=body)

    # --- Messages, notes, events (§7.6, §7.7, §7.10) -----------------------------------

    def post_message(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """Send an admin message to a customer, or a message from a customer; return it."""
        # Reference: https://developers.intercom.com/docs/references/1.4/rest-api/conversations/admin-initiated-conversation
        return self._post("/messages", body)

    def create_note(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """Add a note to a user: `{"admin_id": …, "body": …, "user": {"user_id": …}}`."""
        # Reference: https://developers.intercom.com/docs/references/1.4/rest-api/notes/create-a-note (page name unverified)
        return self._post("/notes", body)

    def get_note(self, id: str) -> dict[str, Any]:
        """Return a note."""
        # Reference: https://developers.intercom.com/docs/references/1.4/rest-api/notes/view-a-note (page name unverified)
        return self._get_dict(f"/notes/{_seg(id)}")

    def list_notes_for_user(
        self,
        *,
        user_id: str | None = None,
        email: str | None = None,
        id: str | None = None,
        page: int | None = None,
        per_page: int | None = None,
    ) -> dict[str, Any]:
        """Return the notes of the user named by user_id, email or Intercom id."""
        # Reference: https://developers.intercom.com/docs/references/1.4/rest-api/notes/list-notes-for-a-user (page name unverified)
        params = _one_of(user_id=user_id, email=email, id=id)
        return self._get_dict("/notes", {**params, "page": page, "per_page": per_page})

    def create_event(self, body: Mapping[str, Any]) -> None:
        """Submit an event; the API answers 202 with no body, so return None."""
        # Reference: https://developers.intercom.com/docs/references/1.4/rest-api/data-events/submitting-events (page name unverified)
        self._request("POST", "/events", json=dict(body))

    def list_events_for_user(
        self,
        *,
        user_id: str | None = None,
        email: str | None = None,
        intercom_user_id: str | None = None,
        summary: bool | None = None,
        type: str = "user",
        per_page: int | None = None,
    ) -> dict[str, Any]:
        """Return the user's events of the last 90 days (`event.list`, or `event.summary`)."""
        # Reference: https://developers.intercom.com/docs/references/1.4/rest-api/data-events/list-user-events (page name unverified)
        params = _one_of(user_id=user_id, email=email, intercom_user_id=intercom_user_id)
        return self._get_dict("/events", {"type": type, **params, "summary": summary, "per_page": per_page})

    # --- Tags, segments (§7.8, §7.9) ---------------------------------------------------

    def create_tag(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """Create a tag, or tag/untag users or companies: `{"name": …, "users": [...]}`."""
        # Reference: https://developers.intercom.com/docs/references/1.4/rest-api/tags/create-and-update-tags (page name unverified)
        return self._post("/tags", body)

    def update_tag(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """Rename a tag: `{"id": …, "name": …}`."""
        # Reference: https://developers.intercom.com/docs/references/1.4/rest-api/tags/create-and-update-tags (page name unverified)
        return self._post("/tags", body)

    def delete_tag(self, id: str) -> dict[str, Any] | None:
        """Delete a tag everywhere; the API answers with an empty body."""
        # Reference: https://developers.intercom.com/docs/references/1.4/rest-api/tags/delete-a-tag (page name unverified)
        return self._request("DELETE", f"/tags/{_seg(id)}")

    def list_tags(self) -> dict[str, Any]:
        """Return every tag (`tag.list`, not paged)."""
        # Reference: https://developers.intercom.com/docs/references/1.4/rest-api/tags/list-tags (page name unverified)
        return self._get_dict("/tags")

    def list_segments(self, *, type: str | None = None, include_count: bool | None = None) -> dict[str, Any]:
        """Return every segment; `type="company"` lists company segments."""
        # Reference: https://developers.intercom.com/docs/references/1.4/rest-api/segments/list-segments (page name unverified)
        return self._get_dict("/segments", {"type": type, "include_count": include_count})

    def get_segment(self, id: str, *, include_count: bool | None = None) -> dict[str, Any]:
        """Return a segment, with its `count` when include_count is true."""
        # Reference: https://developers.intercom.com/docs/references/1.4/rest-api/segments/view-a-segment (page name unverified)
        return self._get_dict(f"/segments/{_seg(id)}", {"include_count": include_count})

    # --- Admins, teams, counts, app (§7.11) ----------------------------------------------

    def list_admins(self) -> dict[str, Any]:
        """Return the admins, with teams among them as `type: "team"` entries."""
        # Reference: https://developers.intercom.com/docs/references/1.4/rest-api/admins/list-admins (page name unverified)
        return self._get_dict("/admins")

    def get_admin(self, id: str) -> dict[str, Any]:
        """Return an admin."""
        # Reference: https://developers.intercom.com/docs/references/1.4/rest-api/admins/view-an-admin (page name unverified)
        return self._get_dict(f"/admins/{_seg(id)}")

    def set_admin_away(self, id: str, away_mode_enabled: bool, away_mode_reassign: bool = False) -> dict[str, Any]:
        """Turn an admin's away mode on or off; return the admin."""
        # Reference: https://developers.intercom.com/docs/references/1.4/rest-api/admins/set-admin-away (page name unverified)
        body = {"away_mode_enabled": bool(away_mode_enabled), "away_mode_reassign": bool(away_mode_reassign)}
        return self._dict("PUT", f"/admins/{_seg(id)}/away", json=body)

    def list_activity_logs_for_admin(
        self,
        created_at_after: int | str,
        created_at_before: int | str | None = None,
        *,
        page: int | None = None,
        per_page: int | None = None,
    ) -> dict[str, Any]:
        """Return one page of the admins' activity log since a UNIX time (1.3+)."""
        # Reference: https://developers.intercom.com/docs/references/1.4/rest-api/admins/list-admin-activity-logs (page name unverified)
        params = {"created_at_after": created_at_after, "created_at_before": created_at_before}
        return self._get_dict("/admins/activity_logs", {**params, "page": page, "per_page": per_page})

    def list_teams(self) -> dict[str, Any]:
        """Return every team (`team.list`)."""
        # Reference: https://developers.intercom.com/docs/references/1.4/rest-api/teams/list-teams (page name unverified)
        return self._get_dict("/teams")

    def get_team(self, id: str) -> dict[str, Any]:
        """Return a team."""
        # Reference: https://developers.intercom.com/docs/references/1.4/rest-api/teams/view-a-team (page name unverified)
        return self._get_dict(f"/teams/{_seg(id)}")

    def get_count(self, *, type: str | None = None, count: str | None = None) -> dict[str, Any]:
        """Return app-wide counts (`count.hash`), or one breakdown (`count`) for type/count."""
        # Reference: https://developers.intercom.com/docs/references/1.4/rest-api/counts/conversation-counts
        return self._get_dict("/counts", {"type": type, "count": count})

    def get_current_admin_and_app(self) -> dict[str, Any]:
        """Return the admin the token belongs to, with its `app`."""
        # Reference: https://developers.intercom.com/docs/references/1.4/rest-api/admins/view-current-admin (page name unverified)
        return self._get_dict("/me")

    # --- Data attributes (§7.12) -------------------------------------------------------

    def list_data_attributes_for_customers(self, *, include_archived: bool | None = None) -> dict[str, Any]:
        """Return the data attributes of users, leads and visitors (`data_attribute.list`)."""
        # Reference: https://developers.intercom.com/docs/references/1.4/rest-api/data-attributes/list-data-attributes (page name unverified)
        return self._data_attributes("customer", include_archived)

    def list_data_attributes_for_companies(self, *, include_archived: bool | None = None) -> dict[str, Any]:
        """Return the data attributes of companies (`data_attribute.list`)."""
        # Reference: https://developers.intercom.com/docs/references/1.4/rest-api/data-attributes/list-data-attributes (page name unverified)
        return self._data_attributes("company", include_archived)

    # --- Small wrappers ------------------------------------------------------------------

    def _post(self, path: str, body: Mapping[str, Any]) -> dict[str, Any]:
        return self._dict("POST", path, json=dict(body))

    def _dict(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        result = self._request(method, path, **kwargs)
        if result is None:
            raise MalformedResponse(message=f"{method} {path}: empty body where JSON was expected")
        return result


def _reply_body(body: Mapping[str, Any]) -> dict[str, Any]:
    """Return a reply body with the seed's `snooze_until` spelled `snoozed_until`."""
    body = dict(body)
    if "snooze_until" in body and "snoozed_until" not in body:
        body["snoozed_until"] = body.pop("snooze_until")
    return body
