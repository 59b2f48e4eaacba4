"""Overlap reading the API with writing the database.

A full sync spends its time in two places: waiting for the API and writing
pages. `prefetch` reads the next pages in a background thread while the caller
writes the current one; `fetch_all` reads several single objects at once.
Only the API client is used off the main thread, never the database.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")
DETAIL_WORKERS = 4


def prefetch(source: Iterable[T], depth: int = 2) -> Iterator[T]:
    """Yield what `source` yields, reading up to `depth` items ahead in a background thread.

    Errors raised by the source reach the caller at the point they happened. If
    the caller stops early, the reader stops after the item it is reading.
    """
    items: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(entry: tuple[str, Any]) -> bool:
        while not stop.is_set():
            try:
                items.put(entry, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def read() -> None:
        try:
            for item in source:
                if not put(("item", item)):
                    return
            put(("done", None))
        except BaseException as exc:  # handed to the consumer, which re-raises it
            put(("error", exc))

    reader = threading.Thread(target=read, name="intercom-prefetch", daemon=True)
    reader.start()
    try:
        while True:
            kind, value = items.get()
            if kind == "done":
                return
            if kind == "error":
                raise value
            yield value
    finally:
        stop.set()


def fetch_all(fetch: Callable[[str], T], ids: list[str], workers: int = DETAIL_WORKERS) -> list[T | BaseException]:
    """Return fetch(id) for every id, several at a time; a failure is returned in its place."""
    if len(ids) <= 1:
        return [_attempt(fetch, i) for i in ids]
    with ThreadPoolExecutor(max_workers=min(workers, len(ids)), thread_name_prefix="intercom-fetch") as pool:
        return list(pool.map(lambda i: _attempt(fetch, i), ids))


def _attempt(fetch: Callable[[str], T], intercom_id: str) -> T | BaseException:
    try:
        return fetch(intercom_id)
    except Exception as exc:
        return exc
