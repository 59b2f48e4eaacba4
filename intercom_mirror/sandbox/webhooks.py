"""Webhook notifications: build `notification_event` bodies, sign them and post them off-thread."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import queue
import threading
import uuid
from collections.abc import Callable
from typing import Any

import httpx

logger = logging.getLogger(__name__)

USER_AGENT = "intercom-parrot-service-client/1.0"

Sender = Callable[[str, bytes, dict[str, str]], None]


def build_notification(topic: str, item: dict[str, Any], app_id: str, now: int) -> dict[str, Any]:
    """Return a notification in the v1 shape (§8.1 of the reference)."""
    return {
        "type": "notification_event",
        "id": f"notif_{uuid.uuid4()}",
        "app_id": app_id,
        "topic": topic,
        "data": {"type": "notification_event_data", "item": item},
        "delivery_status": None,
        "delivery_attempts": 1,
        "delivered_at": 0,
        "first_sent_at": now,
        "created_at": now,
        "links": {},
        "self": None,
    }


def signature(body: bytes, secret: str) -> str:
    """Return the `X-Hub-Signature` value: HMAC-SHA1 of the raw body, hex, with a `sha1=` prefix."""
    return "sha1=" + hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()


def encode(notification: dict[str, Any], secret: str | None) -> tuple[bytes, dict[str, str]]:
    """Return the body bytes and headers of one delivery."""
    body = json.dumps(notification, ensure_ascii=False).encode("utf-8")
    headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT}
    if secret:
        headers["X-Hub-Signature"] = signature(body, secret)
    return body, headers


class BackgroundSender:
    """Post deliveries from one daemon thread, so a slow or dead receiver never blocks the API."""

    def __init__(self, timeout: float = 5.0) -> None:
        self.timeout = timeout
        self._queue: queue.Queue[tuple[str, bytes, dict[str, str]]] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def __call__(self, url: str, body: bytes, headers: dict[str, str]) -> None:
        self._ensure_thread()
        self._queue.put((url, body, headers))

    def _ensure_thread(self) -> None:
        with self._start_lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="sandbox-webhooks", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        with httpx.Client(timeout=self.timeout) as client:
            while True:
                url, body, headers = self._queue.get()
                try:
                    response = client.post(url, content=body, headers=headers)
                    if response.status_code >= 300:
                        logger.warning("Webhook to %s answered %s", url, response.status_code)
                except httpx.HTTPError as exc:
                    logger.warning("Webhook to %s failed: %s", url, exc)
