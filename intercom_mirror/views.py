"""HTTP endpoints of the mirror app: the Intercom webhook receiver."""

from __future__ import annotations

import logging

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from intercom_mirror.webhooks import handle_notification, signature_is_valid

log = logging.getLogger(__name__)


@csrf_exempt  # Intercom signs its notifications instead; see signature_is_valid
@require_POST
def intercom_webhook(request: HttpRequest) -> HttpResponse:
    raw = request.body
    if not signature_is_valid(raw, request.headers.get("X-Hub-Signature"), settings.INTERCOM_CLIENT_SECRET):
        log.warning("rejected an Intercom webhook with a missing or wrong signature")
        return JsonResponse({"error": "invalid signature"}, status=401)
    status, outcome = handle_notification(raw)
    if status >= 400:
        log.warning("refused an Intercom webhook: %s", outcome)
        return JsonResponse({"error": outcome}, status=status)
    return JsonResponse({"ok": True, "outcome": outcome})
