"""Small shared test helpers."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "intercom"


def fixture(name: str) -> Any:
    """Return a real Intercom v1 response sample (copied from ../shared/fixtures)."""
    return json.loads((FIXTURES / name).read_text())


def sign(body: bytes, secret: str) -> str:
    return "sha1=" + hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()
