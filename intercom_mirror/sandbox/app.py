"""The sandbox WSGI app: Intercom v1 HTTP semantics over a `Workspace`.

Plain WSGI, no Django: a route table of (method, path regex) → handler, where
each handler takes the app, a parsed `Request` and the path groups, and returns a
JSON-able dict (200) or a `Response`. Auth, rate limiting, faults, paging and
scroll live here; the rules about data live in state/ (one module per resource).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import logging
import math
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import formatdate
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx

from .faults import DroppedConnection, Fault, Faults, SimulatedTimeout
from .state import SandboxError, Workspace, event_cursor, flag, invalid, missing, not_found
from .webhooks import BackgroundSender, Sender, build_notification, encode

logger = logging.getLogger(__name__)

VERSIONS = ("1.0", "1.1", "1.2", "1.3", "1.4")
SCROLL_PAGE = 100
DEEP_PAGING_LIMIT = 10_000
SCROLL_FAILED = "Request failed due to an internal network error. Please restart the scroll operation."
STATUS_CODES = {
    408: "request_timeout",
    500: "server_error",
    502: "bad_gateway",
    503: "service_unavailable",
    504: "gateway_timeout",
}


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    query_items: list[tuple[str, str]]
    body: Any
    base_url: str
    version: str
    environ: dict[str, Any]


@dataclass
class Response:
    status: int = 200
    body: Any = None
    headers: list[tuple[str, str]] = field(default_factory=list)
    raw: bytes | None = None


@dataclass
class Scroll:
    """The one live scroll of the app: a snapshot of ids, walked 100 at a time."""

    param: str
    kind: str
    ids: list[str]
    last_used: float
    pos: int = 0
    pages: int = 0
    dead: bool = False


class RateLimiter:
    """Fixed windows of `window` seconds allowing `limit` requests, aligned on multiples of the window."""

    def __init__(self, limit: int, window: float, clock: Callable[[], float]) -> None:
        self.limit, self.window, self.clock = limit, window, clock
        self._start: float | None = None
        self._used = 0

    def hit(self, consume: bool = True) -> tuple[bool, list[tuple[str, str]]]:
        """Count a request (unless `consume` is false) and return (allowed, X-RateLimit headers)."""
        now = self.clock()
        start = math.floor(now / self.window) * self.window
        if start != self._start:
            self._start, self._used = start, 0
        allowed = self._used < self.limit
        if consume and allowed:
            self._used += 1
        headers = [
            ("X-RateLimit-Limit", str(self.limit)),
            ("X-RateLimit-Remaining", str(max(0, self.limit - self._used))),
            ("X-RateLimit-Reset", str(int(start + self.window))),
        ]
        return allowed or not consume, headers


class SandboxApp:
    """A WSGI callable emulating the Intercom REST API v1.x over `workspace`."""

    def __init__(
        self,
        workspace: Workspace,
        *,
        token: str = "sandbox-token",  # noqa: S107 - a well-known sandbox token, not a secret
        rate_limit: int | None = 166,
        rate_window: float = 10,
        scroll_ttl: float = 60,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        webhook_url: str | None = None,
        webhook_secret: str | None = None,
        api_version_default: str = "1.4",
    ) -> None:
        if api_version_default not in VERSIONS:
            raise ValueError(f"api_version_default must be one of {VERSIONS}")
        self.workspace = workspace
        self.token = token
        self.rate_limit = rate_limit
        self.rate_window = rate_window
        self.scroll_ttl = scroll_ttl
        self.clock = clock
        self.sleep = sleep
        self.webhook_url = webhook_url
        self.webhook_secret = webhook_secret
        self.api_version_default = api_version_default
        self.faults = Faults()
        self.request_log: list[tuple[str, str]] = []
        self.request_log_limit: int | None = 100_000
        self.webhook_sender: Sender = BackgroundSender()
        self.limiter = RateLimiter(rate_limit, rate_window, clock) if rate_limit else None
        self.scroll: Scroll | None = None
        self._lock = threading.RLock()

    # ----------------------------------------------------------------- WSGI entry

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        with self._lock:
            response, fault = self._handle(environ)
            deliveries = self._pending_deliveries()
        self._send(deliveries)
        if fault is not None:
            self._misbehave(fault, environ)
        status = f"{response.status} {HTTPStatus(response.status).phrase}"
        payload = response.raw if response.raw is not None else b""
        if response.body is not None:
            payload = json.dumps(response.body, ensure_ascii=False).encode("utf-8")
            response.headers.append(("Content-Type", "application/json; charset=utf-8"))
        response.headers.append(("Content-Length", str(len(payload))))
        # Every real HTTP server dates its answers; clients read the API's clock from it.
        response.headers.append(("Date", formatdate(self.clock(), usegmt=True)))
        start_response(status, response.headers)
        return [payload]

    def _misbehave(self, fault: Fault, environ: dict[str, Any]) -> None:
        """Apply a slow, drop or timeout fault outside the lock, so other requests keep flowing."""
        if fault.kind == "slow":
            self.sleep(fault.seconds)
        elif fault.kind == "drop":
            raise DroppedConnection()
        elif fault.kind == "timeout":
            if environ.get("sandbox.real_server"):
                self.sleep(fault.seconds)  # hold the socket open so the client's own timer fires
            raise SimulatedTimeout(fault.seconds)

    def transport(self) -> httpx.BaseTransport:
        """Return an httpx transport that calls this app in-process, turning faults into httpx errors."""
        return SandboxTransport(self)

    # ----------------------------------------------------------------- request pipeline

    def _handle(self, environ: dict[str, Any]) -> tuple[Response, Fault | None]:
        method = environ["REQUEST_METHOD"].upper()
        path = environ.get("PATH_INFO") or "/"
        query = environ.get("QUERY_STRING", "")
        self._log(method, f"{path}?{query}" if query else path)
        # Read the body up front: a socket closed with unread bytes resets instead of closing cleanly.
        raw_body = _read_raw(environ)
        limit_headers: list[tuple[str, str]] = []
        fault = None
        try:
            if not self._authorized(environ.get("HTTP_AUTHORIZATION", "")):
                limit_headers = self.limiter.hit(consume=False)[1] if self.limiter else []
                raise SandboxError(401, "unauthorized", "Access Token Invalid")
            if self.limiter:
                allowed, limit_headers = self.limiter.hit()
                if not allowed:
                    raise self._rate_limited()
            fault = self.faults.take()
            response = self._early_fault(fault) or self._dispatch(self._parse(environ, method, path, query, raw_body))
        except SandboxError as exc:
            response = self._error(exc)
            if exc.status == 429:
                limit_headers = [(k, "0" if k == "X-RateLimit-Remaining" else v) for k, v in limit_headers]
        except Exception:
            logger.exception("Sandbox failed on %s %s", method, path)
            response = self._error(SandboxError(500, "server_error", "An internal server error occurred"))
        response.headers = limit_headers + response.headers
        return response, fault if fault and fault.kind in ("slow", "drop", "timeout") else None

    def _early_fault(self, fault: Fault | None) -> Response | None:
        """Return the response a fault replaces the real one with, if it does."""
        if fault is None:
            return None
        if fault.kind == "rate_limit":
            raise self._rate_limited()
        if fault.kind == "status":
            if fault.html:
                phrase = f"{fault.status} {HTTPStatus(fault.status).phrase}"
                page = f"<html><head><title>{phrase}</title></head><body><h1>{phrase}</h1></body></html>"
                return Response(fault.status, raw=page.encode(), headers=[("Content-Type", "text/html")])
            code = STATUS_CODES.get(fault.status, "server_error" if fault.status >= 500 else "client_error")
            raise SandboxError(fault.status, code, f"Simulated {HTTPStatus(fault.status).phrase}")
        if fault.kind in ("drop", "timeout") and not fault.processed:
            return Response(500)  # never sent: the fault raises instead
        return None

    def _rate_limited(self) -> SandboxError:
        return SandboxError(
            429, "rate_limit_exceeded", f"Exceeded rate limit of {self.rate_limit} in {self.rate_window:g}_seconds"
        )

    def _authorized(self, header: str) -> bool:
        """Accept `Bearer <token>` and `Basic base64(<token>:)` (or the legacy `app_id:<token>`)."""
        scheme, _, credentials = header.strip().partition(" ")
        credentials = credentials.strip()
        if scheme.lower() == "bearer":
            return hmac.compare_digest(credentials.encode(), self.token.encode())
        if scheme.lower() == "basic":
            try:
                decoded = base64.b64decode(credentials, validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                return False
            user, _, password = decoded.partition(":")
            return hmac.compare_digest(user.encode(), self.token.encode()) or hmac.compare_digest(
                password.encode(), self.token.encode()
            )
        return False

    def _log(self, method: str, path: str) -> None:
        self.request_log.append((method, path))
        if self.request_log_limit and len(self.request_log) > self.request_log_limit:
            del self.request_log[: len(self.request_log) // 2]  # a long-running server must not grow forever

    def _parse(self, environ: dict[str, Any], method: str, path: str, query: str, raw_body: bytes) -> Request:
        version = environ.get("HTTP_INTERCOM_VERSION", "").strip() or self.api_version_default
        if version not in VERSIONS:
            raise SandboxError(400, "intercom_version_invalid", f"Intercom-Version {version!r} is not valid")
        accept = environ.get("HTTP_ACCEPT", "")
        if accept and not any(t in accept for t in ("json", "*/*", "application/*")):
            raise SandboxError(406, "not_acceptable", "Accept must allow application/json")
        items = parse_qsl(query, keep_blank_values=True)
        return Request(
            method=method,
            path=path,
            query=dict(reversed(items)),  # the first value wins, as Rails reads repeated keys
            query_items=items,
            body=_json_body(raw_body),
            base_url=_base_url(environ),
            version=version,
            environ=environ,
        )

    def _dispatch(self, req: Request) -> Response:
        allowed = []
        for method, pattern, handler in ROUTES:
            match = pattern.match(req.path)
            if match is None:
                continue
            if method != req.method:
                allowed.append(method)
                continue
            self.workspace.api_version = req.version
            result = handler(self, req, **match.groupdict())
            return result if isinstance(result, Response) else Response(200, result)
        if allowed:
            raise SandboxError(405, "method_not_allowed", f"{req.method} is not allowed on {req.path}")
        raise SandboxError(404, "not_found", "Resource Not Found")

    def _error(self, exc: SandboxError) -> Response:
        error: dict[str, Any] = {"code": exc.code, "message": exc.message}
        if exc.field:
            error["field"] = exc.field
        body = {"type": "error.list", "request_id": str(uuid.uuid4()), "errors": [error]}
        return Response(exc.status, body)

    # ----------------------------------------------------------------- webhooks

    def _pending_deliveries(self) -> list[tuple[str, bytes, dict[str, str]]]:
        """Turn queued topics into signed deliveries; runs under the lock, sending happens after."""
        ws = self.workspace
        deliveries = []
        for topic, item, only in ws.drain_outbox():
            targets = [(s.url, s.hub_secret, s) for s in ws.subscriptions.values() if _wants(s, topic, item, only)]
            if self.webhook_url and only is None:
                targets.append((self.webhook_url, self.webhook_secret, None))
            for url, secret, sub in targets:
                notification = build_notification(topic, item, ws.app_id, ws.now())
                if sub is not None:
                    sub.sent = [*sub.sent[-99:], notification]
                body, headers = encode(notification, secret)
                deliveries.append((url, body, headers))
        return deliveries

    def _send(self, deliveries: list[tuple[str, bytes, dict[str, str]]]) -> None:
        for url, body, headers in deliveries:
            try:
                self.webhook_sender(url, body, headers)
            except Exception:
                logger.exception("Webhook delivery to %s failed", url)

    # ----------------------------------------------------------------- paging and scroll

    def paged(
        self,
        req: Request,
        items: list[Any],
        list_type: str,
        key: str,
        render: Callable[[Any], dict[str, Any]],
        *,
        per_page_default: int = 50,
        per_page_max: int = 60,
        deep_limit: int | None = None,
        total_count: bool = True,
    ) -> dict[str, Any]:
        """Return one page of items in the v1 list envelope, with an absolute `next` link."""
        per_page = min(max(_int_param(req, "per_page", per_page_default), 1), per_page_max)
        page = _int_param(req, "page", 1)
        if page < 1:
            raise invalid("page", "page must be 1 or more")
        offset = (page - 1) * per_page
        if deep_limit is not None and offset >= deep_limit:
            raise invalid("page", f"Paging is limited to {deep_limit:,} records, use the scroll API instead")
        total_pages = math.ceil(len(items) / per_page)
        body: dict[str, Any] = {
            "type": list_type,
            "pages": {
                "type": "pages",
                "next": self._page_url(req, page + 1, per_page) if page < total_pages else None,
                "page": page,
                "per_page": per_page,
                "total_pages": total_pages,
            },
            key: [render(item) for item in items[offset : offset + per_page]],
        }
        if total_count:
            body["total_count"] = len(items)
        return body

    def _page_url(self, req: Request, page: int, per_page: int) -> str:
        params = [(k, v) for k, v in req.query_items if k not in ("page", "per_page")]
        params += [("per_page", str(per_page)), ("page", str(page))]
        return f"{req.base_url}{req.path}?{urlencode(params)}"

    def scroll_page(self, req: Request, kind: str) -> dict[str, Any]:
        """Serve one page of the app's single scroll (§3): 100 records, empty when done."""
        ws = self.workspace
        now = self.clock()
        if self.scroll is not None and now - self.scroll.last_used >= self.scroll_ttl:
            self.scroll = None
        param = req.query.get("scroll_param")
        if not param:
            if self.scroll is not None:
                raise SandboxError(400, "scroll_exists", "scroll already exists for this app")
            table = SCROLL_KINDS[kind][0](ws)
            self.scroll = Scroll(param=str(uuid.uuid4()), kind=kind, ids=sorted(table), last_used=now)
        elif self.scroll is None or self.scroll.param != param or self.scroll.kind != kind or self.scroll.dead:
            raise not_found("Scroll")
        scroll = self.scroll
        scroll.last_used = now
        limit = self.faults.scroll_fail_after
        if limit is not None and scroll.pages >= limit:
            scroll.dead = True  # the lock stays held until the param expires, as on the real API
            self.faults.scroll_fail_after = None
            raise SandboxError(500, "server_error", SCROLL_FAILED)
        records = self._next_scroll_records(scroll, SCROLL_KINDS[kind][0](ws))
        scroll.pages += 1
        if not records:
            self.scroll = None  # the end closes the scroll, so a new one may start at once
        table_getter, list_type, key, render = SCROLL_KINDS[kind]
        return {"type": list_type, key: [render(ws, r) for r in records], "scroll_param": scroll.param}

    def _next_scroll_records(self, scroll: Scroll, table: dict[str, Any]) -> list[Any]:
        records = []
        while len(records) < SCROLL_PAGE and scroll.pos < len(scroll.ids):
            record = table.get(scroll.ids[scroll.pos])
            scroll.pos += 1
            if record is not None:  # deleted since the scroll began
                records.append(record)
        return records


class SandboxTransport(httpx.BaseTransport):
    """Call a `SandboxApp` in-process; dropped connections and timeouts become httpx errors."""

    def __init__(self, app: SandboxApp) -> None:
        self.app = app
        self._inner = httpx.WSGITransport(app=app)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return self._inner.handle_request(request)
        except DroppedConnection as exc:
            raise httpx.RemoteProtocolError("Server disconnected without sending a response.", request=request) from exc
        except SimulatedTimeout as exc:
            raise httpx.ReadTimeout("timed out", request=request) from exc


def _wants(sub: Any, topic: str, item: dict[str, Any], only: str | None) -> bool:
    if only is not None:
        return sub.id == only
    if not sub.active or topic not in sub.topics:
        return False
    names = sub.metadata.get("event_names")
    return topic != "event.created" or not names or item.get("event_name") in names


def _read_raw(environ: dict[str, Any]) -> bytes:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    return environ["wsgi.input"].read(length) if length > 0 else b""


def _json_body(raw: bytes) -> Any:
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise SandboxError(400, "invalid_document", "The request body is not valid JSON") from exc


def _base_url(environ: dict[str, Any]) -> str:
    scheme = environ.get("wsgi.url_scheme", "http")
    host = environ.get("HTTP_HOST")
    if not host:
        host = environ.get("SERVER_NAME", "localhost")
        port = environ.get("SERVER_PORT", "")
        if port and port != {"http": "80", "https": "443"}.get(scheme):
            host = f"{host}:{port}"
    return f"{scheme}://{host}"


def _int_param(req: Request, name: str, default: int) -> int:
    value = req.query.get(name, "")
    if value == "":
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise invalid(name, f"{name} must be an integer") from exc


def _one_of(req: Request, *names: str) -> dict[str, str]:
    return {n: req.query[n] for n in names if req.query.get(n)}


# --------------------------------------------------------------------- handlers: users


def users_index(app: SandboxApp, req: Request) -> dict[str, Any]:
    """`GET /users`: find by user_id or email (shape depends on version), or list."""
    ws, q = app.workspace, req.query
    if q.get("user_id"):
        return ws.render_contact(ws.find_user(q["user_id"]))
    if q.get("email"):
        matches = ws.by_email(q["email"])
        if req.version == "1.0":
            if not matches:
                raise not_found("User")
            return ws.render_contact(matches[0])
        page = app.paged(req, matches, "user.list", "users", ws.render_contact)
        return {**page, "limited": False}
    created_since = _int_param(req, "created_since", -1)
    users = ws.list_users(
        sort=q.get("sort") or "created_at",
        order=q.get("order") or "desc",
        created_since=None if created_since < 0 else created_since,
        tag_id=q.get("tag_id") or None,
        segment_id=q.get("segment_id") or None,
    )
    return app.paged(req, users, "user.list", "users", ws.render_contact, deep_limit=DEEP_PAGING_LIMIT)


def users_upsert(app: SandboxApp, req: Request) -> dict[str, Any]:
    return app.workspace.render_contact(app.workspace.upsert_user(req.body))


def users_get(app: SandboxApp, req: Request, id: str) -> dict[str, Any]:
    return app.workspace.render_contact(app.workspace.get_user(id))


def users_archive(app: SandboxApp, req: Request, id: str) -> dict[str, Any]:
    return app.workspace.render_contact(app.workspace.archive_user(id=id))


def users_archive_by_query(app: SandboxApp, req: Request) -> dict[str, Any]:
    q = req.query
    user = app.workspace.archive_user(id=q.get("id"), user_id=q.get("user_id"), email=q.get("email"))
    return app.workspace.render_contact(user)


def users_scroll(app: SandboxApp, req: Request) -> dict[str, Any]:
    return app.scroll_page(req, "users")


def user_delete_request(app: SandboxApp, req: Request) -> dict[str, Any]:
    """`POST /user_delete_requests`: permanently delete a user, live or archived."""
    ws = app.workspace
    body = req.body if isinstance(req.body, dict) else {}
    user_id = str(body.get("intercom_user_id") or "")
    if not user_id:
        raise missing("intercom_user_id")
    if user_id in ws.users:
        ws.archive_user(id=user_id)
    if user_id not in ws.archived:
        raise not_found("User")
    del ws.archived[user_id]
    return {"id": int(ws.next_id("delete_request", 0))}


# --------------------------------------------------------------------- handlers: leads and visitors


def leads_index(app: SandboxApp, req: Request) -> dict[str, Any]:
    ws, q = app.workspace, req.query
    if q.get("user_id"):
        return ws.render_contact(ws.find_lead(q["user_id"]))
    leads = ws.list_leads(
        email=q.get("email") or None,
        phone=q.get("phone") or None,
        sort=q.get("sort") or "created_at",
        order=q.get("order") or "desc",
    )
    return app.paged(req, leads, "contact.list", "contacts", ws.render_contact)


def leads_upsert(app: SandboxApp, req: Request) -> dict[str, Any]:
    return app.workspace.render_contact(app.workspace.upsert_lead(req.body))


def leads_put(app: SandboxApp, req: Request, id: str) -> dict[str, Any]:
    return app.workspace.render_contact(app.workspace.upsert_lead(req.body, lead_id=id))


def leads_get(app: SandboxApp, req: Request, id: str) -> dict[str, Any]:
    return app.workspace.render_contact(app.workspace.get_lead(id))


def leads_delete(app: SandboxApp, req: Request, id: str) -> dict[str, Any]:
    return app.workspace.render_contact(app.workspace.delete_lead(lead_id=id))


def leads_delete_by_query(app: SandboxApp, req: Request) -> dict[str, Any]:
    lead = app.workspace.delete_lead(lead_id=req.query.get("id"), user_id=req.query.get("user_id"))
    return app.workspace.render_contact(lead)


def leads_convert(app: SandboxApp, req: Request) -> dict[str, Any]:
    return app.workspace.render_contact(app.workspace.convert_lead(req.body))


def leads_scroll(app: SandboxApp, req: Request) -> dict[str, Any]:
    return app.scroll_page(req, "leads")


def visitors_by_query(app: SandboxApp, req: Request) -> dict[str, Any]:
    if not req.query.get("user_id"):
        raise missing("user_id")
    return app.workspace.render_contact(app.workspace.find_visitor(req.query["user_id"]))


def visitors_get(app: SandboxApp, req: Request, id: str) -> dict[str, Any]:
    return app.workspace.render_contact(app.workspace.get_visitor(id))


def visitors_update(app: SandboxApp, req: Request, id: str | None = None) -> dict[str, Any]:
    return app.workspace.render_contact(app.workspace.update_visitor(req.body, visitor_id=id))


def visitors_delete(app: SandboxApp, req: Request, id: str) -> dict[str, Any]:
    return app.workspace.render_contact(app.workspace.delete_visitor(visitor_id=id))


def visitors_delete_by_query(app: SandboxApp, req: Request) -> dict[str, Any]:
    visitor = app.workspace.delete_visitor(visitor_id=req.query.get("id"), user_id=req.query.get("user_id"))
    return app.workspace.render_contact(visitor)


def visitors_convert(app: SandboxApp, req: Request) -> dict[str, Any]:
    return app.workspace.render_contact(app.workspace.convert_visitor(req.body))


# --------------------------------------------------------------------- handlers: companies


def companies_index(app: SandboxApp, req: Request) -> dict[str, Any]:
    """`GET /companies`: a company by company_id/name, its users (`type=user`), or the list."""
    ws, q = app.workspace, req.query
    if q.get("company_id"):
        company = ws.find_company(company_id=q["company_id"])
        if q.get("type") == "user":
            return app.paged(req, ws.company_users(company), "user.list", "users", ws.render_contact)
        return ws.render_company(company)
    if q.get("name"):
        return ws.render_company(ws.find_company(name=q["name"]))
    companies = ws.list_companies(
        order=q.get("order") or "desc", tag_id=q.get("tag_id") or None, segment_id=q.get("segment_id") or None
    )
    return app.paged(req, companies, "company.list", "companies", ws.render_company, deep_limit=DEEP_PAGING_LIMIT)


def companies_upsert(app: SandboxApp, req: Request) -> dict[str, Any]:
    return app.workspace.render_company(app.workspace.upsert_company(req.body))


def companies_get(app: SandboxApp, req: Request, id: str) -> dict[str, Any]:
    return app.workspace.render_company(_company(app, id))


def companies_delete(app: SandboxApp, req: Request, id: str) -> dict[str, Any]:
    return app.workspace.render_company(app.workspace.delete_company(id=_company(app, id).id))


def companies_delete_by_query(app: SandboxApp, req: Request) -> dict[str, Any]:
    # The seed names this parameter user_id; accept it as an alias of company_id (reference §7.4).
    company_id = req.query.get("company_id") or req.query.get("user_id")
    if not company_id:
        raise missing("company_id")
    return app.workspace.render_company(app.workspace.delete_company(company_id=company_id))


def company_users(app: SandboxApp, req: Request, id: str) -> dict[str, Any]:
    ws = app.workspace
    return app.paged(req, ws.company_users(_company(app, id)), "user.list", "users", ws.render_contact)


def companies_scroll(app: SandboxApp, req: Request) -> dict[str, Any]:
    return app.scroll_page(req, "companies")


def _company(app: SandboxApp, company_id: str) -> Any:
    company = app.workspace.companies.get(company_id)
    if company is None:
        raise not_found("Company")
    return company


# --------------------------------------------------------------------- handlers: tags, segments, notes, events


def tags_index(app: SandboxApp, req: Request) -> dict[str, Any]:
    ws = app.workspace
    return {"type": "tag.list", "tags": [ws.render_tag(t) for t in ws.tags.values()]}


def tags_save(app: SandboxApp, req: Request) -> dict[str, Any]:
    return app.workspace.render_tag(app.workspace.save_tag(req.body))


def tags_get(app: SandboxApp, req: Request, id: str) -> dict[str, Any]:
    return app.workspace.render_tag(app.workspace.get_tag(id))


def tags_delete(app: SandboxApp, req: Request, id: str) -> Response:
    app.workspace.delete_tag(id)
    return Response(200)


def segments_index(app: SandboxApp, req: Request) -> dict[str, Any]:
    ws = app.workspace
    counted = flag(req.query.get("include_count", "false"))
    segments = ws.list_segments(company=req.query.get("type") == "company")
    return {"type": "segment.list", "segments": [ws.render_segment(s, counted) for s in segments]}


def segments_get(app: SandboxApp, req: Request, id: str) -> dict[str, Any]:
    ws = app.workspace
    return ws.render_segment(ws.get_segment(id), flag(req.query.get("include_count", "false")))


def notes_create(app: SandboxApp, req: Request) -> dict[str, Any]:
    return app.workspace.render_note(app.workspace.create_note(req.body))


def notes_get(app: SandboxApp, req: Request, id: str) -> dict[str, Any]:
    return app.workspace.render_note(app.workspace.get_note(id))


def notes_index(app: SandboxApp, req: Request) -> dict[str, Any]:
    ws = app.workspace
    ident = _one_of(req, "id", "user_id", "email")
    if not ident:
        raise missing("user_id, email or id")
    notes = ws.list_notes(ws.resolve_customer(ident))
    return app.paged(req, notes, "note.list", "notes", ws.render_note)


def events_create(app: SandboxApp, req: Request) -> Response:
    app.workspace.create_event(req.body)
    return Response(202)


def events_index(app: SandboxApp, req: Request) -> dict[str, Any]:
    """`GET /events?type=user&…`: newest first, paged by a `before=` cursor in `pages.next`."""
    ws, q = app.workspace, req.query
    if not q.get("type"):
        raise missing("type")
    if q["type"] != "user":
        raise invalid("type", "type must be user")
    contact = ws.resolve_customer(_one_of(req, "intercom_user_id", "user_id", "email"))
    if flag(q.get("summary", "false")):
        return ws.event_summary(contact)
    events = ws.list_events(contact)
    before = _int_param(req, "before", 0)
    if before:
        events = [e for e in events if event_cursor(e) < before]
    per_page = min(max(_int_param(req, "per_page", 50), 1), 100)
    chunk = events[:per_page]
    next_url = None
    if len(events) > per_page:
        params = [(k, v) for k, v in req.query_items if k != "before"] + [("before", str(event_cursor(chunk[-1])))]
        next_url = f"{req.base_url}{req.path}?{urlencode(params)}"
    return {"type": "event.list", "events": [ws.render_event(e) for e in chunk], "pages": {"next": next_url}}


# --------------------------------------------------------------------- handlers: admins, teams, counts, app


def admins_index(app: SandboxApp, req: Request) -> dict[str, Any]:
    ws = app.workspace
    admins = [ws.render_admin(a) for a in ws.admins.values()] + [ws.render_team(t) for t in ws.teams.values()]
    return {"type": "admin.list", "admins": admins}


def admins_get(app: SandboxApp, req: Request, id: str) -> dict[str, Any]:
    admin = app.workspace.admins.get(id)
    if admin is None:
        raise not_found("Admin")
    return app.workspace.render_admin(admin)


def admins_away(app: SandboxApp, req: Request, id: str) -> dict[str, Any]:
    # The seed lists the two flags as parameters; take them from the query when the body lacks them.
    body = dict(req.body) if isinstance(req.body, dict) else {}
    for key in ("away_mode_enabled", "away_mode_reassign"):
        if key not in body and key in req.query:
            body[key] = req.query[key]
    if id not in app.workspace.admins:
        raise not_found("Admin")
    return app.workspace.render_admin(app.workspace.set_away(id, body))


def activity_logs(app: SandboxApp, req: Request) -> dict[str, Any]:
    if req.version < "1.3":
        raise not_found()
    after = _int_param(req, "created_at_after", -1)
    if after < 0:
        raise missing("created_at_after")
    before = _int_param(req, "created_at_before", -1)
    logs = app.workspace.list_activity_logs(after, None if before < 0 else before)
    return app.paged(req, logs, "activity_log.list", "activity_logs", dict, per_page_default=20, total_count=False)


def teams_index(app: SandboxApp, req: Request) -> dict[str, Any]:
    ws = app.workspace
    return {"type": "team.list", "teams": [ws.render_team(t) for t in ws.teams.values()]}


def teams_get(app: SandboxApp, req: Request, id: str) -> dict[str, Any]:
    team = app.workspace.teams.get(id)
    if team is None:
        raise not_found("Team")
    return app.workspace.render_team(team)


def me(app: SandboxApp, req: Request) -> dict[str, Any]:
    ws = app.workspace
    body = {**ws.render_admin(ws.me()), "email_verified": True}
    body["app"] = {
        "type": "app",
        "id_code": ws.app_id,
        "name": ws.app_name,
        "created_at": ws.app_created_at,
        "secure": True,
        "identity_verification": False,
        "timezone": "Europe/Dublin",
    }
    if req.version >= "1.3":
        body["app"]["region"] = "US"
    return body


def counts(app: SandboxApp, req: Request) -> dict[str, Any]:
    return app.workspace.counts(req.query.get("type") or None, req.query.get("count") or None)


# --------------------------------------------------------------------- handlers: conversations and messages


def conversations_index(app: SandboxApp, req: Request) -> dict[str, Any]:
    ws = app.workspace
    plaintext = req.query.get("display_as") == "plaintext"
    convs = ws.list_conversations(req.query)

    def render(conv: Any) -> dict[str, Any]:
        return ws.render_conversation(conv, version=req.version, parts=None, plaintext=plaintext)

    return app.paged(req, convs, "conversation.list", "conversations", render, per_page_default=20)


def _full(app: SandboxApp, req: Request, conv: Any) -> dict[str, Any]:
    plaintext = req.query.get("display_as") == "plaintext"
    return app.workspace.render_conversation(conv, version=req.version, plaintext=plaintext)


def conversations_get(app: SandboxApp, req: Request, id: str) -> dict[str, Any]:
    return _full(app, req, app.workspace.get_conversation(id))


def conversations_mark_read(app: SandboxApp, req: Request, id: str) -> dict[str, Any]:
    return _full(app, req, app.workspace.mark_read(id, req.body))


def conversations_reply(app: SandboxApp, req: Request, id: str) -> dict[str, Any]:
    return _full(app, req, app.workspace.reply(id, req.body))


def conversations_put_reply(app: SandboxApp, req: Request, id: str) -> dict[str, Any]:
    """Tolerate python-intercom's mark-as-read bug: `PUT /conversations/{id}/reply {"read": true}`."""
    body = req.body if isinstance(req.body, dict) else {}
    if "read" not in body or "message_type" in body:
        raise SandboxError(405, "method_not_allowed", "Use POST to reply to a conversation")
    return _full(app, req, app.workspace.mark_read(id, body))


def conversations_reply_last(app: SandboxApp, req: Request) -> dict[str, Any]:
    return _full(app, req, app.workspace.reply_to_last(req.body))


def conversations_add_customer(app: SandboxApp, req: Request, id: str) -> dict[str, Any]:
    return _customers(app.workspace.add_customer(id, req.body))


def conversations_remove_customer(app: SandboxApp, req: Request, id: str, customer_id: str) -> dict[str, Any]:
    return _customers(app.workspace.remove_customer(id, customer_id, req.body))


def _customers(conv: Any) -> dict[str, Any]:
    return {"customers": [{"type": conv.customer_types.get(c, "user"), "id": c} for c in conv.customers]}


def messages_create(app: SandboxApp, req: Request) -> dict[str, Any]:
    return app.workspace.post_message(req.body)


# --------------------------------------------------------------------- handlers: data attributes, subscriptions


def data_attributes(app: SandboxApp, req: Request) -> dict[str, Any]:
    """`GET /data_attributes?model=…`: the 1.4 form; older versions 404 (inferred)."""
    if req.version < "1.4":
        raise not_found()
    if not req.query.get("model"):
        raise missing("model")
    return _attributes(app, req, req.query["model"])


def data_attributes_legacy(app: SandboxApp, req: Request, model: str) -> dict[str, Any]:
    """`GET /data_attributes/customer|company`: 1.0–1.3 only; 1.4 stopped serving it."""
    if req.version >= "1.4":
        raise not_found()
    return _attributes(app, req, model)


def _attributes(app: SandboxApp, req: Request, model: str) -> dict[str, Any]:
    ws = app.workspace
    found = ws.list_data_attributes(model, flag(req.query.get("include_archived", "false")))
    return {"type": "data_attribute.list", "data_attributes": [ws.render_data_attribute(a, req.version) for a in found]}


def subscriptions_index(app: SandboxApp, req: Request) -> dict[str, Any]:
    ws = app.workspace
    items = [ws.render_subscription(s, req.base_url) for s in ws.subscriptions.values()]
    return {"type": "notification_subscription.list", "items": items}


def subscriptions_create(app: SandboxApp, req: Request) -> dict[str, Any]:
    return app.workspace.render_subscription(app.workspace.save_subscription(req.body), req.base_url)


def subscriptions_update(app: SandboxApp, req: Request, id: str) -> dict[str, Any]:
    return app.workspace.render_subscription(app.workspace.save_subscription(req.body, id), req.base_url)


def subscriptions_get(app: SandboxApp, req: Request, id: str) -> dict[str, Any]:
    return app.workspace.render_subscription(app.workspace.get_subscription(id), req.base_url)


def subscriptions_delete(app: SandboxApp, req: Request, id: str) -> dict[str, Any]:
    return app.workspace.render_subscription(app.workspace.delete_subscription(id), req.base_url)


def subscriptions_ping(app: SandboxApp, req: Request, id: str) -> dict[str, Any]:
    return app.workspace.render_subscription(app.workspace.ping(id), req.base_url)


def subscriptions_sent(app: SandboxApp, req: Request, id: str) -> dict[str, Any]:
    sent = app.workspace.get_subscription(id).sent
    return {"type": "notification_event.list", "notifications": list(reversed(sent))}


def subscriptions_errors(app: SandboxApp, req: Request, id: str) -> dict[str, Any]:
    app.workspace.get_subscription(id)
    return {"type": "notification_event.list", "notifications": []}


# --------------------------------------------------------------------- handlers: bulk jobs


def bulk_submit(app: SandboxApp, req: Request, kind: str) -> Response:
    """`POST /bulk/users|events`: 202 with the job (python-intercom's `submit_bulk_job` reads it)."""
    ws = app.workspace
    job = ws.submit_bulk("user" if kind == "users" else "event", req.body)
    return Response(202, ws.render_job(job, req.base_url))


def jobs_get(app: SandboxApp, req: Request, id: str) -> dict[str, Any]:
    return app.workspace.render_job(app.workspace.get_job(id), req.base_url)


def jobs_errors(app: SandboxApp, req: Request, id: str) -> dict[str, Any]:
    return app.workspace.render_job_errors(app.workspace.get_job(id))


# --------------------------------------------------------------------- routes

SCROLL_KINDS: dict[str, tuple[Callable[[Workspace], dict[str, Any]], str, str, Callable[[Workspace, Any], Any]]] = {
    "users": (lambda ws: ws.users, "user.list", "users", lambda ws, r: ws.render_contact(r)),
    "leads": (lambda ws: ws.leads, "contact.list", "contacts", lambda ws, r: ws.render_contact(r)),
    "companies": (lambda ws: ws.companies, "company.list", "companies", lambda ws, r: ws.render_company(r)),
}

ID = r"(?P<id>[^/]+)"
_ROUTES: list[tuple[str, str, Callable[..., Any]]] = [
    ("GET", "/users", users_index),
    ("POST", "/users", users_upsert),
    ("DELETE", "/users", users_archive_by_query),
    ("GET", "/users/scroll", users_scroll),
    ("GET", f"/users/{ID}", users_get),
    ("DELETE", f"/users/{ID}", users_archive),
    ("POST", "/user_delete_requests", user_delete_request),
    ("GET", "/contacts", leads_index),
    ("POST", "/contacts", leads_upsert),
    ("DELETE", "/contacts", leads_delete_by_query),
    ("GET", "/contacts/scroll", leads_scroll),
    ("POST", "/contacts/convert", leads_convert),
    ("GET", f"/contacts/{ID}", leads_get),
    ("PUT", f"/contacts/{ID}", leads_put),
    ("DELETE", f"/contacts/{ID}", leads_delete),
    ("GET", "/visitors", visitors_by_query),
    ("PUT", "/visitors", visitors_update),
    ("POST", "/visitors", visitors_update),
    ("DELETE", "/visitors", visitors_delete_by_query),
    ("POST", "/visitors/convert", visitors_convert),
    ("GET", f"/visitors/{ID}", visitors_get),
    ("PUT", f"/visitors/{ID}", visitors_update),
    ("DELETE", f"/visitors/{ID}", visitors_delete),
    ("GET", "/companies", companies_index),
    ("POST", "/companies", companies_upsert),
    ("DELETE", "/companies", companies_delete_by_query),
    ("GET", "/companies/scroll", companies_scroll),
    ("GET", f"/companies/{ID}/users", company_users),
    ("GET", f"/companies/{ID}", companies_get),
    ("DELETE", f"/companies/{ID}", companies_delete),
    ("GET", "/tags", tags_index),
    ("POST", "/tags", tags_save),
    ("GET", f"/tags/{ID}", tags_get),
    ("DELETE", f"/tags/{ID}", tags_delete),
    ("GET", "/segments", segments_index),
    ("GET", f"/segments/{ID}", segments_get),
    ("GET", "/notes", notes_index),
    ("POST", "/notes", notes_create),
    ("GET", f"/notes/{ID}", notes_get),
    ("GET", "/events", events_index),
    ("POST", "/events", events_create),
    ("GET", "/admins", admins_index),
    ("GET", "/admins/activity_logs", activity_logs),
    ("GET", f"/admins/{ID}", admins_get),
    ("PUT", f"/admins/{ID}/away", admins_away),
    ("GET", "/teams", teams_index),
    ("GET", f"/teams/{ID}", teams_get),
    ("GET", "/me", me),
    ("GET", "/counts", counts),
    ("GET", "/conversations", conversations_index),
    ("POST", "/conversations/last/reply", conversations_reply_last),
    ("GET", f"/conversations/{ID}", conversations_get),
    ("PUT", f"/conversations/{ID}", conversations_mark_read),
    ("POST", f"/conversations/{ID}/reply", conversations_reply),
    ("PUT", f"/conversations/{ID}/reply", conversations_put_reply),
    ("POST", f"/conversations/{ID}/customers", conversations_add_customer),
    ("DELETE", f"/conversations/{ID}/customers/(?P<customer_id>[^/]+)", conversations_remove_customer),
    ("POST", "/messages", messages_create),
    ("GET", "/data_attributes", data_attributes),
    ("GET", "/data_attributes/(?P<model>customer|company)", data_attributes_legacy),
    ("GET", "/subscriptions", subscriptions_index),
    ("POST", "/subscriptions", subscriptions_create),
    ("GET", f"/subscriptions/{ID}", subscriptions_get),
    ("POST", f"/subscriptions/{ID}", subscriptions_update),
    ("DELETE", f"/subscriptions/{ID}", subscriptions_delete),
    ("POST", f"/subscriptions/{ID}/ping", subscriptions_ping),
    ("GET", f"/subscriptions/{ID}/sent", subscriptions_sent),
    ("GET", f"/subscriptions/{ID}/errors?", subscriptions_errors),
    ("POST", "/bulk/(?P<kind>users|events)", bulk_submit),
    ("GET", f"/jobs/{ID}", jobs_get),
    ("GET", f"/jobs/{ID}/error", jobs_errors),
]
# Every path also matches with a trailing slash: the SDK posts creates to `/users/`, `/tags/`, ….
ROUTES = [(method, re.compile(f"^{path}/?$"), handler) for method, path, handler in _ROUTES]
