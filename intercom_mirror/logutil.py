"""Keep secrets out of log lines."""

from __future__ import annotations

import logging

from django.conf import settings


def redact(text: str) -> str:
    """Return text with the configured Intercom secrets blanked out."""
    for secret in (settings.INTERCOM_ACCESS_TOKEN, settings.INTERCOM_CLIENT_SECRET):
        if secret and len(secret) >= 4 and secret in text:
            text = text.replace(secret, "[redacted]")
    return text


class RedactSecretsFilter(logging.Filter):
    """Rewrite a record whose message would contain the access token or client secret."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        return True
