"""Content-Security-Policy on every response: no inline scripts, no inline styles, no plugins, no framing.

Conversation bodies are HTML written by strangers. They are sanitised (dashboard/html.py),
and this policy is the second wall: should anything slip through, the browser still runs
no inline script or handler, loads no script or stylesheet from elsewhere, and sends no
form off-site. Images may come from any https host (a customer's screenshot), but the
thread only loads remote ones when the user clicks them.
"""

from __future__ import annotations

from django.conf import settings

POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: https:",
        "object-src 'none'",
        "base-uri 'self'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    ]
)


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        # DEBUG's technical 404/500 pages carry inline styles and scripts: under the policy they would be
        # unreadable exactly when a developer needs them. Production (DEBUG off) always gets the header.
        if settings.DEBUG and response.status_code in (404, 500) and "text/html" in response.get("Content-Type", ""):
            return response
        response.headers.setdefault("Content-Security-Policy", POLICY)
        return response
