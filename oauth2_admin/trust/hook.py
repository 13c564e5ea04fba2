"""Hydra's token hook (``oauth2.token_hook`` in ory/hydra.yml): Hydra posts every token request here before it
issues the token; 204 lets it, 403 refuses it (``access_denied``), anything else fails it (``server_error``).

Truss uses it so that a client can exchange a jwt-bearer assertion only under a trust its own tenant owns (Hydra's
trusts are global: without the hook any client with the grant can use any tenant's trust). Every other grant is
answered 204 at once, with no database work. With the hook on, Truss is on the path of every token Hydra issues:
while Truss is down Hydra issues none (500 after two retries, about 3 s). Settings: TRUST_TOKEN_HOOK (off answers
204 to everything: the behaviour without the hook) and TRUST_TOKEN_HOOK_SECRET (the header Hydra sends)."""

from __future__ import annotations

import hmac
import logging
from typing import Any

from django.conf import settings
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from oauth2_admin.trust import service as trust
from truss.apikit import BadBody, parse_json_body
from truss.ory import http as ory_http

logger = logging.getLogger(__name__)

HEADER = "X-Truss-Hook-Secret"  # ory/hydra.yml: oauth2.token_hook.auth.config.name


def _authentic(request: HttpRequest) -> bool:
    secret = settings.TRUST_TOKEN_HOOK_SECRET
    given = request.headers.get(HEADER, "")
    return bool(secret) and hmac.compare_digest(given.encode(), secret.encode())


def _strings(value: Any) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


@csrf_exempt
@require_POST
def token_hook(request: HttpRequest) -> HttpResponse:
    if not settings.TRUST_TOKEN_HOOK:
        return HttpResponse(status=204)  # off: Hydra's own behaviour, every trust usable by every client
    if not settings.TRUST_TOKEN_HOOK_SECRET:
        logger.error("TRUST_TOKEN_HOOK is on but TRUST_TOKEN_HOOK_SECRET is empty: every token request fails")
        return HttpResponse(status=503)
    if not _authentic(request):
        return HttpResponse(status=401)
    try:
        body = parse_json_body(request.body)
    except BadBody:
        return HttpResponse(status=400)
    hydra_request = body.get("request") if isinstance(body, dict) else None
    if not isinstance(hydra_request, dict):
        return HttpResponse(status=400)
    if trust.JWT_BEARER_GRANT not in _strings(hydra_request.get("grant_types")):
        return HttpResponse(status=204)
    client_id = hydra_request.get("client_id")
    payload = hydra_request.get("payload")
    assertions = _strings(payload.get("assertion")) if isinstance(payload, dict) else []
    if not isinstance(client_id, str) or len(assertions) != 1:
        return HttpResponse(status=403)
    scopes = _strings(hydra_request.get("requested_scopes")) + _strings(hydra_request.get("granted_scopes"))
    try:
        decision = trust.hook_decision(client_id, assertions[0], scopes)
    except (DatabaseError, ory_http.OryError):  # the tenant or the client's owner could not be read
        logger.exception("token hook could not decide; Hydra retries, then refuses the token")
        return HttpResponse(status=503)
    return HttpResponse(status=204 if decision.allowed else 403)
